"""Areas that change (issue #20): a village merge (村社撤并), a grid split and a moved boundary, over the
HTTP API as the small world's people, on SQLite and PostgreSQL.

Town A (龙岗街道) gets a second village for these tests: 南山社区 with one grid, beside 北山社区 and its two
grids. Each village has its committee (a unit, kind ``village``) with a handler, each grid of 北山 and the
grid of 南山 a grid unit; dave is the grid worker of 北山's first grid. admin is the district's
administrator; bob town A's duty officer.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, Event, Person, Task, Unit, UnitCoverage
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services import geo_index
from shuzhi.services.actors import forget_people
from shuzhi.services.areas import json_safe
from tests.factories import World
from tests.integration.conftest import Api

NORTH, SOUTH = "500111001001", "500111001002"
N1, N2, S1 = f"{NORTH}001", f"{NORTH}002", f"{SOUTH}001"
S1_POINT = (105.705, 29.715)


@pytest.fixture
def town(world: World, session_factory: sessionmaker[Session]) -> World:
    with session_factory() as s:
        town_a = s.scalars(select(Area).where(Area.code == "500111001")).one()
        south = Area(code=SOUTH, name="南山社区", level="village", parent_id=town_a.id,
                     path=f"{town_a.path}{SOUTH}/", boundary=json_safe(mapping(box(105.70, 29.71, 105.72, 29.72))),
                     centroid_lon=105.71, centroid_lat=29.715)
        s.add(south)
        s.flush()
        s.add(Area(code=S1, name="南山社区第1网格", level="grid", parent_id=south.id, path=f"{south.path}{S1}/",
                   boundary=json_safe(mapping(box(105.70, 29.71, 105.72, 29.72))), centroid_lon=105.71,
                   centroid_lat=29.715))
        s.flush()
        areas = {a.code: a for a in s.scalars(select(Area))}
        centre = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        units = {}
        for code, name, kind, area, parent in [
                (f"V{NORTH}", "北山社区居委会", "village", NORTH, centre.id),
                (f"V{SOUTH}", "南山社区居委会", "village", SOUTH, centre.id),
                (f"G{N2}", "北山社区第2网格", "grid", N2, None), (f"G{S1}", "南山社区第1网格", "grid", S1, None)]:
            u = Unit(code=code, name=name, kind=kind, level=kind, area_id=areas[area].id, parent_id=parent)
            s.add(u)
            s.flush()
            units[code] = u
            s.add(UnitCoverage(unit_id=u.id, area_id=areas[area].id))
        grid1 = s.scalars(select(Unit).where(Unit.code == f"G{N1}")).one()
        grid1.parent_id = units[f"V{NORTH}"].id
        units[f"G{N2}"].parent_id = units[f"V{NORTH}"].id
        units[f"G{S1}"].parent_id = units[f"V{SOUTH}"].id
        s.add_all([Person(code="nora", name="宁娜", phone="13800138011", unit_id=units[f"V{NORTH}"].id, role="handler"),
                   Person(code="sam", name="沈明", phone="13800138012", unit_id=units[f"V{SOUTH}"].id, role="handler"),
                   Person(code="gina", name="高娜", phone="13800138013", unit_id=units[f"G{S1}"].id,
                          role="grid_worker"),
                   Person(code="tom", name="唐明", phone="13800138014", unit_id=units[f"G{N2}"].id,
                          role="grid_worker")])
        s.commit()
    forget_people()
    geo_index.forget()
    return world


def _change(api: Api, body: dict[str, Any], status: int = 201, preview: bool = False, who: str = "admin") -> Any:
    body = {"reason": "镇政府批复：村社撤并", **body}
    path = "/api/area-changes/preview" if preview else "/api/area-changes"
    return api.post(path, who, body, status=200 if preview and status == 201 else status)


def _dispatch(api: Api, ev: dict[str, Any], unit: str) -> dict[str, Any]:
    return api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": unit, "role": "lead"}]})


def _timeline(api: Api, ev: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [e for e in api.get(f"/api/events/{ev['number']}/timeline") if e["action"] == action]


def _to_last_month(session_factory: sessionmaker[Session], numbers: list[str]) -> str:
    """Move the events (and their tasks and timelines) 31 days back: last month's work."""
    back = timedelta(days=31)
    with session_factory() as s:
        ids = list(s.scalars(select(Event.id).where(Event.number.in_(numbers))))
        for ev in s.scalars(select(Event).where(Event.id.in_(ids))):
            for col in ("received_at", "dispatched_at", "reported_at", "closed_at", "called_back_at", "updated_at"):
                if getattr(ev, col) is not None:
                    setattr(ev, col, getattr(ev, col) - back)
        for t in s.scalars(select(Task).where(Task.event_id.in_(ids))):
            for col in ("dispatched_at", "accept_due_at", "handle_due_at", "accepted_at", "reported_at",
                        "verified_at", "ended_at", "updated_at"):
                if getattr(t, col) is not None:
                    setattr(t, col, getattr(t, col) - back)
        s.commit()
    return (datetime.now(UTC) - back).astimezone(SHANGHAI).strftime("%Y-%m")


