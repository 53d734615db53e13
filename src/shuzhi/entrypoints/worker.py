"""``shuzhi worker``: the durable scheduler as a process of its own (run as many as you like).

SIGTERM (or Ctrl-C) lets the batch in hand commit, then the process exits with status 0.
"""

from __future__ import annotations

import gc
import logging

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.services.bootstrap import bootstrap
from shuzhi.services.scheduler import SWEEP_BATCH, SWEEP_CONNECTIONS, Worker


def settle_heap() -> None:
    """Take what the process has built so far (modules, mappers, the engine) out of the garbage
    collector's reach (``gc.freeze``): it lives as long as the process, and a sweep of 10,000 due rows
    allocates enough to trigger full collections that would walk all of it again — a quarter of the
    sweeping process's CPU in ``benchmarks/bench_sweep.py``. Call once, after start-up."""
    gc.collect()
    gc.freeze()


def run_worker(url: str, *, interval: float = 1.0, batch: int | None = None, connections: int | None = None,
               once: bool = False) -> int:
    """``batch`` and ``connections`` default to the measured settings (``SWEEP_BATCH``, ``SWEEP_CONNECTIONS``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bootstrap()
    engine = make_engine(url)
    # SQLite has a single writer: more connections would only queue behind it
    batch = batch or SWEEP_BATCH
    connections = 1 if engine.dialect.name == "sqlite" else max(1, connections or SWEEP_CONNECTIONS)
    worker = Worker(make_session_factory(engine), interval=interval, batch=batch, connections=connections)
    worker.install_signal_handlers()
    settle_heap()
    if once:
        worker.stop.set()
        from shuzhi.services.scheduler import tick

        tick(worker.uow, batch=batch, connections=connections)
    else:
        worker.run()
    engine.dispose()
    return 0


def start_background_worker(url: str) -> None:
    """The scheduler in a thread of this process: ``serve`` and ``demo`` on SQLite (a single machine);
    with PostgreSQL run ``shuzhi worker`` processes instead."""
    if not url.startswith("sqlite"):
        return
    from shuzhi.services.scheduler import start_in_thread

    bootstrap()
    start_in_thread(make_session_factory(make_engine(url)))
