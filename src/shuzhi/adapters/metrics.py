"""Prometheus metrics: per-process request figures and database gauges computed when scraped.

Request counters and the latency histogram live in each API process. Under ``shuzhi serve --workers
N`` the processes share a directory (``PROMETHEUS_MULTIPROC_DIR``, set up by ``serve``) and any one of
them answers ``/metrics`` for all (prometheus-client's multiprocess mode).

Gauges that describe the system rather than the process — open and overdue tasks, open events, events
received in the last five minutes, the webhook backlog and dead letters — are read from the database
on scrape, each with an indexed query, and kept for :data:`GAUGE_TTL` seconds so that several scrapers
cost one set of queries. Other parts add their own with :func:`register_gauge`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.domain.events import OPEN_EVENT_STATES, RUNNING_TASK_STATES

GAUGE_TTL = 10.0

REQUESTS = Counter("shuzhi_http_requests_total", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("shuzhi_http_request_duration_seconds", "Time to answer a request, by route template",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

#: (label values, value) pairs of one gauge.
Samples = Iterable[tuple[Sequence[str], float]]


@dataclass(frozen=True)
class GaugeSource:
    name: str
    help: str
    labels: tuple[str, ...]
    read: Callable[[Session, datetime], Samples]


_SOURCES: list[GaugeSource] = []


def register_gauge(name: str, help: str, read: Callable[[Session, datetime], Samples],
                   labels: tuple[str, ...] = ()) -> None:
    """Add a gauge read from the database at scrape time (e.g. the scheduler's lag, readings per minute)."""
    if any(s.name == name for s in _SOURCES):
        return
    _SOURCES.append(GaugeSource(name, help, labels, read))


def _tasks_open(s: Session, now: datetime) -> Samples:
    n = s.scalar(select(func.count()).select_from(Task).where(Task.state.in_([x.value for x in RUNNING_TASK_STATES])))
    return [((), float(n or 0))]


def _tasks_overdue(s: Session, now: datetime) -> Samples:
    n = s.scalar(select(func.count()).select_from(Task).where(
        Task.state.in_([x.value for x in RUNNING_TASK_STATES]), Task.handle_due_at < now))
    return [((), float(n or 0))]


def _events_open(s: Session, now: datetime) -> Samples:
    rows = s.execute(select(Event.state, func.count()).where(Event.state.in_([x.value for x in OPEN_EVENT_STATES]))
                     .group_by(Event.state)).all()
    counts = {state: float(n) for state, n in rows}
    return [((state.value,), counts.get(state.value, 0.0)) for state in sorted(OPEN_EVENT_STATES)]


def _events_recent(s: Session, now: datetime) -> Samples:
    n = s.scalar(select(func.count()).select_from(Event).where(Event.received_at >= now - timedelta(minutes=5)))
    return [((), float(n or 0))]


_tables: dict[str, set[str]] = {}


def _has_table(s: Session, name: str) -> bool:
    url = str(s.get_bind().engine.url)
    if url not in _tables:
        # on the session's own connection: a second one would wait for the first's lock (SQLite)
        _tables[url] = set(inspect(s.connection()).get_table_names())
    return name in _tables[url]


def _webhooks(s: Session, now: datetime) -> Samples:
    # The supervision part's delivery table; absent until that part is installed.
    if not _has_table(s, "webhook_deliveries"):
        return []
    rows = s.execute(text("SELECT state, count(*) FROM webhook_deliveries WHERE state IN ('pending', 'dead') "
                          "GROUP BY state")).all()
    counts = {state: float(n) for state, n in rows}
    return [((state,), counts.get(state, 0.0)) for state in ("pending", "dead")]


register_gauge("shuzhi_tasks_open", "Tasks a unit still owes work on (dispatched, accepted, extension asked)",
               _tasks_open)
register_gauge("shuzhi_tasks_overdue", "Open tasks past their handling deadline", _tasks_overdue)
register_gauge("shuzhi_events_open", "Events not yet closed, by state", _events_open, ("state",))
register_gauge("shuzhi_events_received_5m", "Events received in the last five minutes (intake rate × 300)",
               _events_recent)
register_gauge("shuzhi_webhook_deliveries", "Webhook deliveries waiting (pending) or given up (dead)", _webhooks,
               ("state",))


class DatabaseGauges(Collector):
    """Reads every registered gauge in one short transaction, at most once per :data:`GAUGE_TTL`."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._lock = threading.Lock()
        self._cached: tuple[float, list[GaugeMetricFamily]] | None = None

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < GAUGE_TTL:
                return list(self._cached[1])
            families = self._read()
            self._cached = (time.monotonic(), families)
            return list(families)

    def _read(self) -> list[GaugeMetricFamily]:
        now = datetime.now(UTC)
        families = []
        up = GaugeMetricFamily("shuzhi_database_up", "Whether the gauges could be read from the database")
        try:
            with self._factory() as s:
                for source in _SOURCES:
                    family = GaugeMetricFamily(source.name, source.help, labels=list(source.labels))
                    for labels, value in source.read(s, now):
                        family.add_metric(list(labels), value)
                    families.append(family)
            up.add_metric([], 1.0)
        except Exception:  # a scrape during a database outage still answers, saying so
            logging.getLogger(__name__).warning("metrics: database gauges unreadable", exc_info=True)
            families = []
            up.add_metric([], 0.0)
        return [up, *families]


def exposition(session_factory: sessionmaker[Session], gauges: DatabaseGauges | None = None) -> tuple[bytes, str]:
    """The ``/metrics`` body: this process's (or, in multiprocess mode, every process's) metrics and the
    database gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    db_registry = CollectorRegistry()
    db_registry.register(gauges or DatabaseGauges(session_factory))
    return body + generate_latest(db_registry), CONTENT_TYPE_LATEST
