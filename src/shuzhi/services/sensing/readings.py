"""Readings out: the latest value of each series, history with downsampling, and retention.

History picks its bucket from the range (:func:`shuzhi.domain.sensing.choose_bucket`): raw readings
while they fit, minute to quarter-hour buckets computed from the raw rows, and hourly or longer
buckets read from the hourly rollups, so a year of a 1-minute series is 8,760 rollup rows, not half a
million readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.orm import Session

from shuzhi.adapters.db import readings_partitions as partitions
from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_sensing import Indicator, LatestReading, Reading, ReadingRollup
from shuzhi.config import get_settings
from shuzhi.domain import permissions as p
from shuzhi.domain.sensing import bucket_start, choose_bucket
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import authz
from shuzhi.services.sensing.ingest import DEFAULT_RETENTION_DAYS, purge_receipts
from shuzhi.services.unit_of_work import UnitOfWork

#: Hourly rollups are kept this long by default (they are small: one row per series and hour).
DEFAULT_ROLLUP_RETENTION_DAYS = 5 * 366


def latest(uow: UnitOfWork, actor: Actor, *, indicator_code: str | None = None, area_code: str | None = None,
           limit: int = 1000) -> list[dict[str, Any]]:
    """The newest value of every series in the actor's scope, filtered by indicator and area subtree."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        q = (select(LatestReading, Indicator.code, Indicator.name, Indicator.unit, Area.code, Area.name)
             .join(Indicator, Indicator.id == LatestReading.indicator_id)
             .join(Area, Area.id == LatestReading.area_id)
             .where(authz.area_clause(actor, Area.path)))
        if indicator_code is not None:
            q = q.where(Indicator.code == indicator_code)
        if area_code is not None:
            root = s.scalar(select(Area.path).where(Area.code == area_code))
            if root is None:
                raise Invalid(f"unknown area '{area_code}'", field="area_code")
            q = q.where(Area.path.startswith(root, autoescape=True))
        rows = s.execute(q.order_by(Indicator.code, LatestReading.series_key).limit(limit)).all()
        return [{"indicator_code": ic, "indicator_name": iname, "unit": unit, "series": r.series_key,
                 "area_code": ac, "area_name": aname, "at": r.at, "value": r.value}
                for r, ic, iname, unit, ac, aname in rows]


@dataclass(frozen=True)
class History:
    indicator_code: str
    series: str
    unit: str
    bucket_s: int
    #: ``{"at", "value"}`` for raw points; ``{"at", "avg", "min", "max", "count"}`` per bucket.
    points: list[dict[str, Any]]


def history(uow: UnitOfWork, actor: Actor, indicator_code: str, series: str, start: datetime, end: datetime, *,
            bucket_s: int | None = None, max_points: int = 500) -> History:
    """One series between ``start`` and ``end`` (inclusive start, exclusive end), downsampled to at
    most about ``max_points`` points unless ``bucket_s`` is given (0 = raw)."""
    authz.require(actor, p.INDICATOR_READ)
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if bucket_s is not None and bucket_s < 0:
        raise Invalid("bucket_s is 0 (raw) or a number of seconds", field="bucket_s")
    with uow:
        s = uow.session
        ind = s.scalar(select(Indicator).where(Indicator.code == indicator_code))
        if ind is None:
            raise NotFound(f"indicator {indicator_code} not found")
        area_id = s.scalar(select(LatestReading.area_id).where(LatestReading.indicator_id == ind.id,
                                                               LatestReading.series_key == series))
        path = s.scalar(select(Area.path).where(Area.id == area_id)) if area_id is not None else None
        if path is None:
            raise NotFound(f"series {indicator_code}/{series} not found")
        authz.ensure_visible(actor, path, what="series")
        size = choose_bucket(start, end, max_points, ind.frequency_s) if bucket_s is None else bucket_s
        if size == 0:
            rows = s.execute(select(Reading.at, Reading.value)
                             .where(Reading.indicator_id == ind.id, Reading.series_key == series,
                                    Reading.at >= start, Reading.at < end)
                             .order_by(Reading.at).limit(max(max_points * 20, 10_000))).all()
            points = [{"at": at, "value": v} for at, v in rows]
        elif size % 3600 == 0:
            points = _from_rollups(s, ind.id, series, start, end, size)
        else:
            points = _from_raw(s, ind.id, series, start, end, size)
        return History(indicator_code, series, ind.unit, size, points)


