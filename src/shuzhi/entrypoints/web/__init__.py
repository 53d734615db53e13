"""The browser pages: server-rendered shells (Jinja2) with small ES modules that call the JSON API."""
