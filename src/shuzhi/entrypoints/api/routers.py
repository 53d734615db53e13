"""Every router of the API, in the order they appear in the OpenAPI document.

Requests are matched against the routes in this order, one by one: events (intake, the hottest
route, is its first) come first, ahead of routers whose paths cannot overlap with theirs.
"""

from __future__ import annotations

from fastapi import APIRouter

from shuzhi.entrypoints.api import (
    area_changes,
    areas,
    auth,
    bulk,
    calendar,
    catalogue,
    cockpit,
    collection,
    coordination,
    copy_lists,
    desk,
    dispatch_rules,
    duty,
    events,
    grid_teams,
    health,
    hotline,
    ledgers,
    notices,
    observability,
    open311,
    organisation,
    patrols,
    plans,
    public_services,
    risk_points,
    sensing,
    supervision,
    town,
    vital_signs,
    workbench,
)
from shuzhi.entrypoints.api import evaluation as evaluation_api
from shuzhi.entrypoints.api import levels as levels_api  # 一贯到底 and the town cockpit (issues #22, #20)
from shuzhi.entrypoints.api import warnings as warnings_api

ROUTERS: list[APIRouter] = [
    hotline.router,  # POST /api/events/suggest before events' /{ref} routes
    events.router,
    events.files_router,
    health.router,
    observability.router,
    areas.router,
    area_changes.router,  # areas that change (issue #20)
    organisation.router,
    catalogue.router,
    dispatch_rules.router,
    calendar.router,
    plans.router,
    coordination.router,
    copy_lists.router,
    desk.router,
    town.router,
    grid_teams.router,
    patrols.router,
    sensing.router,
    warnings_api.router,
    vital_signs.router,
    risk_points.router,
    risk_points.layer_router,
    collection.router,
    supervision.router,
    cockpit.router,
    auth.router,
    auth.admin_router,
    evaluation_api.router,
    bulk.router,
    open311.router,
    open311.admin_router,
    workbench.router,
    duty.router,
    notices.router,
    notices.public_router,
    ledgers.router,
    public_services.router,
    public_services.public_router,
    levels_api.router,
]
