"""Notices for people and pages: what was sent, delivered and acknowledged — per event and per person —
people's channels and quiet hours, the units' group robots and the escalation policies.

Scope: an event's notices are seen by whoever sees the event; a person's by that person and by those
whose area scope holds the person's unit; settings are one's own (or ``notice.admin``'s); robots and
policies are configuration (``notice.admin``). Notices never carry reporters' personal data; phone
numbers are shown masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters import im_robots
from shuzhi.adapters.db.tables import Area, Event, Person, Unit
from shuzhi.adapters.db.tables_notices import (
    EscalationPolicy,
    Notice,
    NoticeChain,
    NoticeReceipt,
    NoticeRobot,
    NoticeSetting,
)
from shuzhi.domain import notices as rules
from shuzhi.domain.permissions import NOTICE_ADMIN
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.notices import escalation
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

MAX_LIST = 500


@dataclass(frozen=True)
class NoticeView:
    id: int
    chain_id: int | None
    step: int
    kind: str
    who: str
    channel: str
    to: str
    person_code: str | None
    person_name: str | None
    title: str
    body: str
    parts: int
    state: str
    reason: str | None
    attempts: int
    created_at: datetime
    submitted_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    receipts: list[dict[str, Any]]
    #: The chain's state (open → the page offers to acknowledge) and the event number it is about.
    chain_state: Annotated[str | None, Field(
        description="the chain's state: open means it can be acknowledged")] = None
    number: Annotated[str | None, Field(
        description="the number of the event or warning the chain is about")] = None


def _to(n: Notice) -> str:
    return rules.mask_phone(n.address) if n.channel == "sms" else n.address


def _views(s: Session, notices: list[Notice]) -> list[NoticeView]:
    ids = [n.id for n in notices]
    people = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_({n.person_id for n in notices
                                                                              if n.person_id})))}
    receipts: dict[int, list[dict[str, Any]]] = {}
    for i in range(0, len(ids), 900):
        for r in s.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id.in_(ids[i:i + 900]))
                           .order_by(NoticeReceipt.at, NoticeReceipt.id)):
            receipts.setdefault(r.notice_id or 0, []).append(
                {"at": r.at, "kind": r.kind, "channel": r.channel, "status": r.status, "detail": r.detail})
    chain_ids = {n.chain_id for n in notices if n.chain_id}
    chains = {c.id: c for c in s.scalars(select(NoticeChain).where(NoticeChain.id.in_(chain_ids)))} \
        if chain_ids else {}
    out = []
    for n in notices:
        p = people.get(n.person_id) if n.person_id else None
        c = chains.get(n.chain_id) if n.chain_id else None
        out.append(NoticeView(n.id, n.chain_id, n.step, n.kind, n.who, n.channel, _to(n), p.code if p else None,
                              p.name if p else None, n.title, n.body, n.parts, n.state, n.reason, n.attempts,
                              n.created_at, n.submitted_at, n.delivered_at, n.last_error, receipts.get(n.id, []),
                              c.state if c else None, (c.context or {}).get("number") if c else None))
    return out


def _chain_view(c: NoticeChain) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "policy": c.policy_code, "subject": c.subject, "state": c.state,
            "step": c.step_index, "steps": c.steps, "next_step_at": c.next_step_at, "started_at": c.started_at,
            "acked_at": c.acked_at, "acked_by": c.acked_by, "ack_channel": c.ack_channel,
            "number": c.context.get("number")}


def event_notices(uow: UnitOfWork, actor: Actor, ref: str) -> dict[str, Any]:
    """Every chain and notice of an event, with their receipts (the event page's 通知 section)."""
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        chains = list(s.scalars(select(NoticeChain).where(NoticeChain.event_id == event.id)
                                .order_by(NoticeChain.id)))
        notices = list(s.scalars(select(Notice).where(Notice.event_id == event.id).order_by(Notice.id)
                                 .limit(MAX_LIST)))
        return {"event": event.number, "chains": [_chain_view(c) for c in chains], "notices": _views(s, notices)}


def person_notices(uow: UnitOfWork, actor: Actor, person_code: str | None, *, limit: int = 100,
                   before_id: int | None = None) -> list[NoticeView]:
    """A person's notices, newest first (one's own, or someone's in one's scope)."""
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be 1…{MAX_LIST}", field="limit")
    with uow:
        s = uow.session
        person = _person_in_scope(s, actor, person_code)
        q = select(Notice).where(Notice.person_id == person.id).order_by(Notice.id.desc()).limit(limit)
        if before_id is not None:
            q = q.where(Notice.id < before_id)
        return _views(s, list(s.scalars(q)))


def _person_in_scope(s: Session, actor: Actor, code: str | None) -> Person:
    if code is None:
        if actor.person_id is None:
            raise Invalid("name a person", field="person_code")
        person = s.get(Person, actor.person_id)
    else:
        person = s.scalars(select(Person).where(Person.code == code)).first()
    if person is None:
        raise NotFound("person not found")
    if person.id != actor.person_id:
        path = s.scalar(select(Area.path).join(Unit, Unit.area_id == Area.id).where(Unit.id == person.unit_id))
        authz.ensure_visible(actor, path, [person.unit_id], what="person")
    return person


def chain_detail(uow: UnitOfWork, actor: Actor, chain_id: int) -> dict[str, Any]:
    with uow:
        s = uow.session
        chain = _chain_in_scope(s, actor, chain_id)
        notices = list(s.scalars(select(Notice).where(Notice.chain_id == chain.id).order_by(Notice.id)))
        return {**_chain_view(chain), "notices": _views(s, notices)}


def _chain_in_scope(s: Session, actor: Actor, chain_id: int) -> NoticeChain:
    chain = s.get(NoticeChain, chain_id)
    if chain is None:
        raise NotFound("notice chain not found")
    recipient = actor.person_id is not None and s.scalar(select(Notice.id).where(
        Notice.chain_id == chain.id, Notice.person_id == actor.person_id).limit(1)) is not None
    if recipient:
        return chain
    if chain.event_id is not None:
        event = s.get(Event, chain.event_id)
        if event is not None:
            try:
                authz.ensure_event_visible(actor, event)
            except NotFound:
                raise NotFound("notice chain not found") from None  # worded as for a missing chain
            return chain
    unit = s.get(Unit, chain.unit_id)
    authz.ensure_visible(actor, unit.area.path if unit else None, [chain.unit_id], what="notice chain")
    return chain


def acknowledge_on_page(uow: UnitOfWork, actor: Actor, chain_id: int, *, at: datetime | None = None
                        ) -> dict[str, Any]:
    """Acknowledge from the page (a recipient, or someone who sees the event)."""
    now = at or datetime.now(UTC)
    with uow:
        s = uow.session
        chain = _chain_in_scope(s, actor, chain_id)
        if chain.state != "open":
            raise Conflict(f"the notice was already {chain.state} ({chain.acked_by or ''})", field="chain_id")
        escalation.acknowledge(s, chain, channel="page", at=now, person_id=actor.person_id, who=actor.name,
                               person_code=actor.code)
        uow.commit()
        return _chain_view(chain)


# --- people's channels and quiet hours -------------------------------------------------------------------


def get_setting(uow: UnitOfWork, actor: Actor, person_code: str | None) -> dict[str, Any]:
    with uow:
        s = uow.session
        person = _person_in_scope(s, actor, person_code)
        st = s.get(NoticeSetting, person.id)
        return {"person_code": person.code, "phone": rules.mask_phone(person.phone),
                "channels": st.channels if st and st.channels else [c.value for c in rules.Channel],
                "quiet_start": st.quiet_start if st else None, "quiet_end": st.quiet_end if st else None}


def put_setting(uow: UnitOfWork, actor: Actor, person_code: str | None, channels: list[str],
                quiet_start: str | None, quiet_end: str | None) -> dict[str, Any]:
    """One's own channels and quiet hours (or anyone's, for ``notice.admin``). The inbox always stays on;
    quiet hours hold back non-urgent SMS and IM only — a red warning still wakes the duty officer."""
    for i, c in enumerate(channels):
        if c not in rules.Channel._value2member_map_:
            raise Invalid(f"'{c}' is not one of sms, im, inapp", field=f"channels[{i}]")
    try:
        start = rules.parse_clock(quiet_start, "quiet_start")
        end = rules.parse_clock(quiet_end, "quiet_end")
    except rules.PolicyError as exc:
        raise Invalid(exc.message, field=exc.field) from None
    if (start is None) != (end is None):
        raise Invalid("give both ends of the quiet hours, or neither", field="quiet_end")
    with uow:
        s = uow.session
        person = _person_in_scope(s, actor, person_code)
        if person.id != actor.person_id:
            authz.require(actor, NOTICE_ADMIN)
        st = s.get(NoticeSetting, person.id) or NoticeSetting(person_id=person.id)
        st.channels = sorted(set(channels) | {"inapp"})
        st.quiet_start = start.strftime("%H:%M") if start else None
        st.quiet_end = end.strftime("%H:%M") if end else None
        st.updated_by = actor.code
        s.add(st)
        uow.commit()
    return get_setting(uow, actor, person_code)


# --- robots and policies (configuration) -------------------------------------------------------------------


def _robot_view(r: NoticeRobot, unit_code: str) -> dict[str, Any]:
    return {"id": r.id, "unit_code": unit_code, "kind": r.kind, "name": r.name, "enabled": r.enabled,
            "webhook": _mask_url(r.webhook_url), "signed": bool(r.secret), "secret": _mask_secret(r.secret),
            "created_by": r.created_by, "created_at": r.created_at}


def list_robots(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """The group robots of the units whose areas the administrator may configure (keys never shown)."""
    authz.require(actor, NOTICE_ADMIN)
    with uow:
        rows = uow.session.execute(select(NoticeRobot, Unit.code).join(Unit, Unit.id == NoticeRobot.unit_id)
                                   .join(Area, Area.id == Unit.area_id)
                                   .where(authz.config_clause(actor, Area.path))
                                   .order_by(NoticeRobot.id)).all()
        return [_robot_view(r, code) for r, code in rows]


def _mask_url(url: str) -> str:
    # the key / access_token in a robot's URL is its credential
    head, _, query = url.partition("?")
    return head + ("?…" if query else "")


def _mask_secret(secret: str | None) -> str | None:
    """A signing secret as the page may show it: enough to tell two apart, never enough to sign."""
    if not secret:
        return None
    return secret[:3] + "********" + secret[-4:] if len(secret) >= 16 else "********"


def _robot_in_scope(s: Session, actor: Actor, robot_id: int) -> tuple[NoticeRobot, Unit]:
    robot = s.get(NoticeRobot, robot_id)
    unit = s.get(Unit, robot.unit_id) if robot is not None else None
    # another area's robot reads as missing: its existence does not leak
    if robot is None or unit is None or not authz.path_visible(actor, unit.area.path):
        raise NotFound("group robot not found")
    return robot, unit


def add_robot(uow: UnitOfWork, actor: Actor, *, unit_code: str, kind: str, name: str, webhook_url: str,
              secret: str | None) -> dict[str, Any]:
    authz.require(actor, NOTICE_ADMIN)
    if kind not in im_robots.KINDS:
        raise Invalid("kind must be wecom or dingtalk", field="kind")
    if not name.strip():
        raise Invalid("name the robot", field="name")
    if not webhook_url.startswith(("http://", "https://")):
        raise Invalid("the webhook must start with http:// or https://", field="webhook_url")
    if kind == im_robots.WECOM and "key=" not in webhook_url:
        raise Invalid("a WeCom group robot's webhook carries its key (…/webhook/send?key=…)", field="webhook_url")
    if kind == im_robots.DINGTALK and "access_token=" not in webhook_url:
        raise Invalid("a DingTalk robot's webhook carries access_token=…", field="webhook_url")
    with uow:
        s = uow.session
        unit = s.scalars(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None or not authz.path_visible(actor, unit.area.path):
            raise Invalid(f"unknown unit '{unit_code}'", field="unit_code")
        robot = NoticeRobot(unit_id=unit.id, kind=kind, name=name.strip(), webhook_url=webhook_url,
                            secret=secret or None, enabled=True, created_by=actor.code)
        s.add(robot)
        s.flush()
        audit.record(s, actor, "notice.robot.add", f"notice_robot:{robot.id}", {"unit": unit_code, "kind": kind,
                                                                                 "signed": bool(secret)})
        uow.commit()
        return _robot_view(robot, unit_code)


def update_robot(uow: UnitOfWork, actor: Actor, robot_id: int, *, enabled: bool | None = None,
                 name: str | None = None) -> dict[str, Any]:
    """Disable (its queued notices then fail as "removed or disabled", the chain climbs on) or enable a
    robot, or rename it. The webhook and secret are not changed here: a new key is a new robot."""
    authz.require(actor, NOTICE_ADMIN)
    if name is not None and not name.strip():
        raise Invalid("name the robot", field="name")
    with uow:
        s = uow.session
        robot, unit = _robot_in_scope(s, actor, robot_id)
        obj = f"notice_robot:{robot.id}"
        if enabled is not None and enabled != robot.enabled:
            robot.enabled = enabled
            audit.record(s, actor, "notice.robot.enable" if enabled else "notice.robot.disable", obj,
                         {"unit": unit.code})
        if name is not None and name.strip() != robot.name:
            audit.record(s, actor, "notice.robot.rename", obj, {"from": robot.name, "to": name.strip()})
            robot.name = name.strip()
        uow.commit()
        return _robot_view(robot, unit.code)


def remove_robot(uow: UnitOfWork, actor: Actor, robot_id: int) -> None:
    """Remove a robot for good (its key leaves the database); notices already sent keep their receipts."""
    authz.require(actor, NOTICE_ADMIN)
    with uow:
        s = uow.session
        robot, unit = _robot_in_scope(s, actor, robot_id)
        audit.record(s, actor, "notice.robot.remove", f"notice_robot:{robot.id}",
                     {"unit": unit.code, "kind": robot.kind, "name": robot.name})
        s.delete(robot)
        uow.commit()


def list_policies(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    with uow:
        s = uow.session
        escalation.ensure_default_policies(s, datetime.now(UTC))
        uow.commit()
        return [{"code": p.code, "name": p.name, "kind": p.kind, "steps": p.steps, "enabled": p.enabled,
                 "version": p.version, "updated_by": p.updated_by, "updated_at": p.updated_at}
                for p in s.scalars(select(EscalationPolicy).order_by(EscalationPolicy.code))]


def put_policy(uow: UnitOfWork, actor: Actor, code: str, *, name: str, kind: str, steps: list[Any],
               enabled: bool = True, expected_version: int | None = None) -> dict[str, Any]:
    """Create or replace a policy; its steps are checked when saved, so escalation never meets a bad one."""
    authz.require(actor, NOTICE_ADMIN)
    # a policy serves the whole installation: only an administrator of the whole installation sets it
    authz.ensure_config_in_scope(actor, None, what="escalation policies", field="code")
    if not name.strip():
        raise Invalid("name the policy", field="name")
    if kind not in rules.NoticeKind._value2member_map_:
        raise Invalid(f"kind must be one of {', '.join(k.value for k in rules.NoticeKind)}", field="kind")
    try:
        parsed = rules.parse_steps(steps)
    except rules.PolicyError as exc:
        raise Invalid(exc.message, field=exc.field) from None
    with uow:
        s = uow.session
        escalation.ensure_default_policies(s, datetime.now(UTC))
        p = s.get(EscalationPolicy, code)
        if p is not None and expected_version is not None and p.version != expected_version:
            raise Conflict(f"the policy changed meanwhile (version {p.version})", field="expected_version")
        before = None if p is None else {"name": p.name, "kind": p.kind, "steps": p.steps, "enabled": p.enabled}
        if p is None:
            p = EscalationPolicy(code=code, version=0)
            s.add(p)
        p.name, p.kind, p.steps, p.enabled = name, kind, rules.steps_document(parsed), enabled
        p.version = (p.version or 0) + 1
        p.updated_by = actor.code
        audit.record_change(s, actor, "notice.policy.put", f"escalation_policy:{code}", before,
                            {"name": name, "kind": kind, "steps": p.steps, "enabled": enabled}, version=p.version)
        uow.commit()
    return next(x for x in list_policies(uow, actor) if x["code"] == code)