def _by_area(api: Api, area: str, period: str) -> dict[str, dict[str, Any]]:
    out = api.get(f"/api/evaluation/figures?period={period}&area={area}&group_by=area", who="grace")
    return {g["code"]: {k: v for k, v in g.items() if k != "key"} for g in out["groups"]}


def test_a_village_merge_moves_open_work_and_leaves_last_months_figures_unchanged(
        api: Api, town: World, session_factory: sessionmaker[Session]) -> None:
    # last month: in 北山's first grid one case done and closed, one open with the grid; in 南山 one open
    # with the village committee, one without a point at all (placed by area code)
    done = _dispatch(api, api.submit(), f"G{N1}")
    path = f"/api/events/{done['number']}/tasks/{api.task(done, f'G{N1}')['id']}"
    api.post(f"{path}/accept", "dave", {})
    api.post(f"{path}/report-back", "dave", {"result": "已处理"})
    api.post(f"/api/events/{done['number']}/verify", "alice", {"passed": True})
    api.post(f"/api/events/{done['number']}/close", "alice", {})
    open_grid = _dispatch(api, api.submit(title="北山网格内井盖"), f"G{N1}")
    open_village = _dispatch(api, api.submit(lon=S1_POINT[0], lat=S1_POINT[1], title="南山垃圾"), f"V{SOUTH}")
    no_point = api.submit(lon=None, lat=None, area_code=SOUTH, title="南山无坐标")
    month = _to_last_month(session_factory, [e["number"] for e in (done, open_grid, open_village, no_point)])
    before_town = _by_area(api, "500111001", month)
    before_north = _by_area(api, NORTH, month)
    assert before_town[NORTH]["received"] == 2 and before_town[SOUTH]["received"] == 2

    body = {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "北山南山社区"}
    preview = _change(api, body, preview=True)
    assert preview["counts"] == {"events": 3, "tasks": 2, "people": 5, "units": 5, "people_to_decide": 0,
                                 "configuration": 0}
    with session_factory() as s:
        assert s.scalar(select(Area).where(Area.code == "500111001003")) is None  # a preview writes nothing
    change = _change(api, body)
    merged = "500111001003"
    assert change["successors"][NORTH] == merged and change["successors"][N1] == f"{merged}001"
    assert change["counts"]["events"] == 3

    # last month's figures by village and by grid are what they were; the merged village did not exist yet
    after_town = _by_area(api, "500111001", month)
    assert after_town == before_town and merged not in after_town
    assert _by_area(api, NORTH, month) == before_north

    # open work moved, with a timeline line each (actor, reason, from → to)
    moved = api.get(f"/api/events/{open_grid['number']}")
    assert moved["area_code"] == f"{merged}001"
    [line] = _timeline(api, open_grid, "event.rehome")
    assert line["actor"].startswith("周敏") and line["reason"] == "镇政府批复：村社撤并"
    assert line["payload"]["from"]["code"] == N1 and line["payload"]["to"]["code"] == f"{merged}001"
    assert line["payload"]["rule"] == "geometry"
    assert api.task(moved, f"G{merged}001")["state"] == "dispatched"
    with session_factory() as s:  # the task's supervision clock now reminds the new grid's unit
        from shuzhi.adapters.db.tables_supervision import SupervisionClock

        clock = s.get(SupervisionClock, api.task(moved, f"G{merged}001")["id"])
        new_unit = s.scalars(select(Unit.id).where(Unit.code == f"G{merged}001")).one()
        assert clock is not None and clock.unit_id == new_unit and f"/{merged}/" in clock.area_path
    [task_line] = _timeline(api, open_grid, "task.rehome")
    assert task_line["payload"]["from"]["code"] == f"G{N1}" and task_line["payload"]["to"]["code"] == f"G{merged}001"
    assert api.task(api.get(f"/api/events/{open_village['number']}"), f"V{merged}")
    assert api.get(f"/api/events/{no_point['number']}")["area_code"] == merged
    assert _timeline(api, no_point, "event.rehome")[0]["payload"]["rule"] == "successor"
    # the old grid's list still holds what happened in it (the moved case too); the new grid's the moved one
    def listed(area: str) -> set[str]:
        return {e["number"] for e in api.get(f"/api/events?area_code={area}&limit=100", who="grace")["items"]}

    assert {done["number"], open_grid["number"]} <= listed(N1)
    assert open_grid["number"] in listed(f"{merged}001") and done["number"] not in listed(f"{merged}001")
    # history stays: the closed case keeps its grid and has no re-homing line
    assert api.get(f"/api/events/{done['number']}")["area_code"] == N1
    assert _timeline(api, done, "event.rehome") == []
    # dave went with his grid: he sees and works the moved case
    api.post(f"/api/events/{open_grid['number']}/tasks/{api.task(moved, f'G{merged}001')['id']}/accept", "dave", {})
    with session_factory() as s:
        dave = s.scalars(select(Person).where(Person.code == "dave")).one()
        assert dave.unit.code == f"G{merged}001"
        old = s.scalars(select(Unit).where(Unit.code == f"V{NORTH}")).one()
        assert old.active is False and old.valid_to is not None
        assert s.scalars(select(Area).where(Area.code == NORTH)).one().valid_to is not None
    # this month the merged village's figures start: a new case there counts for it
    api.submit(title="合并后新案")
    now_month = datetime.now(UTC).astimezone(SHANGHAI).strftime("%Y-%m")
    assert _by_area(api, "500111001", now_month)[merged]["received"] == 1
    # the change is listed with its reason
    [listed] = api.get("/api/area-changes", who="admin")
    assert listed["kind"] == "merge" and listed["reason"] == "镇政府批复：村社撤并"


