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


def test_the_organisation_catalogues_rules_and_calendars_are_reference_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        kinds = dict(conn.execute(text(
            "SELECT logicalrelid::regclass::text, partmethod::text || repmodel::text FROM pg_dist_partition "
            "WHERE partmethod = 'n'")).all())  # not hash-distributed: reference (or "Citus local") tables
        placements = conn.execute(text(
            "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'units'::regclass")).scalar()
        # the case tables' foreign keys to them are back (distributed → reference, checked on each worker)
        fks = set(conn.execute(text(
            "SELECT conrelid::regclass::text || ' → ' || confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(:c)"), {"c": list(citus.CASES)}).scalars())
    # n: not partitioned, t: replicated to every node; and no coordinator table became a "Citus local
    # table" for a foreign key to one of them (citus._drop_local_references says why)
    assert kinds == {t: "nt" for t in citus.REFERENCE}
    assert placements == 3  # both workers and the coordinator
    assert {"events → units", "events → areas", "events → event_classes", "tasks → units",
            "tasks → events"} <= fks
    with engine.begin() as conn:  # a layout from before the reference tables: distribute() puts it back
        conn.execute(text("ALTER TABLE tasks DROP CONSTRAINT fk_tasks_unit_id_units"))
        assert citus.distribute(conn).distributed == ()
        assert conn.execute(text("SELECT 1 FROM pg_constraint WHERE conname = 'fk_tasks_unit_id_units'")).scalar()


def test_a_change_to_a_reference_table_replaces_its_stamp_once_from_the_coordinator(world: World,
                                                                                      engine: Engine) -> None:
    def token() -> str:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT token FROM change_stamps WHERE name = 'organisation'")).scalar())

    before = token()
    with engine.begin() as conn:  # as an operator's psql would: no application code in the way
        conn.execute(text("UPDATE units SET name = name || '' WHERE code = 'D500111-CGJ'"))
        conn.execute(text("UPDATE areas SET name = name WHERE code = '500111001'"))
        assert token() == before  # replaced at commit, not before
    after = token()
    assert after != before
    with engine.begin() as conn:  # a table no stamp watches
        conn.execute(text("INSERT INTO calendar_years (year, holidays, makeup_workdays, source, entered_by, "
                          "entered_at) VALUES (2030, '[]', '[]', '', 'test', now())"))
    assert token() == after


def test_a_join_of_cases_with_the_organisation_runs_on_the_workers_without_pulling_tables(
        api: Api, world: World, engine: Engine) -> None:
    ev = api.submit(reporter_name="张三", reporter_phone="13912345678", address="龙岗街道北山路12号")
    api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}]})
    query = ("SELECT a.code, u.level, count(*) FROM tasks t "
             "JOIN events e ON e.id = t.event_id AND e.district_code = t.district_code "
             "JOIN units u ON u.id = t.unit_id JOIN areas a ON a.id = e.area_id "
             "LEFT JOIN event_classes c ON c.id = e.event_class_id GROUP BY a.code, u.level")
    with engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + query).scalars())
        rows = conn.exec_driver_sql(query).all()
    # no recursive planning: no subplan whose result is shipped to the workers, every join on the worker
    assert "Distributed Subplan" not in plan and "intermediate_result" not in plan, plan
    assert "areas_" in plan and "units_" in plan  # the workers' own copies
    assert [(lvl, n) for _code, lvl, n in rows] == [("district", 1)]



def test_an_intake_runs_on_the_one_shard_of_its_district(api: Api, world: World, engine: Engine) -> None:
    """Intake is the hot path of a city (events/s): none of its statements may go to every shard of a case
    table. Citus is told to refuse a multi-shard statement for the request. Found by
    ``benchmarks/bench_intake.py --citus``: the hotline model's hook read the new event by id alone (48
    shards, ~70 ms of the database's CPU per intake); it names the district now. (Reading a case back
    still loads its tasks by event id alone, on every shard: the mappers' identity lacks the district.)"""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from shuzhi.services.handling import load_event

    def single_shard_only(conn: object) -> None:
        conn.exec_driver_sql("SET LOCAL citus.multi_task_query_log_level = 'error'")  # type: ignore[attr-defined]

    body = {"source": "hotline", "request_type": "complain", "event_class_code": "0101", "title": "井盖破损",
            "lon": World.A1[0], "lat": World.A1[1]}
    event.listen(engine, "begin", single_shard_only)
    try:
        number = api.post("/api/events", "alice", body, status=201)["number"]
    finally:
        event.remove(engine, "begin", single_shard_only)
    with Session(engine) as s:  # found by its number, which names the district's shard first
        assert load_event(s, number).district_code == "500111"
