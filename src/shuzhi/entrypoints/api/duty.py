"""Duty roster (排班): shifts of a centre, who is on duty, roster import from the centre's Excel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, UploadFile
from pydantic import AwareDatetime, BaseModel, Field

from shuzhi.domain import permissions as perms
from shuzhi.domain.duty import LOCAL
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import ImportResult, import_result, read_upload, upload
from shuzhi.services import duty_desk, duty_import, duty_roster
from shuzhi.services.duty_roster import ShiftView

router = APIRouter(prefix="/api/duty", tags=["duty"])




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




@router.get("/shifts", response_model=list[ShiftView])
def list_shifts(uow: UowDep, actor: ActorDep, unit_code: str | None = None, person_code: str | None = None,
                start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                limit: Annotated[int, Query(ge=1, le=duty_roster.MAX_LIST)] = 500) -> list[ShiftView]:
    """Shifts overlapping [start, end) in one's scope, by unit and person."""
    return duty_roster.list_shifts(uow, actor, unit_code=unit_code, person_code=person_code, start=start,
                                   end=end, limit=limit)


@router.post("/shifts", status_code=201, response_model=ShiftView)
def create_shift(body: NewShift, uow: UowDep, actor: ActorDep) -> ShiftView:
    """Add a shift (nobody on two shifts at once; one leader on duty at a time)."""
    return duty_roster.create_shift(uow, actor, **body.model_dump())


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


@router.patch("/shifts/{shift_id}", response_model=ShiftView)
def update_shift(shift_id: int, body: ShiftChange, uow: UowDep, actor: ActorDep) -> ShiftView:
    """Change a shift's person, role, times or note."""
    changes = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    return duty_roster.update_shift(uow, actor, shift_id, changes, body.expected_version)


@router.delete("/shifts/{shift_id}", status_code=204)
def delete_shift(shift_id: int, uow: UowDep, actor: ActorDep, expected_version: int | None = None) -> Response:
    """Remove a shift from the roster."""
    duty_roster.delete_shift(uow, actor, shift_id, expected_version)
    return Response(status_code=204)


@router.get("/on-duty", response_model=duty_roster.OnDutyView)
def on_duty(uow: UowDep, actor: ActorDep, unit_code: Annotated[str, Query(min_length=1, max_length=40)],
            at: AwareDatetime | None = None) -> duty_roster.OnDutyView:
    """Who is on duty at a unit now (or at a given moment)."""
    return duty_roster.who_is_on_duty(uow, actor, unit_code, at or datetime.now(UTC))


# --- the duty desk: open items, handover (交接班), duty log (值班日志) and daily report, on-post checks -----


class OpenItemsOut(BaseModel):
    unit_code: str
    unit_name: str
    items: dict[str, Any]


class NewHandover(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40)
    to_person_code: str = Field(min_length=1, max_length=40, description="the incoming officer")
    note: str = Field(default="", max_length=2000)


class HandoverDecision(BaseModel):
    note: str = Field(default="", max_length=2000)
    expected_version: int | None = None




class NewLogEntry(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40)
    kind: str = Field(description="call | instruction_received | instruction_given | notable_event")
    content: str = Field(min_length=1, max_length=2000)
    occurred_at: AwareDatetime | None = Field(default=None, description="when it happened (default: now)")
    counterpart: str = Field(default="", max_length=100, description="caller, or who gave/received the instruction")
    event_number: str | None = Field(default=None, max_length=40)




class NewPresenceCheck(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40, description="the lower centre checked")
    minutes: int = Field(default=10, description="time to confirm, 1–120 minutes")
    note: str = Field(default="", max_length=500)




UnitCode = Annotated[str, Query(min_length=1, max_length=40)]


@router.get("/open-items", response_model=OpenItemsOut)
def open_items(uow: UowDep, actor: ActorDep, unit_code: UnitCode) -> OpenItemsOut:
    """The open items a shift would hand over now (warnings, events, plans, notices, copies)."""
    return OpenItemsOut(**duty_desk.open_items(uow, actor, unit_code))


@router.post("/handovers", status_code=201, response_model=duty_desk.HandoverView)
def offer_handover(body: NewHandover, uow: UowDep, actor: ActorDep) -> duty_desk.HandoverView:
    """Hand the shift over to the incoming officer, with the open items listed (交班)."""
    return duty_desk.offer_handover(uow, actor, **body.model_dump())


