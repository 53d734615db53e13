"""Duty roster (排班): shifts of a centre, who is on duty, roster import from the centre's Excel."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, UploadFile
from pydantic import AwareDatetime, BaseModel, Field

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_upload, upload
from shuzhi.services import duty_import, duty_roster
from shuzhi.services.duty_roster import ShiftView

router = APIRouter(prefix="/api/duty", tags=["duty"])


class ShiftOut(BaseModel):
    id: int
    unit_code: str
    unit_name: str
    person_code: str
    person_name: str
    role: str
    role_label: str
    starts_at: datetime
    ends_at: datetime
    note: str
    source: str
    version: int
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, v: ShiftView) -> ShiftOut:
        return cls(**asdict(v))


class NewShift(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40)
    person_code: str = Field(min_length=1, max_length=40)
    role: str = Field(description="leader_on_duty (带班领导) or officer (值班员)")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    note: str = Field(default="", max_length=500)


class ShiftChange(BaseModel):
    person_code: str | None = Field(default=None, min_length=1, max_length=40)
    role: str | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=500)
    expected_version: int | None = None


class OnDutyOut(BaseModel):
    unit_code: str
    unit_name: str
    at: datetime
    leaders: list[ShiftOut]
    officers: list[ShiftOut]


@router.get("/shifts", response_model=list[ShiftOut])
def list_shifts(uow: UowDep, actor: ActorDep, unit_code: str | None = None, person_code: str | None = None,
                start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                limit: Annotated[int, Query(ge=1, le=duty_roster.MAX_LIST)] = 500) -> list[ShiftOut]:
    """Shifts overlapping [start, end) in one's scope, by unit and person."""
    return [ShiftOut.of(v) for v in duty_roster.list_shifts(uow, actor, unit_code=unit_code,
                                                             person_code=person_code, start=start, end=end,
                                                             limit=limit)]


@router.post("/shifts", status_code=201, response_model=ShiftOut)
def create_shift(body: NewShift, uow: UowDep, actor: ActorDep) -> ShiftOut:
    """Add a shift (nobody on two shifts at once; one leader on duty at a time)."""
    return ShiftOut.of(duty_roster.create_shift(uow, actor, **body.model_dump()))


@router.post("/shifts/import", response_model=ImportResult)
async def import_shifts(file: Annotated[UploadFile, upload(perms.DUTY_WRITE)], request: Request, uow: UowDep,
                        actor: ActorDep,
                        unit_code: Annotated[str, Query(min_length=1, max_length=40)],
                        handover: Annotated[str | None, Query(max_length=8)] = None,
                        dry_run: bool = False) -> ImportResult:
    """Import a roster sheet (日期, 带班领导, 值班员; one row per day); all or nothing, errors in Chinese."""
    rows = await read_upload(file, request)
    report = duty_import.import_roster(uow, actor, unit_code, rows, handover=duty_roster.parse_handover(handover),
                                       dry_run=dry_run)
    return import_result(report, "roster", dry_run)


@router.patch("/shifts/{shift_id}", response_model=ShiftOut)
def update_shift(shift_id: int, body: ShiftChange, uow: UowDep, actor: ActorDep) -> ShiftOut:
    """Change a shift's person, role, times or note."""
    changes = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    return ShiftOut.of(duty_roster.update_shift(uow, actor, shift_id, changes, body.expected_version))


@router.delete("/shifts/{shift_id}", status_code=204)
def delete_shift(shift_id: int, uow: UowDep, actor: ActorDep, expected_version: int | None = None) -> Response:
    """Remove a shift from the roster."""
    duty_roster.delete_shift(uow, actor, shift_id, expected_version)
    return Response(status_code=204)


@router.get("/on-duty", response_model=OnDutyOut)
def on_duty(uow: UowDep, actor: ActorDep, unit_code: Annotated[str, Query(min_length=1, max_length=40)],
            at: AwareDatetime | None = None) -> OnDutyOut:
    """Who is on duty at a unit now (or at a given moment)."""
    v = duty_roster.who_is_on_duty(uow, actor, unit_code, at or datetime.now(UTC))
    return OnDutyOut(unit_code=v.unit_code, unit_name=v.unit_name, at=v.at,
                     leaders=[ShiftOut.of(s) for s in v.leaders], officers=[ShiftOut.of(s) for s in v.officers])