def _merge(buckets: dict[datetime, list[float]], at: datetime, count: int, total: float, lo: float,
           hi: float) -> None:
    b = buckets.get(at)
    if b is None:
        buckets[at] = [count, total, lo, hi]
    else:
        b[0] += count
        b[1] += total
        b[2] = min(b[2], lo)
        b[3] = max(b[3], hi)


def _points(buckets: dict[datetime, list[float]]) -> list[dict[str, Any]]:
    return [{"at": at, "avg": b[1] / b[0], "min": b[2], "max": b[3], "count": int(b[0])}
            for at, b in sorted(buckets.items())]


def _from_rollups(s: Session, indicator_id: int, series: str, start: datetime, end: datetime,
                  size: int) -> list[dict[str, Any]]:
    buckets: dict[datetime, list[float]] = {}
    rows = s.execute(select(ReadingRollup.hour, ReadingRollup.count, ReadingRollup.sum, ReadingRollup.min,
                            ReadingRollup.max)
                     .where(ReadingRollup.indicator_id == indicator_id, ReadingRollup.series_key == series,
                            ReadingRollup.hour >= bucket_start(start, 3600), ReadingRollup.hour < end))
    for hour, count, total, lo, hi in rows:
        _merge(buckets, bucket_start(hour, size), count, total, lo, hi)
    return _points(buckets)


def _from_raw(s: Session, indicator_id: int, series: str, start: datetime, end: datetime,
              size: int) -> list[dict[str, Any]]:
    # Minute-scale buckets over at most a few days: reading the raw rows once is cheaper than a
    # dialect-specific GROUP BY on time arithmetic, and gives the same numbers on both engines.
    buckets: dict[datetime, list[float]] = {}
    rows = s.execute(select(Reading.at, Reading.value)
                     .where(Reading.indicator_id == indicator_id, Reading.series_key == series,
                            Reading.at >= start, Reading.at < end))
    for at, value in rows:
        _merge(buckets, bucket_start(at, size), 1, value, value, value)
    return _points(buckets)


@dataclass(frozen=True)
class Purged:
    readings: int
    rollups: int
    #: Whole days dropped on PostgreSQL (their rows are counted in ``readings``).
    days_dropped: int = 0
    #: Days turned columnar (Citus, ``compress_after_days``), and turned back to heap because a shortened
    #: retention still had rows to delete in them.
    days_compressed: int = 0
    days_decompressed: int = 0


#: Day partitions are kept ready this many days ahead (the hourly job has a week to make them).
PARTITION_DAYS_AHEAD = 7
#: A day is compressed only once every shorter retention has finished with it: its last rows expire
#: over the day after the retention's own day, and the job runs hourly — two days clear both.
COMPRESS_MARGIN_DAYS = 2


def prepare_partitions(uow: UnitOfWork, now: datetime, *,
                       days_ahead: int = PARTITION_DAYS_AHEAD) -> partitions.Prepared:
    """Make the day partitions of ``readings`` from today to ``days_ahead`` days on (PostgreSQL; nothing
    on SQLite). Run hourly, so a day's partition exists long before its first reading arrives."""
    with uow:
        s = uow.session
        if not partitions.partitioned(s):
            return partitions.Prepared((), ())
        today = now.astimezone(UTC).date()
        done = partitions.create_days(s, [today + timedelta(days=n) for n in range(days_ahead + 1)])
        uow.commit()
        return done


def compress_horizon_days(compress_after_days: int, retentions: list[int], longest: int) -> int:
    """The age in days past which a day partition may be compressed: ``compress_after_days``, pushed back
    until every retention shorter than the longest has deleted its rows there (a columnar table takes no
    ``DELETE``) — the longest retention itself removes whole days."""
    shorter = [r for r in retentions if r < longest]
    return max(compress_after_days, (max(shorter) + COMPRESS_MARGIN_DAYS) if shorter else 0)


