"""The city demo (``shuzhi demo --scale city``, demo/city.py) at a small size: 2 districts × 3 towns ×
2 villages × 2 grids and two days of events, on both engines. Counts, paths, point→grid, the level
view from the city down to a grid, the cockpit, and a dispatch decision on a generated event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event, Person, Task, TimelineEntry, Unit, UnitCoverage, UnitDuty
from shuzhi.adapters.db.tables_security import Credential
from shuzhi.config import Settings
from shuzhi.demo.city import CityShape, build_city, split
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.actors import resolve_actor
from shuzhi.services.areas import locate
from shuzhi.services.dispatching.deciding import auto_dispatch
from shuzhi.services.unit_of_work import UnitOfWork
from tests.integration.conftest import Api

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
SMALL = CityShape(districts=2, towns_per_district=3, villages_per_town=(2, 2), grids_per_village=(2,))


@pytest.fixture
def client(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[TestClient]:
    """As the city demo serves: demo mode, so the named accounts' demo password needs no change first."""
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://", demo_mode=True))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def city(session_factory: sessionmaker[Session]) -> dict[str, int]:
    report = build_city(session_factory, shape=SMALL, seed=1, days=2, events_per_day=150, now=NOW)
    return report.counts


def test_split_tiles_the_rectangle_exactly() -> None:
    for n in (1, 2, 3, 7, 41):
        cells = split((105.0, 28.0, 110.0, 32.0), n)
        assert len(cells) == n
        assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in cells) == pytest.approx(20.0)


def test_the_small_city_has_its_tree_people_and_events(city: dict[str, int],
                                                       session_factory: sessionmaker[Session]) -> None:
    assert {k: v for k, v in city.items() if k != "units"} == {"events": 300, "districts": 2, "towns": 6,
                                                               "villages": 12, "grids": 24}
    with session_factory() as s:
        levels = Counter(s.scalars(select(Area.level)))
        assert levels == {"city": 1, "district": 2, "town": 6, "village": 12, "grid": 24}
        # materialised paths: each area's path is its parent's and its own code; codes extend the parent's
        areas = {a.id: a for a in s.scalars(select(Area))}
        for a in areas.values():
            if a.parent_id is None:
                assert a.path == "/500000/"
                continue
            parent = areas[a.parent_id]
            assert a.path == f"{parent.path}{a.code}/"
            assert parent.level == "city" or a.code.startswith(parent.code)
            assert a.boundary and a.boundary["type"] == "Polygon"
        kinds = Counter(s.scalars(select(Unit.kind)))
        assert kinds["centre"] == 1 + 2 + 6 and kinds["village"] == 12 and kinds["grid"] == 24
        assert kinds["department"] >= 2 * 10
        # every unit covers an area; grid units have duties; departments cover their district
        assert s.scalar(select(func.count()).select_from(UnitCoverage)) == sum(kinds.values())
        grid_unit = s.scalar(select(Unit).where(Unit.code == "G500101001001001"))
        assert grid_unit is not None and grid_unit.area.code == "500101001001001"
        assert s.scalar(select(func.count()).select_from(UnitDuty).where(UnitDuty.unit_id == grid_unit.id)) > 0
        dept = s.scalar(select(Unit).where(Unit.code == "D500102-CGJ"))
        assert dept is not None and dept.parent_id == s.scalar(select(Unit.id).where(Unit.code == "C500102"))
        roles = Counter(s.scalars(select(Person.role)))
        assert roles["grid_worker"] == 24 and roles["duty_officer"] == 2 * (1 + 2 + 6)
        assert s.scalar(select(func.count()).select_from(Credential)) == 9  # the named accounts only
        modes = Counter(s.scalars(select(Event.mode)))
        assert modes["notify"] + modes["handle"] == 300 and modes["notify"] / 300 > 0.93
        # every notice has its copies and lines; every event was numbered from its district's book
        copies = s.scalar(select(func.count()).select_from(Task).where(Task.role == "notify"))
        assert copies >= modes["notify"]
        assert s.scalar(select(func.count(func.distinct(TimelineEntry.event_id)))) == 300
        assert all(n[:6] in ("500101", "500102") for n in s.scalars(select(Event.number)))


