"""On a Citus coordinator the cases are spread over the workers by district, each case in one place, and
the closed loop runs on the distributed layout with the answers of one PostgreSQL.

Runs in the Citus suite only (``make test-citus``: ``SHUZHI_TEST_CITUS=1``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from shuzhi.adapters.db import citus
from tests.conftest import CITUS
from tests.factories import World
from tests.integration.conftest import Api

pytestmark = pytest.mark.skipif(not CITUS, reason="the Citus suite (make test-citus)")


def test_the_case_tables_are_distributed_by_district_and_co_located(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT logicalrelid::regclass::text, column_to_column_name(logicalrelid, partkey) || ' ' || colocationid "
            "FROM pg_dist_partition WHERE logicalrelid::regclass::text = ANY(:t)"), {"t": list(citus.CASES)}).all())
        keys = conn.execute(text(
            "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint c "
            "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(:t) AND NOT EXISTS ("
            "  SELECT 1 FROM unnest(conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k "
            "  WHERE a.attname = 'district_code')"), {"t": list(citus.CASES)}).scalars().all()
    assert set(rows) == set(citus.CASES)
    assert {v.split()[0] for v in rows.values()} == {"district_code"}
    assert len({v.split()[1] for v in rows.values()}) == 1  # one co-location group
    assert keys == []  # every primary and unique key holds the distribution column


def test_one_case_walks_the_closed_loop_on_one_worker(api: Api, world: World, engine: Engine) -> None:
    ev = api.submit(reporter_name="张三", reporter_phone="13912345678", address="龙岗街道北山路12号")
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice",
                  {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}]})
    task = api.task(ev, "D500111-CGJ")
    base = f"/api/events/{ev['number']}/tasks/{task['id']}"
    assert api.post(f"{base}/accept", "carol", {})["state"] == "handling"
    assert api.post(f"{base}/report-back", "carol", {"result": "已更换井盖"})["state"] == "reported_back"
    assert api.post(f"/api/events/{ev['number']}/verify", "alice", {"passed": True})["state"] == "verified"
    ev = api.post(f"/api/events/{ev['number']}/close", "alice", {})
    assert ev["state"] == "closed"
    timeline = api.get(f"/api/events/{ev['number']}/timeline")
    assert [t["to_state"] for t in timeline if t["action"].startswith("event.")] == [
        "registered", "dispatched", "handling", "reported_back", "verified", "closed"]
    with engine.connect() as conn:
        event_id, district = conn.execute(text("SELECT id, district_code FROM events WHERE number = :n"),
                                          {"n": ev["number"]}).one()
        assert district == "500111"
        held: set[int] = set()
        for table, column in (("events", "id"), ("tasks", "event_id"), ("timeline_entries", "event_id")):
            counts = conn.execute(text(
                f"SELECT nodeport, result FROM run_command_on_placements('{table}', "
                f"$$SELECT count(*) FROM %s WHERE {column} = {int(event_id)}$$)")).all()
            where = {port for port, n in counts if int(n) > 0}
            assert len(where) == 1, (table, counts)  # the case's rows of each table on one shard …
            held |= where
        assert len(held) == 1  # … and all of them on one worker