def _outside_columnar(methods: dict[date, str]) -> list[Any]:
    """Conditions on ``Reading.at`` that keep a ranged DELETE off the columnar day partitions (they take
    none; partition pruning then never opens them): one ``at < start OR at >= end`` per run of columnar days."""
    days = sorted(d for d, am in methods.items() if am == "columnar")
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    midnight = datetime.min.time()
    return [or_(Reading.at < datetime.combine(lo, midnight, UTC), Reading.at >= datetime.combine(hi, midnight, UTC))
            for lo, hi in runs]


def _decompress_shortened(uow: UnitOfWork, now: datetime, shorter: dict[int, int]) -> int:
    """Turn back to heap each columnar day still holding rows that a retention shorter than the longest
    must delete: it happens when a retention was shortened after the day was compressed. Each in a
    transaction of its own (the rewrite locks the day). Returns how many."""
    done = 0
    by_retention: dict[int, list[int]] = {}
    for indicator_id, days in shorter.items():
        by_retention.setdefault(days, []).append(indicator_id)
    with uow:
        s = uow.session
        columnar = [d for d, am in sorted(partitions.access_methods(s).items()) if am == "columnar"]
    for day in columnar:
        start = datetime.combine(day, datetime.min.time(), UTC)
        with uow:
            s = uow.session
            expired = s.execute(select(Reading.indicator_id).where(
                Reading.at >= start, Reading.at < start + timedelta(days=1),
                or_(*[and_(Reading.indicator_id.in_(ids), Reading.at < now - timedelta(days=r))
                      for r, ids in by_retention.items()])).limit(1)).first()
            if expired is None:
                continue
            partitions.set_access_method(s, day, "heap")
            uow.commit()
            done += 1
    return done


def _compress(uow: UnitOfWork, now: datetime, horizon_days: int) -> int:
    """Turn columnar each heap day partition wholly older than ``horizon_days``, a transaction each."""
    cutoff = (now - timedelta(days=horizon_days)).astimezone(UTC).date()
    with uow:
        days = [d for d, am in sorted(partitions.access_methods(uow.session).items()) if am == "heap" and d < cutoff]
    for day in days:
        with uow:
            partitions.set_access_method(uow.session, day, "columnar")
            uow.commit()
    return len(days)


