"""Risk points (风险点全量落图, issue #22): the register, its import (Excel/CSV/JSON/GeoJSON), the kinds,
the map layer with each point's state, one point with its series and timeline, and rectification marks.

A point's state (:func:`shuzhi.domain.risk_points.point_state`) comes from the open warnings of the
series attached to it: one grouped query joins ``risk_point_series`` to ``warnings`` on
(indicator, series key), whatever the number of points (the cockpit's layer keeps the register in
memory under its change stamp and matches the open warnings to it: :func:`map_layer_versioned`).
Everything is scoped by the point's area path; a point outside the reader's scope is *not found*.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db import bulk
from shuzhi.adapters.db.tables import Area, ChangeStamp, Unit
from shuzhi.adapters.db.tables_patrols import Patrol
from shuzhi.adapters.db.tables_sensing import (
    Device,
    Indicator,
    LatestReading,
    RiskPoint,
    RiskPointChange,
    RiskPointCheck,
    RiskPointKind,
    RiskPointSeries,
)
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import permissions as p
from shuzhi.domain import risk_points as rp
from shuzhi.domain.sensing import format_frequency, parse_frequency
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.importing import ImportReport, canonical_rows, split_list
from shuzhi.services.security import audit, authz
from shuzhi.services.ttl_cache import TTLCache
from shuzhi.services.unit_of_work import UnitOfWork

COLUMNS = ["code", "name", "kind", "grade", "area_code", "lon", "lat", "responsible_unit_code",
           "responsible_person", "responsible_phone", "patrol_frequency", "devices", "series", "description"]
ALIASES = {
    "code": ["风险点编码", "编码"], "name": ["风险点名称", "名称"], "kind": ["类型", "风险点类型"],
    "grade": ["等级", "风险等级"], "area_code": ["区域编码", "所属区域"], "lon": ["经度"], "lat": ["纬度"],
    "responsible_unit_code": ["责任单位", "责任单位编码"], "responsible_person": ["责任人"],
    "responsible_phone": ["联系电话", "责任人电话"], "patrol_frequency": ["巡查频次", "巡查频率"],
    "devices": ["监测设备"], "series": ["监测序列"], "description": ["说明", "备注"],
}
REQUIRED = ["code", "name", "kind", "grade", "area_code", "lon", "lat", "responsible_unit_code"]
MAX_POINTS = 50_000


# --- kinds -------------------------------------------------------------------------------------------


def _kinds(s: Session) -> list[tuple[str, str]]:
    stored = s.execute(select(RiskPointKind.code, RiskPointKind.name)
                       .order_by(RiskPointKind.sort_order, RiskPointKind.code)).all()
    return [(c, n) for c, n in stored] if stored else list(rp.DEFAULT_KINDS)


def kinds(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    """The kinds of risk point this installation registers (the default six until it names its own)."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        return [{"code": c, "name": n} for c, n in _kinds(uow.session)]


