"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from shuzhi.entrypoints.api import events, health

ROUTERS: list[APIRouter] = [
    health.router,
    events.router,
    events.files_router,
]
