"""Threshold rules, warnings (预警), silences and inhibitions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services.sensing import warning_checks, warning_records
from shuzhi.services.sensing import warning_config as wc
from shuzhi.services.sensing import warning_silences as silences

router = APIRouter(prefix="/api", tags=["warnings"])
RuleDoc = Annotated[dict[str, Any], Body(description="a threshold rule document (see docs/warnings.md)")]


class ImportOut(BaseModel):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class AckIn(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


@router.get("/threshold-rules")
def list_rules(uow: UowDep, actor: ActorDep, indicator: str | None = None) -> list[dict[str, Any]]:
    """Threshold rules (per indicator, with per-area overrides), by code."""
    return wc.list_rules(uow, actor, indicator)


@router.post("/threshold-rules", status_code=201)
def create_rule(body: RuleDoc, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create a rule; every problem is reported with its JSON path (422) and nothing is stored."""
    return wc.create_rule(uow, actor, body)


@router.get("/threshold-rules/export")
def export_rules(uow: UowDep, actor: ActorDep,
                 fmt: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json") -> Response:
    """Every rule as JSON or as an XLSX sheet (one row per rule, conditions and actions as JSON)."""
    data = wc.export_rules(uow, actor, fmt)
    media = "application/json" if fmt == "json" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="threshold_rules.{fmt}"'})


@router.post("/threshold-rules/import", response_model=ImportOut)
async def import_rules(file: Annotated[UploadFile, upload(perms.INDICATOR_WRITE)], uow: UowDep,
                       actor: ActorDep) -> ImportOut:
    """Create or update rules by code from JSON, XLSX or CSV: all or nothing, every problem listed."""
    data = await read_bytes(file, wc.MAX_IMPORT_BYTES)
    return ImportOut(**await run_in_threadpool(wc.import_rules, uow, actor, data, file.filename or "rules.json"))


@router.get("/threshold-rules/{code}")
def get_rule(code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One rule."""
    return wc.get_rule(uow, actor, code)


@router.put("/threshold-rules/{code}")
def update_rule(code: str, body: RuleDoc, uow: UowDep, actor: ActorDep,
                expected_version: int | None = None) -> dict[str, Any]:
    """Replace a rule; a stale expected_version gets 409."""
    return wc.update_rule(uow, actor, code, body, expected_version=expected_version)


@router.delete("/threshold-rules/{code}", status_code=204)
def delete_rule(code: str, uow: UowDep, actor: ActorDep) -> Response:
    """Delete a rule (its past warnings stay)."""
    wc.delete_rule(uow, actor, code)
    return Response(status_code=204)


@router.get("/warning-silences")
def list_silences(uow: UowDep, actor: ActorDep, current: bool = True) -> list[dict[str, Any]]:
    """Silences not yet ended (or all with current=false)."""
    return silences.list_silences(uow, actor, current=current)


@router.post("/warning-silences", status_code=201)
def create_silence(body: silences.NewSilence, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Silence matching warnings for a time window (e.g. planned works)."""
    return silences.create_silence(uow, actor, body)


@router.delete("/warning-silences/{silence_id}")
def expire_silence(silence_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """End a silence now; it is kept for the record."""
    return silences.expire_silence(uow, actor, silence_id)


@router.get("/warning-inhibitions")
def list_inhibitions(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Inhibition rules: which upstream warnings suppress which dependants."""
    return silences.list_inhibitions(uow, actor)


@router.put("/warning-inhibitions/{code}")
def put_inhibition(code: str, body: Annotated[dict[str, Any], Body()], uow: UowDep, actor: ActorDep
                   ) -> dict[str, Any]:
    """Create or replace an inhibition rule."""
    return silences.put_inhibition(uow, actor, {**body, "code": code})


@router.delete("/warning-inhibitions/{code}", status_code=204)
def delete_inhibition(code: str, uow: UowDep, actor: ActorDep) -> Response:
    """Delete an inhibition rule."""
    silences.delete_inhibition(uow, actor, code)
    return Response(status_code=204)


@router.get("/warnings")
def list_warnings(
    uow: UowDep, actor: ActorDep,
    state: Literal["open", "pending", "firing", "resolved", "cleared", "all"] = "open",
    level: Literal["blue", "yellow", "orange", "red"] | None = None,
    indicator: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=15, description="an area code: its subtree")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Warnings in your area scope, newest first."""
    return warning_records.list_warnings(uow, actor, state=state, level=level, indicator=indicator, area=area,
                                         limit=limit, offset=offset)


@router.get("/warnings/{warning_id}")
def get_warning(warning_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One warning with every change of its state and level."""
    return warning_records.get_warning(uow, actor, warning_id)


@router.post("/warnings/{warning_id}/ack")
def acknowledge(warning_id: int, uow: UowDep, actor: ActorDep, body: AckIn | None = None) -> dict[str, Any]:
    """Acknowledge a warning (确认): you have seen it."""
    return warning_records.acknowledge(uow, actor, warning_id, body.comment if body else None)


@router.post("/warnings/check")
def check(uow: UowDep, actor: ActorDep) -> dict[str, int]:
    """Run the periodic check now (no data, timers, released silences); the worker runs it every minute."""
    r = warning_checks.check_now(uow, actor)
    return {"series": r.series, "changes": r.changes, "released": r.released}
