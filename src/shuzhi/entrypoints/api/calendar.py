"""The working calendar: holiday years from the State Council notice, office hours per centre."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, UploadFile
from pydantic import BaseModel, Field

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services import calendars
from shuzhi.services.errors import Invalid

router = APIRouter(prefix="/api/calendar", tags=["calendar"])

Year = Annotated[int, Path(ge=1949, le=2200, description="calendar year")]


class YearOut(BaseModel):
    year: int
    source: str = Field(description="admin (entered here), official (bundled chinesecalendar) or provisional "
                                    "(nobody published it: Monday–Friday until somebody does)")
    holidays: list[str]
    makeup_workdays: list[str]
    notice: str
    entered_by: str | None
    entered_at: datetime | None


class YearIn(BaseModel):
    holidays: list[str] = Field(default_factory=list, description="days off, YYYY-MM-DD", max_length=366)
    makeup_workdays: list[str] = Field(default_factory=list, description="Saturdays/Sundays worked (调休上班)",
                                       max_length=366)
    notice: str = Field("", max_length=200, description="the notice, e.g. 国办发明电〔2026〕7号")


class ChangeOut(BaseModel):
    years: list[int]
    recomputed_tasks: int = Field(description="open tasks whose deadline moved")


class StatusOut(BaseModel):
    provisional_years: list[int] = Field(description="this year and next, where holidays are not yet known")


class OfficeHoursIn(BaseModel):
    office_hours: str | None = Field(description="e.g. 09:00-12:00,14:00-18:00; null for the default",
                                     max_length=200)


class OfficeHoursOut(BaseModel):
    centre_code: str
    centre_name: str
    office_hours: str
    own: bool
    working_hours_per_day: float
    recomputed_tasks: int | None = None


@router.get("/years")
def list_years(uow: UowDep, actor: ActorDep) -> list[YearOut]:
    """Every known year and where its working days come from; the next years show as provisional."""
    return [YearOut(**v.__dict__) for v in calendars.list_years(uow, actor)]


@router.get("/status")
def status(uow: UowDep, actor: ActorDep) -> StatusOut:
    """Whether deadlines this year or next rest on a provisional (weekends-only) calendar."""
    with uow:
        return StatusOut(provisional_years=calendars.provisional_years(uow.session, datetime.now(UTC)))


@router.get("/years/{year}")
def get_year(year: Year, uow: UowDep, actor: ActorDep) -> YearOut:
    """One year's holidays and make-up working days."""
    return YearOut(**calendars.get_year(uow, actor, year).__dict__)


@router.put("/years/{year}")
def put_year(year: Year, body: YearIn, uow: UowDep, actor: ActorDep) -> ChangeOut:
    """Enter or replace a year from the State Council notice; open deadlines are recomputed."""
    change = calendars.put_year(uow, actor, year, body.holidays, body.makeup_workdays, body.notice)
    return ChangeOut(years=change.years, recomputed_tasks=change.recomputed_tasks)


@router.delete("/years/{year}")
def delete_year(year: Year, uow: UowDep, actor: ActorDep) -> ChangeOut:
    """Forget an entered year (the bundled or provisional calendar applies again)."""
    change = calendars.delete_year(uow, actor, year)
    return ChangeOut(years=change.years, recomputed_tasks=change.recomputed_tasks)


@router.post("/years/import")
async def import_years(file: Annotated[UploadFile, upload(perms.REFERENCE_WRITE)],
                       request: Request, uow: UowDep, actor: ActorDep,
                       notice: str = "") -> ChangeOut:
    """Import ``date,kind`` rows (``2027-10-01,holiday`` / ``2027-09-26,班``) for one or more years."""
    data = await read_bytes(file, 1_000_000)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            raise Invalid("the file is neither UTF-8 nor GBK text", field="file") from None
    change = calendars.import_years(uow, actor, text, notice)
    return ChangeOut(years=change.years, recomputed_tasks=change.recomputed_tasks)


@router.get("/office-hours/{centre_code}")
def get_office_hours(centre_code: str, uow: UowDep, actor: ActorDep) -> OfficeHoursOut:
    """A centre's office hours (the units under it work to them)."""
    return OfficeHoursOut(**calendars.get_office_hours(uow, actor, centre_code).__dict__)


@router.put("/office-hours/{centre_code}")
def set_office_hours(centre_code: str, body: OfficeHoursIn, uow: UowDep, actor: ActorDep) -> OfficeHoursOut:
    """Set a centre's office hours; the open deadlines of its units are recomputed."""
    view, n = calendars.set_office_hours(uow, actor, centre_code, body.office_hours)
    return OfficeHoursOut(**view.__dict__, recomputed_tasks=n)
