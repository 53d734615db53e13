"""Threshold evaluation on readings, warnings and their events (感知预警 → 事件).

**Evaluation** (:func:`evaluate_readings`, registered in ``READING_HOOKS``) runs inside the ingest
transaction.  It groups a batch by series and keeps each series' state in memory
(:class:`shuzhi.domain.warning_life.SeriesState`), so a reading that changes nothing costs no query;
the database is touched only when a warning changes (pending, fired, raised, lowered, resolved,
cleared).  The stored warning is the source of truth: a series seen for the first time by a process
is loaded from its open warning (the unique ``open_key`` keeps one per series across processes);
every change is a conditional ``UPDATE … WHERE version = :seen``, and a process that finds itself
behind reloads the series and evaluates the reading again.  If the ingest transaction rolls back,
the series it touched are forgotten and reloaded next time.

**Shared series** (:func:`share_series`: several ``ingest-mqtt`` processes in one shared
subscription, whose broker deals messages round robin, not by series): each batch's series are
restored from their stored open warning, as a restarted process would — the memory of a series is
kept only while the series has no open warning and no rate condition, where it holds nothing the
database does not (the reading order aside).  Two transactions never evaluate one series at the same
time: on PostgreSQL the batch's statement that stores the readings locks each touched series' row of
``reading_latest`` (in key order) until commit, and this hook runs after it, so the state read here
includes every other process's committed evaluation of the series (docs/sensing.md, "Several ingest
processes"); on SQLite the single writer serialises whole batches.

**Announcing** a change (fired, level changed, resolved) — unless a silence or an inhibition holds
it back — calls ``WARNING_HOOKS`` (plans) and applies the rule's warning → event policy for the new
level: ``notify`` or ``handle`` opens one event per episode through intake (source
``sensor_warning``, so numbering and the timeline apply; ``dispatch: true`` dispatches it at once by
the dispatch rules); a rising level raises the event's urgency with a timeline entry; a falling level
and recovery are written on the timeline, and recovery never closes the event — a handled event still
needs verification.

The periodic check is :mod:`shuzhi.services.sensing.warning_checks`; listing, reading and
acknowledging warnings :mod:`shuzhi.services.sensing.warning_records`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, String, Table, any_, bindparam, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, SessionTransaction

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_sensing import Reading
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.domain.events import EventState
from shuzhi.domain.readings import SeriesRef, StoredReading, group_by_series
from shuzhi.domain.silences import Suppression, WarningFacts, suppression
from shuzhi.domain.thresholds import GRADES, LABELS, LEVEL_RANK, LEVELS, NONE, Change, Status, ThresholdRule, level_name
from shuzhi.domain.time_limits import Urgency
from shuzhi.domain.warning_life import SeriesState, Transition, observe_quiet, observe_quiet_run, observe_reading
from shuzhi.services import commands as c
from shuzhi.services import ttl_cache
from shuzhi.services.actors import SYSTEM
from shuzhi.services.errors import ServiceError
from shuzhi.services.hooks import WARNING_HOOKS, WarningChange
from shuzhi.services.sensing.indicators import IndicatorInfo, indicators_by_id
from shuzhi.services.sensing.warning_config import Config, load_config
from shuzhi.services.transitions import note
from shuzhi.services.urgency import raise_urgency

OPEN_STATES = (Status.PENDING.value, Status.FIRING.value)
_TOUCHED = "shuzhi.warnings.touched"


# --- per-series memory ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Series:
    state: SeriesState
    warning_id: int | None = None
    version: int = 0
    episode_key: str | None = None
    event_id: int | None = None
    notified: bool = False
    suppressed: dict[str, Any] | None = None


#: Where a series is: what a new warning row needs.
_Where = SeriesRef


class _SeriesCache:
    def __init__(self) -> None:
        self.data: dict[str, dict[tuple[int, str], _Series]] = {}
        self.lock = threading.Lock()

    def of(self, url: str) -> dict[tuple[int, str], _Series]:
        found = self.data.get(url)
        if found is None:
            with self.lock:
                found = self.data.setdefault(url, {})
        return found

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


_series = _SeriesCache()
#: Whether other processes evaluate the same series at the same time (see the module docstring).
_shared = [False]


def share_series(shared: bool = True) -> None:
    """Say that other processes ingest readings of the same series (a shared MQTT subscription):
    from now on every batch restores its series from the stored warnings instead of trusting this
    process's memory of them."""
    _shared[0] = shared