def test_a_merge_re_points_the_configuration_naming_the_retired_areas(
        api: Api, town: World, session_factory: sessionmaker[Session]) -> None:
    """A dispatch rule of 北山 naming its first grid in its condition, a risk point in 南山's grid held by
    南山's committee, a plan template and supervision rules of 北山's grids, and a scoring scheme of each
    village: all follow the merge, audited; the second village's scheme meets the first one's at the merged
    village and is left for the district to decide; a rule of another town is untouched."""
    from shuzhi.adapters.db.tables import DispatchRule, DispatchRuleVersion
    from shuzhi.adapters.db.tables_evaluation import EvaluationScheme
    from shuzhi.adapters.db.tables_plans import PlanTemplateRow
    from shuzhi.adapters.db.tables_security import AuditEntry
    from shuzhi.adapters.db.tables_sensing import RiskPoint
    from shuzhi.adapters.db.tables_supervision import SupervisionRules

    with session_factory() as s:
        paths = {a.code: a.path for a in s.scalars(select(Area))}
        south_id = s.scalars(select(Area.id).where(Area.code == S1)).one()
        committee = s.scalars(select(Unit.id).where(Unit.code == f"V{SOUTH}")).one()
        when = datetime.now(UTC)
        rule = {"targets": {"units": ["C500111001"]}, "priority": 10, "created_by": "t", "created_at": when,
                "updated_at": when}
        s.add_all([
            DispatchRule(code="R-NORTH", name="北山井盖", area_path=paths[NORTH],
                         condition={"and": [{"field": "area", "op": "within", "value": [N1]}]}, **rule),
            DispatchRule(code="R-OTHER", name="别处", area_path=paths["500111002"],
                         condition={"field": "area", "op": "within", "value": "500111002"}, **rule),
            RiskPoint(code="RP-S1", name="南山边坡", kind="slope", grade="A", area_id=south_id, area_path=paths[S1],
                      lon=S1_POINT[0], lat=S1_POINT[1], responsible_unit_id=committee),
            PlanTemplateRow(code="P-N2", name="北山2网格防汛", trigger_kind="manual", document={}, area_path=paths[N2],
                            created_by="t", created_at=when, updated_at=when),
            SupervisionRules(id=901, area_path=paths[N1], rules={}, updated_by="t"),
            EvaluationScheme(code="S-NORTH", name="北山考评", document={}, area_path=paths[NORTH], active=True,
                             created_by="t", created_at=when, updated_at=when),
            EvaluationScheme(code="S-SOUTH", name="南山考评", document={}, area_path=paths[SOUTH], active=True,
                             created_by="t", created_at=when, updated_at=when)])
        s.commit()
    body = {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "北山南山社区"}
    preview = _change(api, body, preview=True)
    listed = {m["ref"]: m for m in preview["moves"] if m["what"] == "config"}
    assert set(listed) == {"dispatch_rule:R-NORTH", "risk_point:RP-S1", "plan_template:P-N2",
                           "supervision_rules:901", "evaluation_scheme:S-NORTH", "evaluation_scheme:S-SOUTH"}, listed
    assert preview["counts"]["configuration"] == 6
    assert listed["evaluation_scheme:S-SOUTH"]["rule"] == "decide"
    assert listed["risk_point:RP-S1"]["rule"] == "geometry"
    with session_factory() as s:  # a preview writes nothing
        assert s.scalars(select(DispatchRule.area_path).where(DispatchRule.code == "R-NORTH")).one() == paths[NORTH]
    change = _change(api, body)
    merged = "500111001003"
    assert change["counts"]["configuration"] == 6
    with session_factory() as s:
        new = {a.code: a for a in s.scalars(select(Area).where(Area.valid_to.is_(None)))}
        r = s.scalars(select(DispatchRule).where(DispatchRule.code == "R-NORTH")).one()
        assert r.area_path == new[merged].path and r.version == 2
        assert r.condition == {"and": [{"field": "area", "op": "within", "value": [f"{merged}001"]}]}
        [v] = s.scalars(select(DispatchRuleVersion).where(DispatchRuleVersion.rule_code == "R-NORTH")).all()
        assert v.change == "repoint" and v.changed_by.startswith("周敏")
        other = s.scalars(select(DispatchRule).where(DispatchRule.code == "R-OTHER")).one()
        assert other.version == 1 and other.area_path == paths["500111002"]
        rp = s.scalars(select(RiskPoint).where(RiskPoint.code == "RP-S1")).one()
        s1_new = change["successors"][S1]
        assert rp.area_id == new[s1_new].id and rp.area_path == new[s1_new].path
        assert rp.responsible_unit_id == s.scalars(select(Unit.id).where(Unit.code == f"V{merged}")).one()
        assert s.scalars(select(PlanTemplateRow.area_path).where(PlanTemplateRow.code == "P-N2")).one() == \
            new[change["successors"][N2]].path
        assert s.get(SupervisionRules, 901).area_path == new[change["successors"][N1]].path  # type: ignore[union-attr]
        schemes = {e.code: e.area_path for e in s.scalars(select(EvaluationScheme))}
        assert schemes["S-NORTH"] == new[merged].path and schemes["S-SOUTH"] == paths[SOUTH]
        audited = {e.object: e.details
                   for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "area.repoint"))}
        assert set(audited) == set(listed) - {"evaluation_scheme:S-SOUTH"}
        assert audited["dispatch_rule:R-NORTH"]["reason"] == "镇政府批复：村社撤并"
        assert audited["risk_point:RP-S1"]["from"] == S1 and audited["risk_point:RP-S1"]["to"] == s1_new
    # the change's record lists what was re-pointed
    [row] = api.get("/api/area-changes", who="admin")
    assert row["counts"]["configuration"] == 6


