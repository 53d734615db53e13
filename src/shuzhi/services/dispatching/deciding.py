"""Rule-based automatic dispatch (自动分拨) with manual override (手动分拨).

* :func:`dry_run` answers "where would this event go, and why" and creates nothing.
* :func:`auto_dispatch` decides and dispatches through :func:`shuzhi.services.handling.dispatch`,
  writing the rule and the leaves that held on the timeline; :func:`override` is the duty officer's
  own choice with a mandatory reason, refused for a unit that has nothing to do with the event's area.

Compiled rules are cached per process and database; the cache key is the size and newest id of the
append-only ``dispatch_rule_versions`` table, which every change writes to, so a change made by any
process (another API worker, an import) is seen by the next decision.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import (
    DispatchRule,
    DispatchRuleVersion,
    Event,
    EventClass,
    Unit,
)
from shuzhi.domain.conditions import EventFacts
from shuzhi.domain.dispatch import Candidate
from shuzhi.domain.events import ACTIVE_TASK_STATES, EventMode, EventState, TaskRole, TaskState
from shuzhi.domain.permissions import EVENT_DISPATCH, RULE_READ
from shuzhi.domain.rules import Decision, Rule, RuleSet, decide
from shuzhi.domain.time_limits import Urgency
from shuzhi.services import commands as c
from shuzhi.services import handling
from shuzhi.services.actors import Actor
from shuzhi.services.areas_lookup import area_by_code
from shuzhi.services.calendars import calendar_for
from shuzhi.services.commands import ZonedDatetime
from shuzhi.services.dispatching.directory import CompiledDirectory, SqlDirectory, stamps, unit_directory
from shuzhi.services.dispatching.rule_sets import _Command
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


class FactsIn(_Command):
    """An event described by hand, for a dry run (nothing is stored)."""

    event_class_code: str | None = Field(default=None, max_length=20)
    source: c.Source | None = None
    request_type: c.RequestType | None = None
    urgency: Urgency | None = None
    area_code: str | None = Field(default=None, max_length=15)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=10_000)
    received_at: ZonedDatetime | None = Field(default=None, description="default: now")



class DryRun(_Command):
    """Either a stored event's number or the facts of an imagined one."""

    number: str | None = Field(default=None, max_length=40)
    facts: FactsIn | None = None

    @model_validator(mode="after")
    def _one(self) -> DryRun:
        if (self.number is None) == (self.facts is None):
            raise ValueError("give either 'number' or 'facts'")
        return self


class AutoDispatch(_Command):
    expected_version: int | None = None


class Override(_Command):
    """The duty officer's own choice of units, replacing the automatic one (手动分拨)."""

    units: list[c.UnitAssignment] = Field(min_length=1, max_length=50)
    reason: c.Reason
    #: Withdraw the open tasks first (e.g. the automatic dispatch went to the wrong unit).
    replace: bool = False
    expected_version: int | None = None

    @field_validator("units")
    @classmethod
    def _distinct(cls, v: list[c.UnitAssignment]) -> list[c.UnitAssignment]:
        codes = [u.unit_code for u in v]
        if len(set(codes)) != len(codes):
            raise ValueError("a unit is named twice")
        if any(u.role is TaskRole.NOTIFY for u in v):
            raise ValueError("use the notify action for units that only need to know")
        return v


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    kind: str
    level: str


@dataclass(frozen=True)
class DecisionView:
    """A decision with unit names, as shown to the duty officer."""

    lead: UnitView | None
    assist: list[UnitView]
    rule: str | None
    rule_name: str | None
    rule_version: int | None
    why: list[dict[str, Any]]
    fallback: bool
    message: str
    passed_over: list[dict[str, str]]
    facts: dict[str, Any]


# --- deciding ------------------------------------------------------------------------------------


@dataclass
class _Cached:
    key: tuple[Any, ...]
    rules: RuleSet


_cache_lock = threading.Lock()
_cache: dict[str, _Cached] = {}


