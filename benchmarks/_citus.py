"""Benchmarks on the local Citus cluster (issue #25): the same measurement as on one machine, recorded beside it.

A script's ``--citus`` flag points it here instead of the one PostgreSQL on localhost:

- :func:`ensure_cluster` starts the local cluster (``scripts/citus_cluster.sh up``: coordinator
  ``127.0.0.1:9700``, workers ``:9701``, ``:9702``) when the coordinator does not answer;
- :func:`create_database` makes the bench database on the coordinator **and** every worker (Citus does not
  propagate ``CREATE DATABASE``), with the extension, and registers the coordinator and the workers in it
  as the Citus test suite does (``tests/conftest.py``);
- :func:`lay_out` runs the project's migrations, then ``adapters.db.citus.distribute()`` with
  ``citus.shard_count`` = :data:`SHARDS` (48, the production setting of docs/operations.md) — what
  ``shuzhi init`` does on a coordinator. Scripts fill their data into the coordinator's plain tables first
  and distribute afterwards (:func:`distribute`: the rows move to the shards), or distribute an empty
  schema and write through the coordinator;
- :func:`provenance` is what the record keeps of the cluster (``_results.database_info`` calls it for a
  database with the extension): Citus version, workers, shards per distributed table.

Figures taken here carry a ``_citus`` suffix (:func:`name`) and sit beside the one-machine ones in
``catalogue.py``. The coordinator's URL and the shard count come from ``SHUZHI_BENCH_CITUS_URL``
(``postgresql://postgres@127.0.0.1:9700``) and ``SHUZHI_BENCH_CITUS_SHARDS``. ``SHUZHI_BENCH_CITUS_WORKERS=1``
lays the bench database out over the first worker only (the base of a curve by workers, 1 → 2); its
figures are named ``…_citus_1w``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
#: The coordinator, without a database name.
BASE = os.environ.get("SHUZHI_BENCH_CITUS_URL", "postgresql://postgres@127.0.0.1:9700").rstrip("/")
ADMIN_URL = f"{BASE}/postgres"
#: Shards per distributed table: the production setting (docs/operations.md), not the test suite's 4.
SHARDS = int(os.environ.get("SHUZHI_BENCH_CITUS_SHARDS", "48"))
SUFFIX = "_citus"
#: Workers the bench database is laid out over (None: every worker of the cluster).
WORKERS = int(os.environ["SHUZHI_BENCH_CITUS_WORKERS"]) if os.environ.get("SHUZHI_BENCH_CITUS_WORKERS") else None


def name(figure: str) -> str:
    """The record's name of a figure taken on Citus: the one-machine name with :data:`SUFFIX` (and the
    worker count when it is not every worker's)."""
    return figure + SUFFIX + (f"_{WORKERS}w" if WORKERS is not None else "")


def fingerprint() -> dict[str, Any]:
    """What a prepared database on Citus adds to its fingerprint: its shards and workers."""
    return {"citus_shards": SHARDS, "citus_workers": WORKERS or "all"}


def url(database: str) -> str:
    """The SQLAlchemy URL of a database on the coordinator."""
    return f"{BASE.replace('postgresql://', 'postgresql+psycopg://', 1)}/{database}"


def _answers() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            workers = conn.execute("SELECT count(*) FROM pg_dist_node WHERE groupid > 0").fetchone()
        return bool(workers and workers[0])
    except psycopg.Error:
        return False


def ensure_cluster() -> None:
    """Start the local cluster when the coordinator does not answer (or has no workers)."""
    if _answers():
        return
    print("citus: the coordinator does not answer; starting the local cluster", flush=True)
    if subprocess.run([str(ROOT / "scripts" / "citus_cluster.sh"), "up"], check=False).returncode or not _answers():
        raise SystemExit(f"citus: no coordinator with workers at {BASE} (scripts/citus_cluster.sh up)")


