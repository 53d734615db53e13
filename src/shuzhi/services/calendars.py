"""Calendar administration: holiday years, office hours per centre, and the calendar a task runs on.

Two things make the bundled calendar insufficient for a centre that never stops (see
:mod:`shuzhi.domain.calendar`): ``chinesecalendar`` only knows the years already published, and each
centre may keep its own office hours. Administrators enter a year from the State Council's notice
(API, or a ``date,kind`` file) and set a centre's hours; every open deadline the change touches is
recomputed at once and the change is written on each affected event's timeline.

Which office hours a task runs on: those of the centre its unit belongs to — the unit itself when it
is a centre, else the nearest centre up its ``parent`` chain (a grid → its village → its town centre;
a district department → the district centre); the default (09:00–12:00, 14:00–18:00) where none is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_calendar import CalendarYear, OfficeHoursSetting
from shuzhi.domain.calendar import (
    SHANGHAI,
    CalendarError,
    DayKind,
    DaySource,
    DayTable,
    OfficeHours,
    WorkingCalendar,
    YearCalendar,
    parse_year_calendars,
    year_calendar,
)
from shuzhi.domain.events import ACTIVE_TASK_STATES, TaskState
from shuzhi.domain.permissions import REFERENCE_WRITE
from shuzhi.domain.problems import index_path
from shuzhi.domain.time_limits import LimitUnit, Stage, TimeLimit
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import note
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

DEFAULT_OFFICE_HOURS = OfficeHours()

# Reference data read on every dispatch; a change made on another process arrives within the TTL,
# and at once on the process that made it (it clears the caches).
_day_tables: TTLCache[DayTable] = TTLCache(ttl=30)
_hours: TTLCache[dict[int, OfficeHours]] = TTLCache(ttl=30)


def _key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _forget() -> None:
    _day_tables.clear()
    _hours.clear()


def _year_of(row: CalendarYear) -> YearCalendar:
    return YearCalendar(row.year, frozenset(date.fromisoformat(d) for d in row.holidays),
                        frozenset(date.fromisoformat(d) for d in row.makeup_workdays), row.source)


def day_table(session: Session) -> DayTable:
    """The working days: administrators' years over the bundled ones over Monday–Friday."""
    def load() -> DayTable:
        return DayTable([_year_of(r) for r in session.scalars(select(CalendarYear))])

    table = _day_tables.get(_key(session), load)
    assert table is not None
    return table


def _governing_centres(session: Session) -> dict[int, int | None]:
    """Each unit's centre: itself when it is one, else the nearest centre up its ``parent`` chain."""
    units = session.execute(select(Unit.id, Unit.kind, Unit.parent_id)).all()
    parent = {uid: pid for uid, _kind, pid in units}
    kind = {uid: k for uid, k, _pid in units}
    out: dict[int, int | None] = {}
    for uid in parent:
        cur: int | None = uid
        for _ in range(16):  # the unit tree is five levels deep; a cycle must not hang us
            if cur is None or kind.get(cur) == "centre":
                break
            cur = parent.get(cur)
        out[uid] = cur if cur is not None and kind.get(cur) == "centre" else None
    return out


def _centre_hours(session: Session) -> dict[int, OfficeHours]:
    """Office hours by unit id, for every unit whose centre set its own."""
    def load() -> dict[int, OfficeHours]:
        own = {uid: OfficeHours.parse(spans) for uid, spans in
               session.execute(select(OfficeHoursSetting.unit_id, OfficeHoursSetting.spans))}
        if not own:
            return {}
        return {uid: own[c] for uid, c in _governing_centres(session).items() if c in own}

    hours = _hours.get(_key(session), load)
    return hours if hours is not None else {}


def office_hours_for(session: Session, unit_id: int | None) -> OfficeHours:
    if unit_id is None:
        return DEFAULT_OFFICE_HOURS
    return _centre_hours(session).get(unit_id, DEFAULT_OFFICE_HOURS)


def calendar_for(session: Session, unit_id: int | None = None) -> WorkingCalendar:
    """The working calendar a unit's clocks run on (its centre's office hours, the entered years)."""
    return WorkingCalendar(office_hours_for(session, unit_id), day_table(session))


# --- years ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearView:
    year: int
    source: str  # admin|official|provisional
    holidays: list[str]
    makeup_workdays: list[str]
    notice: str
    entered_by: str | None
    entered_at: datetime | None


@dataclass(frozen=True)
class CalendarChange:
    years: list[int]
    recomputed_tasks: int


