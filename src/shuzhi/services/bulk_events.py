"""Bulk import and export of events (Excel/CSV) — a batch variant of intake, not a raw dump.

Import: every row is checked as a :class:`SubmitEvent` (problems name the row and the column); every
valid row is registered the way intake registers one — numbered (``<district>-<date>-<seq>``, the
numbers drawn a block at a time), located in the grid, owned by a centre (首接负责), with its first
timeline line — but a few thousand rows per transaction and one INSERT statement per table per batch.
Unlike the reference-data imports it is *not* all-or-nothing: a 100,000-row file from a legacy system
with three bad rows imports the rest and lists the three. Re-importing is harmless: a row's external
reference (with its source) becomes the event's intake key, so a row already imported is skipped.

Export: the events the actor may see that match the filter, streamed in batches; reporters' personal
data masked unless the actor reveals it (``personal_data.reveal``, audited).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import JSON, String, Table, and_, any_, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import of_number
from shuzhi.adapters.db.sequences import reserve
from shuzhi.adapters.db.tables import Area, Event, EventClass, TimelineEntry, Unit
from shuzhi.adapters.geo import gcj02_to_wgs84
from shuzhi.adapters.tabular import ROW, neutralise, safe_row
from shuzhi.domain.events import EventState
from shuzhi.domain.permissions import EVENT_IMPORT, EVENT_SUBMIT, EXPORT, PERSONAL_DATA_REVEAL
from shuzhi.domain.personal_data import mask_id_number, mask_name, mask_phone, mask_text
from shuzhi.domain.time_limits import Urgency
from shuzhi.services import intake
from shuzhi.services.actors import Actor
from shuzhi.services.commands import CoordSystem, SubmitEvent
from shuzhi.services.errors import Invalid, ServiceError
from shuzhi.services.geo_index import grid_index
from shuzhi.services.importing import RowError
from shuzhi.services.queries import EventFilter, _apply_filter
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH = 5000
#: An export that shows reporters' data unmasked covers at most this many events: a call-back list,
#: not a copy of the register (个人信息保护法 art. 6, "the minimum needed").
MAX_REVEAL_ROWS = 2000

#: Canonical column → the headers accepted for it (English or Chinese).
ALIASES: dict[str, tuple[str, ...]] = {
    "external_ref": ("外部编号", "来源编号", "原系统编号"),
    "source": ("来源", "来源渠道"),
    "request_type": ("诉求类型",),
    "event_class_code": ("类别编码", "事件类别编码", "class_code"),
    "title": ("标题",),
    "description": ("描述", "内容", "诉求内容"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "coord_system": ("坐标系",),
    "address": ("地址",),
    "area_code": ("区域编码", "网格编码"),
    "centre_code": ("受理中心",),
    "reporter_name": ("报告人", "姓名"),
    "reporter_phone": ("联系电话", "电话"),
    "reporter_id_number": ("身份证号",),
    "urgency": ("紧急程度",),
    "received_at": ("受理时间", "上报时间"),
}
REQUIRED = ("external_ref", "title")
DEFAULT_SOURCE = "legacy_system"


@dataclass
class BulkReport:
    rows: int = 0
    created: int = 0
    #: Rows whose external reference was imported before (by an earlier run or another file).
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})


_LOOKUP = {name.lower(): canonical for canonical, names in ALIASES.items() for name in (canonical, *names)}
_headers: dict[tuple[str, ...], dict[str, str]] = {}


def _canonical(raw: Mapping[str, str]) -> dict[str, str]:
    # Every row of a file has the same headers: map them once per header set, not once per row.
    keys = tuple(raw)
    mapping = _headers.get(keys)
    if mapping is None:
        mapping = {k: _LOOKUP.get(k.strip().lower(), k.strip()) for k in keys}
        if len(_headers) > 100:
            _headers.clear()
        _headers[keys] = mapping
    return {mapping[k]: v for k, v in raw.items()}


def _received_at(value: str) -> datetime:
    """ISO 8601 with an offset, or a local (Asia/Shanghai) time as Excel writes it: 2024-06-13 08:30."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("/", "-"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def intake_key_for(source: str, external_ref: str) -> str:
    """The stored idempotency key of an imported row: its source and its reference in that system."""
    key = f"import:{source}:{external_ref}"
    return key if len(key) <= 100 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