@router.get("/handovers", response_model=list[duty_desk.HandoverView])
def list_handovers(uow: UowDep, actor: ActorDep, unit_code: UnitCode,
                   limit: Annotated[int, Query(ge=1, le=duty_desk.MAX_LIST)] = 50) -> list[duty_desk.HandoverView]:
    """A centre's handovers, newest first."""
    return duty_desk.list_handovers(uow, actor, unit_code, limit)


@router.get("/handovers/{handover_id}", response_model=duty_desk.HandoverView)
def get_handover(handover_id: int, uow: UowDep, actor: ActorDep) -> duty_desk.HandoverView:
    """One handover with the items it listed."""
    return duty_desk.get_handover(uow, actor, handover_id)


@router.post("/handovers/{handover_id}/confirm", response_model=duty_desk.HandoverView)
def confirm_handover(handover_id: int, body: HandoverDecision, uow: UowDep, actor: ActorDep) -> duty_desk.HandoverView:
    """The incoming officer takes over the shift (接班), with a note."""
    return duty_desk.decide_handover(uow, actor, handover_id, "confirm", note=body.note,
                                     expected_version=body.expected_version)


@router.post("/handovers/{handover_id}/withdraw", response_model=duty_desk.HandoverView)
def withdraw_handover(handover_id: int, body: HandoverDecision, uow: UowDep, actor: ActorDep) -> duty_desk.HandoverView:
    """The outgoing officer withdraws a handover not yet confirmed."""
    return duty_desk.decide_handover(uow, actor, handover_id, "withdraw", note=body.note,
                                     expected_version=body.expected_version)


@router.post("/log", status_code=201, response_model=duty_desk.LogEntryView)
def add_log_entry(body: NewLogEntry, uow: UowDep, actor: ActorDep) -> duty_desk.LogEntryView:
    """Write a line of the centre's duty log (call, instruction received/given, notable event)."""
    return duty_desk.add_log_entry(uow, actor, **body.model_dump())


def _day(day: date | None) -> date:
    return day or datetime.now(UTC).astimezone(LOCAL).date()


@router.get("/log", response_model=list[duty_desk.LogEntryView])
def list_log(uow: UowDep, actor: ActorDep, unit_code: UnitCode,
             day: date | None = None) -> list[duty_desk.LogEntryView]:
    """A centre's duty log of one day (Asia/Shanghai; default today)."""
    return duty_desk.list_log(uow, actor, unit_code, _day(day))


MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/daily-report", response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def daily_report(uow: UowDep, actor: ActorDep, unit_code: UnitCode, day: date | None = None,
                 format: Annotated[str, Query(pattern="^(docx|xlsx)$")] = "docx") -> Response:
    """The daily duty report (值班日报) in Word or Excel, as centres send it upward."""
    data, name = duty_desk.daily_report(uow, actor, unit_code, _day(day), format)
    return Response(data, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/presence-checks", status_code=201, response_model=duty_desk.CheckView)
def ask_presence(body: NewPresenceCheck, uow: UowDep, actor: ActorDep) -> duty_desk.CheckView:
    """A superior centre asks a lower centre's officer on duty to confirm presence (在岗抽查)."""
    return duty_desk.ask_presence(uow, actor, **body.model_dump())


@router.get("/presence-checks", response_model=list[duty_desk.CheckView])
def list_checks(uow: UowDep, actor: ActorDep, unit_code: str | None = None, state: str | None = None,
                limit: Annotated[int, Query(ge=1, le=duty_desk.MAX_LIST)] = 100) -> list[duty_desk.CheckView]:
    """On-post checks of the centres in one's scope, newest first."""
    return duty_desk.list_checks(uow, actor, unit_code=unit_code, state=state, limit=limit)


@router.post("/presence-checks/{check_id}/confirm", response_model=duty_desk.CheckView)
def confirm_presence(check_id: int, uow: UowDep, actor: ActorDep) -> duty_desk.CheckView:
    """The officer on duty confirms being at the desk."""
    return duty_desk.confirm_presence(uow, actor, check_id)


@router.get("/people", response_model=list[dict[str, str]])
def duty_people(uow: UowDep, actor: ActorDep, unit_code: UnitCode) -> list[dict[str, str]]:
    """People who may stand a shift at the centre (its own and its area's units)."""
    return duty_desk.duty_people(uow, actor, unit_code)
