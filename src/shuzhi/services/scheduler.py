"""The durable scheduler: supervision sweeps and periodic jobs, safe with many worker processes.

Everything it knows is in the database — the tasks' clocks (``supervision_clocks``, indexed by their
next due time) and the periodic jobs (``scheduled_jobs``) — so a worker that crashes or is restarted
loses nothing: whatever fell due meanwhile is simply due at the next tick (a missed sweep catches up).

A periodic job is claimed with a conditional UPDATE (``… WHERE name = :name AND next_due_at = :seen``):
of several workers that saw it due, exactly one changes the row and runs the job. A job that fails
has its next run pushed out with a backoff instead of running again at once.

Every periodic job is registered in one place, :mod:`shuzhi.services.bootstrap`, one line per job::

    PeriodicJob("reports.daily", timedelta(minutes=5), uow_job(reports.make_daily_reports)),
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_supervision import ScheduledJob
from shuzhi.services import supervision, webhooks
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.scheduler")
UowFactory = Callable[[], UnitOfWork]
#: Longest wait between two attempts while the database is away.
MAX_BACKOFF_S = 10.0


@dataclass(frozen=True)
class PeriodicJob:
    """``run(uow_factory, now)`` every ``every``; it must be idempotent (it may run again after a crash)."""

    name: str
    every: timedelta
    run: Callable[[UowFactory, datetime], Any]


def uow_job(run: Callable[[UnitOfWork, datetime], Any]) -> Callable[[UowFactory, datetime], Any]:
    """Adapt a service use case ``run(uow, now)`` to a periodic job."""
    return lambda uow_factory, now: run(uow_factory(), now)


#: THE list of periodic jobs, filled by :func:`shuzhi.services.bootstrap.bootstrap` (one line per job there).
PERIODIC_JOBS: list[PeriodicJob] = []


def _ensure_rows(uow_factory: UowFactory, now: datetime) -> None:
    with uow_factory() as uow:
        known = set(uow.session.scalars(select(ScheduledJob.name)))
        missing = [j for j in PERIODIC_JOBS if j.name not in known]
        if not missing:
            return
        for job in missing:
            uow.session.add(ScheduledJob(name=job.name, next_due_at=now, failures=0))
        with suppress(IntegrityError):  # another worker registered it at the same moment
            uow.commit()


def run_due_jobs(uow_factory: UowFactory, now: datetime | None = None) -> list[str]:
    """Run every periodic job that is due and that this worker wins; returns the names it ran."""
    at = now or datetime.now(UTC)
    _ensure_rows(uow_factory, at)
    ran: list[str] = []
    for job in list(PERIODIC_JOBS):
        with uow_factory() as uow:
            row = uow.session.execute(select(ScheduledJob.next_due_at, ScheduledJob.failures)
                                      .where(ScheduledJob.name == job.name)).first()
            if row is None or row[0] > at:
                continue
            seen, failures = row
            won: Any = uow.session.execute(update(ScheduledJob).where(
                ScheduledJob.name == job.name, ScheduledJob.next_due_at == seen
            ).values(next_due_at=at + job.every, last_started_at=at))
            claimed = won.rowcount
            uow.commit()
        if claimed != 1:
            continue  # another worker took it
        try:
            job.run(uow_factory, at)
        except Exception as exc:
            log.exception("periodic job %s failed", job.name)
            backoff = min(job.every * (2 ** min(failures + 1, 10)), timedelta(hours=1))
            with uow_factory() as uow:
                uow.session.execute(update(ScheduledJob).where(ScheduledJob.name == job.name).values(
                    next_due_at=at + backoff, failures=failures + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]))
                uow.commit()
            continue
        with uow_factory() as uow:
            uow.session.execute(update(ScheduledJob).where(ScheduledJob.name == job.name).values(
                last_finished_at=datetime.now(UTC), failures=0, last_error=None))
            uow.commit()
        ran.append(job.name)
    return ran


def tick(uow_factory: UowFactory, now: datetime | None = None, batch: int = 500,
         connections: int = 1) -> supervision.SweepResult:
    """One pass of the worker: every due supervision step, every due periodic job, then one round of
    webhook deliveries (the running worker delivers in a loop of its own instead)."""
    at = now or datetime.now(UTC)
    result = supervision.sweep(uow_factory, at, batch=batch, connections=connections)
    run_due_jobs(uow_factory, at)
    webhooks.deliver_due(uow_factory, at, batch=webhooks.DELIVERY_BATCH)
    return result


#: Clocks claimed per transaction and connections one sweep uses at once (PostgreSQL; SQLite has one
#: writer): the settings ``benchmarks/bench_sweep.py`` measures (docs/benchmarks.md, "Supervision sweep").
SWEEP_BATCH = 1000
SWEEP_CONNECTIONS = 2


class Worker:
    """The loop of ``shuzhi worker`` (and of the in-process thread of ``serve``/``demo``).

    ``stop`` is checked between batches only: on SIGTERM the batch in hand is finished and committed,
    then the loop ends.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, interval: float = 1.0, batch: int = 500,
                 connections: int = 1, name: str | None = None) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self.batch = batch
        self.connections = connections
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stop = threading.Event()
        self.ticks = 0

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def run(self) -> None:
        """Tick until stopped. While the database is away (a restart, a fail-over) the loop waits with
        backoff and tries again — nothing is lost, what fell due meanwhile is due at the next tick — and
        it needs no restart: the engine's pre-ping replaces the dead pooled connections."""
        log.info("worker %s started", self.name)
        threading.Thread(target=webhooks.delivery_loop, args=(self.uow, self.stop), daemon=True,
                         name=f"webhooks:{self.name}").start()
        away_since: datetime | None = None
        wait = self.interval
        while not self.stop.is_set():
            started = datetime.now(UTC)
            try:
                result = supervision.sweep(self.uow, started, batch=self.batch, connections=self.connections)
                if result.steps:
                    log.info("swept %d clocks: %s", result.claimed, result.by_step)
                if not self.stop.is_set():
                    run_due_jobs(self.uow, started)
                if away_since is not None:
                    log.info("database reachable again after %.0f s", (datetime.now(UTC) - away_since).total_seconds())
                    away_since, wait = None, self.interval
            except (OperationalError, InterfaceError) as exc:
                if away_since is None:
                    away_since = started
                    log.warning("database unavailable (%s); retrying with backoff", str(exc).splitlines()[0][:160])
                wait = min(max(wait * 2, 0.5), MAX_BACKOFF_S)
            except Exception:
                log.exception("worker tick failed")
            self.ticks += 1
            self.stop.wait(wait if away_since is not None else self.interval)
        log.info("worker %s stopped", self.name)

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing the job in hand, then exiting", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)


def start_in_thread(session_factory: sessionmaker[Session], interval: float = 2.0) -> Worker:
    """Run the scheduler in a daemon thread of this process (``serve`` and ``demo`` on SQLite)."""
    worker = Worker(session_factory, interval=interval, name=f"in-process:{os.getpid()}")
    threading.Thread(target=worker.run, name="shuzhi-scheduler", daemon=True).start()
    return worker
