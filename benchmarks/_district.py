"""A benchmark database holding the demo district, imported through the real importers, and grown by SQL.

Shared by the benchmarks that need a stored district (dispatch, views): a fresh database with the
schema of this checkout (Alembic head), the demo district (``shuzhi.demo``), then set-based SQL to
reach the volumes a goal names — more grids (each with its grid team and coverage), stored events.
"""

from __future__ import annotations

import os
import time

import psycopg

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")


def url_for(db: str) -> str:
    return f"postgresql+psycopg://postgres@localhost/{db}"


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fresh_district(db: str, seed: int = 1) -> None:
    """Drop and create ``db``, migrate it to head and import the demo district (seed ``seed``)."""
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.migrate import upgrade
    from shuzhi.demo.district import build_district
    from shuzhi.demo.runner import load_reference_data
    from shuzhi.services.unit_of_work import UnitOfWork

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    t0 = time.perf_counter()
    upgrade(url_for(db))
    engine = make_engine(url_for(db))
    factory = make_session_factory(engine)
    load_reference_data(lambda: UnitOfWork(factory), build_district(seed))
    engine.dispose()
    print(f"{db}: demo district imported in {time.perf_counter() - t0:.0f} s", flush=True)


def grow_grids(db: str, total: int) -> int:
    """Add grids under the district's villages until it holds ``total`` grids, each with a grid team
    unit covering it (what an importer would store; boundaries are left out: decisions read paths).
    Returns the number of grids."""
    with psycopg.connect(plain(url_for(db)), autocommit=True) as conn:
        have = int(conn.execute("SELECT count(*) FROM areas WHERE level = 'grid'").fetchone()[0])  # type: ignore[index]
        missing = total - have
        grown = int(conn.execute("SELECT count(*) FROM areas WHERE code LIKE 'X%%'").fetchone()[0])  # type: ignore[index]
        if missing > 0:
            conn.execute(
                """
                WITH v AS (SELECT id, code, path, centroid_lon, centroid_lat,
                                  row_number() OVER (ORDER BY id) - 1 AS rn, count(*) OVER () AS n
                           FROM areas WHERE level = 'village'),
                     g AS (SELECT s, v.* FROM generate_series(%s, %s - 1) AS s JOIN v ON v.rn = s %% v.n)
                INSERT INTO areas (code, name, level, parent_id, path, centroid_lon, centroid_lat,
                                   created_at, updated_at)
                SELECT 'X' || lpad(s::text, 14, '0'), '扩展网格' || s, 'grid', id,
                       path || 'X' || lpad(s::text, 14, '0') || '/', centroid_lon, centroid_lat, now(), now()
                FROM g
                """, (grown, grown + missing))
            conn.execute(
                """
                INSERT INTO units (code, name, kind, level, area_id, parent_id, active, created_at, updated_at)
                SELECT 'G' || a.code, a.name || '网格员', 'grid', 'grid', a.id,
                       (SELECT u.id FROM units u WHERE u.area_id = a.parent_id ORDER BY u.id LIMIT 1),
                       true, now(), now()
                FROM areas a WHERE a.code LIKE 'X%%' AND NOT EXISTS (SELECT 1 FROM units u WHERE u.area_id = a.id)
                """)
            conn.execute(
                """
                INSERT INTO unit_coverage (unit_id, area_id)
                SELECT u.id, u.area_id FROM units u JOIN areas a ON a.id = u.area_id WHERE a.code LIKE 'X%%'
                ON CONFLICT DO NOTHING
                """)
            conn.execute("ANALYZE")
        return int(conn.execute("SELECT count(*) FROM areas WHERE level = 'grid'").fetchone()[0])  # type: ignore[index]