def put_kinds(uow: UnitOfWork, actor: Actor, items: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Replace the kinds (``[{"code", "name"}]``, in the order shown); a kind still used by a point stays."""
    authz.require(actor, p.RISK_POINT_WRITE)
    if actor.area_paths is not None:
        authz.ensure_config_in_scope(actor, None, "the risk point kinds", field="kinds")
    if not items:
        raise Invalid("give at least one kind", field="kinds")
    seen: set[str] = set()
    for i, item in enumerate(items):
        code, name = item.get("code"), item.get("name")
        if not isinstance(code, str) or not rp.KIND_CODE.match(code):
            raise Invalid("a kind's code is 1-30 lower-case letters, digits or '_'", field=f"kinds[{i}].code")
        if code in seen:
            raise Invalid(f"kind '{code}' is listed twice", field=f"kinds[{i}].code")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise Invalid("a kind's name is 1-60 characters", field=f"kinds[{i}].name")
        seen.add(code)
    with uow:
        s = uow.session
        before = _kinds(s)
        used = set(s.scalars(select(RiskPoint.kind).distinct()))
        missing = sorted(used - seen)
        if missing:
            raise Invalid(f"kind(s) {', '.join(missing)} are used by risk points; keep them", field="kinds")
        s.execute(delete(RiskPointKind))
        s.add_all(RiskPointKind(code=str(x["code"]), name=str(x["name"]).strip(), sort_order=i)
                  for i, x in enumerate(items))
        after = [(str(x["code"]), str(x["name"]).strip()) for x in items]
        audit.record_change(s, actor, "risk_point.kinds", "risk_point_kinds", before, after)
        uow.commit()
        return [{"code": c, "name": n} for c, n in after]


# --- import ------------------------------------------------------------------------------------------


def _by(s: Session, column: Any, values: Iterable[str]) -> dict[str, Any]:
    wanted = sorted({v for v in values if v})
    out: dict[str, Any] = {}
    table: Any = column.class_.__table__
    conn = s.connection()  # plain Core rows (their columns as attributes): no ORM objects for 20,000 rows
    for i in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
        out.update({getattr(o, column.key): o for o in conn.execute(
            select(table).where(table.c[column.key].in_(wanted[i:i + 900])))})
    return out


def import_risk_points(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], actor: Actor, *,
                       dry_run: bool = False) -> ImportReport:
    """Create or update risk points by code, all or nothing; every problem named by row and column.

    A point must lie in an area of the importer's scope; its devices and series replace the stored ones."""
    authz.require(actor, p.RISK_POINT_WRITE)
    with uow:
        s = uow.session
        checked = canonical_rows(rows, ALIASES, REQUIRED)
        if checked.fatal:
            return checked.report
        if len(checked.items) > MAX_POINTS:
            checked.error(checked.items[0], None, f"at most {MAX_POINTS} points per file; split it")
            return checked.report
        kind_codes = dict(_kinds(s))
        kind_by_name = {n: c for c, n in kind_codes.items()}
        areas = _by(s, Area.code, (r.get("area_code", "") for r in checked.items))
        units = _by(s, Unit.code, (r.get("responsible_unit_code", "") for r in checked.items))
        devices = _by(s, Device.code, (d for r in checked.items for d in split_list(r.get("devices", ""))))
        refs: dict[str, list[tuple[str, str]]] = {}
        for r in checked.items:
            refs[r.get("code", "")] = []
            for text in split_list(r.get("series", "")):
                try:
                    refs[r.get("code", "")].append(rp.parse_series_ref(text))
                except ValueError as exc:
                    checked.error(r, "series", str(exc))
        indicators = _by(s, Indicator.code, (i for lst in refs.values() for i, _ in lst))
        parsed: dict[str, dict[str, Any]] = {}
        for r in checked.items:
            code = r.get("code", "")
            errors_before = len(checked.report.errors)

            def bad(column: str, message: str, r: Mapping[str, str] = r) -> None:
                checked.error(r, column, message)

            if len(code) > 40:
                bad("code", "code is longer than 40 characters")
            name = r.get("name", "")
            if not name or len(name) > 100:
                bad("name", "name is 1-100 characters")
            kind = r.get("kind", "")
            kind = kind if kind in kind_codes else kind_by_name.get(kind, "")
            if not kind:
                bad("kind", f"unknown kind '{r.get('kind', '')}'; kinds are {', '.join(kind_codes.values())}")
            try:
                grade = rp.parse_grade(r.get("grade", ""))
            except ValueError as exc:
                bad("grade", str(exc))
                grade = ""
            area = areas.get(r.get("area_code", ""))
            if area is None:
                bad("area_code", f"unknown area '{r.get('area_code', '')}'")
            elif not authz.path_visible(actor, area.path):
                bad("area_code", f"area '{area.code}' is outside your scope")
            coords: dict[str, float] = {}
            for axis, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
                try:
                    coords[axis] = float(r.get(axis, ""))
                    if not lo <= coords[axis] <= hi:
                        raise ValueError
                except ValueError:
                    bad(axis, f"{axis} must be a number between {lo} and {hi}")
            unit = units.get(r.get("responsible_unit_code", ""))
            if unit is None:
                bad("responsible_unit_code", f"unknown unit '{r.get('responsible_unit_code', '')}'")
            patrol = None
            if r.get("patrol_frequency", ""):
                try:
                    patrol = parse_frequency(r["patrol_frequency"])
                except ValueError as exc:
                    bad("patrol_frequency", str(exc))
            for column, limit in (("responsible_person", 60), ("responsible_phone", 20)):
                if len(r.get(column, "")) > limit:
                    bad(column, f"{column} is longer than {limit} characters")
            series: set[tuple[int, str]] = set()
            for d in split_list(r.get("devices", "")):
                dev = devices.get(d)
                if dev is None:
                    bad("devices", f"unknown device '{d}'")
                else:
                    series.add((dev.indicator_id, dev.code))
            for ind_code, key in refs.get(code, []):
                ind = indicators.get(ind_code)
                if ind is None:
                    bad("series", f"unknown indicator '{ind_code}'")
                else:
                    series.add((ind.id, key))
            if len(checked.report.errors) == errors_before and area is not None and unit is not None:
                parsed[code] = {"fields": {
                    "name": name, "kind": kind, "grade": grade, "area_id": area.id, "area_path": area.path,
                    "lon": coords["lon"], "lat": coords["lat"], "responsible_unit_id": unit.id,
                    "responsible_person": r.get("responsible_person", ""),
                    "responsible_phone": r.get("responsible_phone", ""), "patrol_every_s": patrol,
                    "description": r.get("description", ""), "active": True}, "series": series}
        report = checked.report
        if report.errors:
            return report
        _write(s, actor, parsed, checked, report)
        if report.errors:
            return report
        s.flush()
        if not dry_run:
            uow.commit()
        return report


#: Codes per ``IN (…)`` list (under SQLite's bound-parameter limit); ten times as many rows per insert.
_BATCH = 900


def _write(s: Session, actor: Actor, parsed: dict[str, dict[str, Any]], checked: Any, report: ImportReport) -> None:
    """Store the checked points set-based: the stored ones read in ``IN`` batches, new ones inserted and
    changed ones updated in executemany batches, their series replaced in bulk, one audit line per
    created or changed point (:func:`audit.record_changes`). Same outcome as one point at a time."""
    t: Any = RiskPoint.__table__
    ts: Any = RiskPointSeries.__table__
    conn = s.connection()
    keys = list(next(iter(parsed.values()))["fields"]) if parsed else []
    codes = list(parsed)
    existing: dict[str, Any] = {}
    for i in range(0, len(codes), _BATCH):
        for row in conn.execute(select(t.c.id, t.c.code, *(t.c[k] for k in keys))
                                .where(t.c.code.in_(codes[i:i + _BATCH]))):
            existing[row.code] = row
    # a point of another's scope is not overwritten through its code (nor is its existence told)
    for r in checked.items:
        point = existing.get(r["code"])
        if point is not None and not authz.path_visible(actor, point.area_path):
            checked.error(r, "code", f"code '{r['code']}' is taken; choose another")
    if report.errors:
        return
    current: dict[int, set[tuple[int, str]]] = defaultdict(set)
    ids = [x.id for x in existing.values()]
    for i in range(0, len(ids), _BATCH):
        for pid, ind, key in conn.execute(select(ts.c.risk_point_id, ts.c.indicator_id, ts.c.series_key)
                                          .where(ts.c.risk_point_id.in_(ids[i:i + _BATCH]))):
            current[pid].add((ind, key))
    changes: list[tuple[str, Any, Any]] = []
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    reseries: dict[str, set[tuple[int, str]]] = {}  # code → its new series, where they changed
    for code, item in parsed.items():
        fields, series = item["fields"], item["series"]
        old = existing.get(code)
        before = None if old is None else {**{k: getattr(old, k) for k in fields}, "series": sorted(current[old.id])}
        changes.append((f"risk_point:{code}", before, {**fields, "series": sorted(series)}))
        if old is None:
            created.append({"code": code, "rectifying": False, **fields})
            report.created += 1
            if series:
                reseries[code] = series
            continue
        same_fields = all(getattr(old, k) == v for k, v in fields.items())
        if not same_fields:
            updated.append({"id": old.id, **fields})
        if current[old.id] != series:
            reseries[code] = series
        if same_fields and current[old.id] == series:
            report.unchanged += 1
        else:
            report.updated += 1
    audit.record_changes(s, actor, "risk_point.import", changes)
    # the project's bulk writes (adapters/db/bulk.py): on PostgreSQL one INSERT … SELECT FROM unnest(arrays)
    # or COPY, one UPDATE … FROM unnest; the time stamps are given, as COPY applies no Python default
    at = datetime.now(UTC)
    id_of = {code: row.id for code, row in existing.items()}
    for i in range(0, len(created), _BATCH * 10):
        id_of.update({c: pid for pid, c in bulk.insert_rows(
            conn, t, [{**x, "created_at": at, "updated_at": at} for x in created[i:i + _BATCH * 10]],
            returning=("id", "code"))})
    bulk.update_rows(conn, t, "id", updated, constant={"updated_at": at})
    stale = [id_of[c] for c in reseries if c in existing]
    for i in range(0, len(stale), _BATCH):
        conn.execute(delete(ts).where(ts.c.risk_point_id.in_(stale[i:i + _BATCH])))
    bulk.insert_rows(conn, ts, [{"risk_point_id": id_of[c], "indicator_id": ind, "series_key": key}
                                for c, series in reseries.items() for ind, key in sorted(series)])


# --- the map layer and one point ---------------------------------------------------------------------


def _states(s: Session, point_ids: list[int] | None, actor: Actor) -> dict[int, tuple[list[str], int]]:
    """Per point: the levels of its series' firing warnings and how many are pending (one grouped query)."""
    stmt: Any = (select(RiskPointSeries.risk_point_id, IndicatorWarning.state, IndicatorWarning.level, func.count())
                 .join(IndicatorWarning, and_(IndicatorWarning.indicator_id == RiskPointSeries.indicator_id,
                                              IndicatorWarning.series_key == RiskPointSeries.series_key))
                 .where(IndicatorWarning.state.in_(("pending", "firing")))
                 .group_by(RiskPointSeries.risk_point_id, IndicatorWarning.state, IndicatorWarning.level))
    if point_ids is not None:
        stmt = stmt.where(RiskPointSeries.risk_point_id.in_(point_ids))
    elif actor.area_paths is not None:
        stmt = stmt.join(RiskPoint, RiskPoint.id == RiskPointSeries.risk_point_id).where(
            authz.area_clause(actor, RiskPoint.area_path))
    out: dict[int, tuple[list[str], int]] = {}
    for pid, state, level, n in s.connection().execute(stmt):
        levels, pending = out.get(pid, ([], 0))
        if state == "firing" and level:
            levels.append(level)
        elif state == "pending":
            pending += int(n)
        out[pid] = (levels, pending)
    return out


def _state(states: dict[int, tuple[list[str], int]], point: Any) -> str:
    levels, pending = states.get(point.id, ([], 0))
    return rp.point_state(levels, pending, point.rectifying).value


def list_points(uow: UnitOfWork, actor: Actor, *, kind: str | None = None, state: str | None = None,
                limit: int = 20_000, now: datetime | None = None) -> list[dict[str, Any]]:
    """Active points in the reader's scope with their state (the cockpit's map layer), by code."""
    authz.require(actor, p.INDICATOR_READ)
    if state is not None and state not in {x.value for x in rp.PointState}:
        raise Invalid(f"state must be one of {', '.join(x.value for x in rp.PointState)}", field="state")
    with uow:
        s = uow.session
        stmt: Any = (select(RiskPoint.id, RiskPoint.code, RiskPoint.name, RiskPoint.kind, RiskPoint.grade,
                            RiskPoint.lon, RiskPoint.lat, RiskPoint.rectifying, RiskPoint.patrol_every_s,
                            Area.code.label("area_code"))
                     .join(Area, Area.id == RiskPoint.area_id)
                     .where(RiskPoint.active.is_(True), authz.area_clause(actor, RiskPoint.area_path))
                     .order_by(RiskPoint.code))
        if kind:
            stmt = stmt.where(RiskPoint.kind == kind)
        if state is None:  # otherwise the state, computed below, filters before the limit
            stmt = stmt.limit(limit)
        conn = s.connection()  # plain Core rows: no ORM row processing for 20,000 points
        rows = conn.execute(stmt).all()
        states = _states(s, None, actor)
        names = dict(_kinds(s))
        last_stmt: Any = select(RiskPointCheck.risk_point_id, func.max(RiskPointCheck.at)).group_by(
            RiskPointCheck.risk_point_id)
        if actor.area_paths is not None:
            last_stmt = last_stmt.join(RiskPoint, RiskPoint.id == RiskPointCheck.risk_point_id).where(
                authz.area_clause(actor, RiskPoint.area_path))
        last: dict[int, datetime] = {pid: at for pid, at in conn.execute(last_stmt)}
    at = now or datetime.now(UTC)
    # the state of a point with open warnings, without and with a rectification mark; the others are
    # normal or in rectification (rp.point_state with no levels and nothing pending)
    warned = {pid: (rp.point_state(levels, pending, False).value, rp.point_state(levels, pending, True).value)
              for pid, (levels, pending) in states.items()}
    plain = (rp.point_state((), 0, False).value, rp.point_state((), 0, True).value)
    # due when never checked or last checked at or before now - interval (rp.check_due), one cut-off an interval
    cutoffs: dict[int, datetime] = {}
    out = []
    for pid, code, name, kind_, grade, lon, lat, rectifying, every, area_code in rows:
        st = warned.get(pid, plain)[1 if rectifying else 0]
        if state is not None and st != state:
            continue
        checked_at = last.get(pid)
        if every:
            cut = cutoffs.get(every)
            if cut is None:
                cut = cutoffs[every] = at - timedelta(seconds=every)
            due = checked_at is None or checked_at <= cut
        else:
            due = False
        out.append({"code": code, "name": name, "kind": kind_, "kind_name": names.get(kind_, kind_),
                    "grade": grade, "lon": lon, "lat": lat, "area_code": area_code, "state": st,
                    "last_checked_at": checked_at, "check_due": due})
        if len(out) >= limit:
            break
    return out


#: The states in the order of the map layer's state indices (``map_layer``).
LAYER_STATES = tuple(x.value for x in rp.PointState)
_STATE_INDEX = {st: i for i, st in enumerate(LAYER_STATES)}
#: A point with no open warning: normal, or in rectification when marked (rp.point_state, no levels).
_PLAIN = (_STATE_INDEX[rp.point_state((), 0, False).value], _STATE_INDEX[rp.point_state((), 0, True).value])


@dataclass(frozen=True)
class _Register:
    """Every active point as the layer draws it, in code order (all scopes), the kinds listed, and the
    points each watching series watches (by index)."""

    ids: list[int]
    codes: list[str]
    kinds: list[str]
    lon: list[float]
    lat: list[float]
    rectifying: list[bool]
    paths: list[str]
    kinds_listed: list[tuple[str, str]]
    watching: dict[tuple[int, str], list[int]]


@dataclass(frozen=True)
class Layer:
    """The map layer and its version: the same version is the same layer (the API's ETag, its encodings'
    cache key); None when the database has no risk points' stamp (nothing is kept, every read is fresh)."""

    version: str | None
    data: dict[str, Any]


#: The register under the stamp it was read under, per database. The ``risk_points`` change stamp
#: (adapters/db/change_stamps.py) is replaced at the commit of any change to the points, their series
#: or the kinds — by any writer, as triggers write it —, so one row read tells whether it is still the
#: register. A day's TTL only bounds the memory held for a database nobody asks about.
_registers: TTLCache[tuple[str, _Register]] = TTLCache(ttl=86_400, maxsize=8)
#: A scope's points (indices into the register, in code order, and as a set) by (database, stamp, scope,
#: kind, limit).
_selections: TTLCache[tuple[list[int], frozenset[int]]] = TTLCache(ttl=3_600, maxsize=256)
#: Built layers by version (database, stamp, scope, kind, limit and the states of its warned points).
_layers: TTLCache[Layer] = TTLCache(ttl=600, maxsize=64)


def _read_register(s: Session) -> _Register:
    conn = s.connection()  # plain Core rows: no ORM row processing for 20,000 points
    rows = conn.execute(select(RiskPoint.id, RiskPoint.code, RiskPoint.kind, RiskPoint.lon, RiskPoint.lat,
                               RiskPoint.rectifying, RiskPoint.area_path)
                        .where(RiskPoint.active.is_(True)).order_by(RiskPoint.code)).all()
    at = {r[0]: i for i, r in enumerate(rows)}
    watching: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pid, ind, key in conn.execute(select(RiskPointSeries.risk_point_id, RiskPointSeries.indicator_id,
                                             RiskPointSeries.series_key)).all():
        if pid in at:
            watching[(ind, key)].append(at[pid])
    return _Register(ids=[r[0] for r in rows], codes=[r[1] for r in rows], kinds=[r[2] for r in rows],
                     lon=[round(r[3], 5) for r in rows], lat=[round(r[4], 5) for r in rows],
                     rectifying=[bool(r[5]) for r in rows], paths=[r[6] for r in rows], kinds_listed=_kinds(s),
                     watching=dict(watching))


def _register(s: Session, database: str, stamp: str) -> _Register:
    """The register read under ``stamp`` (read first in ``s``'s transaction: the register is then at
    least as new as the stamp it is filed under; newer only costs one read more)."""
    held = _registers.peek(database)
    if held is not None and held[0] == stamp:
        return held[1]
    built = _read_register(s)
    _registers.clear_key(database)
    _registers.get(database, lambda: (stamp, built))
    return built


def _warned(s: Session, reg: _Register) -> dict[int, tuple[list[str], int]]:
    """Per point (register index) with open warnings on its series: their firing levels and how many are
    pending — :func:`_states`' answer, from the open warnings alone (a few thousand rows, indexed by
    state) matched to the register's series in memory rather than joined to every watching series."""
    out: dict[int, tuple[list[str], int]] = {}
    rows = s.connection().execute(
        select(IndicatorWarning.indicator_id, IndicatorWarning.series_key, IndicatorWarning.state,
               IndicatorWarning.level).where(IndicatorWarning.state.in_(("pending", "firing")))).all()
    for ind, key, state, level in rows:
        for i in reg.watching.get((ind, key), ()):
            levels, pending = out.get(i, ([], 0))
            if state == "firing" and level:
                levels.append(level)
            elif state == "pending":
                pending += 1
            out[i] = (levels, pending)
    return out


def _layer_of(reg: _Register, picked: list[int], states: Mapping[int, int]) -> dict[str, Any]:
    """The compact layer of the register's points at ``picked`` (indices, in code order); ``states``: the
    state index of those with open warnings."""
    kinds_ = list(reg.kinds_listed)
    kind_index = {c: i for i, (c, _n) in enumerate(kinds_)}
    for i in picked:  # a kind no longer listed still draws, named by its code
        k = reg.kinds[i]
        if k not in kind_index:
            kind_index[k] = len(kinds_)
            kinds_.append((k, k))
    rect = reg.rectifying
    return {"states": list(LAYER_STATES), "kinds": [[c, n] for c, n in kinds_],
            "code": [reg.codes[i] for i in picked], "kind": [kind_index[reg.kinds[i]] for i in picked],
            "state": [states[i] if i in states else _PLAIN[1 if rect[i] else 0] for i in picked],
            "lon": [reg.lon[i] for i in picked], "lat": [reg.lat[i] for i in picked]}


def map_layer(uow: UnitOfWork, actor: Actor, *, kind: str | None = None,
              limit: int = 50_000) -> dict[str, Any]:
    """The cockpit's risk-point layer, compact: what the map draws and nothing more, as columns
    (:func:`map_layer_versioned`'s data)."""
    return map_layer_versioned(uow, actor, kind=kind, limit=limit).data


def map_layer_versioned(uow: UnitOfWork, actor: Actor, *, kind: str | None = None,
                        limit: int = 50_000) -> Layer:
    """The cockpit's risk-point layer, compact: what the map draws and nothing more, as columns, with
    its version.

    20,000 points as objects (name, kind name, area, last check …) were 4.4 MB of JSON that the server
    built and gzipped and the browser parsed into as many objects before ECharts saw one; the map needs
    a position, a state and a key to fetch the rest on click. ``code``, ``kind`` (index into ``kinds``),
    ``state`` (index into ``states``) and ``lon``/``lat`` (rounded to 1e-5°, about a metre) are parallel
    arrays in code order. No area join and no last-check query: the details page has them.

    Kept, not rebuilt at each request (issue #22: the layer was a large part of the server's time at
    each cockpit load): the register — every active point's code, kind, position, rectification mark,
    area path and watching series — is read once per change of the ``risk_points`` change stamp and cut
    to the reader's scope in memory; what changes with readings, the open warnings, is read at every
    request (one indexed query) and matched to the points' series; a layer already built for the same
    register, scope, kind and states is handed back as it is."""
    authz.require(actor, p.INDICATOR_READ)
    scope = None if actor.area_paths is None else tuple(sorted(actor.area_paths))
    with uow:
        s = uow.session
        stamp = s.scalar(select(ChangeStamp.token).where(ChangeStamp.name == "risk_points"))
        reg = _register(s, uow.database, stamp) if stamp is not None else _read_register(s)
        open_ = _warned(s, reg)

    def select_() -> tuple[list[int], frozenset[int]]:
        paths, kinds_ = reg.paths, reg.kinds
        found = [i for i in range(len(reg.ids))
                 if (kind is None or kinds_[i] == kind) and (scope is None or paths[i].startswith(scope))][:limit]
        return found, frozenset(found)

    where = (uow.database, stamp, scope, kind, limit)
    picked, inside = (_selections.get(where, select_) if stamp is not None else None) or select_()
    rect = reg.rectifying
    states = {i: _STATE_INDEX[rp.point_state(levels, pending, rect[i]).value]
              for i, (levels, pending) in open_.items() if i in inside}
    if stamp is None:
        return Layer(None, _layer_of(reg, picked, states))
    version = hashlib.blake2b(repr((where, sorted(states.items()))).encode(), digest_size=12).hexdigest()
    return _layers.get(version, lambda: Layer(version, _layer_of(reg, picked, states))) or \
        Layer(version, _layer_of(reg, picked, states))


def _point(s: Session, actor: Actor, code: str) -> RiskPoint:
    point = s.scalar(select(RiskPoint).where(RiskPoint.code == code))
    if point is None or not authz.path_visible(actor, point.area_path):
        raise NotFound(f"risk point {code} not found")
    return point


def get_point(uow: UnitOfWork, actor: Actor, code: str) -> dict[str, Any]:
    """One point: its facts, state, each watching series with its newest value, and its timeline."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        point = _point(s, actor, code)
        unit = s.get(Unit, point.responsible_unit_id)
        area = s.get(Area, point.area_id)
        series = s.execute(
            select(Indicator.code, Indicator.name, Indicator.unit, RiskPointSeries.series_key, LatestReading.value,
                   LatestReading.at)
            .join(Indicator, Indicator.id == RiskPointSeries.indicator_id)
            .outerjoin(LatestReading, and_(LatestReading.indicator_id == RiskPointSeries.indicator_id,
                                           LatestReading.series_key == RiskPointSeries.series_key))
            .where(RiskPointSeries.risk_point_id == point.id)
            .order_by(Indicator.code, RiskPointSeries.series_key)).all()
        states = _states(s, [point.id], actor)
        timeline = s.scalars(select(RiskPointChange).where(RiskPointChange.risk_point_id == point.id)
                             .order_by(RiskPointChange.id)).all()
        from shuzhi.services.sensing.rectification import of_point

        rectifications = of_point(s, point, datetime.now(UTC))
        checks = s.scalars(select(RiskPointCheck).where(RiskPointCheck.risk_point_id == point.id)
                           .order_by(RiskPointCheck.at.desc(), RiskPointCheck.id.desc()).limit(20)).all()
        return {
            "code": point.code, "name": point.name, "kind": point.kind,
            "kind_name": dict(_kinds(s)).get(point.kind, point.kind), "grade": point.grade,
            "area_code": area.code if area else None, "area_name": area.name if area else None,
            "lon": point.lon, "lat": point.lat, "responsible_unit_code": unit.code if unit else None,
            "responsible_unit_name": unit.name if unit else None, "responsible_person": point.responsible_person,
            "patrol_frequency": format_frequency(point.patrol_every_s) if point.patrol_every_s else None,
            "description": point.description, "rectifying": point.rectifying, "state": _state(states, point),
            "series": [{"indicator_code": c, "indicator_name": n, "unit": u, "series_key": k, "value": v, "at": at}
                       for c, n, u, k, v, at in series],
            "timeline": [{"at": c.at, "actor": c.actor, "action": c.action, "reason": c.reason} for c in timeline],
            "checks": [{"at": c.at, "actor": c.actor, "result": c.result, "note": c.note, "patrol_id": c.patrol_id}
                       for c in checks],
            "check_due": rp.check_due(checks[0].at if checks else None, point.patrol_every_s, datetime.now(UTC)),
            "rectifications": rectifications,
        }


def mark_rectification(uow: UnitOfWork, actor: Actor, code: str, *, active: bool, reason: str,
                       now: datetime | None = None) -> dict[str, Any]:
    """The short way into the rectification loop (:mod:`shuzhi.services.sensing.rectification`): ``active``
    opens one with ``reason`` as its finding; not ``active`` ends the open one — verified when it was
    reported done, else cancelled — with the reason on the point's timeline."""
    from shuzhi.services.sensing import rectification

    authz.require(actor, p.RISK_POINT_WRITE)
    if active:
        rectification.start(uow, actor, code, finding=reason, now=now)
        return get_point(uow, actor, code)
    with uow:
        s = uow.session
        point = _point(s, actor, code)
        open_ = rectification._open_of(s, point.id)
        if open_ is None:
            raise Invalid("the point is not under rectification", field="active")
        rect_id, state = open_.id, open_.state
    action = "verified" if state == rp.RectState.DONE.value else "cancelled"
    rectification.step(uow, actor, code, rect_id, action, note=reason, now=now)
    return get_point(uow, actor, code)


def record_check(uow: UnitOfWork, actor: Actor, code: str, *, result: str, note: str = "",
                 lon: float | None = None, lat: float | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A check on the spot (巡查检查, from the grid worker's phone) of a point in one's scope; an abnormal
    finding says what. It is filed under the worker's running patrol, if any."""
    authz.require(actor, p.PATROL_WRITE)
    if result not in rp.CHECK_RESULTS:
        raise Invalid(f"result must be one of {', '.join(rp.CHECK_RESULTS)}", field="result")
    note = (note or "").strip()
    if result == "abnormal" and not note:
        raise Invalid("say what is wrong", field="note")
    if len(note) > 2000:
        raise Invalid("the note is at most 2000 characters", field="note")
    for name, value, bound in (("lon", lon, 180), ("lat", lat, 90)):
        if value is not None and not -bound <= value <= bound:
            raise Invalid(f"{name} must lie between {-bound} and {bound}", field=name)
    with uow:
        s = uow.session
        point = _point(s, actor, code)
        patrol = None
        if actor.person_id is not None:
            patrol = s.scalar(select(Patrol.id).where(Patrol.person_id == actor.person_id, Patrol.ended_at.is_(None))
                              .order_by(Patrol.id.desc()).limit(1))
        s.add(RiskPointCheck(risk_point_id=point.id, at=now or datetime.now(UTC), person_id=actor.person_id,
                             actor=actor.label, patrol_id=patrol, result=result, note=note, lon=lon, lat=lat))
        uow.commit()
    return get_point(uow, actor, code)
