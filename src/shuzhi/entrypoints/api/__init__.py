"""The JSON API: one router per resource (routers.py lists them), errors translated in one place (errors.py)."""
