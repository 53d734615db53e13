"""Readings in: one batch from any path (HTTP JSON/CSV, a file, MQTT), checked reading by reading.

A reading names its indicator, its place (a device, or an area) and its time, and carries a value.
Each one is either stored, a duplicate of one already stored (same indicator, series and time —
idempotent, so a retried batch is harmless), or rejected with its index and the reason. A rejected
reading never spoils the rest of the batch, and every reading is counted in exactly one of the three.

A reading without a time of its own (MQTT times it on arrival) carries its message's
:class:`~shuzhi.domain.readings.Receipt`: a message the broker redelivers (DUP) within
:data:`RECEIPT_WINDOW` gets the time its first delivery got, remembered in ``mqtt_receipts`` in the
same transaction as the readings, so it is a duplicate, not a second reading — also when the process
died after storing it and before acknowledging it. A first delivery is always new: a sensor that
publishes the same bare value every minute publishes new readings.

After the batch is stored, the readings that were new (in time order per series) go to every hook in
:data:`shuzhi.services.hooks.READING_HOOKS` in the same transaction, so a warning is never lost to a
crash between the reading and its evaluation.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shuzhi.adapters.db.readings_store import NewReading, store
from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_sensing import Device, Indicator, IndicatorArea, IndicatorIntakeDay, MqttReceipt
from shuzhi.domain import permissions as p
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.collection import LATE_GRACE_S
from shuzhi.domain.readings import ReadingBatch, Receipt, SeriesRef
from shuzhi.domain.sensing import ValueType, coerce_value
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.hooks import READING_HOOKS
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: Default for how far ahead of the server's clock a reading's time may be (clock skew of devices).
MAX_FUTURE = timedelta(minutes=5)
#: Default raw-reading retention when an indicator sets none.
DEFAULT_RETENTION_DAYS = 400
#: Rejections listed in a result (all are counted).
MAX_LISTED = 100
#: Largest batch one call takes.
MAX_BATCH = 100_000
#: How long a message's first receipt is remembered: the broker keeps an absent subscriber's session
#: (and its unacknowledged messages) for a week (``Subscriber.session_expiry_s``).
RECEIPT_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    reason: str
    field: str | None = None


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, index: int, reason: str, column: str | None = None) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED:
            self.rejections.append(Rejection(index, reason, column))

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "accepted": self.accepted, "duplicate": self.duplicate,
                "rejected": self.rejected,
                "rejections": [{"index": r.index, "field": r.field, "reason": r.reason} for r in self.rejections]}


# --- collection governance: what each indicator received, per day -----------------------------------


def count_intake(s: Session, cat: Catalogue, rows: Sequence[NewReading], new: Sequence[int],
                 rejected: Mapping[object, int], now: datetime, doubled: Mapping[int, int] | None = None) -> None:
    """Add the batch to ``indicator_intake_days`` (per indicator, local day of arrival): stored, late
    (:func:`shuzhi.domain.collection.is_late`), duplicate, rejected. One upsert per batch."""
    if not rows and not rejected and not doubled:
        return
    freq = {i.id: i.frequency_s for i in cat.indicators.values()}
    late_before: dict[int, datetime] = {}
    counts: dict[int, list[int]] = {}  # indicator id → [received, accepted, late, rejected, duplicate]
    for r in rows:
        c = counts.get(r.indicator_id)
        if c is None:
            c = counts[r.indicator_id] = [0, 0, 0, 0, 0]
        c[0] += 1
    for i in new:
        r = rows[i]
        c = counts[r.indicator_id]
        c[1] += 1
        cut = late_before.get(r.indicator_id)
        if cut is None:
            cut = late_before[r.indicator_id] = now - timedelta(
                seconds=max(freq.get(r.indicator_id, 0), LATE_GRACE_S))
        if r.at < cut:
            c[2] += 1
    for c in counts.values():
        c[4] = c[0] - c[1]
    for ind_id, n in (doubled or {}).items():
        c = counts.setdefault(ind_id, [0, 0, 0, 0, 0])
        c[0] += n
        c[4] += n
    for code, n in rejected.items():
        ind = cat.indicators.get(code)  # type: ignore[call-overload]
        if ind is not None:
            c = counts.setdefault(ind.id, [0, 0, 0, 0, 0])
            c[0] += n
            c[3] += n
    if not counts:
        return
    day = now.astimezone(SHANGHAI).date()
    conn = s.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(IndicatorIntakeDay).values([
        {"indicator_id": k, "day": day, "received": c[0], "accepted": c[1], "late": c[2], "rejected": c[3],
         "duplicate": c[4]} for k, c in sorted(counts.items())])
    t = IndicatorIntakeDay
    s.execute(stmt.on_conflict_do_update(index_elements=["indicator_id", "day"], set_={
        "received": t.received + stmt.excluded.received, "accepted": t.accepted + stmt.excluded.accepted,
        "late": t.late + stmt.excluded.late, "rejected": t.rejected + stmt.excluded.rejected,
        "duplicate": t.duplicate + stmt.excluded.duplicate}))


# --- what readings may name: a snapshot of indicators, areas and devices ---------------------------


@dataclass(frozen=True, slots=True)
class _Ind:
    id: int
    code: str
    value_type: ValueType
    level: str
    roots: tuple[str, ...]
    retention_days: int | None
    frequency_s: int = 0


@dataclass(frozen=True, slots=True)
class _Area:
    id: int
    code: str
    path: str
    level: str


@dataclass(frozen=True, slots=True)
class _Dev:
    code: str
    indicator_id: int
    area: _Area


class _Place:
    """A resolved (indicator, device or area) of a reading: the same object for every reading naming
    it the same way (hashed by identity)."""

    __slots__ = ("area", "indicator", "ref")

    def __init__(self, indicator: _Ind, area: _Area, ref: SeriesRef) -> None:
        self.indicator, self.area, self.ref = indicator, area, ref


@dataclass
class Catalogue:
    indicators: dict[str, _Ind]
    areas: dict[str, _Area]
    devices: dict[str, _Dev]
    loaded_at: float
    #: (indicator, device, area, series) as a reading names them → where it is; filled as batches
    #: name them and dropped with the snapshot.
    places: dict[tuple[Any, Any, Any, Any], _Place] = field(default_factory=dict)


#: At most this many remembered name combinations per snapshot (a flood of bad names cannot grow it).
MAX_PLACES = 200_000


_catalogues: dict[str, Catalogue] = {}
_lock = threading.Lock()
#: A snapshot is reused this long; a name it does not know triggers a reload (at most once a second),
#: so an indicator imported a moment ago is accepted at once.
CATALOGUE_TTL = 30.0


def forget_catalogues() -> None:
    with _lock:
        _catalogues.clear()


def _load_catalogue(s: Session) -> Catalogue:
    areas = {code: _Area(id_, code, path, level)
             for id_, code, path, level in s.execute(select(Area.id, Area.code, Area.path, Area.level))}
    by_id = {a.id: a for a in areas.values()}
    roots: dict[int, list[str]] = {}
    for ind_id, area_id in s.execute(select(IndicatorArea.indicator_id, IndicatorArea.area_id)):
        roots.setdefault(ind_id, []).append(by_id[area_id].path)
    indicators = {
        code: _Ind(id_, code, ValueType(vt), level, tuple(roots.get(id_, ())), retention, freq)
        for id_, code, vt, level, retention, freq in s.execute(
            select(Indicator.id, Indicator.code, Indicator.value_type, Indicator.level, Indicator.retention_days,
                   Indicator.frequency_s)
            .where(Indicator.active.is_(True)))
    }
    devices = {code: _Dev(code, ind_id, by_id[area_id])
               for code, ind_id, area_id in s.execute(select(Device.code, Device.indicator_id, Device.area_id)
                                                     .where(Device.active.is_(True)))}
    return Catalogue(indicators, areas, devices, time.monotonic())


def _catalogue(s: Session, *, refresh: bool = False) -> Catalogue:
    key = str(s.get_bind().engine.url)
    now = time.monotonic()
    cat = _catalogues.get(key)
    if cat is None or now - cat.loaded_at > CATALOGUE_TTL or (refresh and now - cat.loaded_at > 1.0):
        cat = _load_catalogue(s)
        with _lock:
            _catalogues[key] = cat
    return cat


# --- parsing ------------------------------------------------------------------------------------------


def parse_time(raw: object) -> datetime:
    """ISO 8601 with an offset (``2024-06-13T10:00:00+08:00``, ``…Z``) or Unix seconds (a number)."""
    if isinstance(raw, str):
        try:
            at = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(f"'{raw[:40]}' is not an ISO 8601 time") from None
        if at.tzinfo is None:
            raise ValueError("time has no offset (write 2024-06-13T10:00:00+08:00 or …Z)")
        return at.astimezone(UTC)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{raw} is not a Unix time in seconds") from None
    if raw is None:
        raise ValueError("time is missing")
    raise ValueError(f"a {type(raw).__name__} is not a time")


def parse_json_batch(body: bytes) -> list[Any]:
    """A JSON batch: ``[{…}, …]`` or ``{"readings": [{…}, …]}``. A body that is not that is refused
    whole (422); a bad *reading* inside it is rejected on its own by :func:`ingest`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the body is not JSON: {exc}", field="body") from None
    if isinstance(data, dict) and isinstance(data.get("readings"), list):
        data = data["readings"]
    if not isinstance(data, list):
        raise Invalid('give a JSON array of readings or {"readings": [...]}', field="body")
    return data