def purge_expired(uow: UnitOfWork, now: datetime, *, default_days: int = DEFAULT_RETENTION_DAYS,
                  rollup_days: int = DEFAULT_ROLLUP_RETENTION_DAYS, compress_after_days: int = 0) -> Purged:
    """Delete raw readings older than their indicator's retention (``default_days`` when it sets none)
    and hourly rollups older than ``rollup_days`` — except a *traceable* indicator's (回溯性), whose hourly
    history is kept for good. Latest values are kept: they are the series' last word. Safe to run from
    several workers (plain ranged DELETEs, partition drops under a lock timeout).

    On PostgreSQL a day's partition is dropped whole once every indicator's retention has passed for
    it (the longest retention decides), in a transaction of its own that commits at once: the drop
    locks ``readings`` until commit. The longest retention is thus kept by the day (a reading goes with
    its day, at most a day after its time); shorter retentions and the default partition are then
    trimmed by ranged deletes, as on SQLite, where every retention is trimmed so.

    On Citus with ``compress_after_days`` > 0, day partitions older than :func:`compress_horizon_days`
    are then turned columnar (compressed, append-only): the ranged deletes keep off them, and a columnar
    day that a since-shortened retention must still trim is turned back to heap first."""
    with uow:
        s = uow.session
        per_indicator: dict[int, int] = {i: d for i, d in s.execute(
            select(Indicator.id, Indicator.retention_days).where(Indicator.retention_days.isnot(None))) if d}
        longest = max([default_days, *per_indicator.values()])
        days_dropped = dropped_rows = 0
        is_partitioned = partitions.partitioned(s)
        columnar = is_partitioned and compress_after_days > 0 and partitions.columnar_ready(s)
        if is_partitioned:
            before = len(partitions.day_partitions(s))
            dropped_rows = partitions.drop_days_before(s, (now - timedelta(days=longest)).astimezone(UTC).date())
            days_dropped = before - len(partitions.day_partitions(s))
            uow.commit()
    shorter = {i: r for i, r in per_indicator.items() if r < longest}
    if default_days < longest:
        # indicators without a retention of their own keep the default, shorter than some indicator's
        with uow:
            for (i,) in uow.session.execute(select(Indicator.id).where(Indicator.retention_days.is_(None))):
                shorter[i] = default_days
    decompressed = _decompress_shortened(uow, now, shorter) if columnar and shorter else 0
    with uow:
        s = uow.session
        readings = dropped_rows
        off_columnar = _outside_columnar(partitions.access_methods(s)) if columnar else []
        series_q = select(LatestReading.indicator_id, LatestReading.series_key)
        if is_partitioned:
            # The longest retention expires whole days (dropped above): what is left of it older than
            # its cut lies in the default partition — one statement — and in the day the cut falls in,
            # which goes whole tomorrow (retention by the day, as partitioned stores keep it). Only the
            # shorter retentions are trimmed series by series: a city has a million series, and a
            # statement for each of them every hour would be the job's whole hour.
            readings += s.execute(text(f"DELETE FROM {partitions.DEFAULT_PARTITION} WHERE at < :cut"),
                                  {"cut": now - timedelta(days=longest)}).rowcount or 0  # type: ignore[attr-defined]
            series_q = series_q.where(LatestReading.indicator_id.in_(list(shorter) or [-1]))
        # One ranged DELETE per series: the primary key (indicator, series, time) serves each one.
        for indicator_id, series in s.execute(series_q).all():
            cut = now - timedelta(days=per_indicator.get(indicator_id, default_days))
            readings += s.execute(delete(Reading).where(  # type: ignore[attr-defined]
                Reading.indicator_id == indicator_id, Reading.series_key == series, Reading.at < cut,
                *off_columnar)).rowcount or 0
        # a traceable indicator (回溯性) keeps its full history: its hourly rollups are never purged
        traceable = select(Indicator.id).where(Indicator.traceable.is_(True))
        rollups = s.execute(delete(ReadingRollup).where(  # type: ignore[attr-defined]
            ReadingRollup.hour < now - timedelta(days=rollup_days),
            ReadingRollup.indicator_id.not_in(traceable))).rowcount or 0
        purge_receipts(s, now)  # MQTT receipts past the redelivery window
        uow.commit()
    compressed = 0
    if columnar:
        horizon = compress_horizon_days(compress_after_days, [default_days, *per_indicator.values()], longest)
        compressed = _compress(uow, now, horizon)
    return Purged(readings, rollups, days_dropped, compressed, decompressed)


def purge_expired_as_configured(uow: UnitOfWork, now: datetime) -> Purged:
    """:func:`purge_expired` with the installation's settings (``SHUZHI_READING_RETENTION_DAYS``,
    ``SHUZHI_ROLLUP_RETENTION_DAYS``, ``SHUZHI_READING_COMPRESS_AFTER_DAYS``): the worker's hourly job."""
    settings = get_settings()
    return purge_expired(uow, now, default_days=settings.reading_retention_days,
                         rollup_days=settings.rollup_retention_days,
                         compress_after_days=settings.reading_compress_after_days)


def count_readings(uow: UnitOfWork, *, indicator_code: str | None = None) -> int:
    """How many raw readings are stored (for operations and the benchmarks)."""
    with uow:
        q = select(func.count()).select_from(Reading)
        if indicator_code is not None:
            q = q.join(Indicator, Indicator.id == Reading.indicator_id).where(Indicator.code == indicator_code)
        return uow.session.scalar(q) or 0


__all__ = ["History", "Purged", "compress_horizon_days", "count_readings", "history", "latest", "prepare_partitions",
           "purge_expired", "purge_expired_as_configured"]
