"""Bad input gets a 4xx naming the field, and changes nothing that was stored."""

from __future__ import annotations

import struct
import zlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, TimelineEntry
from shuzhi.adapters.geo import wgs84_to_gcj02
from tests.factories import World
from tests.integration.conftest import Api


def _counts(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as s:
        return (s.scalar(select(func.count(Event.id))) or 0, s.scalar(select(func.count(TimelineEntry.id))) or 0)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"source": "fax"}, "source"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"lon": 200}, "lon"),
        ({"lat": None}, ""),  # lon without lat: the model-level rule
        ({"event_class_code": "9999"}, "event_class_code"),
        ({"reporter_phone": "call me"}, "reporter_phone"),
        ({"urgency": "asap"}, "urgency"),
        ({"received_at": "2024-06-13T08:00:00"}, "received_at"),
        ({"centre_code": "NOPE"}, "centre_code"),
        ({"centre_code": "D500111-CGJ"}, "centre_code"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_intake_names_the_field_and_stores_nothing(api: Api, world: World, session_factory, patch: dict,
                                                       field: str) -> None:
    before = _counts(session_factory)
    body = {"source": "hotline", "event_class_code": "0101", "title": "井盖", "lon": World.A1[0], "lat": World.A1[1]}
    body.update(patch)
    r = api.client.post("/api/events", json=body, headers=api.headers("alice"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert _counts(session_factory) == before


def test_a_staff_code_header_is_no_credential(api: Api, world: World, session_factory) -> None:
    """X-Actor (before sign-in existed) no longer names anyone: without a credential it is 401."""
    before = _counts(session_factory)
    body = {"source": "hotline", "title": "x", "lon": World.A1[0], "lat": World.A1[1]}
    for headers in ({"X-Actor": "alice"}, {"Authorization": "Bearer szt_made-up"}, {"X-API-Key": "szk_no_key"}):
        r = api.client.post("/api/events", json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert _counts(session_factory) == before


def test_malformed_json_is_422_not_500(api: Api, world: World) -> None:
    r = api.client.post("/api/events", content=b"{not json",
                        headers={**api.headers("alice"), "Content-Type": "application/json"})
    assert r.status_code == 422


def test_idempotency_key_returns_the_first_event(api: Api, world: World, session_factory) -> None:
    body = {"source": "online_app", "title": "路灯不亮", "lon": World.A2[0], "lat": World.A2[1]}
    r1 = api.client.post("/api/events", json=body, headers={**api.headers("alice"), "Idempotency-Key": "app-42"})
    r2 = api.client.post("/api/events", json=body, headers={**api.headers("alice"), "Idempotency-Key": "app-42"})
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["number"] == r2.json()["number"] and r2.json()["created"] is False
    assert _counts(session_factory)[0] == 1


def test_gcj02_point_lands_in_the_same_grid(api: Api, world: World) -> None:
    glon, glat = wgs84_to_gcj02(*World.A2)
    ev = api.submit(lon=glon, lat=glat, coord_system="gcj02")
    assert ev["area_code"] == "500111001001002"
    assert abs(ev["lon"] - World.A2[0]) < 1e-6 and abs(ev["lat"] - World.A2[1]) < 1e-6


def test_point_outside_every_grid_is_kept_unlocated(api: Api, world: World) -> None:
    ev = api.submit(lon=World.OUTSIDE[0], lat=World.OUTSIDE[1])
    assert ev["area_code"] is None and ev["state"] == "registered"
    assert ev["number"].startswith("500111-")  # the district's only centre took it
    loc = api.get("/api/areas/locate", params={"lon": World.OUTSIDE[0], "lat": World.OUTSIDE[1]})
    assert loc["found"] is False and loc["reason"]


def test_dispatch_errors_leave_the_event_untouched(api: Api, world: World) -> None:
    ev = api.submit()
    r = api.client.post(f"/api/events/{ev['number']}/dispatch", headers=api.headers("alice"),
                        json={"units": [{"unit_code": "D500111-CGJ", "role": "assist"}]})
    assert r.status_code == 422 and r.json()["field"] == "units"
    r = api.client.post(f"/api/events/{ev['number']}/dispatch", headers=api.headers("alice"),
                        json={"units": [{"unit_code": "D500111-CGJ"}, {"unit_code": "NOPE"}]})
    assert r.status_code == 422 and r.json()["field"] == "units[1].unit_code"
    after = api.get(f"/api/events/{ev['number']}")
    assert after["state"] == "registered" and after["tasks"] == [] and after["version"] == ev["version"]
    assert api.get("/api/events/500111-20990101-000001", status=404)["detail"]


def test_stale_version_is_409(api: Api, world: World) -> None:
    ev = api.submit()
    api.post(f"/api/events/{ev['number']}/dispatch", "alice",
             {"units": [{"unit_code": "D500111-CGJ"}], "expected_version": ev["version"]})
    r = api.client.post(f"/api/events/{ev['number']}/cancel", headers=api.headers("alice"),
                        json={"reason": "无效", "expected_version": ev["version"]})
    assert r.status_code == 409 and r.json()["field"] == "expected_version"
    assert api.get(f"/api/events/{ev['number']}")["state"] == "dispatched"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_attachments_check_type_and_content(api: Api, world: World) -> None:
    ev = api.submit()
    url = f"/api/events/{ev['number']}/attachments"
    ok = api.client.post(url, files={"file": ("现场.png", _png(), "image/png")}, headers=api.headers("alice"))
    assert ok.status_code == 201, ok.text
    got = api.client.get(ok.json()["url"], headers=api.headers("alice"))
    assert got.content == _png() and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    html = api.client.post(url, files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")},
                           headers=api.headers("alice"))
    assert html.status_code == 422 and html.json()["field"] == "file"
    fake = api.client.post(url, files={"file": ("x.png", b"MZ\x90\x00not a png", "image/png")},
                           headers=api.headers("alice"))
    assert fake.status_code == 422 and "content" in fake.json()["detail"]
    assert len(api.get(url)) == 1


def test_the_intakes_direct_way_answers_as_fastapi_does(api: Api, world: World, session_factory,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The intake route serves a well-formed request without FastAPI's dependency solving
    (``entrypoints/api/events.py``, ``_IntakeRoute``): every other request answers exactly as FastAPI's
    own handler does, which the route uses whenever dependencies are overridden."""
    from shuzhi.entrypoints.api import deps

    direct_calls: list[int] = []
    real_actor_of = deps.actor_of

    async def counted_actor_of(request):  # type: ignore[no-untyped-def]
        direct_calls.append(1)
        return await real_actor_of(request)

    monkeypatch.setattr(deps, "actor_of", counted_actor_of)
    good = {"source": "hotline", "event_class_code": "0101", "title": "井盖", "lon": World.A1[0], "lat": World.A1[1]}
    auth = api.headers("alice")
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[bytes, dict[str, str]]] = [
        (b"{not json", {**auth, **json_type}),
        (b"{not json", json_type),  # unsigned and malformed: the body is read first
        (b"", {**auth, **json_type}),
        (b"[1, 2]", {**auth, **json_type}),
        (_encoded({**good, "title": ""}), {**auth, **json_type}),
        (_encoded({**good, "unexpected": 1}), {**auth, **json_type}),
        (_encoded(good), {**auth, "Content-Type": "text/plain"}),
        (_encoded(good), {**auth, **json_type, "Idempotency-Key": "k" * 101}),
        (_encoded(good), json_type),
        (_encoded(good), {"Authorization": "Basic abc", **json_type}),
        (_encoded(good), {**auth, **json_type, "Idempotency-Key": "same"}),
        (_encoded(good), {**auth, "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "same"}),
    ]

    def answers() -> list[tuple[int, object]]:
        out: list[tuple[int, object]] = []
        for content, headers in cases:
            r = api.client.post("/api/events", content=content, headers=headers)
            out.append((r.status_code, r.json()))
        return out

    # the first pass registers the keyed event (201, then 200), the second finds it (200, 200)
    direct = answers()
    assert direct_calls, "a well-formed request took the direct way"
    assert [s for s, _ in direct][-2:] == [201, 200]
    api.client.app.dependency_overrides[_nothing] = _nothing  # any override: FastAPI's handler throughout
    try:
        direct_calls.clear()
        standard = answers()
    finally:
        api.client.app.dependency_overrides.clear()
    assert not direct_calls
    direct[-2] = (200, {**direct[-2][1], "created": False})  # type: ignore[dict-item]
    assert standard == direct
    assert _counts(session_factory)[0] == 1


def _nothing() -> None:
    return None


def _encoded(body: dict) -> bytes:
    import json

    return json.dumps(body, ensure_ascii=False).encode()
