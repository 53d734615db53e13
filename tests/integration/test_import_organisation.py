"""Units, people and the event-class catalogue: CSV/XLSX import (all or nothing), re-import, export."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import EventClass, Person, Unit, UnitDuty
from shuzhi.adapters.tabular import read_table
from tests.factories import World
from tests.integration.conftest import Api

UNITS_CSV = """code,name,kind,level,area_code,parent_code,duties,coverage,phone
D500111-SLJ,大足区水利局,department,district,500111,C500111,0301;0101,500111,023-43721234
V500111001001,北山社区居委会,village,village,500111001001,C500111001,0201,,
"""

CLASSES_CSV = (
    "编码,名称,类型,大类编码,大类名称,默认方式,默认紧急程度,"
    "accept_normal,handle_normal,accept_urgent,handle_urgent,accept_critical,handle_critical\n"
) + """0401,路灯不亮,component,04,公用设施,handle,normal,4wh,5wd,2wh,1wd,0.5h,4h
0402,停电通知,event,04,公用设施,notify,normal,,,,,,
"""


def _post(api: Api, path: str, name: str, data: bytes, **params: Any) -> Any:
    return api.client.post(path, params=params, files={"file": (name, data, "application/octet-stream")},
                           headers=api.headers("admin"))


def _count(sf: sessionmaker[Session], model: Any) -> int:
    with sf() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_units_import_then_reimport(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    before = _count(session_factory, Unit)
    r = _post(api, "/api/units/import", "units.csv", UNITS_CSV.encode())
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    r = _post(api, "/api/units/import", "units.csv", UNITS_CSV.encode("utf-8-sig"))
    assert r.json() == {"created": 0, "updated": 0, "unchanged": 2, "dry_run": False}
    changed = UNITS_CSV.replace("0301;0101", "0301")
    r = _post(api, "/api/units/import", "units.csv", changed.encode("gb18030"))  # Excel on Chinese Windows
    assert r.json()["updated"] == 1
    assert _count(session_factory, Unit) == before + 2
    slj = api.get("/api/units/D500111-SLJ")
    assert slj["duties"] == "0301" and slj["parent_code"] == "C500111" and slj["coverage"] == "500111"
    village = api.get("/api/units/V500111001001")
    assert village["coverage"] == "500111001001"  # default: its own area


def test_bad_rows_are_all_named_and_nothing_changes(api: Api, world: World,
                                                    session_factory: sessionmaker[Session]) -> None:
    before = (_count(session_factory, Unit), _count(session_factory, UnitDuty))
    bad = UNITS_CSV + (
        "D500111-X,某局,bureau,district,500111,C500111,,,\n"
        "D500111-Y,某局,department,district,999999,NOPE,9999,,12345\n"
        "D500111-SLJ,重复,department,district,500111,C500111,,,\n"
        "C500111003,某中心,centre,district,500111001,C500111,,,\n"
    )
    r = _post(api, "/api/units/import", "units.csv", bad.encode())
    assert r.status_code == 422
    problems = {(d["row"], d["column"]) for d in r.json()["details"]}
    assert {(4, "kind"), (5, "area_code"), (5, "parent_code"), (5, "duties"), (5, "phone"), (6, "code"),
            (7, "level")} <= problems
    assert (_count(session_factory, Unit), _count(session_factory, UnitDuty)) == before
    r = _post(api, "/api/units/import", "units.csv", b"code,name\nX,Y\n")
    assert r.status_code == 422 and {d["column"] for d in r.json()["details"]} == {"kind", "level", "area_code"}
    r = _post(api, "/api/units/import", "units.pdf", b"%PDF")
    assert r.status_code == 422 and "csv or .xlsx" in r.json()["detail"]


def test_people_from_xlsx_with_numeric_phones(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["工号", "姓名", "手机", "单位编码", "角色"])
    ws.append(["zhangsan", "张三", 13912345678, "D500111-CGJ", "handler"])
    ws.append(["lisi", "李四", 13987654321.0, "C500111001", "duty_officer"])
    ws.append([None, None, None, None, None])
    ws.append(["wangwu", "王五", "1391234", "C500111001", "boss"])
    buf = io.BytesIO()
    wb.save(buf)
    r = _post(api, "/api/people/import", "people.xlsx", buf.getvalue())
    assert r.status_code == 422
    assert {(d["row"], d["column"]) for d in r.json()["details"]} == {(5, "phone"), (5, "role")}
    ws.delete_rows(5)
    buf = io.BytesIO()
    wb.save(buf)
    r = _post(api, "/api/people/import", "people.xlsx", buf.getvalue())
    assert r.status_code == 200 and r.json()["created"] == 2
    # stored in full (the administrators' export), shown masked in the staff directory (#15)
    exported = api.get("/api/people/export", who="admin", params={"format": "csv"}).text
    assert "13912345678" in exported
    assert {p["phone"] for p in api.get("/api/people", params={"role": "handler"}) if p["code"] == "zhangsan"} \
        == {"139****5678"}
    with session_factory() as s:
        assert s.scalar(select(Person.phone).where(Person.code == "lisi")) == "13987654321"


def test_catalogue_import_checks_limits_and_round_trips(api: Api, world: World,
                                                        session_factory: sessionmaker[Session]) -> None:
    r = _post(api, "/api/event-classes/import", "classes.csv", CLASSES_CSV.encode())
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    got = api.get("/api/event-classes/0401")
    assert got["handle_normal"] == "5wd" and got["accept_critical"] == "0.5h"
    bad = CLASSES_CSV.replace("2wh,1wd", "2wh,5xd").replace("notify,normal", "notify,asap")
    r = _post(api, "/api/event-classes/import", "classes.csv", bad.encode())
    assert r.status_code == 422
    problems = {(d["row"], d["column"]) for d in r.json()["details"]}
    assert (2, "handle_urgent") in problems and (3, "default_urgency") in problems
    longer = CLASSES_CSV.replace("0.5h,4h", "0.5h,40h").replace("2wh,1wd", "2wh,1wd")
    r = _post(api, "/api/event-classes/import", "classes.csv", longer.replace("4wh,5wd,2wh,1wd", "4wh,5wd,2wh,6wd")
              .encode())
    assert r.status_code == 422  # urgent may not get more time than normal
    exported = api.client.get("/api/event-classes/export", params={"format": "xlsx"}, headers=api.headers("admin"))
    assert exported.status_code == 200
    rows = read_table(exported.content, "x.xlsx")
    wb = load_workbook(io.BytesIO(exported.content))
    assert wb.active["A1"].font.bold
    r = _post(api, "/api/event-classes/import", "again.xlsx", exported.content)
    assert r.json()["created"] == 0 and r.json()["updated"] == 0 and r.json()["unchanged"] == len(rows)
    with session_factory() as s:
        assert s.scalar(select(func.count(EventClass.id))) == len(rows)


def test_units_export_round_trip(api: Api, world: World) -> None:
    csv_bytes = api.client.get("/api/units/export", params={"format": "csv"}, headers=api.headers("admin")).content
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    r = _post(api, "/api/units/import", "units.csv", csv_bytes)
    assert r.status_code == 200 and r.json()["created"] == 0 and r.json()["updated"] == 0
    pdf = api.client.get("/api/units/export", params={"format": "pdf"}, headers=api.headers("admin"))
    assert pdf.status_code == 422