def series_shared() -> bool:
    return _shared[0]
ttl_cache._ALL.append(_series)  # type: ignore[arg-type]  # cleared with the other caches (tests)
_indicators: ttl_cache.TTLCache[IndicatorInfo] = ttl_cache.TTLCache(ttl=60)


class _Stale(Exception):
    """Another process changed the warning since this one loaded it."""


def _url(s: Session) -> str:
    return str(s.get_bind().engine.url)


def _touch(s: Session, keys: Iterable[tuple[int, str]]) -> None:
    s.info.setdefault(_TOUCHED, {}).setdefault(_url(s), set()).update(keys)


def forget_touched_on_commit(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def forget_series_on_rollback(session: Session, transaction: SessionTransaction) -> None:
    # Still marked after the outermost transaction ended: it was rolled back (or closed without a
    # commit), so the memory of those series may be ahead of the database — forget it.
    if transaction.parent is None and _TOUCHED in session.info:
        for url, keys in session.info.pop(_TOUCHED).items():
            cache = _series.data.get(url)
            for k in keys if cache is not None else ():
                cache.pop(k, None)  # type: ignore[union-attr]


def _open_key(indicator_id: int, series_key: str) -> str:
    return f"{indicator_id}|{series_key}"


def _restore(row: IndicatorWarning | None) -> _Series:
    """A series' memory rebuilt from its open warning: the level is taken to have held since the
    episode started, up to the last reading the warning saw."""
    state = SeriesState()
    if row is None:
        return _Series(state)
    rank = LEVEL_RANK[row.level] if row.level else NONE
    state.status = Status(row.state)
    state.level = rank
    state.started_at = row.started_at
    held_until = row.last_reading_at or row.fired_at or row.started_at
    state.last_at = held_until
    state.last_reading_at = row.last_reading_at
    state.last_value = row.last_value
    state.reading_rank = rank
    for r in range(rank + 1):
        state.streak_start[r] = row.started_at
        state.last_held[r] = held_until
        state.reached[r] = state.status is Status.FIRING
    return _Series(state, row.id, row.version, row.episode_key, row.event_id, row.notified, row.suppressed)


def _load(s: Session, cache: dict[tuple[int, str], _Series], keys: Sequence[tuple[int, str]]) -> None:
    by_open = {_open_key(*k): k for k in keys}
    found: dict[tuple[int, str], IndicatorWarning] = {}
    wanted = list(by_open)
    if s.get_bind().dialect.name == "postgresql":
        # one statement with one array parameter, however many series the batch touched
        chunks = [select(IndicatorWarning).where(
            IndicatorWarning.open_key == any_(bindparam("keys", wanted, type_=ARRAY(String))))]
    else:
        chunks = [select(IndicatorWarning).where(IndicatorWarning.open_key.in_(wanted[i:i + 900]))
                  for i in range(0, len(wanted), 900)]
    for stmt in chunks:
        # a reload after a stale write must see the row as stored now, not as this session first read it
        for row in s.scalars(stmt.execution_options(populate_existing=True)):
            found[by_open[cast(str, row.open_key)]] = row
    for k in keys:
        cache[k] = _restore(found.get(k))


def _preload_history(s: Session, ser: _Series, rule: ThresholdRule, key: tuple[int, str], before: datetime) -> None:
    """Rate conditions need the readings of the window before the first one this process sees."""
    if not rule.max_window or ser.state.history:
        return
    rows = s.execute(select(Reading.at, Reading.value).where(
        Reading.indicator_id == key[0], Reading.series_key == key[1], Reading.at >= before - rule.max_window,
        Reading.at < before).order_by(Reading.at)).all()
    ser.state.history.extend((r[0], r[1]) for r in rows)


def _info(s: Session, indicator_id: int) -> IndicatorInfo | None:
    return _indicators.get((_url(s), indicator_id), lambda: indicators_by_id(s, [indicator_id]).get(indicator_id))


# --- evaluation -------------------------------------------------------------------------------------


def evaluate_readings(s: Session, readings: Sequence[StoredReading]) -> None:
    """The reading hook: grade each series' new readings and store what changed.

    Work is per touched series, not per reading: a series with no open warning whose new values all
    stay in its rule's quiet range only has its newest reading remembered (no query, no allocation);
    only a series whose values leave that range is graded reading by reading.  The batch's series are
    taken out of the process-wide memory while it runs and put back when it is done, so two threads
    never work on one series' state at once: the second one loads it from the database and, if it is
    behind, the version check tells it.
    """
    if not readings:
        return
    config = load_config(s)
    if not len(config.rules):
        return
    cache = _series.of(_url(s))
    rule_for = config.rules.rule_for
    groups = group_by_series(readings)
    todo: list[tuple[_Where, ThresholdRule, list[tuple[datetime, float]]]] = []
    owned: dict[tuple[int, str], _Series] = {}
    missing: list[tuple[int, str]] = []
    shared = _shared[0]
    remembered: dict[tuple[int, str], _Series] = {}
    taken: set[tuple[int, str]] = set()
    for ref, points in groups.items():
        rule = rule_for(ref.indicator_code, ref.area_path)
        if rule is None:
            continue
        k = (ref.indicator_id, ref.series_key)
        todo.append((ref, rule, points))
        if k in taken:
            continue
        taken.add(k)
        found = cache.pop(k, None)
        if shared:
            # another process may have evaluated this series since: the stored warning decides
            missing.append(k)
            if found is not None and not rule.max_window:
                remembered[k] = found
        elif found is None:
            missing.append(k)
        else:
            owned[k] = found
    if missing:
        _load(s, owned, missing)
    fresh = set(missing)
    for k, mem in remembered.items():
        # no open warning stored and none remembered: the memory holds nothing the database does not,
        # and it knows the newest reading this process saw (older ones change nothing)
        if owned[k].warning_id is None and mem.warning_id is None and mem.state.status is Status.INACTIVE:
            owned[k] = mem
            fresh.discard(k)
    s.info[_CHANGES_KEY] = []
    try:
        for where, rule, points in todo:
            k = (where.indicator_id, where.series_key)
            ser = owned[k]
            if rule.max_window and k in fresh:
                fresh.discard(k)
                _preload_history(s, ser, rule, k, points[0][0])
            for i in range(observe_quiet_run(ser.state, rule, points), len(points)):
                at, value = points[i]
                if observe_quiet(ser.state, rule, at, value):
                    continue
                transitions = observe_reading(ser.state, rule, at, value)
                if not transitions:
                    continue
                try:
                    _apply(s, ser, rule, where, transitions, value, config)
                except _Stale:
                    # Another process moved this warning: start again from the stored state.
                    _load(s, owned, [k])
                    ser = owned[k]
                    transitions = observe_reading(ser.state, rule, at, value)
                    if transitions:
                        _apply(s, ser, rule, where, transitions, value, config)
        _flush_changes(s)
    finally:
        s.info.pop(_CHANGES_KEY, None)  # an error leaves nothing pending for the session's next transaction
    _touch(s, owned)
    cache.update(owned)


_WARNINGS = cast(Table, IndicatorWarning.__table__)
_CHANGES = cast(Table, WarningLevelChange.__table__)
#: Statements built once and executed with parameters: a statement built per call with ``.values()``
#: (its cache key computed over every value) cost milliseconds per warning change, and a batch where
#: many series cross a level changes thousands of warnings.
_statements: dict[str, Any] = {}
#: Pending ``warning_changes`` rows of a session, written together (:func:`_flush_changes`).
_CHANGES_KEY = "shuzhi.warnings.changes"


def _statement(name: str, build: Callable[[], Any]) -> Any:
    found = _statements.get(name)
    if found is None:
        found = _statements[name] = build()
    return found


def _params(values: dict[str, Any]) -> dict[str, Any]:
    # ``.values(suppressed=None)`` stores SQL NULL, a parameter None would store JSON 'null'
    if "suppressed" in values and values["suppressed"] is None:
        return {**values, "suppressed": null()}
    return values


def _insert(s: Session, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: None when the series already has an open warning."""
    dialect = s.get_bind().dialect.name

    def build() -> Any:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        return ins(_WARNINGS).on_conflict_do_nothing().returning(_WARNINGS.c.id)

    return s.execute(_statement(f"insert:{dialect}", build), _params(values)).scalar_one_or_none()


def _update(s: Session, ser: _Series, values: dict[str, Any]) -> None:
    stmt = _statement("update", lambda: update(_WARNINGS).where(
        _WARNINGS.c.id == bindparam("w_id"), _WARNINGS.c.version == bindparam("w_version")))
    changed = cast(CursorResult[Any], s.execute(stmt, {**_params(values), "version": ser.version + 1,
                                                       "w_id": ser.warning_id, "w_version": ser.version})).rowcount
    if changed != 1:
        raise _Stale()
    ser.version += 1


def _record_change(s: Session, row: dict[str, Any]) -> None:
    """A ``warning_changes`` row: written at once, or — while :func:`evaluate_readings` grades a batch —
    with the batch's others by :func:`_flush_changes`."""
    pending = s.info.get(_CHANGES_KEY)
    if pending is not None:
        pending.append(row)
    else:
        s.execute(_statement("changes", lambda: insert(_CHANGES)), [row])


def _flush_changes(s: Session) -> None:
    """Write the pending ``warning_changes`` rows (one statement), in the order they were made — before
    anything else writes one, so their ids keep the order of the changes."""
    pending = s.info.get(_CHANGES_KEY)
    if pending:
        s.execute(_statement("changes", lambda: insert(_CHANGES)), pending)
        pending.clear()


def _facts(s: Session, where: _Where, rank: int) -> WarningFacts:
    info = _info(s, where.indicator_id)
    lineage = info.lineage if info is not None else (where.indicator_code,)
    return WarningFacts(where.indicator_code, lineage, where.series_key, where.area_path, rank)


def _firing_sources(s: Session, exclude: int | None) -> list[tuple[int, WarningFacts]]:
    rows = s.execute(select(IndicatorWarning.id, IndicatorWarning.indicator_id, IndicatorWarning.indicator_code,
                            IndicatorWarning.series_key, IndicatorWarning.area_path, IndicatorWarning.level)
                     .where(IndicatorWarning.state == Status.FIRING.value)).all()
    out = []
    for wid, ind_id, code, key, path, level in rows:
        if wid == exclude or level is None:
            continue
        info = _info(s, ind_id)
        out.append((wid, WarningFacts(code, info.lineage if info else (code,), key, path, LEVEL_RANK[level])))
    return out


def _suppression(s: Session, config: Config, where: _Where, rank: int, at: datetime,
                 warning_id: int | None) -> Suppression | None:
    if not config.silences and not config.inhibitions:
        return None
    facts = _facts(s, where, rank)
    firing = _firing_sources(s, warning_id) if config.inhibitions else []
    return suppression(facts, at, config.silences, config.inhibitions, firing)


def _apply(s: Session, ser: _Series, rule: ThresholdRule, where: _Where, transitions: Sequence[Transition],
           value: float | None, config: Config) -> None:
    for t in transitions:
        at = t.at
        level = level_name(t.level)
        values: dict[str, Any] = {"updated_at": at}
        if value is not None:
            values.update(last_value=value, last_reading_at=ser.state.last_reading_at)
        announce = False
        if t.change in (Change.PENDING, Change.FIRED):
            values.update(state=Status.PENDING.value if t.change is Change.PENDING else Status.FIRING.value,
                          level=level, rule_code=rule.code)
            if t.change is Change.FIRED:
                values.update(fired_at=at, peak_level=level)
        elif t.change in (Change.RAISED, Change.LOWERED):
            values.update(level=level)
            if t.change is Change.RAISED:
                values["peak_level"] = level
        else:  # resolved or cleared: the episode ends and frees the series for the next one
            values.update(state=Status.RESOLVED.value if t.change is Change.RESOLVED else Status.CLEARED.value,
                          resolved_at=at, open_key=None)
        payload: dict[str, Any] = {"rule": rule.code}
        if t.change in (Change.FIRED, Change.RAISED):
            sup = _suppression(s, config, where, t.level, at, ser.warning_id)
            values["suppressed"] = sup.document() if sup else None
            announce = sup is None
            if sup is not None:
                payload["suppressed"] = sup.document()
        elif t.change in (Change.LOWERED, Change.RESOLVED):
            announce = ser.notified and ser.suppressed is None
        if announce:
            values["notified"] = True
        if ser.warning_id is None:
            if t.change not in (Change.PENDING, Change.FIRED):
                continue  # nothing stored to end (cannot happen after a fresh start; kept safe)
            episode = f"{where.indicator_id}|{where.series_key}|{at.isoformat()}"
            row = {"episode_key": episode, "open_key": _open_key(where.indicator_id, where.series_key),
                   "indicator_id": where.indicator_id, "indicator_code": where.indicator_code,
                   "series_key": where.series_key, "area_code": where.area_code, "area_path": where.area_path,
                   "device_code": where.device_code, "started_at": ser.state.started_at or at,
                   "fired_at": None, "resolved_at": None, "peak_level": None, "last_value": value,
                   "last_reading_at": ser.state.last_reading_at, "suppressed": None, "notified": False,
                   "event_id": None, "version": 1, **values}
            new_id = _insert(s, row)
            if new_id is None:
                raise _Stale()
            ser.warning_id, ser.version, ser.episode_key = new_id, 1, episode
            ser.event_id, ser.notified, ser.suppressed = None, False, None
        else:
            _update(s, ser, values)
        ser.suppressed = values.get("suppressed", ser.suppressed)
        _record_change(s, {"warning_id": ser.warning_id, "at": at, "change": t.change.value,
                           "from_level": level_name(t.previous_level), "to_level": level, "value": value,
                           "actor": SYSTEM.label, "payload": payload})
        if announce:
            ser.notified = True
            _announce(s, ser, rule, where, t, value)
        if t.change in (Change.RESOLVED, Change.CLEARED):
            ser.warning_id, ser.version, ser.episode_key = None, 0, None
            ser.event_id, ser.notified, ser.suppressed = None, False, None


# --- announcing: events and hooks -----------------------------------------------------------------


def _title(rule: ThresholdRule, where: _Where, info: IndicatorInfo | None, rank: int) -> str:
    level = LEVELS[rank]
    name = info.name if info else where.indicator_code
    return f"[{LABELS[level]}预警·{GRADES[level]}级] {name} {where.series_key}"[:200]


def _describe(where: _Where, info: IndicatorInfo | None, rank: int, value: float | None, at: datetime) -> str:
    unit = info.unit if info else ""
    shown = f"{value:g}{unit}" if value is not None else "无数据"
    return (f"指标 {where.indicator_code}（{info.name if info else ''}）在 {where.area_code} 的序列 "
            f"{where.series_key} 于 {at.isoformat()} 达到{LABELS[LEVELS[rank]]}预警，读数 {shown}。")


def _announce(s: Session, ser: _Series, rule: ThresholdRule, where: _Where, t: Transition,
              value: float | None) -> None:
    assert ser.warning_id is not None and ser.episode_key is not None
    info = _info(s, where.indicator_id)
    if t.change in (Change.FIRED, Change.RAISED):
        _event_on_rise(s, ser, rule, where, info, t, value)
    elif ser.event_id is not None:
        ev = s.get(Event, ser.event_id)
        if ev is not None:
            if t.change is Change.LOWERED:
                note(s, ev, SYSTEM, "warning.lowered", t.at, reason=f"预警降为{LABELS[LEVELS[t.level]]}",
                     payload={"warning_id": ser.warning_id, "from": level_name(t.previous_level),
                              "to": level_name(t.level), "value": value})
            else:
                # Recovery is noted, never acted on: a handled event is closed only after verification.
                note(s, ev, SYSTEM, "warning.resolved", t.at, reason="读数已恢复正常，事件仍需核查后结案",
                     payload={"warning_id": ser.warning_id, "from": level_name(t.previous_level), "value": value})
    change = WarningChange(
        warning_id=ser.warning_id, episode_key=ser.episode_key, indicator_code=where.indicator_code,
        indicator_lineage=info.lineage if info else (where.indicator_code,), series_key=where.series_key,
        area_code=where.area_code, area_path=where.area_path, level=level_name(t.level),
        previous_level=level_name(t.previous_level), at=t.at, event_id=ser.event_id,
        payload={"change": t.change.value, "value": value, "rule": rule.code})
    for hook in list(WARNING_HOOKS):
        hook(s, change)


def _event_on_rise(s: Session, ser: _Series, rule: ThresholdRule, where: _Where, info: IndicatorInfo | None,
                   t: Transition, value: float | None) -> None:
    action = rule.action(t.level)
    if ser.event_id is not None:
        ev = s.get(Event, ser.event_id)
        if ev is None:
            return
        wanted = Urgency(action.urgency) if action.urgency else None
        if wanted is not None and ev.state not in (EventState.CALLED_BACK.value, EventState.CANCELLED.value,
                                                   EventState.MERGED.value) and wanted > Urgency(ev.urgency):
            # the open tasks' deadlines follow the new urgency's limits (services/urgency.py)
            raise_urgency(s, ev, wanted, SYSTEM, t.at, f"预警升为{LABELS[LEVELS[t.level]]}", payload={
                "warning_id": ser.warning_id, "level": level_name(t.level),
                "previous_level": level_name(t.previous_level), "value": value})
        else:
            note(s, ev, SYSTEM, "warning.raised", t.at, reason=f"预警升为{LABELS[LEVELS[t.level]]}",
                 payload={"warning_id": ser.warning_id, "level": level_name(t.level),
                          "previous_level": level_name(t.previous_level), "value": value})
        if action.mode == "handle" and ev.mode == "notify" and ev.state == EventState.REGISTERED.value:
            # a level that needs handling turns a notify-only event not yet triaged into a case to handle
            ev.mode = "handle"
            if action.dispatch:
                _dispatch(s, ev, t.at)
        elif (action.mode == "handle" and action.dispatch and ev.mode == "notify"
              and ev.state == EventState.NOTIFYING.value):
            # an already copied notice becomes a case when dispatched (copy → handle, the copies kept);
            # when nobody can be chosen it stays a notice, with the reason on its timeline
            _dispatch(s, ev, t.at)
        return
    if action.mode == "none":
        return
    key = f"warning:{ser.episode_key}"[:100]
    existing = s.scalar(select(Event.id).where(Event.intake_key == key))
    if existing is None:
        from shuzhi.services.intake import register_event

        cmd = c.SubmitEvent(
            source=c.Source.SENSOR_WARNING, request_type=c.RequestType.REPORT, event_class_code=action.event_class,
            title=_title(rule, where, info, t.level), description=_describe(where, info, t.level, value, t.at),
            area_code=where.area_code, urgency=Urgency(action.urgency) if action.urgency else None,
            received_at=t.at, external_ref=f"warning:{ser.warning_id}")
        try:
            existing = register_event(s, cmd, SYSTEM, t.at, intake_key=key).id
        except ServiceError as exc:
            # An event class or area that vanished since the rule was saved: the warning stands and says why.
            _flush_changes(s)
            s.execute(insert(WarningLevelChange).values(
                warning_id=ser.warning_id, at=t.at, change="event_failed", from_level=None,
                to_level=level_name(t.level), value=value, actor=SYSTEM.label, payload={"reason": exc.message}))
            return
        ev = s.get(Event, existing)
        assert ev is not None
        note(s, ev, SYSTEM, "warning.fired", t.at, reason=f"{LABELS[LEVELS[t.level]]}预警",
             payload={"warning_id": ser.warning_id, "level": level_name(t.level), "rule": rule.code,
                      "value": value, "series": where.series_key, "mode": action.mode})
        if action.mode == "notify":
            ev.mode = "notify"
            if action.copy:
                _copy(s, ev, action.copy, t.at)
        elif action.dispatch:
            _dispatch(s, ev, t.at)
    ser.event_id = existing
    s.execute(update(IndicatorWarning).where(IndicatorWarning.id == ser.warning_id).values(event_id=existing)
              .execution_options(synchronize_session=False))


def _copy(s: Session, ev: Event, units: tuple[str, ...], at: datetime) -> None:
    """Copy the new notice to the units its policy names (抄送知悉); a unit that no longer exists or
    is inactive leaves the notice registered for the duty officer, with the reason on its timeline."""
    from shuzhi.services import handling

    s.flush()
    try:  # every check comes before the first write: a refusal leaves nothing half-copied
        handling.notify_in(s, ev.id, c.Notify(unit_codes=list(units), reason="预警策略抄送"), SYSTEM, at)
    except ServiceError as exc:
        note(s, ev, SYSTEM, "event.notify_failed", at, reason=exc.message[:2000], payload={"units": list(units)})


def _dispatch(s: Session, ev: Event, at: datetime) -> None:
    """Dispatch the new event by the dispatch rules (or the grid principle), as the centre's automatic
    dispatch would; one nobody's duties cover stays registered for the duty officer."""
    from shuzhi.services.dispatching import deciding

    # the policy's author chose to handle this level: a notice copied at a lower level becomes a case
    deciding.apply_rules_in(s, ev, SYSTEM, at, handle=True)

