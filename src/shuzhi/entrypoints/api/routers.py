"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from shuzhi.entrypoints.api import (
    areas,
    auth,
    bulk,
    calendar,
    catalogue,
    dispatch_rules,
    events,
    health,
    observability,
    open311,
    organisation,
)

ROUTERS: list[APIRouter] = [
    health.router,
    observability.router,
    areas.router,
    organisation.router,
    catalogue.router,
    events.router,
    events.files_router,
    dispatch_rules.router,
    calendar.router,
    auth.router,
    auth.admin_router,
    bulk.router,
    open311.router,
    open311.admin_router,
]
