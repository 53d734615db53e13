"""Collection governance (采集治理, issue #22): per indicator, what it should report against what arrived,
summed per source system and per runway lead unit; the online plan (成熟一批、上线一批); the no-data notice
to an indicator's owner; and the lead units' data figures for evaluation.

The formulas are :mod:`shuzhi.domain.collection`. Every figure is read by a fixed number of grouped
queries whatever the number of indicators: expected series (devices; areas of the indicator's level),
newest readings with the stale ones among them (the vital signs' own query), readings in the window from
the hourly rollups, and late/rejected/duplicate counts from ``indicator_intake_days``. Series counts are
cut to the reader's scope; intake counts (late, rejected) are per indicator for the whole installation —
a rejected reading may name no area at all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_sensing import (
    Device,
    Indicator,
    IndicatorArea,
    IndicatorIntakeDay,
    IndicatorNode,
    IndicatorPlanEntry,
    LatestReading,
    ReadingRollup,
)
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import collection as col
from shuzhi.domain import permissions as p
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.evaluation import WARNING_ACK_WITHIN
from shuzhi.services import hooks
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.sensing.vital_signs import _reading_facts, _rule
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.collection")
MAX_WINDOW_H = 24 * 31
MAX_STALE_LISTED = 500
MAX_PLAN = 20_000


# --- the facts, by grouped queries --------------------------------------------------------------------


def _indicators(s: Session) -> list[Any]:
    sub, runway = aliased(IndicatorNode), aliased(IndicatorNode)
    return list(s.execute(
        select(Indicator.id, Indicator.code, Indicator.name, Indicator.source_system, Indicator.owner_unit_id,
               Indicator.frequency_s, Indicator.level, Indicator.realtime, Indicator.traceable, Indicator.evaluable,
               Indicator.warning, Indicator.retention_days, runway.id.label("runway_id"),
               runway.code.label("runway_code"), runway.name.label("runway_name"),
               runway.lead_unit_id.label("lead_unit_id"))
        .join(sub, sub.id == Indicator.sub_runway_id).outerjoin(runway, runway.id == sub.parent_id)
        .where(Indicator.active.is_(True)).order_by(Indicator.code)).all())


def _expected_series(s: Session, actor: Actor, rows: list[Any]) -> dict[int, int]:
    """Per indicator, the series it should have in the reader's scope: its active devices when it has
    any, else the areas of its level inside its listed areas (all of that level when none is listed)."""
    devices = dict(s.execute(
        select(Device.indicator_id, func.count()).join(Area, Area.id == Device.area_id)
        .where(Device.active.is_(True), authz.area_clause(actor, Area.path))
        .group_by(Device.indicator_id)).all())
    per_level = dict(s.execute(select(Area.level, func.count()).where(authz.area_clause(actor, Area.path))
                               .group_by(Area.level)).all())
    listed, inner = aliased(Area), aliased(Area)
    in_listed = dict(s.execute(
        select(IndicatorArea.indicator_id, func.count(func.distinct(inner.id)))
        .join(Indicator, Indicator.id == IndicatorArea.indicator_id)
        .join(listed, listed.id == IndicatorArea.area_id)
        .join(inner, and_(inner.level == Indicator.level,
                          or_(inner.id == listed.id, inner.path.like(listed.path + "%"))))
        .where(authz.area_clause(actor, inner.path))
        .group_by(IndicatorArea.indicator_id)).all())
    has_listed = set(s.scalars(select(IndicatorArea.indicator_id).distinct()))
    # a device-measured indicator is expected where its devices are, in scope or not
    has_devices = set(s.scalars(select(Device.indicator_id).where(Device.active.is_(True)).distinct()))
    out: dict[int, int] = {}
    for r in rows:
        if r.id in has_devices:
            out[r.id] = int(devices.get(r.id, 0))
        elif r.id in has_listed:
            out[r.id] = int(in_listed.get(r.id, 0))
        else:
            out[r.id] = int(per_level.get(r.level, 0))
    return out


def _readings_in(s: Session, actor: Actor, since: datetime, until: datetime | None = None) -> dict[int, int]:
    """Readings per indicator from the hourly rollups of the hours that begin at or after ``since``."""
    stmt: Any = (select(ReadingRollup.indicator_id, func.sum(ReadingRollup.count))
                 .where(ReadingRollup.hour >= since).group_by(ReadingRollup.indicator_id))
    if until is not None:
        stmt = stmt.where(ReadingRollup.hour < until)
    if actor.area_paths is not None:
        stmt = stmt.join(Area, Area.id == ReadingRollup.area_id).where(authz.area_clause(actor, Area.path))
    return {int(i): int(n or 0) for i, n in s.execute(stmt)}


def _intake(s: Session, since: date) -> dict[int, tuple[int, int, int]]:
    """Per indicator: late, rejected and duplicate readings that arrived on or after the local day ``since``."""
    return {int(i): (int(a or 0), int(b or 0), int(c or 0)) for i, a, b, c in s.execute(
        select(IndicatorIntakeDay.indicator_id, func.sum(IndicatorIntakeDay.late),
               func.sum(IndicatorIntakeDay.rejected), func.sum(IndicatorIntakeDay.duplicate))
        .where(IndicatorIntakeDay.day >= since).group_by(IndicatorIntakeDay.indicator_id))}


def _units(s: Session, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {u.id: u for u in s.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(wanted)))}


def _stale_series(s: Session, actor: Actor, rows: list[Any], now: datetime, stale_after: float) -> list[dict[str, Any]]:
    """The stale series of real-time indicators in scope, longest silent first, with their open warning."""
    realtime = {r.id: r for r in rows if r.realtime}
    if not realtime:
        return []
    by_freq: dict[int, list[int]] = defaultdict(list)
    for r in realtime.values():
        by_freq[r.frequency_s].append(r.id)
    silent = or_(*(and_(LatestReading.indicator_id.in_(ids),
                        LatestReading.at < now - timedelta(seconds=col.stale_after_s(f, stale_after)))
                   for f, ids in sorted(by_freq.items())))
    found = s.execute(
        select(LatestReading.indicator_id, LatestReading.series_key, LatestReading.at, Area.code, Area.name,
               IndicatorWarning.id, IndicatorWarning.level, IndicatorWarning.acknowledged_at)
        .join(Area, Area.id == LatestReading.area_id)
        .outerjoin(IndicatorWarning, and_(IndicatorWarning.indicator_id == LatestReading.indicator_id,
                                          IndicatorWarning.series_key == LatestReading.series_key,
                                          IndicatorWarning.state == "firing"))
        .where(silent, authz.area_clause(actor, Area.path))
        .order_by(LatestReading.at, LatestReading.indicator_id, LatestReading.series_key)
        .limit(MAX_STALE_LISTED)).all()
    units = _units(s, (realtime[i].owner_unit_id for i, *_ in found))
    out = []
    for ind_id, key, at, area_code, area_name, wid, level, acked in found:
        r = realtime[ind_id]
        owner = units.get(r.owner_unit_id)
        out.append({"indicator_code": r.code, "indicator_name": r.name, "series_key": key, "area_code": area_code,
                    "area_name": area_name, "last_at": at, "silent_s": int((now - at).total_seconds()),
                    "frequency_s": r.frequency_s, "owner_unit_code": owner.code if owner else None,
                    "owner_unit_name": owner.name if owner else None, "warning_id": wid, "warning_level": level,
                    "acknowledged": acked is not None})
    return out


# --- the page ----------------------------------------------------------------------------------------


def governance(uow: UnitOfWork, actor: Actor, *, window_h: int = 24, now: datetime | None = None) -> dict[str, Any]:
    """Collection governance in the reader's scope over the last ``window_h`` hours: per indicator, per
    source system and per runway lead unit (coverage, staleness, gaps, late, rejected), the stale series
    with their no-data warnings, and the online plan's progress."""
    authz.require(actor, p.INDICATOR_READ)
    if not 1 <= window_h <= MAX_WINDOW_H:
        raise Invalid(f"the window is 1 to {MAX_WINDOW_H} hours", field="window_h")
    at = now or datetime.now(UTC)
    since = at - timedelta(hours=window_h)
    with uow:
        s = uow.session
        rule = _rule(s)
        rows = _indicators(s)
        expected = _expected_series(s, actor, rows)
        latest = _reading_facts(s, actor, at, rule.stale_after)
        # whole hours only: the rollup of the hour ``since`` falls in counts if it began after it
        readings = _readings_in(s, actor, since)
        window_s = window_h * 3600
        intake = _intake(s, since.astimezone(SHANGHAI).date())
        stale = _stale_series(s, actor, rows, at, rule.stale_after)
        units = _units(s, [r.owner_unit_id for r in rows] + [r.lead_unit_id for r in rows])
        plan = _plan(s, at)
    per_indicator: list[dict[str, Any]] = []
    qualities: list[col.Quality] = []
    by_source: dict[str, list[col.Quality]] = defaultdict(list)
    by_lead: dict[int | None, list[col.Quality]] = defaultdict(list)
    for r in rows:
        n_series, n_stale = latest.get(r.id, (0, 0))
        exp = expected.get(r.id, 0)
        if not exp and not n_series:
            continue  # nothing of it in the reader's scope
        late, rejected, duplicate = intake.get(r.id, (0, 0, 0))
        q = col.indicator_quality(expected_series=exp, reporting_series=n_series,
                                  stale_series=n_stale if r.realtime else 0, readings=readings.get(r.id, 0),
                                  frequency_s=r.frequency_s, window_s=window_s, late=late, rejected=rejected,
                                  duplicate=duplicate)
        owner, lead = units.get(r.owner_unit_id), units.get(r.lead_unit_id) if r.lead_unit_id else None
        per_indicator.append({
            "code": r.code, "name": r.name, "source_system": r.source_system or "", "frequency_s": r.frequency_s,
            "realtime": r.realtime, "traceable": r.traceable, "evaluable": r.evaluable, "warning": r.warning,
            "retention_days": r.retention_days, "runway_code": r.runway_code, "runway_name": r.runway_name,
            "owner_unit_code": owner.code if owner else None, "owner_unit_name": owner.name if owner else None,
            "lead_unit_code": lead.code if lead else None, "lead_unit_name": lead.name if lead else None,
            **q.as_dict()})
        qualities.append(q)
        by_source[r.source_system or ""].append(q)
        by_lead[r.lead_unit_id].append(q)
    # worst first: least covered, then least fresh
    per_indicator.sort(key=lambda x: (x["coverage"] if x["coverage"] is not None else 2,
                                      x["freshness"] if x["freshness"] is not None else 2, x["code"]))
    sources = [{"source_system": k, **col.total(v).as_dict()} for k, v in sorted(by_source.items())]
    leads = []
    for uid, v in by_lead.items():
        u = units.get(uid) if uid else None
        leads.append({"unit_code": u.code if u else None, "unit_name": u.name if u else None,
                      **col.total(v).as_dict()})
    leads.sort(key=lambda x: (x["unit_code"] is None, x["coverage"] if x["coverage"] is not None else 2))
    return {"at": at, "window_h": window_h, "stale_after": rule.stale_after, "no_data_level": col.NO_DATA_LEVEL,
            "totals": col.total(qualities).as_dict(),
            "indicators": per_indicator, "sources": sources, "lead_units": leads, "stale_series": stale,
            "stale_listed_max": MAX_STALE_LISTED, "plan": plan}


