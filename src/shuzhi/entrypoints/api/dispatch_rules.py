"""Dispatch rules (分拨规则), dry runs, automatic dispatch and the duty officer's override."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.schemas import EventOut
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services.dispatching import accuracy as dispatch_accuracy_svc
from shuzhi.services.dispatching import deciding, rule_files, rule_sets

router = APIRouter(prefix="/api", tags=["dispatch"])


class RuleOut(BaseModel):
    id: int
    code: str
    name: str
    priority: int
    condition: dict[str, Any]
    targets: dict[str, Any]
    level: str | None
    enabled: bool
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: The area whose events the rule routes (null: the whole installation).
    area_code: str | None = None

    @classmethod
    def of(cls, r: rule_sets.RuleRecord) -> RuleOut:
        fields = asdict(r)
        fields.pop("area_path")
        return cls(**fields, area_code=r.area_code)


class VersionOut(BaseModel):
    version: int
    change: str
    snapshot: dict[str, Any]
    changed_by: str
    changed_at: datetime
    reason: str | None


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    level: str


class DecisionOut(BaseModel):
    lead: UnitOut | None
    assist: list[UnitOut]
    rule: str | None
    rule_name: str | None
    rule_version: int | None
    why: list[dict[str, Any]]
    fallback: bool
    message: str
    passed_over: list[dict[str, str]]
    facts: dict[str, Any]


class ImportOut(BaseModel):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class AccuracyOut(BaseModel):
    rule: str
    dispatched: int
    returned: int
    accurate: int
    rate: float | None


@router.get("/dispatch-rules", response_model=list[RuleOut])
def list_rules(uow: UowDep, actor: ActorDep) -> list[RuleOut]:
    """All dispatch rules in the order they are tried (priority, then code)."""
    return [RuleOut.of(r) for r in rule_sets.list_rules(uow, actor)]


@router.post("/dispatch-rules", status_code=201, response_model=RuleOut)
def create_rule(body: rule_sets.NewRule, uow: UowDep, actor: ActorDep) -> RuleOut:
    """Create a rule; every problem is reported with its JSON path (422) and nothing is stored."""
    return RuleOut.of(rule_sets.create_rule(uow, body, actor))


@router.get("/dispatch-rules/export")
def export_rules(uow: UowDep, actor: ActorDep,
                 fmt: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json") -> Response:
    """Every rule as JSON or as an XLSX sheet (one row per rule, condition and targets as JSON)."""
    data = rule_files.export_rules(uow, actor, fmt)
    media = ("application/json" if fmt == "json"
             else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="dispatch_rules.{fmt}"'})


@router.post("/dispatch-rules/import", response_model=ImportOut)
async def import_rules(file: Annotated[UploadFile, upload(perms.RULE_WRITE)], uow: UowDep,
                       actor: ActorDep) -> ImportOut:
    """Create or update rules from a JSON or XLSX file: all or nothing, every problem listed."""
    data = await read_bytes(file, rule_files.MAX_IMPORT_BYTES)
    report = await run_in_threadpool(rule_files.import_rules, uow, data, file.filename or "rules.json", actor)
    return ImportOut(**asdict(report))


@router.get("/dispatch-rules/{code}", response_model=RuleOut)
def get_rule(code: str, uow: UowDep, actor: ActorDep) -> RuleOut:
    """One rule."""
    return RuleOut.of(rule_sets.get_rule(uow, code, actor))


@router.put("/dispatch-rules/{code}", response_model=RuleOut)
def update_rule(code: str, body: rule_sets.ChangeRule, uow: UowDep, actor: ActorDep) -> RuleOut:
    """Change a rule; a stale expected_version gets 409, a bad rule 422 with the path of each problem."""
    return RuleOut.of(rule_sets.update_rule(uow, code, body, actor))


@router.delete("/dispatch-rules/{code}", status_code=204)
def delete_rule(code: str, uow: UowDep, actor: ActorDep, expected_version: int | None = None,
                reason: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """Delete a rule; its versions are kept."""
    rule_sets.delete_rule(uow, code, actor, expected_version=expected_version, reason=reason)
    return Response(status_code=204)


@router.get("/dispatch-rules/{code}/versions", response_model=list[VersionOut])
def rule_versions(code: str, uow: UowDep, actor: ActorDep) -> list[VersionOut]:
    """Every saved state of a rule, oldest first."""
    return [VersionOut(**asdict(v)) for v in rule_sets.rule_versions(uow, code, actor)]


@router.post("/dispatch/dry-run", response_model=DecisionOut)
def dry_run(body: deciding.DryRun, uow: UowDep, actor: ActorDep) -> DecisionOut:
    """Where would this event go, and why — for a stored event's number or given facts; creates nothing."""
    return DecisionOut.model_validate(asdict(deciding.dry_run(uow, body, actor)))


@router.get("/dispatch/accuracy", response_model=list[AccuracyOut])
def dispatch_accuracy(uow: UowDep, actor: ActorDep, since: datetime, until: datetime) -> list[AccuracyOut]:
    """Dispatched and returned tasks by rule in [since, until): the accurate-dispatch rate (准确派遣率)."""
    return [AccuracyOut(rule=r.rule, dispatched=r.dispatched, returned=r.returned, accurate=r.accurate,
                        rate=r.rate) for r in dispatch_accuracy_svc.dispatch_accuracy(uow, since, until, actor)]


@router.post("/events/{ref}/auto-dispatch", response_model=EventOut)
def auto_dispatch(ref: Ref, uow: UowDep, actor: ActorDep, body: deciding.AutoDispatch | None = None) -> EventOut:
    """Dispatch by the rules (or the grid principle); the rule and why are written on the timeline."""
    return EventOut.of(deciding.auto_dispatch(uow, ref, actor, body))


@router.post("/events/{ref}/override", response_model=EventOut)
def override(ref: Ref, body: deciding.Override, uow: UowDep, actor: ActorDep) -> EventOut:
    """Dispatch by hand with a reason (手动分拨); units must sit in or cover the event's area."""
    return EventOut.of(deciding.override(uow, ref, body, actor))