def _view(table: DayTable, year: int, row: CalendarYear | None) -> YearView:
    start, end = date(year, 1, 1), date(year, 12, 31)
    days = [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1)]
    return YearView(
        year=year, source=table.source(year).value,
        holidays=[d.isoformat() for d in days if table.kind(d) is DayKind.HOLIDAY],
        makeup_workdays=[d.isoformat() for d in days if table.kind(d) is DayKind.MAKEUP_WORKDAY],
        notice=row.source if row else ("chinesecalendar" if table.source(year) is DaySource.OFFICIAL else ""),
        entered_by=row.entered_by if row else None, entered_at=row.entered_at if row else None)


def list_years(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> list[YearView]:
    """Every year entered or bundled, plus this year and the next two (provisional if nobody knows them)."""
    this_year = (now or datetime.now(UTC)).astimezone(SHANGHAI).year
    with uow:
        rows = {r.year: r for r in uow.session.scalars(select(CalendarYear))}
        table = day_table(uow.session)
        known = {y for y in range(2004, this_year + 3) if table.source(y) is not DaySource.PROVISIONAL}
        years = sorted(known | set(rows) | set(range(this_year, this_year + 3)))
        return [_view(table, y, rows.get(y)) for y in years]


def get_year(uow: UnitOfWork, actor: Actor, year: int) -> YearView:
    with uow:
        return _view(day_table(uow.session), year, uow.session.get(CalendarYear, year))


def provisional_years(session: Session, now: datetime) -> list[int]:
    """This year and next, where nobody has published the holidays: the interface warns about them."""
    this_year = now.astimezone(SHANGHAI).year
    return list(day_table(session).provisional_years(range(this_year, this_year + 2)))


def _parse_dates(values: Sequence[str], field: str) -> list[date]:
    """The dates in the order typed, so that a problem can name the item at fault (``holidays[2]``)."""
    out: list[date] = []
    for i, v in enumerate(values):
        try:
            out.append(date.fromisoformat(v))
        except (TypeError, ValueError):
            raise Invalid(f"{v!r} is not a date (use YYYY-MM-DD)", field=index_path(field, i)) from None
    return out


def _ensure_national(actor: Actor) -> None:
    """The holiday years are the State Council's, the same for every area: one calendar moves every
    area's deadlines, so only an installation-wide author enters it (403) — never a town for all."""
    authz.ensure_config_in_scope(actor, None, what="the national holiday calendar", field="year")


def put_year(uow: UnitOfWork, actor: Actor, year: int, holidays: Sequence[str], makeup_workdays: Sequence[str],
             notice: str = "", *, now: datetime | None = None) -> CalendarChange:
    """Enter (or replace) a year's holidays and make-up working days from the State Council notice."""
    authz.require(actor, REFERENCE_WRITE)
    _ensure_national(actor)
    try:
        cal = year_calendar(year, _parse_dates(holidays, "holidays"), _parse_dates(makeup_workdays,
                                                                                   "makeup_workdays"), notice)
    except CalendarError as exc:
        raise Invalid(str(exc), field=exc.path, details=exc.errors) from None
    return _store_years(uow, actor, [cal], now=now)


def import_years(uow: UnitOfWork, actor: Actor, text: str, notice: str = "", *,
                 now: datetime | None = None) -> CalendarChange:
    """Enter the years of a ``date,kind`` file (one or more years; each replaces what was known)."""
    authz.require(actor, REFERENCE_WRITE)
    _ensure_national(actor)
    try:
        years = parse_year_calendars(text, notice)
    except CalendarError as exc:
        raise Invalid(str(exc), field="file", details=exc.errors) from None
    return _store_years(uow, actor, list(years.values()), now=now)


def delete_year(uow: UnitOfWork, actor: Actor, year: int, *, now: datetime | None = None) -> CalendarChange:
    """Forget an entered year: the bundled calendar (or Monday–Friday, provisional) applies again."""
    authz.require(actor, REFERENCE_WRITE)
    _ensure_national(actor)
    at = now or datetime.now(UTC)
    with uow:
        row = uow.session.get(CalendarYear, year)
        if row is None:
            raise NotFound(f"no calendar was entered for {year}", field="year")
        audit.record_change(uow.session, actor, "calendar.delete", f"calendar:{year}", _year_audit(row), None)
        uow.session.delete(row)
        uow.session.flush()
        _forget()
        n = recompute_open_deadlines(uow.session, [year], actor, at, f"{year}年日历已删除")
        uow.commit()
    _forget()
    return CalendarChange([year], n)


def _store_years(uow: UnitOfWork, actor: Actor, years: list[YearCalendar], *,
                 now: datetime | None) -> CalendarChange:
    at = now or datetime.now(UTC)
    with uow:
        for cal in years:
            found = uow.session.get(CalendarYear, cal.year)
            before = _year_audit(found) if found is not None else None
            row = found or CalendarYear(year=cal.year)
            row.holidays = sorted(d.isoformat() for d in cal.holidays)
            row.makeup_workdays = sorted(d.isoformat() for d in cal.makeup_workdays)
            row.source = cal.source
            row.entered_by = actor.label
            row.entered_at = at
            uow.session.add(row)
            audit.record_change(uow.session, actor, "calendar.put", f"calendar:{cal.year}", before,
                                _year_audit(row))
        uow.session.flush()
        _forget()
        label = "、".join(str(c.year) for c in years)
        n = recompute_open_deadlines(uow.session, [c.year for c in years], actor, at, f"{label}年日历已录入")
        uow.commit()
    _forget()
    return CalendarChange([c.year for c in years], n)


def _year_audit(row: CalendarYear) -> dict[str, Any]:
    return {"holidays": list(row.holidays or []), "makeup_workdays": list(row.makeup_workdays or []),
            "source": row.source}


# --- office hours --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeHoursView:
    centre_code: str
    centre_name: str
    office_hours: str
    own: bool  # False: the default applies
    working_hours_per_day: float


def _centre(session: Session, code: str) -> Unit:
    unit = session.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None or unit.kind != "centre":
        raise NotFound(f"no centre with code '{code}'", field="centre_code")
    return unit


def get_office_hours(uow: UnitOfWork, actor: Actor, centre_code: str) -> OfficeHoursView:
    with uow:
        centre = _centre(uow.session, centre_code)
        row = uow.session.get(OfficeHoursSetting, centre.id)
        hours = OfficeHours.parse(row.spans) if row else DEFAULT_OFFICE_HOURS
        return OfficeHoursView(centre.code, centre.name, str(hours), row is not None, hours.day_seconds / 3600)


def set_office_hours(uow: UnitOfWork, actor: Actor, centre_code: str, spans: str | None, *,
                     now: datetime | None = None) -> tuple[OfficeHoursView, int]:
    """Set a centre's office hours (``None`` = back to the default); open deadlines of its units move.

    Office hours belong to the centre's area: an author sets those of the centres in his own area (a
    town its own centre's, the district its own and its towns'), never another town's or the
    district's (403 at ``centre_code``)."""
    authz.require(actor, REFERENCE_WRITE)
    at = now or datetime.now(UTC)
    try:
        hours = OfficeHours.parse(spans) if spans is not None else None
    except CalendarError as exc:
        raise Invalid(str(exc), field="office_hours") from None
    with uow:
        centre = _centre(uow.session, centre_code)
        authz.ensure_config_in_scope(actor, uow.session.scalar(select(Area.path).where(Area.id == centre.area_id)),
                                     what="office hours", field="centre_code")
        row = uow.session.get(OfficeHoursSetting, centre.id)
        before = row.spans if row is not None else None
        if hours is None:
            if row is not None:
                uow.session.delete(row)
        else:
            row = row or OfficeHoursSetting(unit_id=centre.id)
            row.spans = str(hours)
            row.updated_by = actor.label
            uow.session.add(row)
        audit.record_change(uow.session, actor, "office_hours.set", f"centre:{centre.code}", before,
                            str(hours) if hours is not None else None)
        uow.session.flush()
        _forget()
        units = [uid for uid, c in _governing_centres(uow.session).items() if c == centre.id]
        reason = f"{centre.name}工作时间调整为{hours or DEFAULT_OFFICE_HOURS}"
        n = recompute_open_deadlines(uow.session, None, actor, at, reason, unit_ids=units)
        uow.commit()
    _forget()
    shown = hours or DEFAULT_OFFICE_HOURS
    return OfficeHoursView(centre.code, centre.name, str(shown), hours is not None, shown.day_seconds / 3600), n


# --- recomputing open deadlines --------------------------------------------------------------------


def _limit_unit(event: Event) -> LimitUnit:
    from shuzhi.services.deadlines import limit_for

    limit = limit_for(event.event_class, event.urgency, Stage.HANDLE)
    return limit.unit if limit is not None else LimitUnit.WORKING_HOURS


def replay_deadlines(cal: WorkingCalendar, event: Event, task: Task,
                     entries: Iterable[TimelineEntry]) -> tuple[datetime | None, datetime | None]:
    """A task's accept and handle deadlines as they stand today under ``cal``, rebuilt from its history.

    The clock starts when the task was dispatched; each resumption after a suspension moves the handle
    deadline by the working time that was left when the clock stopped (as :mod:`handling` did at the
    time); a deadline a person set (an approved extension, a leader's urge with a new deadline) is a date
    someone chose, and stays that date.
    """
    from shuzhi.services.deadlines import limit_for

    accept_limit = limit_for(event.event_class, event.urgency, Stage.ACCEPT)
    handle_limit = limit_for(event.event_class, event.urgency, Stage.HANDLE)
    accept_due = cal.deadline(task.dispatched_at, accept_limit) if accept_limit else task.accept_due_at
    handle_due = cal.deadline(task.dispatched_at, handle_limit) if handle_limit else task.handle_due_at
    suspended_at: datetime | None = None
    for entry in entries:
        payload: dict[str, Any] = entry.payload or {}
        if entry.action == "task.create" and payload.get("limits"):
            # a contingency plan's task runs on the template's limits, not the class's
            limits = payload["limits"]
            accept_due = cal.deadline(task.dispatched_at, TimeLimit.parse(limits["accept"])) \
                if limits.get("accept") else None
            handle_due = cal.deadline(task.dispatched_at, TimeLimit.parse(limits["handle"])) \
                if limits.get("handle") else None
        elif entry.action == "task.suspend":
            suspended_at = entry.at
        elif entry.action == "task.deadline_moved":
            if payload.get("accept_to"):  # an urgency raise tightened the time to sign for it
                accept_due = datetime.fromisoformat(payload["accept_to"]).astimezone(UTC)
            if payload.get("why") == "suspension" and suspended_at is not None and handle_due is not None:
                handle_due = cal.resume_deadline(handle_due, suspended_at, entry.at, _limit_unit(event))
                suspended_at = None
            elif payload.get("to"):
                handle_due = datetime.fromisoformat(payload["to"]).astimezone(UTC)
    return accept_due, handle_due


def recompute_open_deadlines(session: Session, years: list[int] | None, actor: Actor, at: datetime, reason: str,
                             *, unit_ids: list[int] | None = None) -> int:
    """Rebuild the deadlines of open tasks a calendar change touches; a timeline line for each that moved.

    Touched: tasks still running (not ended, not notify-only) whose clock ran or runs through one of
    ``years`` (local time), or whose unit is in ``unit_ids`` (an office-hours change).
    """
    active = [s.value for s in ACTIVE_TASK_STATES if s is not TaskState.NOTIFIED]
    stmt = select(Task).where(Task.state.in_(active), Task.handle_due_at.is_not(None) | Task.accept_due_at.is_not(None))
    if unit_ids is not None:
        if not unit_ids:
            return 0
        stmt = stmt.where(Task.unit_id.in_(unit_ids))
    if years:
        first = datetime(min(years), 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
        after = datetime(max(years) + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
        stmt = stmt.where(Task.dispatched_at < after,
                          (Task.handle_due_at >= first) | (Task.accept_due_at >= first))
    changed = 0
    for task in session.scalars(stmt.order_by(Task.id)).all():
        event = session.get(Event, task.event_id)
        assert event is not None
        entries = session.scalars(select(TimelineEntry).where(TimelineEntry.task_id == task.id)
                                  .order_by(TimelineEntry.id)).all()
        accept_due, handle_due = replay_deadlines(calendar_for(session, task.unit_id), event, task, entries)
        if task.state != TaskState.DISPATCHED.value:
            accept_due = task.accept_due_at  # already accepted: that clock has stopped
        if (accept_due, handle_due) == (task.accept_due_at, task.handle_due_at):
            continue
        _carry_supervision_steps(session, task, accept_due, handle_due)
        note(session, event, actor, "task.deadline_recomputed", at, task=task,
             reason=reason, payload={
                 "accept_due_at": {"from": _iso(task.accept_due_at), "to": _iso(accept_due)},
                 "handle_due_at": {"from": _iso(task.handle_due_at), "to": _iso(handle_due)}})
        task.accept_due_at = accept_due
        task.handle_due_at = handle_due
        # the task changed now: its clock is replanned from now on (a reminder whose moment the new
        # calendar puts in the past is not sent late; one it puts ahead waits for it)
        task.updated_at = at
        changed += 1
    return changed


def _carry_supervision_steps(session: Session, task: Task, accept_due: datetime | None,
                             handle_due: datetime | None) -> None:
    """Steps already taken about the old deadline count for the recomputed one.

    A recomputation corrects the same deadline (the same limit under the calendar as now known); it is
    not a new deadline like an extension or a leader's urge, so a reminder sent before it must not be
    sent again after it. The steps' key (task, step, deadline) is moved to the new deadline before the
    task is flushed, so the clock the flush replans leaves them out. Runs before the task's new values
    are set, on the session's connection (no autoflush of the pending change)."""
    from shuzhi.adapters.db.tables_supervision import SupervisionStep

    moves = [(task.handle_due_at, handle_due, SupervisionStep.step != "accept_timeout"),
             (task.accept_due_at, accept_due, SupervisionStep.step == "accept_timeout")]
    for old, new, which in moves:
        if old is None or new is None or old == new:
            continue
        taken = select(SupervisionStep.step).where(SupervisionStep.task_id == task.id,
                                                   SupervisionStep.deadline == new)
        session.execute(update(SupervisionStep).where(
            SupervisionStep.task_id == task.id, SupervisionStep.deadline == old, which,
            SupervisionStep.step.not_in(taken)).values(deadline=new).execution_options(synchronize_session=False))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