# --- the online plan (成熟一批、上线一批) --------------------------------------------------------------------


def _plan(s: Session, now: datetime) -> dict[str, Any]:
    rows = s.scalars(select(IndicatorPlanEntry).order_by(IndicatorPlanEntry.planned_on,
                                                         IndicatorPlanEntry.indicator_code)).all()
    entries = [col.PlanEntry(r.indicator_code, r.batch, r.planned_on, r.online_on) for r in rows]
    today = now.astimezone(SHANGHAI).date()
    names = dict(s.execute(select(Indicator.code, Indicator.name)
                           .where(Indicator.code.in_([r.indicator_code for r in rows[:5000]]))).all()) if rows else {}
    return {**col.plan_progress(entries, today),
            "entries": [{"indicator_code": e.indicator_code, "indicator_name": names.get(e.indicator_code),
                         "batch": e.batch, "planned_on": e.planned_on.isoformat(),
                         "online_on": e.online_on.isoformat() if e.online_on else None,
                         "overdue": e.online_on is None and e.planned_on < today} for e in entries]}


def get_plan(uow: UnitOfWork, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """The online plan with its progress (planned vs online by date, per batch)."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        return _plan(uow.session, now or datetime.now(UTC))


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise Invalid(f"'{value}' is not a date (write 2026-12-31)", field=field) from None


def put_plan(uow: UnitOfWork, actor: Actor, items: Sequence[Mapping[str, Any]],
             now: datetime | None = None) -> dict[str, Any]:
    """Replace the online plan: ``[{"indicator_code", "batch", "planned_on", "online_on"?}]``. An indicator
    may be planned before it is in the catalogue; ``online_on`` left out keeps the day it was seen online.
    Installation-wide (the plan is the whole city's); audited."""
    authz.require(actor, p.INDICATOR_WRITE)
    if actor.area_paths is not None:
        authz.ensure_config_in_scope(actor, None, "the online plan", field="entries")
    if len(items) > MAX_PLAN:
        raise Invalid(f"at most {MAX_PLAN} entries", field="entries")
    parsed: dict[str, tuple[str, date, date | None]] = {}
    for i, item in enumerate(items):
        code = item.get("indicator_code")
        if not isinstance(code, str) or not code.strip() or len(code.strip()) > 40:
            raise Invalid("an indicator code is 1-40 characters", field=f"entries[{i}].indicator_code")
        code = code.strip()
        if code in parsed:
            raise Invalid(f"indicator '{code}' is planned twice", field=f"entries[{i}].indicator_code")
        batch = item.get("batch")
        if not isinstance(batch, str) or not col.BATCH_NAME.match(batch.strip()):
            raise Invalid("a batch is named in 1-60 characters", field=f"entries[{i}].batch")
        planned = _date(item.get("planned_on"), f"entries[{i}].planned_on")
        online = _date(item["online_on"], f"entries[{i}].online_on") if item.get("online_on") else None
        parsed[code] = (batch.strip(), planned, online)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        existing = {r.indicator_code: r for r in s.scalars(select(IndicatorPlanEntry))}
        before = {c: [r.batch, r.planned_on.isoformat(), r.online_on.isoformat() if r.online_on else None]
                  for c, r in existing.items()}
        for code, old in existing.items():
            if code not in parsed:
                s.delete(old)
        for code, (batch, planned, online) in parsed.items():
            row = existing.get(code)
            if row is None:
                s.add(IndicatorPlanEntry(indicator_code=code, batch=batch, planned_on=planned, online_on=online,
                                         updated_by=actor.label, updated_at=at))
            else:
                row.batch, row.planned_on, row.updated_by, row.updated_at = batch, planned, actor.label, at
                if online is not None:
                    row.online_on = online
        after = {c: [b, pl.isoformat(), on.isoformat() if on else None] for c, (b, pl, on) in parsed.items()}
        audit.record_change(s, actor, "indicator_plan.update", "indicator_plan", before, after)
        s.flush()
        _mark_online(s, at)
        uow.commit()
        return _plan(s, at)


def _mark_online(s: Session, now: datetime) -> int:
    """Planned indicators not yet online that have a reading now are online from today."""
    waiting = s.scalars(select(IndicatorPlanEntry).where(IndicatorPlanEntry.online_on.is_(None))).all()
    if not waiting:
        return 0
    reporting = set(s.scalars(
        select(Indicator.code).where(Indicator.code.in_([w.indicator_code for w in waiting]),
                                     Indicator.id.in_(select(LatestReading.indicator_id).distinct()))))
    today = now.astimezone(SHANGHAI).date()
    n = 0
    for w in waiting:
        if w.indicator_code in reporting:
            w.online_on, n = today, n + 1
    return n


def mark_online(uow: UnitOfWork, now: datetime | None = None) -> int:
    """The worker's job: planned indicators whose first readings arrived are online from today."""
    with uow:
        n = _mark_online(uow.session, now or datetime.now(UTC))
        uow.commit()
        return n


# --- the no-data notice to the owner ----------------------------------------------------------------------


def on_no_data_warning(s: Session, change: hooks.WarningChange) -> None:
    """WARNING_HOOKS: a warning that fires while its series is silent (the staleness alarm, or a rule's own
    ``no_data`` condition) is told to the indicator's owner (责任单位) by the ``warning.no_data`` notice
    policy — the centre's duty officers hear of red and orange warnings already; the owner must restore
    the data."""
    from shuzhi.domain.notices import NoticeKind, local_deadline
    from shuzhi.services.notices import escalation
    from shuzhi.services.notices.hooks import STALE, settings

    if change.level is None or change.payload.get("change") != "fired" or change.payload.get("value") is not None:
        return
    if change.at < datetime.now(UTC) - STALE:
        return  # history being replayed wakes nobody
    ind = s.execute(select(Indicator.id, Indicator.name, Indicator.frequency_s, Indicator.owner_unit_id)
                    .where(Indicator.code == change.indicator_code)).first()
    if ind is None:
        return
    last = s.scalar(select(LatestReading.at).where(LatestReading.indicator_id == ind.id,
                                                   LatestReading.series_key == change.series_key))
    if last is not None and change.at - last < timedelta(seconds=ind.frequency_s):
        return  # not silent: a ``for`` timer ran out between readings
    unit = s.get(Unit, ind.owner_unit_id)
    if unit is None:
        return
    area = s.scalar(select(Area.name).where(Area.code == change.area_code)) or change.area_code
    context = {"number": f"W{change.warning_id}", "class_name": ind.name, "place": area,
               "level": change.level, "deadline_text": local_deadline(change.at + timedelta(hours=2))}
    chain = escalation.start_chain(s, kind=NoticeKind.WARNING_NO_DATA.value,
                                   subject=f"no_data:{change.indicator_code}:{change.series_key}", unit=unit,
                                   context=context, at=change.at, base_url=settings().public_base_url)
    if chain is None:
        log.warning("no notice policy serves warning.no_data: the silence of %s/%s is on the warnings page only",
                    change.indicator_code, change.series_key)


# --- the lead units' figures for evaluation ---------------------------------------------------------------


def _narrowed(paths: tuple[str, ...] | None, area_path: str) -> tuple[str, ...]:
    if paths is None or any(area_path.startswith(x) for x in paths):
        return (area_path,)
    return tuple(x for x in paths if x.startswith(area_path))


def lead_unit_counts(s: Session, actor: Actor, lo: datetime, hi: datetime, *, now: datetime | None = None,
                     area_path: str | None = None) -> dict[int, dict[str, int]]:
    """Per runway lead unit, its evaluable indicators' data and warnings in ``[lo, hi)``
    (:data:`shuzhi.domain.evaluation.RUNWAY_MEASURES`): series expected, reporting and stale now; readings
    received against expected in the period up to now; warnings fired in the period, acknowledged within
    :data:`WARNING_ACK_WITHIN`, ended. Series and warnings are cut to the reader's scope (and ``area_path``)."""
    at = now or datetime.now(UTC)
    rows = [r for r in _indicators(s) if r.evaluable and r.lead_unit_id is not None]
    if not rows:
        return {}
    view = actor
    if area_path is not None:  # an evaluation of one area: its subtree, within the reader's own
        view = replace(actor, area_paths=_narrowed(actor.area_paths, area_path))
    rule = _rule(s)
    expected = _expected_series(s, view, rows)
    latest = _reading_facts(s, view, at, rule.stale_after)
    until = min(hi, at)
    readings = _readings_in(s, view, lo, until) if until > lo else {}
    period_s = max(0.0, (until - lo).total_seconds())
    ids = [r.id for r in rows]
    warnings: dict[int, tuple[int, int, int]] = {}
    # per warning, not in SQL: date arithmetic differs between the engines, and a period has few warnings
    stmt: Any = (select(IndicatorWarning.indicator_id, IndicatorWarning.fired_at, IndicatorWarning.acknowledged_at,
                        IndicatorWarning.state)
                 .where(IndicatorWarning.indicator_id.in_(ids), IndicatorWarning.fired_at >= lo,
                        IndicatorWarning.fired_at < hi, authz.area_clause(view, IndicatorWarning.area_path)))
    for i, fired, acked, state in s.execute(stmt):
        n, a, c = warnings.get(int(i), (0, 0, 0))
        on_time = acked is not None and acked - fired <= WARNING_ACK_WITHIN
        warnings[int(i)] = (n + 1, a + int(on_time), c + int(state in ("resolved", "cleared")))
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        exp = expected.get(r.id, 0)
        n_series, n_stale = latest.get(r.id, (0, 0))
        w = warnings.get(r.id, (0, 0, 0))
        if not exp and not n_series and not w[0]:
            continue
        q = col.indicator_quality(expected_series=exp, reporting_series=n_series,
                                  stale_series=n_stale if r.realtime else 0, readings=readings.get(r.id, 0),
                                  frequency_s=r.frequency_s, window_s=period_s)
        figures = out.setdefault(int(r.lead_unit_id), dict.fromkeys(
            ("runway_indicators", "runway_series_expected", "runway_series_reporting", "runway_series_stale",
             "runway_readings", "runway_readings_expected", "runway_warnings", "runway_warnings_acked_on_time",
             "runway_warnings_closed"), 0))
        figures["runway_indicators"] += 1
        figures["runway_series_expected"] += q.expected_series
        figures["runway_series_reporting"] += q.reporting_series
        figures["runway_series_stale"] += q.stale_series
        figures["runway_readings"] += q.readings
        figures["runway_readings_expected"] += round(q.expected_readings)
        figures["runway_warnings"] += w[0]
        figures["runway_warnings_acked_on_time"] += w[1]
        figures["runway_warnings_closed"] += w[2]
    return out
