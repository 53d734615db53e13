"""The demo's village merge (村社撤并, issue #20): open work of the two villages moves to the merged
village's grids and units with a timeline line; last month's figures by village and grid are unchanged.
Run on both engines like the rest of the suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event, TimelineEntry, Unit
from shuzhi.demo.areas import merge_pair, seed_merge_configuration, seed_village_merge
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services import commands as c
from shuzhi.services import evaluation, handling, intake
from shuzhi.services.actors import resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork


def test_the_demo_merge_moves_open_work_and_leaves_last_months_figures_unchanged(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    first, second = merge_pair(district)
    town = first["town"]
    then = datetime.now(UTC) - timedelta(days=35)
    with session_factory() as s:
        duty = resolve_actor(s, "duty.district")
        leader = resolve_actor(s, "leader.district")
        grids = list(s.scalars(select(Area).where(Area.path.like(f"%/{first['code']}/%"), Area.level == "grid")
                               .order_by(Area.code)))
    kind = next(k["code"] for k in district.classes if k.get("mode", "handle") == "handle")
    numbers = []
    for i, grid in enumerate(grids[:3]):
        done = intake.submit_event(uow(), c.SubmitEvent(source="hotline", request_type="complain",
                                                        event_class_code=kind, title=f"井盖{i}", lon=grid.centroid_lon,
                                                        lat=grid.centroid_lat), duty, now=then + timedelta(hours=i))
        handling.dispatch(uow(), done.number, c.Dispatch(units=[c.UnitAssignment(unit_code=f"G{grid.code}",
                                                                                 role="lead")]),
                          duty, now=then + timedelta(hours=i, minutes=5))
        numbers.append(done.number)
    month = then.astimezone(SHANGHAI).strftime("%Y-%m")

    def figures(area: str) -> dict[str, Any]:
        out = evaluation.figures(uow(), leader, area=area, period=month, group_by="area")
        return {g["code"]: g for g in out["groups"]}

    before_town, before_village = figures(town), figures(first["code"])
    assert sum(g["received"] for g in before_village.values()) == 3
    windows = seed_merge_configuration(uow, district)
    change = seed_village_merge(uow, district, datetime.now(UTC))
    merged = change["successors"][first["code"]]
    assert change["successors"][second["code"]] == merged and change["counts"]["events"] == 3
    assert figures(town) == before_town and figures(first["code"]) == before_village
    with session_factory() as s:
        for number in numbers:
            ev = s.scalars(select(Event).where(Event.number == number)).one()
            assert ev.area_path is not None and f"/{merged}/" in ev.area_path
            assert ev.origin_area_path is not None and f"/{first['code']}/" in ev.origin_area_path
            assert [t.unit.code for t in ev.tasks] == [f"G{ev.area.code}"]
            lines = s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == ev.id,
                                                          TimelineEntry.action.in_(["event.rehome", "task.rehome"])))
            assert sorted(e.action for e in lines) == ["event.rehome", "task.rehome"]
    # the villages' service windows (configuration naming them) now name the merged village and its unit
    assert change["counts"]["configuration"] == 2
    assert {m["ref"] for m in change["moves"] if m["what"] == "config"} == {f"service_window:{w}" for w in windows}
    with session_factory() as s:
        from shuzhi.adapters.db.tables_public_services import ServiceWindow

        area = s.scalars(select(Area).where(Area.code == merged)).one()
        for w in s.scalars(select(ServiceWindow).where(ServiceWindow.code.in_(windows))):
            unit = s.get(Unit, w.unit_id)
            assert (w.area_id, w.area_path, unit.code if unit else None) == (area.id, area.path, f"V{merged}")
