"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from shuzhi.entrypoints.api.deps import UowDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(request: Request, uow: UowDep, response: Response) -> dict[str, str]:
    """200 once the database answers and the data is ready (the demo sets ready after seeding)."""
    with uow:
        uow.session.execute(text("SELECT 1"))
    if not request.app.state.ready:
        response.status_code = 503
        return {"status": "starting"}
    return {"status": "ok"}