def test_a_split_rehomes_open_events_by_their_point_and_the_rest_to_the_named_successor(
        api: Api, town: World) -> None:
    west = _dispatch(api, api.submit(lon=105.712, lat=29.705, title="西侧"), f"G{N2}")
    east = _dispatch(api, api.submit(lon=105.718, lat=29.705, title="东侧"), f"G{N2}")
    line = {"type": "LineString", "coordinates": [[105.715, 29.69], [105.715, 29.72]]}
    body = {"kind": "split", "area_codes": [N2], "boundary": line, "names": ["北山2西", "北山2东"]}
    preview = _change(api, body, preview=True)
    assert preview["counts"]["events"] == 2 and preview["counts"]["people_to_decide"] == 1  # tom
    change = _change(api, body)
    codes = {c["name"]: c["code"] for c in change["created"]}
    assert api.get(f"/api/events/{west['number']}")["area_code"] == codes["北山2西"]
    assert api.get(f"/api/events/{east['number']}")["area_code"] == codes["北山2东"]
    assert api.task(api.get(f"/api/events/{east['number']}"), f"G{codes['北山2东']}")
    assert _timeline(api, east, "event.rehome")[0]["payload"]["rule"] == "geometry"
    # the index answers with the new grids at once
    assert api.get("/api/areas/locate?lon=105.718&lat=29.705")["grid"]["code"] == codes["北山2东"]
    assert api.get("/api/areas/locate?lon=105.705&lat=29.705")["grid"]["code"] == N1
    # the retired grid is no longer among the village's grids, but still readable
    kids = [a["code"] for a in api.get(f"/api/areas?parent_code={NORTH}")]
    assert N2 not in kids and set(codes.values()) <= set(kids)
    assert api.get(f"/api/areas/{N2}")["valid_to"] is not None


