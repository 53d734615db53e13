"""shuzhi 数治 — a city's digital operation and governance centre."""

__version__ = "0.1.0"
