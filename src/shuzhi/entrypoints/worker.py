"""``shuzhi worker``: the durable scheduler as a process of its own (run as many as you like).

SIGTERM (or Ctrl-C) lets the batch in hand commit, then the process exits with status 0.
"""

from __future__ import annotations

import logging

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.services.scheduler import Worker


def run_worker(url: str, *, interval: float = 1.0, batch: int = 500, once: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(url)
    worker = Worker(make_session_factory(engine), interval=interval, batch=batch)
    worker.install_signal_handlers()
    if once:
        worker.stop.set()
        from shuzhi.services.scheduler import tick

        tick(worker.uow, batch=batch)
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

    start_in_thread(make_session_factory(make_engine(url)))