def rule_set(s: Session, stamp: str | None = None) -> RuleSet:
    """The enabled rules, compiled; recompiled only when a rule changed (in any process).

    ``stamp`` is the database's ``dispatch_rules`` change stamp when the caller has read it (one row
    read for the rules and the organisation: :func:`decision_inputs`); without it the rule versions
    table answers: it only grows, so its size, newest id and newest time change with every committed
    change (the time also tells apart a database restored or emptied and refilled)."""
    url = str(s.get_bind().engine.url)
    key: tuple[Any, ...] = (stamp,) if stamp is not None else tuple(s.execute(
        select(func.count(DispatchRuleVersion.id), func.max(DispatchRuleVersion.id),
               func.max(DispatchRuleVersion.changed_at))).one())
    cached = _cache.get(url)
    if cached is not None and cached.key == key:
        return cached.rules
    with _cache_lock:
        cached = _cache.get(url)
        if cached is not None and cached.key == key:
            return cached.rules
        rules = RuleSet(
            Rule(code=r.code, name=r.name, priority=r.priority, condition=r.condition, targets=r.targets,
                 level=r.level, enabled=r.enabled, id=r.id, version=r.version, area_path=r.area_path)
            for r in s.scalars(select(DispatchRule).where(DispatchRule.enabled.is_(True)))
        )
        _cache[url] = _Cached(key, rules)
        return rules


def decision_inputs(s: Session) -> tuple[RuleSet, CompiledDirectory | SqlDirectory]:
    """The compiled rules and the unit directory for decisions in ``s``'s transaction: one row read
    (the change stamps) when nothing changed since this process last compiled them."""
    found = stamps(s)
    return rule_set(s, found.get("dispatch_rules")), unit_directory(s, found.get("organisation"))


def warm(uow: UnitOfWork) -> None:
    """Compile the rules and the unit directory now, not in the first decision: a city's organisation
    (76,796 units, 1.36 million duty rows) took 22–51 s to compile on the shared machine, a wait the
    first dispatcher of a new process would otherwise sit through. Called at start by a city's server."""
    with uow:
        decision_inputs(uow.session)


def _working(s: Session, at: datetime, centre_id: int | None) -> bool | None:
    """Whether ``at`` is in the receiving centre's office hours on a working day (entered years included)."""
    try:
        return calendar_for(s, centre_id).is_working_time(at)
    except Exception:  # a calendar problem must never stop dispatch: the leaf is just false
        return None


def facts_of(s: Session, event: Event) -> EventFacts:
    """What the rules see of a stored event."""
    cl = event.event_class
    return EventFacts(
        event_class=cl.code if cl else None, major_class=cl.major_code if cl else None, source=event.source,
        request_type=event.request_type, urgency=event.urgency, area_path=event.area_path,
        area_level=event.area.level if event.area else None, title=event.title, description=event.description,
        received_at=event.received_at, is_working_time=_working(s, event.received_at, event.owner_unit_id),
    )


def _facts_from_input(s: Session, f: FactsIn) -> EventFacts:
    cl = None
    if f.event_class_code:
        cl = s.scalar(select(EventClass).where(EventClass.code == f.event_class_code))
        if cl is None:
            raise Invalid(f"unknown event class '{f.event_class_code}'", field="facts.event_class_code")
    area = area_by_code(s, f.area_code, "facts.area_code") if f.area_code else None
    at = f.received_at or datetime.now(UTC)
    urgency = f.urgency.value if f.urgency else (cl.default_urgency if cl else None)
    return EventFacts(
        event_class=cl.code if cl else None, major_class=cl.major_code if cl else None,
        source=f.source.value if f.source else None,
        request_type=f.request_type.value if f.request_type else None,
        urgency=urgency, area_path=area.path if area else None, area_level=area.level if area else None,
        title=f.title, description=f.description, received_at=at, is_working_time=_working(s, at, None),
    )


def decide_for_event(s: Session, event: Event) -> Decision:
    """The decision for a stored event, inside the caller's transaction (used by reclassify too)."""
    rules, units = decision_inputs(s)
    return decide(rules, facts_of(s, event), units)


def _facts_dict(f: EventFacts) -> dict[str, Any]:
    minute = f.minute_of_day
    return {"event_class": f.event_class, "major_class": f.major_class, "source": f.source,
            "request_type": f.request_type, "urgency": f.urgency, "area_path": f.area_path,
            "area_level": f.area_level, "received_at": f.received_at.isoformat() if f.received_at else None,
            "time_of_day": None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}",
            "weekday": f.weekday, "is_working_time": f.is_working_time}