CSV_COLUMNS = ("indicator", "area", "device", "at", "value")


def parse_csv_batch(body: bytes) -> list[Any]:
    """CSV with a header naming ``indicator``, ``at``, ``value`` and ``area`` and/or ``device``
    (UTF-8, a BOM allowed). Each data line is one reading; index 0 is the line after the header."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV body is not UTF-8", field="body") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid("the CSV body is empty", field="body") from None
    except csv.Error as exc:
        raise Invalid(f"unreadable CSV: {exc}", field="body") from None
    missing = [c for c in ("indicator", "at", "value") if c not in header]
    if missing or not ({"area", "device"} & set(header)):
        raise Invalid(f"the CSV header must name indicator, at, value and area or device "
                      f"(missing: {', '.join(missing) or 'area/device'})", field="body")
    out: list[Any] = []
    width = len(header)
    try:
        for values in reader:
            if not values or not any(v.strip() for v in values):
                continue
            if len(values) != width:
                out.append(f"line has {len(values)} fields, the header {width}")
                continue
            out.append(dict(zip(header, values, strict=True)))
    except csv.Error as exc:
        out.append(f"unreadable CSV line: {exc}")
    return out


# --- the use case -------------------------------------------------------------------------------------


def ingest(uow: UnitOfWork, actor: Actor, items: Sequence[Any], *, now: datetime | None = None,
           max_future: timedelta = MAX_FUTURE, default_retention_days: int = DEFAULT_RETENTION_DAYS,
           compress_after_days: int = 0) -> IngestResult:
    """Check, store and hand on a batch of readings (see the module docstring for the rules).

    Each item is a mapping ``{"indicator", "at", "value", and "device" or "area" or "series"}``
    (``series`` is a device code or else an area code, as in MQTT topics); anything else — or a string,
    which parsers use to carry a line they could not read — is rejected with its index.

    The batch is checked column by column in one tight loop (tens of thousands of readings a second
    leave a few microseconds each): where a reading is (indicator, device/area) is resolved once per
    distinct combination and its time once per distinct time text, so a batch of many readings of few
    series and instants costs little more than its dict lookups.
    """
    authz.require(actor, p.READING_SUBMIT)
    if len(items) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} readings per batch (got {len(items)})", field="body")
    now = now or datetime.now(UTC)
    latest_allowed = now + max_future
    # compressed (columnar) days take no ON CONFLICT insert: readings that old are refused one by one
    frozen = now - timedelta(days=compress_after_days) if compress_after_days > 0 else None
    result = IngestResult(received=len(items))
    with uow:
        s = uow.session
        if any(type(item) is dict and "receipt" in item for item in items):
            _time_by_receipts(s, items, now)
        cat = _catalogue(s)
        places = cat.places
        times: dict[str, datetime] = {}
        cutoffs: dict[int, datetime] = {}
        in_scope: dict[str, bool] = {}
        scope = actor.area_paths
        rows: list[NewReading] = []
        placed: list[_Place] = []
        seen: set[tuple[int, str, datetime]] = set()
        # keyed by the place object (identity hash: cheaper than hashing a SeriesRef per reading)
        by_place: dict[_Place, list[tuple[datetime, float]]] = {}
        rejected_codes: dict[object, int] = {}
        doubled: dict[int, int] = {}  # repeated within the batch, per indicator

        def reject(index: int, reason: str, column: str | None = None) -> None:
            # rare: counted per named indicator for collection governance (采集治理)
            result.reject(index, reason, column)
            item = items[index]
            code = item.get("indicator") if isinstance(item, Mapping) else None
            if type(code) is str:
                rejected_codes[code] = rejected_codes.get(code, 0) + 1

        isfinite = math.isfinite
        number = ValueType.NUMBER
        for index, item in enumerate(items):
            if type(item) is not dict:
                if isinstance(item, str):
                    reject(index, item)
                    continue
                if not isinstance(item, Mapping):
                    reject(index, "a reading is an object with indicator, at, value and device or area")
                    continue
            get = item.get
            # -- where: indicator and series, resolved once per distinct combination
            try:
                place = places[(get("indicator"), get("device"), get("area"), get("series"))]
            except KeyError:
                place = None
            except TypeError:  # a list or object where a code belongs: the slow path says why
                place = None
            if place is None:
                found = _resolve(item, cat)
                if found is _REFRESH:
                    cat = _catalogue(s, refresh=True)
                    places = cat.places
                    found = _resolve(item, cat)
                    if found is _REFRESH:  # another thread reloaded it a moment ago: the name is unknown
                        found = ("unknown indicator, device or area", None)
                if type(found) is tuple:
                    reject(index, found[0], found[1])
                    continue
                place = found
                key4 = (get("indicator"), get("device"), get("area"), get("series"))
                # only names as text (or absent) are remembered: 1, 1.0 and True are one dict key
                if len(places) < MAX_PLACES and all(k is None or type(k) is str for k in key4):
                    places[key4] = place
            ind, area, ref = place.indicator, place.area, place.ref
            if scope is not None:
                ok = in_scope.get(area.path)
                if ok is None:
                    ok = in_scope[area.path] = any(area.path.startswith(pth) for pth in scope)
                if not ok:
                    reject(index, f"area {area.code} is outside your scope", "area")
                    continue
            # -- when: parsed once per distinct text
            raw_at = get("at")
            at = times.get(raw_at) if type(raw_at) is str else None
            if at is None:
                try:
                    at = _parse_at(raw_at)
                except ValueError as exc:
                    reject(index, str(exc), "at")
                    continue
                if type(raw_at) is str:
                    times[raw_at] = at
            if at > latest_allowed:
                reject(index, f"time {at.isoformat()} is in the future (more than "
                       f"{int((latest_allowed - now).total_seconds())} s ahead of the server)", "at")
                continue
            cutoff = cutoffs.get(ind.id)
            if cutoff is None:
                cutoff = cutoffs[ind.id] = now - timedelta(days=ind.retention_days or default_retention_days)
            if at < cutoff:
                reject(index, "time is older than the indicator's retention", "at")
                continue
            if frozen is not None and at < frozen:
                reject(index, f"time is older than {compress_after_days} days: history that old is compressed "
                       "and takes no more readings", "at")
                continue
            # -- the value
            value = get("value")
            if type(value) is not float or ind.value_type is not number or not isfinite(value):
                try:
                    value = coerce_value(value, ind.value_type)
                except ValueError as exc:
                    reject(index, str(exc), "value")
                    continue
            key = (ind.id, ref.series_key, at)
            if key in seen:
                result.duplicate += 1
                doubled[ind.id] = doubled.get(ind.id, 0) + 1
                continue
            seen.add(key)
            rows.append(NewReading(ind.id, ref.series_key, at, value, area.id))
            placed.append(place)
            points = by_place.get(place)
            if points is None:
                points = by_place[place] = []
            points.append((at, value))
        new = store(s, rows)
        result.accepted = len(new)
        result.duplicate += len(rows) - len(new)
        count_intake(s, cat, rows, new, rejected_codes, now, doubled)
        if READING_HOOKS:
            if len(new) < len(rows):  # some were already stored: hand on only the new ones
                by_place = {}
                for i in new:
                    by_place.setdefault(placed[i], []).append((rows[i].at, rows[i].value))
            by_series: dict[SeriesRef, list[tuple[datetime, float]]] = {}
            for pl, points in by_place.items():
                known = by_series.get(pl.ref)
                if known is None:
                    by_series[pl.ref] = points
                else:  # the same series named two ways (device, or series) in one batch
                    known.extend(points)
            for points in by_series.values():
                points.sort(key=_first)  # already in order unless the batch was out of order
            # series in (indicator, series key) order, as the readings' own key sorts
            batch = ReadingBatch(dict(sorted(by_series.items(), key=_series_order)))
            for hook in READING_HOOKS:
                hook(s, batch)
        uow.commit()
    return result


def _time_by_receipts(s: Session, items: Sequence[Any], now: datetime) -> None:
    """A redelivered message's readings get the time of its first delivery; every other message's
    receipt is remembered (the latest, when one payload arrives again as a new message)."""
    mine: list[tuple[dict[str, Any], Receipt]] = []
    for item in items:
        if type(item) is dict:
            receipt = item.get("receipt")
            if isinstance(receipt, Receipt):
                mine.append((item, receipt))
    if not mine:
        return
    again = {r.digest for _, r in mine if r.redelivered}
    known: dict[str, datetime] = {}
    if again:
        known.update((digest, at) for digest, at in s.execute(select(MqttReceipt.digest, MqttReceipt.received_at).where(
            MqttReceipt.digest.in_(again), MqttReceipt.received_at >= now - RECEIPT_WINDOW)))
    first: dict[str, datetime] = {}
    for item, receipt in mine:
        at = known.get(receipt.digest) if receipt.redelivered else None
        if at is not None:
            item["at"] = at.isoformat()
            continue
        try:
            received = _parse_at(item.get("at"))
        except ValueError:
            continue  # ingest rejects it with the reason
        if receipt.digest not in first or received > first[receipt.digest]:
            first[receipt.digest] = received
    if first:
        conn = s.connection()
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(MqttReceipt).values([{"digest": d, "received_at": at} for d, at in first.items()])
        s.execute(stmt.on_conflict_do_update(index_elements=["digest"],
                                             set_={"received_at": stmt.excluded.received_at}))


def purge_receipts(s: Session, now: datetime) -> int:
    """Forget receipts older than :data:`RECEIPT_WINDOW` (no redelivery comes that late)."""
    from sqlalchemy import delete

    return int(s.execute(delete(MqttReceipt).where(  # type: ignore[attr-defined]
        MqttReceipt.received_at < now - RECEIPT_WINDOW)).rowcount or 0)


def _series_order(item: tuple[SeriesRef, Any]) -> tuple[int, str]:
    return item[0].indicator_id, item[0].series_key


def _first(point: tuple[datetime, float]) -> datetime:
    return point[0]


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


_REFRESH = "refresh"


def _parse_at(raw: object) -> datetime:
    if type(raw) is str:
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            return parse_time(raw)  # surrounding blanks are forgiven; else the message names the text
        if at.tzinfo is None:
            raise ValueError("time has no offset (write 2024-06-13T10:00:00+08:00 or …Z)")
        return at.astimezone(UTC)
    return parse_time(raw)


def _resolve(item: Mapping[str, Any], cat: Catalogue) -> Any:
    """The reading's :class:`_Place`, ``(reason, field)``, or ``"refresh"`` when a name is unknown to
    this snapshot of the catalogue (the caller reloads it once and resolves again)."""
    code = item.get("indicator")
    if type(code) is not str:
        code = _text(item, "indicator")
        if code is None:
            return ("indicator is missing", "indicator")
    ind = cat.indicators.get(code)
    if ind is None:
        return _REFRESH if time.monotonic() - cat.loaded_at > 1.0 else (f"unknown indicator '{code}'", "indicator")
    device_code, area_code = item.get("device"), item.get("area")
    if (device_code is not None and type(device_code) is not str) or device_code == "":
        device_code = _text(item, "device")
    if (area_code is not None and type(area_code) is not str) or area_code == "":
        area_code = _text(item, "area")
    if device_code is None and area_code is None:
        series = _text(item, "series")
        if series is not None:
            if series in cat.devices:
                device_code = series
            else:
                area_code = series
    device = None
    if device_code is not None:
        device = cat.devices.get(device_code)
        if device is None:
            return _REFRESH if time.monotonic() - cat.loaded_at > 1.0 else (f"unknown device '{device_code}'",
                                                                              "device")
        if device.indicator_id != ind.id:
            return (f"device '{device_code}' does not report indicator '{code}'", "device")
        if area_code is not None and area_code != device.area.code:
            return (f"device '{device_code}' is in area {device.area.code}, not {area_code}", "area")
        area = device.area
    elif area_code is not None:
        found = cat.areas.get(area_code)
        if found is None:
            return _REFRESH if time.monotonic() - cat.loaded_at > 1.0 else (f"unknown area '{area_code}'", "area")
        area = found
        if area.level != ind.level or (ind.roots and not any(area.path.startswith(r) for r in ind.roots)):
            return (f"indicator '{code}' is not measured in area {area_code} (it is measured per {ind.level}"
                    f"{' in its listed areas' if ind.roots else ''})", "area")
    else:
        return ("give the device or the area", "area")
    series_key = device.code if device else area.code
    return _Place(ind, area, SeriesRef(ind.id, ind.code, series_key, area.code, area.path,
                                       device.code if device else None))


def ingest_rows(uow: UnitOfWork, actor: Actor, rows: Iterable[Mapping[str, str]], **kw: Any) -> IngestResult:
    """Readings from a CSV/XLSX file read by :func:`shuzhi.adapters.tabular.read_table`."""
    items = [{k: v for k, v in r.items() if k in CSV_COLUMNS} for r in rows]
    return ingest(uow, actor, items, **kw)
