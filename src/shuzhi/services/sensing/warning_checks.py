"""The periodic check of warnings (the worker runs it every minute).

:func:`check_no_data` is the periodic check (the worker runs it every minute): no-data conditions,
``for``/``keep_firing_for`` timers that ran out between readings, and warnings whose silence or
inhibition has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_sensing import LatestReading
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.domain import permissions as p
from shuzhi.domain.thresholds import LEVEL_RANK, NONE, Change, Status, ThresholdRule, level_name
from shuzhi.domain.warning_life import SeriesState, Transition, observe_tick
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.security import authz
from shuzhi.services.sensing.warning_config import Config, load_config
from shuzhi.services.sensing.warnings import (
    OPEN_STATES,
    _announce,
    _apply,
    _load,
    _Series,
    _series,
    _Stale,
    _suppression,
    _touch,
    _update,
    _url,
    _Where,
)
from shuzhi.services.unit_of_work import UnitOfWork

# --- the periodic check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckReport:
    series: int
    changes: int
    released: int


def check_no_data(uow: UnitOfWork, now: datetime | None = None) -> CheckReport:
    """The periodic check (run by the worker, e.g. every minute).

    * series of indicators with a ``no_data`` condition are graded by how long they have been silent
      (from ``reading_latest``);
    * open warnings are re-evaluated at ``now``, so ``for`` and ``keep_firing_for`` run out even when
      no reading comes;
    * firing warnings held back by a silence or an inhibition that has since ended are announced.
    """
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        config = load_config(s)
        cache = _series.of(_url(s))
        targets: dict[tuple[int, str], tuple[_Where, datetime | None, float | None]] = {}
        for row in s.execute(select(IndicatorWarning.indicator_id, IndicatorWarning.indicator_code,
                                    IndicatorWarning.series_key, IndicatorWarning.area_code,
                                    IndicatorWarning.area_path, IndicatorWarning.device_code,
                                    IndicatorWarning.last_reading_at, IndicatorWarning.last_value)
                             .where(IndicatorWarning.state.in_(OPEN_STATES))).all():
            targets[(row[0], row[2])] = (_Where(*row[:6]), row[6], row[7])
        # the shortest silence any rule of an indicator grades: only series silent at least that long
        # (or with an open warning, above) can change, so the others are not read — every real-time
        # indicator has a no-data condition (the staleness alarm), and most series are not silent
        shortest: dict[str, timedelta] = {}
        for r in config.rules.all_rules():
            for c in r.no_data_conditions:
                for b in c.bounds:
                    if b is not None and (r.indicator not in shortest or b < shortest[r.indicator]):
                        shortest[r.indicator] = b
        by_gap: dict[timedelta, list[str]] = {}
        for code, gap in shortest.items():
            by_gap.setdefault(gap, []).append(code)
        if by_gap:
            from shuzhi.adapters.db.tables_sensing import Indicator

            silent = or_(*(and_(Indicator.code.in_(codes), LatestReading.at <= now - gap)
                           for gap, codes in sorted(by_gap.items())))
            for ind_id, code, key, area_code, path, at, value in s.execute(
                select(LatestReading.indicator_id, Indicator.code, LatestReading.series_key, Area.code, Area.path,
                       LatestReading.at, LatestReading.value)
                .join(Indicator, Indicator.id == LatestReading.indicator_id)
                .join(Area, Area.id == LatestReading.area_id).where(silent)).all():
                where = _Where(ind_id, code, key, area_code, path, None if key == area_code else key)
                targets.setdefault((ind_id, key), (where, at, value))
        owned = {k: found for k in targets if (found := cache.pop(k, None)) is not None}
        missing = [k for k in targets if k not in owned]
        if missing:
            _load(s, owned, missing)
        _touch(s, targets)
        changes = 0
        for series, (where, last_at, last_value) in targets.items():
            rule = config.rules.rule_for(where.indicator_code, where.area_path)
            ser = owned[series]
            if rule is None:
                if ser.warning_id is not None:
                    changes += _end_orphan(s, ser, where, now)
                continue
            if ser.state.last_reading_at is None and last_at is not None:
                ser.state.last_reading_at = last_at
                ser.state.last_value = last_value
                if ser.state.last_at is None:
                    ser.state.last_at = last_at
            transitions = observe_tick(ser.state, rule, now)
            if not transitions:
                continue
            try:
                _apply(s, ser, rule, where, transitions, None, config)
            except _Stale:
                _load(s, owned, [series])
                continue
            changes += len(transitions)
        cache.update(owned)
        released = _release(s, config, cache, now)
        uow.commit()
        return CheckReport(series=len(targets), changes=changes, released=released)


def _end_orphan(s: Session, ser: _Series, where: _Where, now: datetime) -> int:
    """An open warning whose rule was deleted or disabled can never recover by the rule: it ends here,
    saying why (announced like any recovery, so an event's timeline is told)."""
    try:
        _update(s, ser, {"state": Status.RESOLVED.value if ser.state.status is Status.FIRING else
                         Status.CLEARED.value, "resolved_at": now, "open_key": None, "updated_at": now})
    except _Stale:
        return 0
    change = Change.RESOLVED if ser.state.status is Status.FIRING else Change.CLEARED
    s.execute(insert(WarningLevelChange).values(
        warning_id=ser.warning_id, at=now, change=change.value, from_level=level_name(ser.state.level),
        to_level=None, value=None, actor=SYSTEM.label, payload={"reason": "rule removed"}))
    if change is Change.RESOLVED and ser.notified and ser.suppressed is None:
        orphan = ThresholdRule(code="(removed)", indicator=where.indicator_code, conditions=())
        _announce(s, ser, orphan, where, Transition(Change.RESOLVED, now, NONE, ser.state.level), None)
    ser.state = SeriesState()
    ser.warning_id, ser.version, ser.episode_key = None, 0, None
    ser.event_id, ser.notified, ser.suppressed = None, False, None
    return 1


def check_now(uow: UnitOfWork, actor: Actor) -> CheckReport:
    """:func:`check_no_data` on a person's request (those who configure warnings may)."""
    authz.require(actor, p.INDICATOR_WRITE)
    return check_no_data(uow)


def _release(s: Session, config: Config, cache: dict[tuple[int, str], _Series], now: datetime) -> int:
    """Announce firing warnings whose silence or inhibition no longer applies."""
    rows = s.scalars(select(IndicatorWarning).where(IndicatorWarning.state == Status.FIRING.value,
                                                    IndicatorWarning.suppressed.is_not(None))).all()
    released = 0
    for row in rows:
        if row.suppressed is None or row.level is None:
            continue
        where = _Where(row.indicator_id, row.indicator_code, row.series_key, row.area_code, row.area_path,
                       row.device_code)
        rank = LEVEL_RANK[row.level]
        if _suppression(s, config, where, rank, now, row.id) is not None:
            continue
        rule = config.rules.rule_for(row.indicator_code, row.area_path)
        if rule is None:
            continue
        series = (row.indicator_id, row.series_key)
        ser = cache.get(series)
        if ser is None or ser.warning_id != row.id:
            _load(s, cache, [series])
            ser = cache[series]
        try:
            _update(s, ser, {"suppressed": None, "notified": True, "updated_at": now})
        except _Stale:
            cache.pop(series, None)
            continue
        ser.suppressed, ser.notified = None, True
        s.execute(insert(WarningLevelChange).values(
            warning_id=row.id, at=now, change="released", from_level=row.level, to_level=row.level,
            value=row.last_value, actor=SYSTEM.label, payload={"was": row.suppressed}))
        _announce(s, ser, rule, where, Transition(Change.FIRED, now, rank, NONE), row.last_value)
        released += 1
    return released
