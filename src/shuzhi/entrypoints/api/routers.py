"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from shuzhi.entrypoints.api import (
    areas,
    auth,
    bulk,
    calendar,
    catalogue,
    cockpit,
    coordination,
    dispatch_rules,
    events,
    health,
    observability,
    open311,
    organisation,
    plans,
    sensing,
    supervision,
    workbench,
)
from shuzhi.entrypoints.api import evaluation as evaluation_api
from shuzhi.entrypoints.api import warnings as warnings_api

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
    plans.router,
    coordination.router,
    sensing.router,
    warnings_api.router,
    supervision.router,
    cockpit.router,
    auth.router,
    auth.admin_router,
    evaluation_api.router,
    bulk.router,
    open311.router,
    open311.admin_router,
    workbench.router,
]