def nodes() -> list[tuple[str, int, int]]:
    """(host, port, group) of every node the cluster's ``postgres`` database knows; group 0 is the coordinator."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT nodename, nodeport, groupid FROM pg_dist_node ORDER BY groupid").fetchall()
    if not any(g == 0 for _h, _p, g in rows) or len(rows) < 2:
        raise SystemExit("citus: the coordinator is not in the cluster's metadata or has no workers "
                         "(scripts/citus_cluster.sh up)")
    return [(h, int(p), int(g)) for h, p, g in rows]


def create_database(database: str) -> str:
    """A fresh ``database`` on every node with the extension, the coordinator and the workers registered in
    it; returns its URL on the coordinator. Any database of that name is dropped first, on every node."""
    ensure_cluster()
    cluster = nodes()
    for host, port, _group in cluster:
        with psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        with psycopg.connect(f"postgresql://postgres@{host}:{port}/{database}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
    coordinator = next((h, p) for h, p, g in cluster if g == 0)
    workers = [(h, p) for h, p, g in cluster if g != 0][:WORKERS]
    with psycopg.connect(f"{BASE}/{database}", autocommit=True) as conn:
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", coordinator)
        for host, port in workers:
            conn.execute("SELECT citus_add_node(%s, %s)", (host, port))
    return url(database)


def distribute(db_url: str) -> None:
    """``adapters.db.citus.distribute()`` with :data:`SHARDS` shards a table, in its own transaction
    (idempotent: a no-op on a database laid out already). Rows already in the tables move to the shards."""
    from sqlalchemy import text

    from shuzhi.adapters.db import citus
    from shuzhi.adapters.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL citus.shard_count = {SHARDS}"))
            done = citus.distribute(conn)
    finally:
        engine.dispose()
    if done.distributed:
        print(f"citus: {len(done.distributed)} tables distributed or made reference tables over "
              f"{done.workers} workers, {SHARDS} shards a distributed table", flush=True)


def lay_out(database: str, *, distributed: bool = True) -> str:
    """:func:`create_database`, the project's migrations, and (unless ``distributed`` is False: the caller
    fills the plain tables first and calls :func:`distribute` itself) the Citus layout. Returns the URL."""
    from shuzhi.adapters.db.migrate import upgrade

    db_url = create_database(database)
    upgrade(db_url)
    if distributed:
        distribute(db_url)
    return db_url


def provenance(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """What the record keeps of the cluster behind a coordinator's database: Citus version, the workers,
    the shard count of each distributed table and the reference tables; None when it is no coordinator."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is None:
        return None
    version = conn.execute("SELECT citus_version()").fetchone()
    workers = conn.execute("SELECT nodename || ':' || nodeport FROM pg_dist_node "
                           "WHERE groupid > 0 AND noderole = 'primary' ORDER BY nodeport").fetchall()
    shards = dict(conn.execute(
        "SELECT p.logicalrelid::regclass::text, count(s.shardid) FROM pg_dist_partition p "
        "JOIN pg_dist_shard s USING (logicalrelid) WHERE p.partmethod = 'h' "
        "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = p.logicalrelid) "
        "GROUP BY 1 ORDER BY 1").fetchall())
    reference = [r[0] for r in conn.execute(
        "SELECT logicalrelid::regclass::text FROM pg_dist_partition WHERE partmethod = 'n' AND repmodel = 't' "
        "ORDER BY 1").fetchall()]
    counts = sorted(set(shards.values()))
    return {
        # "Citus 13.2.2 on x86_64-pc-linux-gnu, compiled by …" → 13.2.2
        "version": str(version[0]).split()[1] if version and len(str(version[0]).split()) > 1 else "unknown",
        "workers": len(workers), "worker_nodes": [w[0] for w in workers],
        "shard_count": counts[0] if len(counts) == 1 else counts,
        "distributed_tables": shards, "reference_tables": reference,
    }