def fill_events(db: str, count: int, *, prefix: str = "H", minutes_apart: int = 1) -> int:
    """``count`` stored events spread over the district's grids and classes, newest now; returns how
    many the database holds. One set-based statement, as a district's history would be loaded."""
    with psycopg.connect(plain(url_for(db)), autocommit=True) as conn:
        owner = conn.execute("SELECT id FROM units WHERE kind='centre' AND level='district'").fetchone()[0]  # type: ignore[index]
        conn.execute(
            """
            WITH g_ AS (SELECT id, path, centroid_lon, centroid_lat, row_number() OVER (ORDER BY id) - 1 AS rn,
                               count(*) OVER () AS n
                        FROM areas WHERE level = 'grid'),
                 c_ AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn, count(*) OVER () AS n
                        FROM event_classes WHERE default_mode = 'handle')
            INSERT INTO events (number, source, title, description, lon, lat, area_id, area_path, urgency, mode,
                                state, owner_unit_id, event_class_id, self_handled, rework_count, return_count,
                                received_at, updated_at, version)
            SELECT '500111-' || %s || '-' || lpad(s::text, 9, '0'),
                   (ARRAY['hotline','app','grid','sensor'])[1 + s %% 4], '历史事件 ' || s, '', a.centroid_lon,
                   a.centroid_lat, a.id, a.path, (ARRAY['normal','normal','normal','urgent'])[1 + s %% 4], 'handle',
                   (ARRAY['called_back','closed','handling','registered'])[1 + s %% 4], %s, c.id, false, 0, 0,
                   now() - ((s * %s) || ' minutes')::interval, now(), 1
            FROM generate_series(1, %s) AS s
            JOIN g_ a ON a.rn = s %% a.n
            JOIN c_ c ON c.rn = (s / 7) %% c.n
            """,
            (prefix, owner, minutes_apart, count),
        )
        conn.execute("ANALYZE events")
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


def grow_towns(db: str, total: int) -> int:
    """Add towns under the district until it holds ``total`` towns, each with its town centre (a unit of
    kind centre, level town, covering the town) — a city's 1,031 towns in one database. Returns the
    number of towns."""
    with psycopg.connect(plain(url_for(db)), autocommit=True) as conn:
        have = int(conn.execute("SELECT count(*) FROM areas WHERE level = 'town'").fetchone()[0])  # type: ignore[index]
        grown = int(conn.execute("SELECT count(*) FROM areas WHERE code LIKE 'T%%'").fetchone()[0])  # type: ignore[index]
        missing = total - have
        if missing > 0:
            conn.execute(
                """
                WITH d AS (SELECT id, path, centroid_lon, centroid_lat FROM areas WHERE level = 'district'
                           ORDER BY id LIMIT 1)
                INSERT INTO areas (code, name, level, parent_id, path, centroid_lon, centroid_lat,
                                   created_at, updated_at)
                SELECT 'T' || lpad(s::text, 8, '0'), '扩展镇街' || s, 'town', d.id,
                       d.path || 'T' || lpad(s::text, 8, '0') || '/', d.centroid_lon, d.centroid_lat, now(), now()
                FROM generate_series(%s, %s - 1) AS s, d
                """, (grown, grown + missing))
            conn.execute(
                """
                INSERT INTO units (code, name, kind, level, area_id, parent_id, active, created_at, updated_at)
                SELECT 'C' || a.code, a.name || '治理中心', 'centre', 'town', a.id,
                       (SELECT u.id FROM units u WHERE u.kind = 'centre' AND u.level = 'district' LIMIT 1),
                       true, now(), now()
                FROM areas a WHERE a.code LIKE 'T%%' AND NOT EXISTS (SELECT 1 FROM units u WHERE u.area_id = a.id)
                """)
            conn.execute(
                """
                INSERT INTO unit_coverage (unit_id, area_id)
                SELECT u.id, u.area_id FROM units u JOIN areas a ON a.id = u.area_id WHERE a.code LIKE 'T%%'
                ON CONFLICT DO NOTHING
                """)
            conn.execute("ANALYZE")
        return int(conn.execute("SELECT count(*) FROM areas WHERE level = 'town'").fetchone()[0])  # type: ignore[index]