def test_a_point_falls_in_its_grid(city: dict[str, int], session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        grids = s.execute(select(Area.code, Area.centroid_lon, Area.centroid_lat).where(Area.level == "grid")).all()
    for code, lon, lat in grids[::5]:
        where = locate(UnitOfWork(session_factory), lon, lat)
        assert where.found and where.grid is not None and where.grid.code == code
        assert [c.code for c in where.chain][:2] == ["500000", code[:6]]
    assert not locate(UnitOfWork(session_factory), 100.0, 20.0).found  # outside the city


def test_levels_drill_from_the_city_to_a_grid_and_the_cockpit_opens(city: dict[str, int], api: Api) -> None:
    view = api.get("/api/levels", who="leader.city")
    assert view["area"]["code"] == "500000" and view["child_level"] == "district"
    assert {c["code"] for c in view["children"]} == {"500101", "500102"}
    district = api.get("/api/levels/500101", who="leader.city")
    assert district["child_level"] == "town" and len(district["children"]) == 3
    town = api.get("/api/levels/500101001", who="leader.city")
    assert town["child_level"] == "village" and len(town["children"]) == 2
    village = api.get("/api/levels/500101001001", who="leader.city")
    assert village["child_level"] == "grid" and {c["code"] for c in village["children"]} == {
        "500101001001001", "500101001001002"}
    summary = api.get("/api/cockpit/summary", who="duty.500101")
    assert summary


def test_a_generated_case_is_dispatched_by_the_grid_principle_or_duties(
        city: dict[str, int], session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        number = s.scalar(select(Event.number).where(Event.mode == "handle", Event.state == "registered",
                                                     ).order_by(Event.id))
        assert number is not None, "the small city has no case waiting for dispatch"
        actor = resolve_actor(s, f"dispatcher.{number[:6]}")
    event = auto_dispatch(UnitOfWork(session_factory), number, actor, now=NOW)
    assert event.state == "dispatched"
    with session_factory() as s:
        lead = s.scalars(select(Unit).join(Task, Task.unit_id == Unit.id)
                         .join(Event, Event.id == Task.event_id)
                         .where(Event.number == number, Task.role == "lead")).one()
        area_path = s.scalar(select(Event.area_path).where(Event.number == number))
    # the lead unit serves where the case is: its grid unit or a department of its district
    assert area_path is not None and area_path.startswith(lead.area.path)


def test_the_command_builds_a_tiny_city_and_reuses_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shuzhi.main import app

    url = f"sqlite:///{tmp_path / 'city.db'}"
    args = ["demo", "--scale", "city", "--database-url", url, "--no-serve", "--days", "1", "--events-per-day", "50",
            "--districts", "1", "--towns-per-district", "2", "--villages-per-town", "1", "--grids-per-village", "2"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "city ready" in first.output and "4 grids" in first.output and "grid.500101001001001" in first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "reusing" in again.output


def test_no_two_towns_of_a_district_share_a_name() -> None:
    from shuzhi.demo.city import city_tree

    towns = [n for n in city_tree(CityShape(districts=3, towns=80, villages_per_town=(1, 1),
                                            grids_per_village=(1,)), seed=1) if n.level == "town"]
    assert len(towns) == 80
    for d in ("500101", "500102", "500103"):
        names = [t.name for t in towns if t.parent == d]
        assert len(names) == len(set(names))


def test_a_city_server_compiles_the_organisation_before_the_first_decision(
        city: dict[str, int], session_factory: sessionmaker[Session]) -> None:
    from shuzhi.services.dispatching import directory
    from shuzhi.services.dispatching.deciding import warm

    directory._compiled.clear()
    warm(UnitOfWork(session_factory))
    with session_factory() as s:
        url = str(s.get_bind().engine.url)
    held = directory._compiled.peek(url)
    assert held is not None
    assert held[1].unit("C500000") is not None
