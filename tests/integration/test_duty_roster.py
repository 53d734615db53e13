"""The duty roster: bob keeps town A's roster; frank (town B) cannot see or touch it; the district
centre's alice keeps her towns'; the roster imports from the sheet the centre keeps in Excel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_duty import DutyShift
from shuzhi.adapters.tabular import write_xlsx
from shuzhi.domain.duty import DutyRole
from shuzhi.services import duty_roster
from tests.factories import World
from tests.integration.conftest import Api

TOWN_A = "C500111001"
DAY = "2026-12-07T08:30:00+08:00"
NEXT = "2026-12-08T08:30:00+08:00"


@pytest.fixture
def staff(world: World, session_factory: sessionmaker[Session]) -> World:
    """Town A also has hao (a town leader), ivy and jun (officers); jun has a namesake in town B."""
    with session_factory() as s:
        for code, name, unit, role in [("hao", "郝建", TOWN_A, "leader"), ("ivy", "易梅", TOWN_A, "duty_officer"),
                                       ("jun", "金军", TOWN_A, "duty_officer"),
                                       ("jun2", "金军", "C500111002", "duty_officer"),
                                       ("kai", "康凯", "G500111001001001", "grid_worker")]:
            s.add(Person(code=code, name=name, phone="13900000000", unit_id=world.units[unit].id, role=role))
        s.commit()
    return world


def shift(api: Api, who: str = "bob", status: int = 201, **kw: Any) -> Any:
    body = {"unit_code": TOWN_A, "person_code": "ivy", "role": "officer", "starts_at": DAY, "ends_at": NEXT}
    body.update(kw)
    return api.post("/api/duty/shifts", who, body, status=status)


def test_a_day_of_duty_entered_and_who_is_on_duty(api: Api, staff: World) -> None:
    leader = shift(api, person_code="hao", role="leader_on_duty")
    officer = shift(api)
    assert leader["role_label"] == "带班领导" and officer["person_name"] == "易梅"
    now = api.get("/api/duty/on-duty", who="bob", params={"unit_code": TOWN_A, "at": "2026-12-08T03:00:00+08:00"})
    assert [s["person_code"] for s in now["leaders"]] == ["hao"]
    assert [s["person_code"] for s in now["officers"]] == ["ivy"]
    after = api.get("/api/duty/on-duty", who="bob", params={"unit_code": TOWN_A, "at": NEXT})
    assert after["leaders"] == [] and after["officers"] == []
    # the district centre sees its towns' rosters
    assert len(api.get("/api/duty/shifts", who="alice", params={"unit_code": TOWN_A})) == 2


def test_the_rules_hold_through_the_api(api: Api, staff: World) -> None:
    shift(api, person_code="hao", role="leader_on_duty")
    # a second leader on duty for the same hours
    r = shift(api, person_code="bob", role="leader_on_duty", starts_at="2026-12-07T20:00:00+08:00", status=409)
    assert r["field"] == "role" and "带班领导" in r["detail"]
    # the same person twice
    shift(api)
    r = shift(api, starts_at="2026-12-08T06:00:00+08:00", ends_at="2026-12-08T18:00:00+08:00", status=409)
    assert r["field"] == "person"
    # bad input: 422 with the field
    assert shift(api, ends_at=DAY, status=422)["field"] == "ends_at"
    assert shift(api, role="boss", status=422)["field"] == "role"
    assert shift(api, person_code="frank", status=422)["field"] == "person_code"  # town B's officer
    assert shift(api, starts_at="2026-12-07T08:30:00", status=422)["field"] == "starts_at"  # no zone
    assert shift(api, unit_code="G500111001001001", status=422)["field"] == "unit_code"
    assert len(api.get("/api/duty/shifts", who="bob")) == 2


def test_edit_and_delete_with_versions(api: Api, staff: World, session_factory: sessionmaker[Session]) -> None:
    s = shift(api)
    changed = api.request("PATCH", f"/api/duty/shifts/{s['id']}", "bob", 200,
                          json={"person_code": "jun", "expected_version": s["version"], "note": "调班"})
    assert changed["person_code"] == "jun" and changed["version"] == s["version"] + 1 and changed["note"] == "调班"
    stale = api.request("PATCH", f"/api/duty/shifts/{s['id']}", "bob", 409,
                        json={"role": "leader_on_duty", "expected_version": s["version"]})
    assert stale["field"] == "expected_version"
    api.request("DELETE", f"/api/duty/shifts/{s['id']}", "bob", 204, params={"expected_version": changed["version"]})
    assert api.get("/api/duty/shifts", who="bob") == []
    api.request("DELETE", f"/api/duty/shifts/{s['id']}", "bob", 404)


def test_another_town_neither_sees_nor_touches_the_roster(api: Api, staff: World) -> None:
    s = shift(api)
    assert api.get("/api/duty/shifts", who="frank") == []
    missing = api.request("PATCH", "/api/duty/shifts/999999", "frank", 404, json={"note": "x"})
    theirs = api.request("PATCH", f"/api/duty/shifts/{s['id']}", "frank", 404, json={"note": "x"})
    assert missing == theirs
    api.request("DELETE", f"/api/duty/shifts/{s['id']}", "frank", 404)
    shift(api, who="frank", status=404)
    api.get("/api/duty/on-duty", who="frank", params={"unit_code": TOWN_A}, status=404)
    # a handler may read but not keep a roster
    shift(api, who="carol", status=403)


def _sheet(rows: list[dict[str, str]], columns: list[str] | None = None) -> dict[str, Any]:
    columns = columns or ["日期", "星期", "带班领导", "值班员", "备注"]
    return {"file": ("值班表.xlsx", write_xlsx(rows, columns, title="12月值班表"),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


def _import(api: Api, files: dict[str, Any], status: int = 200, **params: Any) -> Any:
    return api.request("POST", "/api/duty/shifts/import", "bob", status, files=files,
                       params={"unit_code": TOWN_A, **params})


def test_a_month_sheet_imports_and_reimports(api: Api, staff: World,
                                             session_factory: sessionmaker[Session]) -> None:
    rows = [{"日期": f"2026年12月{d}日", "星期": "一", "带班领导": "郝建",
             "值班员": "易梅、金军(jun)" if d % 2 else "李波"} for d in range(1, 11)]
    assert _import(api, _sheet(rows), dry_run="true") == {"created": 10, "updated": 0, "unchanged": 0,
                                                          "dry_run": True}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(DutyShift)) == 0
    assert _import(api, _sheet(rows))["created"] == 10
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(DutyShift)) == 10 + 5 * 2 + 5
        # 3 December, 02:00 local: the 2 December shift (08:30 → 08:30) is still on
        now = duty_roster.on_duty(s, staff.units[TOWN_A].id, datetime(2026, 12, 2, 18, 0, tzinfo=UTC))
        assert len(now.leaders) == 1 and len(now.officers) == 1
    rows[0]["值班员"] = "李波"
    again = _import(api, _sheet(rows))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 9)
    listed = api.get("/api/duty/shifts", who="bob", params={"start": "2026-12-01T08:30:00+08:00",
                                                             "end": "2026-12-02T08:30:00+08:00"})
    assert sorted(s["person_code"] for s in listed) == ["bob", "hao"] and listed[0]["source"] == "import"


def test_a_bad_sheet_names_every_row_and_column_in_chinese(api: Api, staff: World,
                                                           session_factory: sessionmaker[Session]) -> None:
    # jun stands a night at the district centre (its roster may draw on the towns' people)
    shift(api, who="alice", unit_code="C500111", person_code="jun", starts_at="2026-12-03T20:00:00+08:00",
          ends_at="2026-12-04T08:00:00+08:00")
    rows = [
        {"日期": "2026-12-01", "带班领导": "郝建", "值班员": "易梅"},
        {"日期": "2026-12-01", "带班领导": "郝建", "值班员": "易梅"},       # duplicate day
        {"日期": "12月2日", "带班领导": "郝建", "值班员": "易梅"},          # no year
        {"日期": "2026-12-03", "带班领导": "张三", "值班员": "金军"},       # unknown; jun is busy that night
        {"日期": "2026-12-04", "带班领导": "易梅", "值班员": "易梅"},       # one person, two roles
        {"日期": "2026-12-05", "带班领导": "郝建", "值班员": ""},           # nobody at the desk
        {"日期": "2026-02-30", "带班领导": "郝建", "值班员": "易梅"},       # no such day
        {"日期": "2026-12-06", "带班领导": "郝建", "值班员": "康凯(13800000000)"},  # wrong phone
    ]
    r = _import(api, _sheet(rows, ["日期", "带班领导", "值班员"]), status=422)
    problems = {(e["row"], e["column"]): e["message"] for e in r["details"]}
    assert problems[(3, "日期")] == "第3行「日期」列：2026-12-01 重复（第2行已有）"
    assert "不是日期" in problems[(4, "日期")]
    assert "「张三」不是" in problems[(5, "带班领导")]
    assert "已有班次" in problems[(5, "值班员")] and "已排的班次" in problems[(5, "值班员")]
    assert "不能同时值两个班" in problems[(6, "值班员")]
    assert "值班员为空" in problems[(7, "值班员")]
    assert "不是日期" in problems[(8, "日期")]
    assert "工号或手机号" in problems[(9, "值班员")]
    assert len(problems) == 8
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(DutyShift)) == 1  # nothing imported


def test_a_namesake_needs_the_staff_code_and_a_sheet_needs_its_columns(api: Api, staff: World,
                                                                       session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:  # a second 金军 in town A itself
        s.add(Person(code="jun3", name="金军", unit_id=staff.units["G500111001001001"].id, role="grid_worker"))
        s.commit()
    r = _import(api, _sheet([{"日期": "2026-12-01", "带班领导": "郝建", "值班员": "金军"}]), status=200)
    assert r["created"] == 1  # the one in the centre itself is meant
    with session_factory() as s:
        s.execute(Person.__table__.update().where(Person.code == "jun").values(unit_id=staff.units[
            "G500111001001001"].id))
        s.commit()
    r = _import(api, _sheet([{"日期": "2026-12-01", "带班领导": "郝建", "值班员": "金军"}]), status=422)
    assert "同名" in r["details"][0]["message"] and "jun" in r["details"][0]["message"]
    r = _import(api, _sheet([{"日子": "2026-12-01", "人": "x"}], ["日子", "人"]), status=422)
    assert {e["message"] for e in r["details"]} == {
        "第1行：缺少「日期」列（第1行应为列名：日期、带班领导、值班员）",
        "第1行：缺少「值班员」列（第1行应为列名：日期、带班领导、值班员）"}
    r = api.request("POST", "/api/duty/shifts/import", "bob", 422, files=_sheet([]),
                    params={"unit_code": TOWN_A, "handover": "8点半"})
    assert r["field"] == "handover"


def test_handover_time_and_explicit_times(api: Api, staff: World) -> None:
    rows = [{"日期": "2026-12-01", "带班领导": "郝建", "值班员": "易梅", "接班时间": "", "交班时间": ""},
            {"日期": "2026-12-02", "带班领导": "郝建", "值班员": "易梅", "接班时间": "18:00", "交班时间": "09:00"}]
    _import(api, _sheet(rows, ["日期", "带班领导", "值班员", "接班时间", "交班时间"]), handover="09:00")
    listed = api.get("/api/duty/shifts", who="bob", params={"person_code": "ivy"})
    spans = [(datetime.fromisoformat(s["starts_at"]), datetime.fromisoformat(s["ends_at"])) for s in listed]
    assert spans[0] == (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    assert spans[1] == (datetime(2026, 12, 2, 10, 0, tzinfo=UTC), datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    assert spans[1][1] - spans[1][0] == timedelta(hours=15)
    assert DutyRole(listed[0]["role"]) is DutyRole.OFFICER