def test_moving_a_boundary_rehomes_by_geometry(api: Api, town: World) -> None:
    crossing = _dispatch(api, api.submit(lon=105.712, lat=29.705, title="边界附近"), f"G{N2}")
    staying = api.submit(lon=105.705, lat=29.705, title="第1网格内")
    new_n1 = mapping(box(105.70, 29.70, 105.715, 29.71))
    change = _change(api, {"kind": "move_boundary", "area_codes": [N1, N2], "boundary": new_n1})
    n1_new, n2_new = change["successors"][N1], change["successors"][N2]
    assert api.get(f"/api/events/{crossing['number']}")["area_code"] == n1_new  # the line moved over it
    assert api.task(api.get(f"/api/events/{crossing['number']}"), f"G{n1_new}")
    assert api.get(f"/api/events/{staying['number']}")["area_code"] == n1_new
    assert api.get("/api/areas/locate?lon=105.717&lat=29.705")["grid"]["code"] == n2_new


def test_bad_changes_are_refused_at_the_field(api: Api, town: World, session_factory: sessionmaker[Session]) -> None:
    def refused(body: dict[str, Any], field: str, status: int = 422, who: str = "admin") -> str:
        out = _change(api, body, status=status, who=who)
        assert out["field"] == field, out
        return str(out["detail"])

    assert "unknown" in refused({"kind": "merge", "area_codes": [NORTH, "500111001099"], "name": "x"}, "area_codes")
    assert "different levels" in refused({"kind": "merge", "area_codes": [NORTH, N1], "name": "x"}, "area_codes")
    assert "share one parent" in refused({"kind": "merge", "area_codes": [N1, "500111002001001"], "name": "x"},
                                         "area_codes")
    refused({"kind": "merge", "area_codes": [NORTH, SOUTH]}, "name")
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    assert "dated back" in refused({"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "x",
                                    "effective_at": long_ago}, "effective_at")
    outside = mapping(box(105.70, 29.70, 105.74, 29.71))  # over into town B
    assert "overlaps" in refused({"kind": "move_boundary", "area_codes": [N1, N2], "boundary": outside}, "boundary")
    bowtie = {"type": "Polygon", "coordinates": [[[105.70, 29.70], [105.71, 29.71], [105.71, 29.70],
                                                  [105.70, 29.71], [105.70, 29.70]]]}
    assert "invalid" in refused({"kind": "move_boundary", "area_codes": [N1, N2], "boundary": bowtie}, "boundary")
    miss = {"type": "LineString", "coordinates": [[105.80, 29.69], [105.80, 29.72]]}
    refused({"kind": "split", "area_codes": [N2], "boundary": miss}, "boundary")
    refused({"kind": "split", "area_codes": [NORTH], "boundary": miss}, "area_codes")  # a village is not split
    _change(api, {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "x"}, status=403, who="bob")
    _change(api, {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "北山南山社区"})
    assert "already retired" in refused({"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "y"}, "area_codes")
    # a retired area takes no new events
    assert api.post("/api/events", "alice", {"source": "hotline", "request_type": "complain",
                                             "event_class_code": "0101", "title": "旧村", "area_code": NORTH},
                    status=422)["field"] == "area_code"


def test_the_grid_index_is_swapped_while_lookups_go_on(town: World, session_factory: sessionmaker[Session],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of grids make a full rebuild take a while; a lookup loop on another thread is answered
    from the old index all through it, and afterwards from the new one."""
    monkeypatch.setattr(geo_index, "FULL_BUILD_SECONDS", 0.0)  # every boundary read again: the long case
    monkeypatch.setattr(geo_index, "RECHECK_SECONDS", 3600.0)  # no background refresh races the timed one
    with session_factory() as s:
        village = s.scalars(select(Area).where(Area.code == "500111002001")).one()
        s.execute(text("SELECT 1"))
        rows = []
        for i in range(3000):
            x, y = 106.0 + (i % 60) * 0.001, 29.0 + (i // 60) * 0.001
            code = f"9{i:05d}".rjust(15, "5")
            square = json_safe(mapping(box(x, y, x + 0.001, y + 0.001)))
            rows.append(Area(code=code, name=f"测试网格{i}", level="grid", parent_id=village.id,
                             path=f"{village.path}{code}/", boundary=square, centroid_lon=x, centroid_lat=y))
        s.add_all(rows)
        s.commit()
    geo_index.forget()
    with session_factory() as s:
        assert geo_index.grid_index(s).locate(*World.B1) == "500111002001001"
    answers: list[tuple[float, float, str | None]] = []
    stop = threading.Event()

    def lookups() -> None:
        with session_factory() as s:
            while not stop.is_set():
                t0 = time.perf_counter()
                code = geo_index.grid_index(s).locate(*World.B1)
                answers.append((t0, time.perf_counter(), code))

    worker = threading.Thread(target=lookups)
    worker.start()
    time.sleep(0.05)
    with session_factory() as s:
        s.execute(update(Area).where(Area.code == "500111002001001").values(valid_to=datetime.now(UTC)))
        s.commit()
        started = time.perf_counter()
        swaps_before = sum(geo_index.swaps.values())
        geo_index.rebuild(s)
        finished = time.perf_counter()
    time.sleep(0.05)
    stop.set()
    worker.join()
    assert sum(geo_index.swaps.values()) == swaps_before + 1
    during = [a for a in answers if started <= a[0] and a[1] <= finished]
    assert during, "no lookup was answered while the index was rebuilt"
    assert all(code == "500111002001001" for _, _, code in during)  # the old index answered them
    assert answers[-1][2] is None  # the retired grid answers nothing once swapped
    assert max(b - a for a, b, _ in answers) < (finished - started)


def test_evaluation_lists_the_areas_valid_in_the_period(api: Api, town: World) -> None:
    _change(api, {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "北山南山社区"})
    before = (datetime.now(UTC) - timedelta(days=40)).astimezone(SHANGHAI).strftime("%Y-%m")
    assert set(_by_area(api, "500111001", before)) == {NORTH, SOUTH}
    now_month = datetime.now(UTC).astimezone(SHANGHAI).strftime("%Y-%m")
    assert "500111001003" in _by_area(api, "500111001", now_month)


def test_a_towns_administrator_may_not_change_areas_and_sees_only_his_towns_changes(
        api: Api, town: World, session_factory: sessionmaker[Session]) -> None:
    """Administrators see everything; a role file may give ``reference.write`` to a town's person: he is
    refused (403) and lists only his own town's changes."""
    from dataclasses import replace

    from shuzhi.services import area_changes
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.unit_of_work import UnitOfWork

    with session_factory() as s:
        bob, frank = resolve_actor(s, "bob"), resolve_actor(s, "frank")
    assert bob is not None and frank is not None
    town_a = replace(bob, permissions=bob.permissions | {"reference.write"})
    town_b = replace(frank, permissions=frank.permissions | {"reference.write"})
    body = area_changes.ChangeIn(kind="merge", area_codes=[NORTH, SOUTH], name="北山南山社区", reason="撤并")
    for use in (area_changes.preview, area_changes.apply):
        with pytest.raises(ServiceError) as refused:
            use(UnitOfWork(session_factory), body, town_a)
        assert refused.value.status == 403
    _change(api, {"kind": "merge", "area_codes": [NORTH, SOUTH], "name": "北山南山社区"})
    assert [c["kind"] for c in area_changes.history(UnitOfWork(session_factory), town_a)] == ["merge"]
    assert area_changes.history(UnitOfWork(session_factory), town_b) == []  # not his town
    api.get("/api/area-changes", who="dave", status=403)


def test_a_stale_index_answers_at_once_while_a_thread_builds_the_new_one(
        town: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    geo_index.forget()
    with session_factory() as s:
        old = geo_index.grid_index(s)
        assert old.locate(*World.B1) == "500111002001001"
        s.execute(update(Area).where(Area.code == "500111002001001").values(valid_to=datetime.now(UTC)))
        s.commit()
    monkeypatch.setattr(geo_index, "RECHECK_SECONDS", 0.0)
    with session_factory() as s:
        assert geo_index.grid_index(s) is old  # answered from the old index, not after a rebuild
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_factory() as s:
            index = geo_index.grid_index(s)
        if index is not old:
            break
        time.sleep(0.05)
    assert index is not old and index.locate(*World.B1) is None and index.locate(*World.A1) == N1
