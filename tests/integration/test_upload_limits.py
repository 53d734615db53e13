"""Security II — uploads and bodies cannot sink the server: permission before parsing, the JSON limit
whatever the declared content type, row and unpacked-size (zip bomb) limits answered 413/422 with
the limit named, and nothing stored when a limit is hit."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters import tabular
from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.tabular import write_csv, write_xlsx
from tests.factories import World
from tests.integration.conftest import Api

BROKEN_FORM = (b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n"
               b"Content-Type: text/csv\r\n\r\n" + b"code,name\r\n" * 10)  # never closed


def _units(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Unit)) or 0)


@pytest.mark.parametrize("path", ["/api/units/import", "/api/people/import", "/api/indicators/import",
                                  "/api/threshold-rules/import", "/api/plans/import", "/api/areas/import",
                                  "/api/calendar/years/import", "/api/event-classes/import",
                                  "/api/dispatch-rules/import", "/api/ledgers/ZD2026/import/preview",
                                  "/api/ledgers/ZD2026/import"])
def test_a_handler_without_the_right_gets_403_before_any_byte_of_the_upload_is_parsed(
        api: Api, world: World, path: str) -> None:
    # carol handles tasks: the broken form would be a 400/422 if it were parsed first
    r = api.client.post(path, content=BROKEN_FORM,
                        headers={**api.headers("carol"), "Content-Type": "multipart/form-data; boundary=XYZ"})
    assert r.status_code == 403, r.text


def test_a_leader_who_does_not_report_on_ledgers_gets_403_before_an_evidence_upload_is_parsed(
        api: Api, world: World) -> None:
    # grace signs ledger items off but never reports on them: no evidence upload, whatever the item
    r = api.client.post("/api/ledger-items/1/attachments", content=BROKEN_FORM,
                        headers={**api.headers("grace"), "Content-Type": "multipart/form-data; boundary=XYZ"})
    assert r.status_code == 403, r.text


def test_a_body_declared_multipart_on_a_json_route_is_held_to_the_json_limit_before_sign_in(
        api: Api, world: World) -> None:
    big = b"--XYZ\r\n" + b"a" * (2 * 1024 * 1024)
    for headers in ({}, api.headers("bob")):
        r = api.client.post("/api/events", content=big,
                            headers={**headers, "Content-Type": "multipart/form-data; boundary=XYZ"})
        assert r.status_code == 413, r.text
        assert str(1024 * 1024) in r.json()["detail"]


def _xlsx_with_bomb(size: int) -> bytes:
    """A real workbook whose shared strings part unpacks to ``size`` bytes (a few KB on the wire)."""
    source = zipfile.ZipFile(io.BytesIO(write_xlsx([{"code": "X", "name": "y"}], ["code", "name"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in source.infolist():
            z.writestr(info.filename, source.read(info.filename))
        z.writestr("xl/media/padding.xml", b"<x>" + b" " * size + b"</x>")
    return out.getvalue()


def test_an_xlsx_that_unpacks_beyond_the_part_limit_is_413_naming_it_and_stores_nothing(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    bomb = _xlsx_with_bomb(tabular.MAX_XLSX_PART + 1)
    assert len(bomb) < 1024 * 1024  # small on the wire
    before = _units(session_factory)
    r = api.client.post("/api/units/import", headers=api.headers("admin"),
                        files={"file": ("units.xlsx", bomb, "application/octet-stream")})
    assert r.status_code == 413, r.text
    assert r.json()["details"]["limit"] == "xlsx_part_bytes" and "xl/media/padding.xml" in r.json()["detail"]
    assert _units(session_factory) == before


def test_a_file_with_more_rows_than_the_limit_is_422_naming_it(
        api: Api, world: World, session_factory: sessionmaker[Session], monkeypatch: Any) -> None:
    monkeypatch.setattr(tabular, "MAX_ROWS", 5)
    rows = [{"code": f"D500111-X{i}", "name": f"单位{i}", "kind": "department", "level": "district",
             "area_code": "500111"} for i in range(6)]
    before = _units(session_factory)
    for name, data in (("u.csv", write_csv(rows)), ("u.xlsx", write_xlsx(rows))):
        r = api.client.post("/api/units/import", headers=api.headers("admin"),
                            files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == 422, r.text
        assert r.json()["details"] == {"limit": "rows"} and "more than 5 rows" in r.json()["detail"]
    r = api.client.post("/api/indicators/import", headers=api.headers("admin"),
                        files={"file": ("i.json", b"[" + b",".join([b'{"code": "x"}'] * 6) + b"]", "application/json")})
    assert r.status_code == 422 and r.json()["details"] == {"limit": "rows"}, r.text
    assert _units(session_factory) == before


def test_an_oversized_import_file_is_413_naming_the_byte_limit(api: Api, world: World) -> None:
    limit = api.client.app.state.settings.max_import_bytes
    api.client.app.state.settings.max_import_bytes = 1000
    try:
        r = api.client.post("/api/units/import", headers=api.headers("admin"),
                            files={"file": ("u.csv", b"code,name\r\n" + b"x,y\r\n" * 500, "text/csv")})
    finally:
        api.client.app.state.settings.max_import_bytes = limit
    assert r.status_code == 413 and r.json()["details"] == {"limit": "file_bytes", "max": 1000}, r.text