def _view(s: Session, d: Decision, facts: EventFacts) -> DecisionView:
    ids = [u.unit_id for u in ([d.lead] if d.lead else []) + list(d.assist)]
    names = dict(s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}

    def unit(cand: Candidate) -> UnitView:
        return UnitView(code=cand.code, name=names.get(cand.unit_id, ""), kind=cand.kind, level=cand.level)

    p = d.payload()
    return DecisionView(lead=unit(d.lead) if d.lead else None, assist=[unit(a) for a in d.assist],
                        rule=p["rule"], rule_name=p["rule_name"], rule_version=p["rule_version"],
                        why=p["why"], fallback=d.fallback, message=d.message, passed_over=p["passed_over"],
                        facts=_facts_dict(facts))


def dry_run(uow: UnitOfWork, cmd: DryRun, actor: Actor) -> DecisionView:
    """Where an event (stored and in the actor's scope, or described by its facts) would go, and why.
    Creates nothing."""
    authz.require(actor, RULE_READ)
    with uow:
        s = uow.session
        if cmd.facts is not None:
            facts = _facts_from_input(s, cmd.facts)
        else:
            facts = facts_of(s, handling.load_visible_event(s, cmd.number or "", actor))
        rules, units = decision_inputs(s)
        return _view(s, decide(rules, facts, units), facts)


def _dispatch_record(d: Decision) -> dict[str, Any]:
    return {**d.payload(), "override": False, "reason": None}


def auto_dispatch(uow: UnitOfWork, ref: str, actor: Actor, cmd: AutoDispatch | None = None, *,
                  now: datetime | None = None) -> Event:
    """Dispatch a registered event by the rules (or the grid principle), recording the decision.

    A notify-only event (抄送知悉) is copied to the units the rule names (lead, assisting and copied
    units alike) and never dispatched: only an officer turns it into a case. A handle event's lead and
    assisting units get tasks and the rule's ``copy`` units get copies for information.

    Refused (409) when nothing can be chosen, or when the chosen lead unit has already returned this
    event: a returned task goes back to the centre for re-dispatch or arbitration by a person, not
    round the same loop again.
    """
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        event = handling.load_actable_event(s, ref, actor)
        if event.state != EventState.REGISTERED.value:
            raise Conflict(f"automatic dispatch is for registered events; this one is {event.state}",
                           details={"state": event.state})
        if cmd is not None and cmd.expected_version is not None and cmd.expected_version != event.version:
            raise Conflict(f"the event is at version {event.version}, you had {cmd.expected_version}; reload "
                           "and retry", field="expected_version")
        decision = decide_for_event(s, event)
        if decision.lead is None:
            raise Conflict(decision.message, details=decision.payload())
        if event.mode == EventMode.NOTIFY.value:
            # never silently turn a copy for information into a case: the units the rule names are
            # copied; only a person turns it into a case (by dispatching a lead unit by hand)
            codes = list(dict.fromkeys(u.code for u in (decision.lead, *decision.assist, *decision.copy)))
            copy_cmd = c.Notify(unit_codes=codes, reason=decision.message[:2000], expected_version=event.version)
            return_copy = True
        else:
            return_copy = False
            returned = {t.unit_id: t.end_reason for t in event.tasks if t.state == TaskState.RETURNED.value}
            if decision.lead.unit_id in returned:
                raise Conflict(f"{decision.lead.code} already returned this event "
                               f"({returned[decision.lead.unit_id]}); the centre re-dispatches it by hand "
                               "(override)",
                               details=decision.payload())
            version = event.version
            units = [c.UnitAssignment(unit_code=decision.lead.code, role=TaskRole.LEAD)]
            units += [c.UnitAssignment(unit_code=a.code, role=TaskRole.ASSIST) for a in decision.assist
                      if a.unit_id not in returned]
    if return_copy:
        return handling.notify(uow, ref, copy_cmd, actor, now=now)
    dispatch = c.Dispatch(units=units, reason=decision.message[:2000], expected_version=version)
    return handling.dispatch(uow, ref, dispatch, actor, now=now, record=_dispatch_record(decision),
                             copy_codes=[u.code for u in decision.copy], automatic=True)


