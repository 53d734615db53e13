"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from shuzhi.entrypoints.api import areas, auth, catalogue, cockpit, dispatch_rules, events, health, organisation

ROUTERS: list[APIRouter] = [
    health.router,
    areas.router,
    organisation.router,
    catalogue.router,
    events.router,
    events.files_router,
    dispatch_rules.router,
    cockpit.router,
    auth.router,
    auth.admin_router,
]
