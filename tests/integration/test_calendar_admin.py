"""Administrators enter holiday years and office hours; open deadlines follow at once.

2027 is not bundled with chinesecalendar (it knows up to 2026), so a deadline running into January
2027 is first counted on a provisional Monday–Friday calendar. 1 January 2027 is a Friday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.services import commands as c
from shuzhi.services import handling, intake, task_handling
from shuzhi.services.actors import resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

# Monday 28 December 2026, 10:00 Beijing time
MONDAY = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)


def _dispatched(sf: sessionmaker[Session], unit_code: str = "D500111-CGJ", at: datetime = MONDAY) -> tuple[str, int]:
    """An event received and dispatched at ``at``; the class limit is 5 working days to handle."""
    with UnitOfWork(sf) as uow:
        alice = resolve_actor(uow.session, "alice")
    done = intake.submit_event(UnitOfWork(sf), c.SubmitEvent(
        source="hotline", request_type="complain", event_class_code="0101", title="井盖破损",
        lon=World.A1[0], lat=World.A1[1]), alice, now=at)
    ev = handling.dispatch(UnitOfWork(sf), done.number, c.Dispatch(units=[c.UnitAssignment(unit_code=unit_code)]),
                           alice, now=at)
    return done.number, ev.tasks[-1].id


def _task(api: Api, number: str, task_id: int) -> dict[str, Any]:
    ev = api.get(f"/api/events/{number}")
    return next(t for t in ev["tasks"] if t["id"] == task_id)


def _due(api: Api, number: str, task_id: int) -> datetime:
    return datetime.fromisoformat(_task(api, number, task_id)["handle_due_at"])


def test_the_next_years_are_provisional_until_entered(api: Api, world: World) -> None:
    years = {y["year"]: y for y in api.get("/api/calendar/years")}
    assert years[2026]["source"] == "official" and "2026-10-01" in years[2026]["holidays"]
    assert years[2028]["source"] == "provisional" and years[2028]["holidays"] == []
    this_year = datetime.now(UTC).year  # the Beijing year too, but on New Year's Eve after 16:00 UTC
    expected = [y for y in (this_year, this_year + 1) if y > 2026]  # chinesecalendar knows up to 2026
    if datetime.now(UTC).month == 12 and datetime.now(UTC).day == 31:
        return  # the two years differ for a few hours; nothing to compare then
    assert api.get("/api/calendar/status")["provisional_years"] == expected


def test_entering_a_year_recomputes_open_deadlines_and_says_so(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    number, task_id = _dispatched(session_factory)
    before = _due(api, number, task_id)
    # provisional: Mon 28 Dec 10:00 + 5 working days (Mon–Fri only) → Mon 4 Jan 2027 10:00
    assert before == datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    created = next(t for t in api.get(f"/api/events/{number}/timeline") if t["action"] == "task.create")
    assert created["payload"]["provisional_years"] == [2027]

    change = api.request("PUT", "/api/calendar/years/2027", "admin", json={
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "makeup_workdays": [],
        "notice": "国办发明电〔2026〕9号"})
    assert change == {"years": [2027], "recomputed_tasks": 1}
    # New Year's Day off: one working day later
    assert _due(api, number, task_id) == datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
    line = [t for t in api.get(f"/api/events/{number}/timeline") if t["action"] == "task.deadline_recomputed"]
    assert len(line) == 1 and "2027" in line[0]["reason"]
    assert line[0]["payload"]["handle_due_at"] == {"from": before.isoformat(),
                                                   "to": datetime(2027, 1, 5, 2, 0, tzinfo=UTC).isoformat()}
    year = api.get("/api/calendar/years/2027")
    assert year["source"] == "admin" and year["notice"] == "国办发明电〔2026〕9号"
    assert year["holidays"] == ["2027-01-01", "2027-01-02", "2027-01-03"]

    # entering the same again moves nothing and writes nothing
    again = api.request("PUT", "/api/calendar/years/2027", "admin", json={
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "notice": "国办发明电〔2026〕9号"})
    assert again["recomputed_tasks"] == 0

    # deleting it goes back to the provisional calendar, and the deadline back with it
    assert api.request("DELETE", "/api/calendar/years/2027", "admin")["recomputed_tasks"] == 1
    assert _due(api, number, task_id) == before
    assert api.get("/api/calendar/years/2027")["source"] == "provisional"


def test_a_makeup_saturday_counts_as_a_working_day(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    number, task_id = _dispatched(session_factory)
    api.request("PUT", "/api/calendar/years/2027", "admin", json={"makeup_workdays": ["2027-01-02"]})
    # Sat 2 Jan worked: Mon 28, Tue, Wed, Thu, Fri 1, Sat 2 → due Sat 2 Jan 10:00
    assert _due(api, number, task_id) == datetime(2027, 1, 2, 2, 0, tzinfo=UTC)


def test_approved_extensions_and_suspensions_survive_a_recompute(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        alice = resolve_actor(uow.session, "alice")
        carol = resolve_actor(uow.session, "carol")
    extended, t1 = _dispatched(session_factory)
    suspended, t2 = _dispatched(session_factory)
    for number, task_id in ((extended, t1), (suspended, t2)):
        task_handling.accept_task(UnitOfWork(session_factory), number, task_id, c.OptionalReason(), carol,
                             now=MONDAY + timedelta(minutes=5))
    chosen = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
    task_handling.request_extension(UnitOfWork(session_factory), extended, t1,
                               c.RequestExtension(until=chosen, reason="需协调施工"), carol,
                               now=MONDAY + timedelta(hours=1))
    task_handling.decide_extension(UnitOfWork(session_factory), extended, t1, c.DecideExtension(approve=True), alice,
                              now=MONDAY + timedelta(hours=2))
    # suspended from Tue 29 Dec 10:00 to Wed 30 Dec 10:00: one working day of clock stopped
    task_handling.suspend_task(UnitOfWork(session_factory), suspended, t2, c.WithReason(reason="等待天晴"), alice,
                          now=MONDAY + timedelta(days=1))
    task_handling.resume_task(UnitOfWork(session_factory), suspended, t2, c.OptionalReason(), alice,
                         now=MONDAY + timedelta(days=2))
    assert _due(api, suspended, t2) == datetime(2027, 1, 5, 2, 0, tzinfo=UTC)  # provisional, one day later

    change = api.request("PUT", "/api/calendar/years/2027", "admin", json={"holidays": ["2027-01-01"]})
    assert change["recomputed_tasks"] == 1
    assert _due(api, extended, t1) == chosen  # a date a person chose stays that date
    assert _due(api, suspended, t2) == datetime(2027, 1, 6, 2, 0, tzinfo=UTC)  # and New Year's Day off


def test_bad_years_are_refused_and_change_nothing(api: Api, world: World) -> None:
    r = api.request("PUT", "/api/calendar/years/2027", "admin", status=422,
                    json={"holidays": ["2027-10-01"], "makeup_workdays": ["2027-09-29"]})
    assert r["field"] == "makeup_workdays[0]" and "2027-09-29 is a Wednesday" in r["detail"]
    r = api.request("PUT", "/api/calendar/years/2027", "admin", status=422, json={"holidays": ["2028-01-01"]})
    assert r["field"] == "holidays[0]" and "2028-01-01 is not in 2027" in r["detail"]
    r = api.request("PUT", "/api/calendar/years/2027", "admin", status=422, json={"holidays": ["2027-13-01"]})
    assert r["field"] == "holidays[0]"
    api.request("PUT", "/api/calendar/years/1800", "admin", status=422, json={"holidays": []})
    assert api.get("/api/calendar/years/2027")["source"] == "provisional"
    # only those who may change reference data may enter a calendar
    r = api.request("PUT", "/api/calendar/years/2027", "carol", status=403, json={"holidays": ["2027-01-01"]})
    assert "reference.write" in r["detail"]
    api.request("DELETE", "/api/calendar/years/2027", "admin", status=404)


def test_a_bad_makeup_day_is_reported_against_its_own_field(api: Api, world: World) -> None:
    # the second make-up day is a Wednesday: the page points at that input, not at the holidays
    r = api.request("PUT", "/api/calendar/years/2027", "admin", status=422,
                    json={"holidays": ["2027-10-01", "2027-10-04"], "makeup_workdays": ["2027-09-26", "2027-09-29"]})
    assert r["field"] == "makeup_workdays[1]"
    assert r["details"] == ["2027-09-29 is a Wednesday: a make-up working day must be a Saturday or Sunday"]
    r = api.request("PUT", "/api/calendar/years/2027", "admin", status=422,
                    json={"holidays": ["2027-10-09"], "makeup_workdays": ["2027-09-26", "2027-10-09"]})
    assert r["field"] == "makeup_workdays[1]" and "both as a holiday and as a make-up working day" in r["detail"]
    assert api.get("/api/calendar/years/2027")["source"] == "provisional"


def test_import_a_file_of_years(api: Api, world: World) -> None:
    text = "日期,类型,名称\n2027-01-01,休,元旦\n2027-02-06,班,春节调休\n2028-01-01,holiday\n"
    r = api.request("POST", "/api/calendar/years/import", "admin", files={"file": ("2027.csv", text.encode())},
                    params={"notice": "国办发明电〔2026〕9号"})
    assert r["years"] == [2027, 2028]
    assert api.get("/api/calendar/years/2027")["makeup_workdays"] == ["2027-02-06"]
    bad = "date,kind\n2027-01-01,holiday\n2027-01-01,workday\n2027-02-03,班\n"
    r = api.request("POST", "/api/calendar/years/import", "admin", status=422,
                    files={"file": ("bad.csv", bad.encode())})
    assert r["details"] == ["line 3: 2027-01-01 is already listed on line 2",
                            "line 4: 2027-02-03 is a Wednesday: a make-up working day must be a Saturday or Sunday"]


def test_cli_imports_a_calendar_and_names_bad_lines(tmp_path: Path) -> None:
    from shuzhi.entrypoints.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--database-url", url]).exit_code == 0
    good = tmp_path / "2027.csv"
    good.write_text("2027-10-01,holiday\n2027-09-26,班\n", encoding="utf-8")
    r = runner.invoke(app, ["import", "calendar", str(good), "--database-url", url, "--notice", "国办发明电"])
    assert r.exit_code == 0, r.output
    assert "2027 entered" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-10-01,holiday\n2027-09-29,班\n", encoding="utf-8")
    r = runner.invoke(app, ["import", "calendar", str(bad), "--database-url", url])
    assert r.exit_code == 2
    assert "line 2: 2027-09-29 is a Wednesday" in r.output


def test_office_hours_per_centre_move_the_deadlines_of_its_units(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    # Mon 9 Jun 2025 11:00 Beijing time: a task for town A's grid unit (its centre is 龙岗街道's) and
    # one for a district department (the district centre keeps the default hours)
    at = datetime(2025, 6, 9, 3, 0, tzinfo=UTC)
    grid_event, grid_task = _dispatched(session_factory, "G500111001001001", at=at)
    dept_event, dept_task = _dispatched(session_factory, "D500111-CGJ", at=at)
    # accept within 2 working hours: 11:00–12:00 and 14:00–15:00
    assert _task(api, grid_event, grid_task)["accept_due_at"] == "2025-06-09T07:00:00Z"
    dept_before = _task(api, dept_event, dept_task)
    assert api.get("/api/calendar/office-hours/C500111001")["own"] is False

    r = api.request("PUT", "/api/calendar/office-hours/C500111001", "admin",
                    json={"office_hours": "08:30-12:00，14:30-17:30"})
    assert r["office_hours"] == "08:30-12:00,14:30-17:30" and r["own"] is True
    assert r["working_hours_per_day"] == 6.5 and r["recomputed_tasks"] == 1
    # now 11:00–12:00 and 14:30–15:30
    assert _task(api, grid_event, grid_task)["accept_due_at"] == "2025-06-09T07:30:00Z"
    assert _task(api, dept_event, dept_task)["accept_due_at"] == dept_before["accept_due_at"]
    line = [t for t in api.get(f"/api/events/{grid_event}/timeline") if t["action"] == "task.deadline_recomputed"]
    assert len(line) == 1 and "08:30-12:00,14:30-17:30" in line[0]["reason"]
    # a task dispatched from now on runs on the new hours too
    later_event, later_task = _dispatched(session_factory, "G500111001001001", at=at + timedelta(days=1))
    assert _task(api, later_event, later_task)["accept_due_at"] == "2025-06-10T07:30:00Z"

    r = api.request("PUT", "/api/calendar/office-hours/C500111001", "admin", status=422,
                    json={"office_hours": "18:00-09:00"})
    assert r["field"] == "office_hours" and "ends before it starts" in r["detail"]
    api.request("PUT", "/api/calendar/office-hours/D500111-CGJ", "admin", status=404,
                json={"office_hours": "09:00-17:00"})
    assert api.get("/api/calendar/office-hours/C500111001")["office_hours"] == "08:30-12:00,14:30-17:30"
    back = api.request("PUT", "/api/calendar/office-hours/C500111001", "admin", json={"office_hours": None})
    assert back["own"] is False and back["office_hours"] == "09:00-12:00,14:00-18:00"