_FIELDS = set(SubmitEvent.model_fields)


def _command(row: dict[str, str], report: BulkReport, number: int) -> SubmitEvent | None:
    data: dict[str, Any] = {k: v for k, v in row.items() if k in _FIELDS and v not in (None, "")}
    data.setdefault("source", DEFAULT_SOURCE)
    if "received_at" in data:
        try:
            data["received_at"] = _received_at(data["received_at"])
        except ValueError:
            report.errors.append(RowError(number, "received_at", row.get("received_at"),
                                          "not a date-time (2024-06-13 08:30 or 2024-06-13T08:30:00+08:00)"))
            return None
    try:
        return SubmitEvent.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            column = str(e["loc"][0]) if e["loc"] else None
            report.errors.append(RowError(number, column, row.get(column) if column else None, e["msg"]))
        return None


_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_TIMELINE: Table = TimelineEntry.__table__  # type: ignore[assignment]


def _insert_rows(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows in one go: ``COPY … FROM STDIN`` on PostgreSQL (an order of magnitude faster than
    multi-row INSERTs, and inside the session's transaction), executemany on SQLite."""
    if not rows:
        return
    if s.get_bind().dialect.name != "postgresql":
        s.execute(insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = s.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_columns and row[c] is not None
                            else row[c] for c in columns])


def _place_map(s: Session) -> dict[str, intake._Place]:
    """Every area by code, read once per import instead of once per new grid."""
    return {code: intake._Place(area_id, code, path)
            for area_id, code, path in s.execute(select(Area.id, Area.code, Area.path))}


@dataclass
class _Lookups:
    """Reference data read once per import: areas and classes by code, owners by place and source."""

    places: dict[str, intake._Place] = field(default_factory=dict)
    classes: dict[str, intake._Class | None] = field(default_factory=dict)
    owners: dict[tuple[str | None, str, str | None], intake._Owner] = field(default_factory=dict)

    def load(self, s: Session) -> None:
        if not self.places:
            self.places = _place_map(s)

    def event_class(self, s: Session, code: str) -> intake._Class:
        if code not in self.classes:
            try:
                self.classes[code] = intake._event_class(s, code)
            except Invalid:
                self.classes[code] = None
        found = self.classes[code]
        if found is None:
            raise Invalid(f"unknown event class '{code}'", field="event_class_code")
        return found

    def owner(self, s: Session, place: intake._Place | None, source: str, centre: str | None) -> intake._Owner:
        key = (place.code if place else None, source, centre)
        if key not in self.owners:
            self.owners[key] = intake._owner_for(s, place, source, centre)
        return self.owners[key]


def _locate_all(s: Session, cmds: list[SubmitEvent], places: dict[str, intake._Place]
                ) -> list[tuple[float | None, float | None, intake._Place | None, str | None]]:
    """Intake's rule (:func:`shuzhi.services.intake._locate`) for a whole batch, the points looked up in
    the grid index at once: the grid under the point, else the area named, else unplaced. The last
    item is a problem with the named area, if any."""
    coords: list[tuple[float | None, float | None]] = []
    for cmd in cmds:
        lon, lat = cmd.lon, cmd.lat
        if lon is not None and lat is not None and cmd.coord_system is CoordSystem.GCJ02:
            lon, lat = gcj02_to_wgs84(lon, lat)
        coords.append((lon, lat))
    points = [(i, lon, lat) for i, (lon, lat) in enumerate(coords) if lon is not None and lat is not None]
    grids = grid_index(s).locate_many([p[1] for p in points], [p[2] for p in points]) if points else []
    grid_of = {p[0]: code for p, code in zip(points, grids, strict=True)}
    out: list[tuple[float | None, float | None, intake._Place | None, str | None]] = []
    for i, cmd in enumerate(cmds):
        lon, lat = coords[i]
        code = grid_of.get(i)
        if code is not None and code in places:
            out.append((lon, lat, places[code], None))
        elif cmd.area_code:
            place = places.get(cmd.area_code)
            out.append((lon, lat, place, None if place else f"unknown area '{cmd.area_code}'"))
        else:
            out.append((lon, lat, None, None))
    return out


def _keys_in(s: Session, keys: list[str]) -> Any:
    """``intake_key IN (…)``; on PostgreSQL one array parameter (``= ANY(:keys)``) instead of thousands."""
    if s.get_bind().dialect.name == "postgresql":
        return Event.intake_key == any_(literal(keys, ARRAY(String)))
    return Event.intake_key.in_(keys)


def _store_batch(uow: UnitOfWork, actor: Actor, batch: list[tuple[int, str, SubmitEvent]], report: BulkReport,
                 now: datetime, label: str, lookups: _Lookups) -> None:
    with uow:
        s = uow.session
        # Checked again inside the transaction: another import of the same file may have run meanwhile.
        seen = set(s.scalars(select(Event.intake_key).where(_keys_in(s, [k for _, k, _ in batch]))))
        lookups.load(s)
        located = _locate_all(s, [cmd for _, _, cmd in batch], lookups.places)
        prepared: list[tuple[int, str, SubmitEvent, dict[str, Any], dict[str, Any]]] = []
        for (number, key, cmd), (lon, lat, place, area_problem) in zip(batch, located, strict=True):
            if key in seen:
                report.skipped += 1
                continue
            try:
                authz.require_source(actor, cmd.source.value)
                cls = lookups.event_class(s, cmd.event_class_code) if cmd.event_class_code else None
                if area_problem:
                    raise Invalid(area_problem, field="area_code")
                if actor.credential == "api_key" and not authz.path_visible(actor, place.path if place else None):
                    raise authz.Forbidden("this key may only report events located inside its areas", field="lon")
                owner = lookups.owner(s, place, cmd.source.value, cmd.centre_code)
            except ServiceError as exc:
                report.errors.append(RowError(number, exc.field, None, exc.message))
                continue
            received = cmd.received_at.astimezone(UTC) if cmd.received_at else now
            urgency = cmd.urgency or Urgency(cls.default_urgency if cls else "normal")
            row: dict[str, Any] = {
                "number": None, "source": cmd.source.value,
                "request_type": cmd.request_type.value if cmd.request_type else None,
                "event_class_id": cls.id if cls else None, "title": cmd.title, "description": cmd.description,
                "lon": lon, "lat": lat, "address": cmd.address, "area_id": place.area_id if place else None,
                "area_path": place.path if place else None, "reporter_name": cmd.reporter_name,
                "reporter_phone": cmd.reporter_phone, "reporter_id_number": cmd.reporter_id_number,
                "urgency": urgency.value, "mode": cls.default_mode if cls else "handle",
                "state": EventState.REGISTERED.value, "external_ref": cmd.external_ref, "intake_key": key,
                "owner_unit_id": owner.unit_id, "self_handled": False, "rework_count": 0, "return_count": 0,
                "received_at": received, "updated_at": now, "version": 1,
            }
            payload = {"source": cmd.source.value, "owner": owner.code, "grid": place.code if place else None,
                       "located": place is not None, "import": label}
            prefix = f"{intake._district_code(place.path if place else owner.area_path)}-" \
                     f"{received.astimezone(SHANGHAI).strftime('%Y%m%d')}"
            row["number"] = prefix
            prepared.append((number, key, cmd, row, payload))
            seen.add(key)  # the same reference twice in one batch: the second is skipped like a re-import
        # Numbers a block per (district, day): one statement per prefix instead of one per event.
        by_prefix: dict[str, list[dict[str, Any]]] = {}
        for _, _, _, row, _ in prepared:
            by_prefix.setdefault(row["number"], []).append(row)
        for prefix, rows in sorted(by_prefix.items()):
            first = reserve(s, prefix, len(rows))
            for i, row in enumerate(rows):
                row["number"] = f"{prefix}-{first + i:06d}"
                row["district_code"] = of_number(prefix)
        if prepared:
            _insert_rows(s, _EVENTS, [p[3] for p in prepared])
            ids = {r[0]: r[1] for r in s.execute(select(Event.intake_key, Event.id)
                                                 .where(_keys_in(s, [p[1] for p in prepared])))}
            _insert_rows(s, _TIMELINE, [
                {"event_id": ids[p[1]], "district_code": p[3]["district_code"], "task_id": None, "at": now,
                 "actor_id": actor.person_id,
                 "actor": actor.label, "action": "event.register", "from_state": None,
                 "to_state": EventState.REGISTERED.value, "reason": None, "payload": p[4]} for p in prepared])
        uow.commit()
        report.created += len(prepared)


def _already_imported(uow: UnitOfWork, keys: list[str]) -> set[str]:
    with uow:
        return set(uow.session.scalars(select(Event.intake_key).where(_keys_in(uow.session, keys))))


def import_events(uow: UnitOfWork, actor: Actor, rows: Iterable[Mapping[str, str]], *, label: str = "import",
                  progress: Callable[[int], None] | None = None, batch_size: int = BATCH,
                  now: datetime | None = None) -> BulkReport:
    """Register every valid row as an event; report each bad row with its column. ``progress`` is
    called with the number of rows handled so far (checked and stored or rejected).

    A row whose source and external reference were imported before is skipped before it is checked,
    so that a file exported from here (reporters masked) imports again as "already there"."""
    authz.require(actor, EVENT_IMPORT)
    authz.require(actor, EVENT_SUBMIT)
    now = now or datetime.now(UTC)
    report = BulkReport()
    first_row: dict[str, int] = {}
    done = 0
    pending: list[tuple[int, str, dict[str, str]]] = []
    lookups = _Lookups()

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        seen = _already_imported(uow, [k for _, k, _ in pending])
        batch: list[tuple[int, str, SubmitEvent]] = []
        for number, key, row in pending:
            if key in seen:
                report.skipped += 1
                continue
            cmd = _command(row, report, number)
            if cmd is not None:
                batch.append((number, key, cmd))
        if batch:
            _store_batch(uow, actor, batch, report, now, label, lookups)
        done += len(pending)
        pending.clear()
        if progress:
            progress(done)

    for raw in rows:
        row = _canonical(raw)
        number = int(raw.get(ROW, 0) or 0)
        if report.rows == 0:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise Invalid(f"required column(s) missing: {', '.join(missing)}", field="file",
                              details=[RowError(1, c, None, f"required column '{c}' is missing").__dict__
                                       for c in missing])
        report.rows += 1
        ref = (row.get("external_ref") or "").strip()
        if not ref:
            report.errors.append(RowError(number, "external_ref", "", "external_ref is empty"))
            done += 1
            continue
        key = intake_key_for((row.get("source") or "").strip() or DEFAULT_SOURCE, ref)
        if key in first_row:
            report.errors.append(RowError(number, "external_ref", ref,
                                          f"duplicate external_ref (also row {first_row[key]})"))
            done += 1
            continue
        first_row[key] = number
        pending.append((number, key, row))
        if len(pending) >= batch_size:
            flush()
    flush()
    if report.rows == 0:
        raise Invalid("the file has no data rows", field="file")
    report.errors.sort(key=lambda e: e.row)
    return report


# --- export --------------------------------------------------------------------------------------


EXPORT_COLUMNS = ["number", "external_ref", "source", "request_type", "event_class_code", "event_class_name",
                  "title", "description", "state", "urgency", "lon", "lat", "address", "area_code", "area_name",
                  "owner_unit_code", "reporter_name", "reporter_phone", "reporter_id_number", "received_at",
                  "closed_at"]


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def export_events(uow: UnitOfWork, actor: Actor, f: EventFilter, *, reveal: bool = False, reason: str = "",
                  ip: str | None = None, batch_size: int = BATCH,
                  max_reveal_rows: int = MAX_REVEAL_ROWS) -> Iterator[dict[str, str]]:
    """The matching events in the actor's scope, oldest first, as rows of :data:`EXPORT_COLUMNS`.

    Reporters' data and phone / ID numbers in descriptions are masked. ``reveal`` unmasks them: it
    needs the permission, a ``reason``, and a filter that matches at most ``max_reveal_rows``
    events; each revealed event gets its own audit entry (who saw whose data, and why), written
    before the first row leaves. Events that come to match the filter while the file is written
    stay masked.

    Checked before the first row is produced (a generator would defer it): the caller gets the
    permission error at once."""
    authz.require(actor, EXPORT)
    revealed: frozenset[int] = frozenset()
    if reveal:
        authz.require(actor, PERSONAL_DATA_REVEAL)
        reason = reason.strip()
        if len(reason) < 2:
            raise Invalid("say why the reporters' data is needed (kept in the audit log)", field="reason")
    with uow:
        s = uow.session
        # Validates the filter's area and unit codes now, not in the middle of a download.
        _apply_filter(s, select(Event.id), f)
        if reveal:
            pairs: Any = select(Event.id, Event.number)
            found: list[Any] = list(s.execute(_apply_filter(s, pairs, f).where(authz.event_clause(actor))
                                              .order_by(Event.id).limit(max_reveal_rows + 1)).all())
            if len(found) > max_reveal_rows:
                raise Invalid(f"an export with reporters' data covers at most {max_reveal_rows} events; "
                              "narrow the filter", field="reveal")
            shown = {k: v for k, v in f.__dict__.items() if v}
            for _event_id, number in found:
                audit.record(s, actor, "personal_data.export", f"event:{number}",
                             {"reason": reason, "filter": shown}, ip=ip)
            revealed = frozenset(event_id for event_id, _ in found)
            uow.commit()
    return _rows(uow, actor, f, revealed, batch_size)


def _rows(uow: UnitOfWork, actor: Actor, f: EventFilter, revealed: frozenset[int],
          batch_size: int) -> Iterator[dict[str, str]]:
    owner = Unit.__table__.alias("owner")
    cols = (Event.id, Event.number, Event.external_ref, Event.source, Event.request_type, EventClass.code,
            EventClass.name, Event.title, Event.description, Event.state, Event.urgency, Event.lon, Event.lat,
            Event.address, Area.code, Area.name, owner.c.code, Event.reporter_name, Event.reporter_phone,
            Event.reporter_id_number, Event.received_at, Event.closed_at)
    last: tuple[datetime, int] | None = None
    while True:
        with uow:
            s = uow.session
            stmt = (_apply_filter(s, select(*cols), f)
                    .outerjoin(EventClass, EventClass.id == Event.event_class_id)
                    .outerjoin(Area, Area.id == Event.area_id)
                    .outerjoin(owner, owner.c.id == Event.owner_unit_id)
                    .where(authz.event_clause(actor)))
            if last is not None:
                # keyset: each batch its own short transaction, however large the export
                stmt = stmt.where(or_(Event.received_at > last[0],
                                      and_(Event.received_at == last[0], Event.id > last[1])))
            batch = s.execute(stmt.order_by(Event.received_at, Event.id).limit(batch_size)).all()
        if not batch:
            return
        for r in batch:
            name, phone, id_number, description = r[17], r[18], r[19], r[8]
            if r[0] not in revealed:
                name, phone, id_number = mask_name(name), mask_phone(phone), mask_id_number(id_number)
                description = mask_text(description)
            yield {
                "number": r[1], "external_ref": r[2] or "", "source": r[3], "request_type": r[4] or "",
                "event_class_code": r[5] or "", "event_class_name": r[6] or "", "title": r[7],
                "description": description or "", "state": r[9], "urgency": r[10], "lon": _number(r[11]),
                "lat": _number(r[12]), "address": r[13] or "", "area_code": r[14] or "", "area_name": r[15] or "",
                "owner_unit_code": r[16] or "", "reporter_name": name or "", "reporter_phone": phone or "",
                "reporter_id_number": id_number or "", "received_at": _local(r[20]), "closed_at": _local(r[21]),
            }
        tail = batch[-1]
        last = (tail[20], tail[0])


def csv_chunks(rows: Iterable[dict[str, str]], columns: list[str] = EXPORT_COLUMNS) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel on Chinese Windows then opens it right), a chunk per thousand rows."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    buf.seek(0)
    buf.truncate()
    for i, row in enumerate(rows, start=1):
        writer.writerow({c: neutralise(row.get(c, "")) for c in columns})
        if i % 1000 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: Iterable[dict[str, str]], columns: list[str] = EXPORT_COLUMNS) -> bytes:
    """A write-only workbook: constant memory per row, fit for 100,000 rows."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("events")
    ws.append(safe_row(columns))
    for row in rows:
        ws.append(safe_row(row.get(c, "") for c in columns))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