def apply_rules_in(s: Session, event: Event, actor: Actor, at: datetime, *, handle: bool = False) -> None:
    """Send a new event where the rules (or the grid principle) say, inside the caller's transaction — the
    automatic dispatch of an intake or a sensor warning. A notify-only event is *copied* to the units the
    rule names, never made a case (as :func:`auto_dispatch`) — unless ``handle``: a warning policy whose
    author set the level's action to *dispatch* (the copy → case is then the policy's, on its timeline
    as ``to_case``). A failure is written on the timeline (``event.auto_dispatch_failed``) and leaves
    the event registered for the duty officer."""
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.transitions import note

    s.flush()
    decision = decide_for_event(s, event)
    if decision.lead is None:
        note(s, event, actor, "event.auto_dispatch_failed", at, reason=decision.message[:2000],
             payload=decision.payload())
        return
    try:
        if event.mode == EventMode.NOTIFY.value and not handle:
            codes = list(dict.fromkeys(u.code for u in (decision.lead, *decision.assist, *decision.copy)))
            handling.notify_in(s, event.id, c.Notify(unit_codes=codes, reason=decision.message[:2000]), actor, at)
            return
        units = [c.UnitAssignment(unit_code=decision.lead.code, role=TaskRole.LEAD)]
        units += [c.UnitAssignment(unit_code=a.code, role=TaskRole.ASSIST) for a in decision.assist]
        handling.dispatch_in(s, event.id, c.Dispatch(units=units, reason=decision.message[:2000]), actor, at,
                             record={**decision.payload(), "override": False, "reason": None},
                             copy_codes=[u.code for u in decision.copy], automatic=not handle)
    except ServiceError as exc:
        note(s, event, actor, "event.auto_dispatch_failed", at, reason=exc.message[:2000])


def override(uow: UnitOfWork, ref: str, cmd: Override, actor: Actor, *, now: datetime | None = None) -> Event:
    """The duty officer dispatches by hand, with a reason, instead of (or after) the automatic choice.

    Each unit must sit in or cover the event's area (a unit of another town is refused, field
    ``units[i].unit_code``).  The timeline records ``override: true``, the reason, and what the rules
    would have chosen, so overrides can be reviewed against the rules.
    """
    authz.require(actor, EVENT_DISPATCH)
    with uow:
        s = uow.session
        event = handling.load_actable_event(s, ref, actor)
        if cmd.expected_version is not None and cmd.expected_version != event.version:
            raise Conflict(f"the event is at version {event.version}, you had {cmd.expected_version}; reload "
                           "and retry", field="expected_version")
        for i, a in enumerate(cmd.units):
            unit = s.scalar(select(Unit).where(Unit.code == a.unit_code))
            if unit is None or not unit.active:
                raise Invalid(f"unknown or inactive unit '{a.unit_code}'", field=f"units[{i}].unit_code")
            if not handling.unit_fits_area(s, unit, event.area_path):
                where = event.area.name if event.area else "no place"
                raise Invalid(f"{unit.code} ({unit.name}) neither sits in nor covers the event's area "
                              f"({where})", field=f"units[{i}].unit_code")
        suggested = decide_for_event(s, event)
        has_live = any(TaskState(t.state) in ACTIVE_TASK_STATES for t in event.tasks)
        version = event.version
    # What the rules would have done is kept beside the override, so overrides can be reviewed.
    record: dict[str, Any] = {
        "rule": None, "why": [], "fallback": None, "override": True, "reason": cmd.reason,
        "suggested": {"unit": suggested.lead.code if suggested.lead else None,
                      "rule": suggested.rule.code if suggested.rule else None, "message": suggested.message},
    }
    if cmd.replace and has_live:
        event = handling.withdraw(uow, ref, c.WithReason(reason=cmd.reason, expected_version=version), actor,
                                  now=now)
        version = event.version
    dispatch = c.Dispatch(units=cmd.units, reason=cmd.reason, expected_version=version)
    return handling.dispatch(uow, ref, dispatch, actor, now=now, record=record)
