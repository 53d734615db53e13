"""Readings in: stored, duplicate or rejected with a reason — never lost — and the summaries stay exact."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables_sensing import Indicator, LatestReading, Reading, ReadingRollup
from shuzhi.adapters.tabular import write_csv
from shuzhi.domain.readings import StoredReading
from shuzhi.entrypoints.cli import app
from shuzhi.services import hooks
from shuzhi.services.actors import SYSTEM, resolve_actor
from shuzhi.services.security import authz
from shuzhi.services.sensing.ingest import forget_catalogues, ingest
from shuzhi.services.sensing.readings import count_readings, history, latest, purge_expired
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.sensing_data import load_sensing, reading

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)
T0 = "2025-06-11T10:00:00+08:00"  # = 02:00 UTC


def at(minutes: float) -> str:
    return (datetime(2025, 6, 11, 2, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def sensing(world: World, uow: UnitOfWork) -> Iterator[World]:
    forget_catalogues()
    load_sensing(uow)
    yield world
    forget_catalogues()


@pytest.fixture
def recorded() -> Iterator[list[list[StoredReading]]]:
    calls: list[list[StoredReading]] = []

    def hook(_s: Session, stored: Sequence[StoredReading]) -> None:
        calls.append(list(stored))

    hooks.READING_HOOKS.append(hook)
    yield calls
    hooks.READING_HOOKS.remove(hook)


def test_a_batch_is_stored_and_a_repeated_batch_is_all_duplicates(sensing: World, uow: UnitOfWork,
                                                                  recorded: list[list[StoredReading]]) -> None:
    batch = [reading("RIVER_LEVEL", at(m), 2.0 + m / 10, device="WL-A") for m in range(0, 60, 5)]
    batch += [reading("RIVER_LEVEL", at(0), 1.5, area="500111002"),
              reading("MANHOLE_OPEN", at(1), True, device="MH-A1")]
    first = ingest(uow, SYSTEM, batch, now=NOW)
    assert (first.received, first.accepted, first.duplicate, first.rejected) == (14, 14, 0, 0)
    again = ingest(uow, SYSTEM, batch, now=NOW)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 14, 0)
    assert count_readings(uow) == 14
    # the hook saw exactly the new readings, once, in time order per series
    assert [len(c) for c in recorded] == [14, 0]
    keys = [(r.indicator_id, r.series_key, r.at) for r in recorded[0]]
    assert keys == sorted(keys)
    wl = [r for r in recorded[0] if r.series_key == "WL-A"]
    assert wl[0].device_code == "WL-A" and wl[0].area_code == "500111001" and wl[0].indicator_code == "RIVER_LEVEL"
    town_b = next(r for r in recorded[0] if r.series_key == "500111002")
    assert town_b.device_code is None and town_b.area_path.endswith("/500111002/")


def test_a_batch_mixing_stored_and_new_readings_stores_and_hands_on_only_the_new(
        sensing: World, uow: UnitOfWork, session_factory: sessionmaker[Session],
        recorded: list[list[StoredReading]]) -> None:
    """On PostgreSQL the all-new fast path fails on the stored rows and the batch is stored again by
    the idempotent path, in the same transaction: counts, rollups, latest values and the hook see only
    what is new."""
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", at(m), 2.0, device="WL-A") for m in (0, 10)], now=NOW)
    mixed = [reading("RIVER_LEVEL", at(m), 2.0 if m in (0, 10) else 3.0 + m, device="WL-A") for m in (0, 5, 10, 15)]
    done = ingest(uow, SYSTEM, mixed, now=NOW)
    assert (done.accepted, done.duplicate) == (2, 2)
    assert [(r.at.minute, r.value) for r in recorded[-1]] == [(5, 8.0), (15, 18.0)]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Reading)) == 4
        assert s.scalar(select(func.sum(ReadingRollup.count))) == 4
        assert s.scalar(select(LatestReading.value)) == 18.0


def test_duplicates_inside_one_batch_count_once(sensing: World, uow: UnitOfWork) -> None:
    r = reading("RIVER_LEVEL", T0, 3.0, device="WL-A")
    done = ingest(uow, SYSTEM, [r, dict(r), {**r, "at": "2025-06-11T02:00:00Z"}], now=NOW)
    assert (done.accepted, done.duplicate) == (1, 2)


def test_out_of_order_readings_are_kept_and_latest_stays_the_newest(sensing: World, uow: UnitOfWork,
                                                                   session_factory: sessionmaker[Session]) -> None:
    ingest(uow, SYSTEM, [reading("RIVER_LEVEL", at(30), 5.0, device="WL-A")], now=NOW)
    late = ingest(uow, SYSTEM, [reading("RIVER_LEVEL", at(10), 9.0, device="WL-A")], now=NOW)
    assert late.accepted == 1
    with session_factory() as s:
        row = s.scalar(select(LatestReading).where(LatestReading.series_key == "WL-A"))
        assert row is not None and row.value == 5.0 and row.at == datetime.fromisoformat(at(30))
    assert count_readings(uow, indicator_code="RIVER_LEVEL") == 2


REJECTS: list[tuple[dict[str, Any], str, str]] = [
    (reading("NOPE", T0, 1.0, area="500111001"), "indicator", "unknown indicator"),
    (reading("RIVER_LEVEL", T0, 1.0, area="999999"), "area", "unknown area"),
    (reading("RIVER_LEVEL", T0, 1.0, device="NO-DEV"), "device", "unknown device"),
    (reading("RIVER_LEVEL", T0, 1.0, device="MH-A1"), "device", "does not report"),
    (reading("RIVER_LEVEL", T0, 1.0, area="500111001001"), "area", "not measured"),  # a village
    (reading("OUTAGES", T0, 1, area="500111002"), "area", "not measured"),  # outside its listed areas
    (reading("RIVER_LEVEL", T0, 1.0), "area", "device or the area"),
    (reading("RIVER_LEVEL", T0, "NaN", area="500111001"), "value", "not finite"),
    (reading("RIVER_LEVEL", T0, "inf", area="500111001"), "value", "not finite"),
    (reading("RIVER_LEVEL", T0, "high", area="500111001"), "value", "not a number"),
    (reading("RIVER_LEVEL", T0, True, area="500111001"), "value", "boolean"),
    (reading("RIVER_LEVEL", T0, None, area="500111001"), "value", "missing"),
    (reading("RIVER_LEVEL", T0, [1], area="500111001"), "value", "not a value"),
    (reading("OUTAGES", T0, 1.5, area="500111001"), "value", "whole number"),
    (reading("MANHOLE_OPEN", T0, 2, device="MH-A1"), "value", "boolean"),
    (reading("RIVER_LEVEL", "2025-06-11T10:00:00", 1.0, area="500111001"), "at", "offset"),
    (reading("RIVER_LEVEL", "yesterday", 1.0, area="500111001"), "at", "ISO 8601"),
    (reading("RIVER_LEVEL", "2025-06-11T05:00:00Z", 1.0, area="500111001"), "at", "future"),
    (reading("RIVER_LEVEL", "2020-01-01T00:00:00Z", 1.0, area="500111001"), "at", "retention"),
    (reading("RIVER_LEVEL", None, 1.0, area="500111001"), "at", "missing"),
]


def test_every_bad_reading_is_rejected_with_its_index_and_reason_and_the_rest_kept(sensing: World,
                                                                                 uow: UnitOfWork) -> None:
    good = [reading("RIVER_LEVEL", at(m), 1.0, area="500111001") for m in range(3)]
    batch: list[Any] = [good[0], *[r for r, _, _ in REJECTS], good[1], "line 9: 3 fields, the header 5", 42, good[2]]
    done = ingest(uow, SYSTEM, batch, now=NOW)
    assert (done.received, done.accepted, done.duplicate, done.rejected) == (len(batch), 3, 0, len(REJECTS) + 2)
    by_index = {r.index: r for r in done.rejections}
    for i, (_, column, words) in enumerate(REJECTS, start=1):
        assert by_index[i].field == column, (i, by_index[i])
        assert words in by_index[i].reason, (i, by_index[i])
    assert "3 fields" in by_index[len(REJECTS) + 2].reason
    assert by_index[len(REJECTS) + 3].field is None
    assert count_readings(uow) == 3


def test_readings_outside_the_actors_scope_are_rejected(sensing: World, uow: UnitOfWork,
                                                       session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        bob = resolve_actor(s, "bob")  # town A duty officer
        carol = resolve_actor(s, "carol")  # a handler: may not submit readings
    done = ingest(uow, bob, [reading("RIVER_LEVEL", T0, 1.0, area="500111001"),
                             reading("RIVER_LEVEL", T0, 1.0, area="500111002")], now=NOW)
    assert (done.accepted, done.rejected) == (1, 1) and "scope" in done.rejections[0].reason
    with pytest.raises(authz.Forbidden):
        ingest(uow, carol, [reading("RIVER_LEVEL", T0, 1.0, area="500111001")], now=NOW)


def test_an_indicator_imported_a_moment_ago_is_accepted(world: World, uow: UnitOfWork) -> None:
    forget_catalogues()
    first = ingest(uow, SYSTEM, [reading("RIVER_LEVEL", T0, 1.0, area="500111001")], now=NOW)
    assert first.rejected == 1
    load_sensing(uow)
    import shuzhi.services.sensing.ingest as svc

    for cat in svc._catalogues.values():  # the snapshot is older than the reload guard
        cat.loaded_at -= 2
    second = ingest(uow, SYSTEM, [reading("RIVER_LEVEL", T0, 1.0, area="500111001")], now=NOW)
    assert second.accepted == 1
    forget_catalogues()


def test_a_failing_hook_rolls_the_whole_batch_back(sensing: World, uow: UnitOfWork) -> None:
    def broken(_s: Session, _stored: Sequence[StoredReading]) -> None:
        raise RuntimeError("evaluation failed")

    hooks.READING_HOOKS.append(broken)
    try:
        with pytest.raises(RuntimeError):
            ingest(uow, SYSTEM, [reading("RIVER_LEVEL", T0, 1.0, area="500111001")], now=NOW)
    finally:
        hooks.READING_HOOKS.remove(broken)
    assert count_readings(uow) == 0
    assert ingest(uow, SYSTEM, [reading("RIVER_LEVEL", T0, 1.0, area="500111001")], now=NOW).accepted == 1


Rollups = dict[tuple[int, str, datetime], tuple[int, float, float, float]]


def _expected_rollups(session_factory: sessionmaker[Session]) -> Rollups:
    out: dict[tuple[int, str, datetime], list[float]] = {}
    with session_factory() as s:
        for r in s.scalars(select(Reading)):
            hour = r.at.replace(minute=0, second=0, microsecond=0)
            b = out.setdefault((r.indicator_id, r.series_key, hour), [0, 0.0, r.value, r.value])
            b[0] += 1
            b[1] += r.value
            b[2] = min(b[2], r.value)
            b[3] = max(b[3], r.value)
    return {k: (int(v[0]), round(v[1], 6), v[2], v[3]) for k, v in out.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_and_latest_stay_exact_under_shuffled_overlapping_batches(
        sensing: World, uow: UnitOfWork, session_factory: sessionmaker[Session], seed: int) -> None:
    rng = random.Random(seed)
    pool = [reading("RIVER_LEVEL", at(m * 7.5), round(rng.uniform(0, 10), 3), device="WL-A") for m in range(40)]
    pool += [reading("RIVER_LEVEL", at(m * 11), round(rng.uniform(0, 10), 3), area="500111002") for m in range(25)]
    for _ in range(6):
        ingest(uow, SYSTEM, rng.sample(pool, rng.randint(5, 30)), now=NOW)
    with session_factory() as s:
        got = {(r.indicator_id, r.series_key, r.hour): (r.count, round(r.sum, 6), r.min, r.max)
               for r in s.scalars(select(ReadingRollup))}
        newest = {}
        for r in s.scalars(select(Reading)):
            if (r.indicator_id, r.series_key) not in newest or r.at > newest[(r.indicator_id, r.series_key)][0]:
                newest[(r.indicator_id, r.series_key)] = (r.at, r.value)
        latest_rows = {(r.indicator_id, r.series_key): (r.at, r.value) for r in s.scalars(select(LatestReading))}
    assert got == _expected_rollups(session_factory)
    assert latest_rows == newest


def test_history_downsamples_by_range_and_purge_honours_retention(sensing: World, uow: UnitOfWork) -> None:
    base = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    batch = [{"indicator": "RIVER_LEVEL", "device": "WL-A", "at": (base + timedelta(minutes=5 * i)).isoformat(),
              "value": float(i % 12)} for i in range(12 * 24 * 10)]  # ten days every 5 minutes
    assert ingest(uow, SYSTEM, batch, now=base + timedelta(days=10)).accepted == len(batch)
    raw = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", base, base + timedelta(hours=6))
    assert raw.bucket_s == 0 and len(raw.points) == 72 and raw.points[1]["value"] == 1.0
    day = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", base, base + timedelta(days=2))
    assert day.bucket_s == 900 and len(day.points) == 192
    assert day.points[0] == {"at": base, "avg": 1.0, "min": 0.0, "max": 2.0, "count": 3}
    ten = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", base, base + timedelta(days=10))
    assert ten.bucket_s == 3600 and len(ten.points) == 240
    assert ten.points[5] == {"at": base + timedelta(hours=5), "avg": 5.5, "min": 0.0, "max": 11.0, "count": 12}
    forced = history(uow, SYSTEM, "RIVER_LEVEL", "WL-A", base, base + timedelta(days=10), bucket_s=86400)
    assert [p["count"] for p in forced.points] == [288] * 10
    kept = purge_expired(uow, base + timedelta(days=15), default_days=10, rollup_days=12)
    # a traceable indicator (回溯性, the test tree's default) keeps its hourly history for good (issue #22)
    assert kept.readings == 12 * 24 * 5 and kept.rollups == 0
    with uow:
        uow.session.execute(update(Indicator).where(Indicator.code == "RIVER_LEVEL").values(traceable=False))
        uow.commit()
    done = purge_expired(uow, base + timedelta(days=15), default_days=10, rollup_days=12)
    assert done.readings == 0 and done.rollups == 24 * 3
    assert count_readings(uow) == 12 * 24 * 5
    rows = latest(uow, SYSTEM, indicator_code="RIVER_LEVEL")
    assert [(r["series"], r["value"]) for r in rows] == [("WL-A", 11.0)]


def test_api_takes_json_and_csv_batches(sensing: World, api: Api) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = [reading("RIVER_LEVEL", (now - timedelta(minutes=m)).isoformat(), 2.5, device="WL-A") for m in range(50)]
    body.append(reading("RIVER_LEVEL", (now - timedelta(minutes=1)).isoformat(), float("nan"), area="nowhere"))
    done = api.post("/api/readings", "admin", {"readings": body[:50]})
    assert (done["accepted"], done["rejected"]) == (50, 0)
    csv_rows = [{"indicator": "RIVER_LEVEL", "area": "500111001", "device": "",
                 "at": (now - timedelta(minutes=m)).isoformat(), "value": str(m)} for m in range(5)]
    csv_rows.append({"indicator": "RIVER_LEVEL", "area": "500111001", "device": "",
                     "at": now.isoformat(), "value": "nan"})
    r = api.client.post("/api/readings", content=write_csv(csv_rows), headers={**api.headers("admin"),
                                                                             "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (5, 1)
    assert r.json()["rejections"] == [{"index": 5, "field": "value", "reason": "value is not finite (NaN or infinity)"}]
    broken = api.client.post("/api/readings", content=b"[{", headers={**api.headers("admin"),
                                                                      "Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["field"] == "body"
    api.post("/api/readings", "carol", body[:1], status=403)
    latest_rows = api.get("/api/readings/latest?indicator_code=RIVER_LEVEL", who="alice")
    assert {r["series"] for r in latest_rows} == {"WL-A", "500111001"}
    hist = api.get(f"/api/readings/history?indicator_code=RIVER_LEVEL&series=WL-A&start="
                   f"{(now - timedelta(hours=2)).isoformat().replace('+', '%2B')}", who="alice")
    assert hist["bucket_s"] == 0 and len(hist["points"]) == 50
    # bob (town A) sees town A's series; frank (town B) does not
    api.get("/api/readings/history?indicator_code=RIVER_LEVEL&series=WL-A", who="frank", status=404)
    assert api.get("/api/readings/latest", who="frank") == []


def test_a_batch_larger_than_the_json_body_limit_is_taken_whole(sensing: World, api: Api) -> None:
    """A readings batch is not held to the 1 MiB limit of other JSON bodies: 12,000 readings (~1.3 MB)
    go in with one request, and a bad one among them is still rejected on its own."""
    now = datetime.now(UTC).replace(microsecond=0)
    body = [reading("RIVER_LEVEL", (now - timedelta(seconds=s)).isoformat(), 2.0 + s % 7 / 10, device="WL-A")
            for s in range(12_000)]
    body[7] = {**body[7], "value": "high"}
    r = api.client.post("/api/readings", content=orjson.dumps(body),
                        headers={**api.headers("admin"), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert len(orjson.dumps(body)) > 1024 * 1024
    assert (r.json()["accepted"], r.json()["rejected"]) == (11_999, 1)
    assert r.json()["rejections"] == [{"index": 7, "field": "value", "reason": "'high' is not a number"}]
    # other JSON routes keep their limit
    big = {"source": "hotline", "title": "x", "description": "长" * 600_000, "lon": World.A1[0], "lat": World.A1[1]}
    assert api.client.post("/api/events", json=big, headers=api.headers("admin")).status_code == 413


def test_cli_ingests_a_file_and_lists_rejections(sensing: World, tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "readings.csv"
    path.write_bytes(write_csv([
        {"indicator": "RIVER_LEVEL", "device": "WL-A", "at": (now - timedelta(minutes=m)).isoformat(), "value": "1.5"}
        for m in range(10)] + [{"indicator": "RIVER_LEVEL", "device": "WL-A", "at": now.isoformat(), "value": "x"}]))
    result = CliRunner().invoke(app, ["ingest", str(path), "--database-url", engine.url.render_as_string(False)])
    assert result.exit_code == 1, result.output
    assert "10 stored" in result.output and "1 rejected" in result.output and "not a number" in result.output
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Reading)) == 10
