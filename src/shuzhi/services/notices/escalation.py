"""Escalation chains: a notice goes to the people a policy names, step after step, until someone acknowledges.

``start_chain`` runs inside the caller's transaction (a warning firing, a plan starting), so the
chain and its first notices commit with the change that caused them — the notices table is the
durable outbox the sender works through (:mod:`shuzhi.services.notice_sender`). ``run_due_steps`` is
the worker's periodic job: it claims chains whose next step is due with a conditional UPDATE (one
worker wins each) and writes that step's notices. ``acknowledge`` ends a chain from any channel and
writes it on the event's timeline with the channel and the time.

Recipients (:class:`shuzhi.domain.notices.Who`):
- ``duty_officer``: the officers on duty at the unit now (duty roster); without a roster, the unit's
  people in the duty-officer role;
- ``unit_leader``: the leader on duty at the unit (roster), else the unit's people in the leader role;
- ``leader_in_charge``: the leader on duty at the unit's parent centre, else its leaders;
- ``task_holder``: whoever accepted the event's live tasks, else the handlers of those units;
- ``unit``: the unit itself — its phone, its group robots, its inbox.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.districts import district_of_event
from shuzhi.adapters.db.tables import Person, Task, TimelineEntry, Unit
from shuzhi.adapters.db.tables_notices import (
    EscalationPolicy,
    Notice,
    NoticeChain,
    NoticeReceipt,
    NoticeRobot,
    NoticeSetting,
)
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import notices as rules
from shuzhi.domain.notices import Channel, Who
from shuzhi.services import duty_roster, unit_of_work
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.notices import warning_link
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.notices")
UowFactory = Callable[[], UnitOfWork]
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on a phone
SMS_MAX_ATTEMPTS = 8
IM_MAX_ATTEMPTS = 5


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Target:
    who: Who
    unit_id: int
    person_id: int | None
    name: str
    phone: str | None


# --- policies ---------------------------------------------------------------------------------------


def ensure_default_policies(s: Session, at: datetime) -> None:
    """Store the default policies that are missing (an edited or disabled one is left as it is)."""
    have = set(s.scalars(select(EscalationPolicy.code)))
    for code, doc in rules.DEFAULT_POLICIES.items():
        if code not in have:
            rules.parse_steps(doc["steps"])
            s.add(EscalationPolicy(code=code, name=doc["name"], kind=doc["kind"], steps=doc["steps"], enabled=True,
                                   version=1, updated_by="system", updated_at=at))
    s.flush()


def policy_for(s: Session, kind: str, at: datetime) -> EscalationPolicy | None:
    ensure_default_policies(s, at)
    return s.scalars(select(EscalationPolicy).where(EscalationPolicy.kind == kind,
                                                    EscalationPolicy.enabled.is_(True))
                     .order_by(EscalationPolicy.code).limit(1)).first()


# --- recipients -------------------------------------------------------------------------------------


def _people(s: Session, unit_id: int, role: str) -> list[Person]:
    return list(s.scalars(select(Person).where(Person.unit_id == unit_id, Person.role == role,
                                               Person.active.is_(True)).order_by(Person.id)))


def _from_shifts(s: Session, shifts: Iterable[Any]) -> list[Person]:
    ids = [sh.person_id for sh in shifts]
    if not ids:
        return []
    found = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_(ids), Person.active.is_(True)))}
    return [found[i] for i in ids if i in found]


def resolve(s: Session, who: Who, unit: Unit, event_id: int | None, at: datetime) -> list[Target]:
    """The people (or the unit) a rule names at this moment."""
    people: list[Person] = []
    if who is Who.UNIT:
        return [Target(who, unit.id, None, unit.name, unit.phone)]
    if who is Who.DUTY_OFFICER:
        people = _from_shifts(s, duty_roster.on_duty(s, unit.id, at).officers) or _people(s, unit.id, "duty_officer")
    elif who is Who.UNIT_LEADER:
        people = _from_shifts(s, duty_roster.on_duty(s, unit.id, at).leaders) or _people(s, unit.id, "leader")
    elif who is Who.LEADER_IN_CHARGE:
        parent = s.get(Unit, unit.parent_id) if unit.parent_id else None
        if parent is not None:
            people = _from_shifts(s, duty_roster.on_duty(s, parent.id, at).leaders) or _people(s, parent.id, "leader")
    elif who is Who.TASK_HOLDER and event_id is not None:
        people = _task_holders(s, event_id)
    return [Target(who, p.unit_id, p.id, p.name, p.phone) for p in people]


def _task_holders(s: Session, event_id: int) -> list[Person]:
    live = s.execute(select(Task.id, Task.unit_id).where(
        Task.event_id == event_id, Task.state.in_(("dispatched", "accepted", "extension_requested", "suspended")),
        Task.role.in_(("lead", "assist")))).all()
    out: list[Person] = []
    for task_id, unit_id in live:
        accepted_by = s.scalar(select(TimelineEntry.actor_id).where(
            TimelineEntry.task_id == task_id, TimelineEntry.action == "task.accept").order_by(TimelineEntry.id.desc())
            .limit(1))
        person = s.get(Person, accepted_by) if accepted_by else None
        out.extend([person] if person is not None and person.active else _people(s, unit_id, "handler"))
    return out


def centre_for(s: Session, area_path: str) -> Unit | None:
    """The centre responsible for a place: the deepest centre whose area contains it."""
    from shuzhi.adapters.db.tables import Area

    rows = s.execute(select(Unit, Area.path).join(Area, Area.id == Unit.area_id).where(
        Unit.kind == "centre", Unit.active.is_(True))).all()
    best = [(len(p), u) for u, p in rows if area_path.startswith(p)]
    return max(best, key=lambda t: t[0])[1] if best else None


# --- chains -------------------------------------------------------------------------------------------


def start_chain(s: Session, *, kind: str, subject: str, unit: Unit, context: dict[str, Any], at: datetime,
                event_id: int | None = None, base_url: str = "", after_commit: bool = False) -> NoticeChain | None:
    """Start the escalation the kind's policy describes and write its first step's notices.

    A chain of the same kind and subject started within the de-dup window is not started again
    (a storm of the same warning is one chain). Returns ``None`` when no policy serves the kind.

    With ``after_commit`` the chain is stored with its first step due now and the step runs right
    after the caller's commit, in a transaction of its own (:func:`run_started`): for the readings'
    path, where the notices' recipients and messages (tens of statements) would otherwise hold up
    every reading of the batch and the event the warning opened. The chain row commits with the
    warning, so if the process stops before the step the worker's ``notices.escalate`` job runs it."""
    policy = policy_for(s, kind, at)
    if policy is None:
        return None
    dedup = f"{kind}:{subject}:{unit.id}"
    recent = s.scalars(select(NoticeChain).where(NoticeChain.dedup_key == dedup,
                                                 NoticeChain.started_at > at - rules.DEDUP_WINDOW)
                       .order_by(NoticeChain.id.desc()).limit(1)).first()
    if recent is not None:
        return recent
    steps = rules.parse_steps(policy.steps)
    chain = NoticeChain(policy_code=policy.code, kind=kind, subject=subject, dedup_key=dedup, event_id=event_id,
                        unit_id=unit.id, context=context, steps=rules.steps_document(steps), state="open",
                        step_index=0, next_step_at=None, started_at=at)
    s.add(chain)
    s.flush()
    if after_commit:
        chain.next_step_at = at
        ids = [chain.id]
        unit_of_work.after_commit(s, lambda uow: run_started(uow, ids, base_url=base_url))
        return chain
    run_step(s, chain, unit, at, base_url=base_url)
    return chain


def run_started(uow: UnitOfWork, chain_ids: list[int], *, base_url: str = "",
                now: datetime | None = None) -> int:
    """The first step of chains :func:`start_chain` left due (``after_commit``), now; a chain the
    worker already stepped (its step index moved on) or holds (``SKIP LOCKED``) is left to it, so no
    step runs twice. Returns how many chains were stepped."""
    now = now or datetime.now(UTC)
    with uow:
        s = uow.session
        q = select(NoticeChain).where(NoticeChain.id.in_(chain_ids), NoticeChain.state == "open",
                                      NoticeChain.step_index == 0)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        chains = list(s.scalars(q))
        for chain in chains:
            unit = s.get(Unit, chain.unit_id)
            if unit is None:
                chain.state, chain.next_step_at = "cancelled", None
                continue
            run_step(s, chain, unit, chain.next_step_at or now, base_url=base_url)
        uow.commit()
    return len(chains)


def run_step(s: Session, chain: NoticeChain, unit: Unit, at: datetime, *, base_url: str = "") -> int:
    """Write the notices of the chain's current step and move it on; returns how many were written."""
    steps = rules.parse_steps(chain.steps)
    index = chain.step_index
    step = steps[index]
    written = 0
    seen: set[tuple[int | None, str, str]] = set()
    for who in step.who:
        for target in resolve(s, who, unit, chain.event_id, at):
            for channel in step.channels:
                written += _notify(s, chain, index, target, channel, at, base_url, seen)
    if index > 0:
        _receipt(s, chain, None, None, at, "escalated", None, f"step {index + 1}",
                 f"第{index + 1}步：{'、'.join(rules.WHO_LABELS[w] for w in step.who)}")
        _timeline(s, chain.event_id, at, "notice.escalated",
                  f"{_minutes(step.after)}无人确认，升级通知{'、'.join(rules.WHO_LABELS[w] for w in step.who)}",
                  {"chain": chain.id, "step": index + 1, "notices": written})
    chain.step_index = index + 1
    nxt = steps[index + 1].after if index + 1 < len(steps) else None
    chain.next_step_at = chain.started_at + nxt if nxt is not None else None
    if written == 0 and nxt is not None:
        chain.next_step_at = at  # nobody to tell at this step: go on at once rather than wait for nothing
    return written


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} 分钟" if delta else "即时"


def _setting(s: Session, person_id: int | None) -> NoticeSetting | None:
    return s.get(NoticeSetting, person_id) if person_id else None


def _addresses(s: Session, target: Target, channel: Channel) -> list[tuple[str, str | None]]:
    """(address, phone to mention) pairs for one target on one channel."""
    if channel is Channel.SMS:
        return [(target.phone, None)] if target.phone else []
    if channel is Channel.IM:
        robots = s.scalars(select(NoticeRobot.id).where(NoticeRobot.unit_id == target.unit_id,
                                                        NoticeRobot.enabled.is_(True))).all()
        return [(f"robot:{r}", target.phone if target.person_id else None) for r in robots]
    return [("inbox", None)]


def _notify(s: Session, chain: NoticeChain, step: int, target: Target, channel: Channel, at: datetime,
            base_url: str, seen: set[tuple[int | None, str, str]]) -> int:
    setting = _setting(s, target.person_id)
    if setting is not None and setting.channels and channel.value not in setting.channels \
            and channel is not Channel.INAPP:
        return 0  # the person chose other channels (the inbox always holds a copy)
    written = 0
    for address, mention in _addresses(s, target, channel):
        key = (target.person_id, channel.value, address)
        if key in seen:
            continue
        seen.add(key)
        code = new_code()
        context = {**chain.context, "link": f"{base_url.rstrip('/')}/n/{code}" if base_url else f"/n/{code}"}
        title, text = rules.render(chain.kind, context, escalated=step > 0)
        if mention:
            text = f"{text}\n@{mention}"
        # the inbox is never held back: it is where whatever else is suppressed can still be read
        state, reason, due = (("queued", None, at) if channel is Channel.INAPP
                              else _admission(s, chain, target, channel, address, setting, at))
        notice = Notice(chain_id=chain.id, step=step, event_id=chain.event_id, person_id=target.person_id,
                        unit_id=target.unit_id, who=target.who.value, channel=channel.value, address=address,
                        kind=chain.kind, title=title, body=text, parts=rules.sms_parts(text), code=code,
                        state=state, reason=reason, attempts=0,
                        max_attempts=SMS_MAX_ATTEMPTS if channel is Channel.SMS else IM_MAX_ATTEMPTS,
                        next_attempt_at=due, dedup_key=_dedup_key(chain, target, channel, address), created_at=at)
        s.add(notice)
        s.flush()
        if channel is Channel.INAPP and state == "queued":
            _inbox(s, notice, target, at)
        elif state == "suppressed":
            _receipt(s, chain, notice, target.person_id, at, "suppressed", channel.value, reason, reason or "")
        written += 1
    return written


def _dedup_key(chain: NoticeChain, target: Target, channel: Channel, address: str) -> str:
    return f"{chain.kind}:{chain.subject}:{target.person_id or 'u' + str(target.unit_id)}:{channel.value}:{address}"


def _admission(s: Session, chain: NoticeChain, target: Target, channel: Channel, address: str,
               setting: NoticeSetting | None, at: datetime) -> tuple[str, str | None, datetime | None]:
    """queued now, queued until quiet hours end, or suppressed (duplicate, over the rate limit)."""
    key = _dedup_key(chain, target, channel, address)
    dup = s.scalar(select(func.count(Notice.id)).where(
        Notice.dedup_key == key, Notice.created_at > at - rules.DEDUP_WINDOW, Notice.chain_id != chain.id,
        Notice.state.not_in(("suppressed", "cancelled"))))
    if dup:
        return "suppressed", "duplicate", None
    limit, window = rules.RATE_LIMITS[channel]
    who = Notice.person_id == target.person_id if target.person_id else Notice.address == address
    recent = s.scalar(select(func.count(Notice.id)).where(
        who, Notice.channel == channel.value, Notice.created_at > at - window,
        Notice.state.not_in(("suppressed", "cancelled"))))
    if (recent or 0) >= limit:
        return "suppressed", "rate_limited", None
    if setting is not None and chain.kind not in rules.URGENT_KINDS and channel is not Channel.INAPP:
        until = rules.quiet_until(at, _clock(setting.quiet_start), _clock(setting.quiet_end))
        if until is not None:
            return "queued", f"quiet_hours_until {until.isoformat()}", until
    return "queued", None, at


def _clock(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _inbox(s: Session, notice: Notice, target: Target, at: datetime) -> None:
    """The in-app channel: an inbox item (the open page shows it as a browser notification)."""
    s.add(Notification(person_id=target.person_id, unit_id=None if target.person_id else target.unit_id,
                       event_id=notice.event_id, kind=f"notice.{notice.kind}", title=notice.title,
                       body=notice.body, payload={"notice": notice.id, "chain": notice.chain_id, "code": notice.code},
                       created_at=at))
    notice.state, notice.delivered_at, notice.submitted_at, notice.attempts = "delivered", at, at, 1
    _receipt(s, None, notice, target.person_id, at, "dlr", "inapp", "delivered", "已送达消息中心")


def _receipt(s: Session, chain: NoticeChain | None, notice: Notice | None, person_id: int | None, at: datetime,
             kind: str, channel: str | None, status: str | None, detail: str) -> None:
    s.execute(insert(NoticeReceipt).values(
        notice_id=notice.id if notice else None, chain_id=notice.chain_id if notice else (chain.id if chain else None),
        event_id=notice.event_id if notice else (chain.event_id if chain else None), person_id=person_id, at=at,
        kind=kind, channel=channel, status=status, detail=detail))


def _timeline(s: Session, event_id: int | None, at: datetime, action: str, reason: str, payload: dict[str, Any],
              actor: Actor = SYSTEM) -> None:
    """A line on the event's timeline (an insert: the event row is not loaded or locked)."""
    if event_id is None:
        return
    s.execute(insert(TimelineEntry).values(event_id=event_id, district_code=district_of_event(s, event_id),
                                           task_id=None, at=at, actor_id=actor.person_id,
                                           actor=actor.label, action=action, from_state=None, to_state=None,
                                           reason=reason, payload=payload))


def run_due_steps(uow_factory: UowFactory, now: datetime, batch: int = 200, base_url: str = "") -> int:
    """The worker's job: the next step of every open chain that fell due, a batch per transaction.

    On PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED``, so workers share the work;
    SQLite runs one writer at a time. A step's notices commit with the chain's move to the next step."""
    done = 0
    while True:
        with uow_factory() as uow:
            s = uow.session
            q = (select(NoticeChain).where(NoticeChain.state == "open", NoticeChain.next_step_at <= now)
                 .order_by(NoticeChain.next_step_at, NoticeChain.id).limit(batch))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            chains = list(s.scalars(q))
            if not chains:
                return done
            units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_({c.unit_id for c in chains})))}
            for chain in chains:
                unit = units.get(chain.unit_id)
                if unit is None:
                    chain.state, chain.next_step_at = "cancelled", None
                    continue
                run_step(s, chain, unit, now, base_url=base_url)
            uow.commit()
            done += len(chains)
            if len(chains) < batch:
                return done


def start_chains_later(s: Session, *, kind: str, subject: str, units: list[Unit],
                       contexts: dict[int, dict[str, Any]], at: datetime, event_id: int | None) -> int:
    """Many chains at once (a plan's activation to every town): written in one statement, their first
    step due now — the worker writes the notices moments later, so the activation stays fast and
    nothing is lost if the process stops between the two."""
    policy = policy_for(s, kind, at)
    if policy is None or not units:
        return 0
    steps = rules.steps_document(rules.parse_steps(policy.steps))
    rows = [{"policy_code": policy.code, "kind": kind, "subject": subject, "dedup_key": f"{kind}:{subject}:{u.id}",
             "event_id": event_id, "unit_id": u.id, "context": contexts.get(u.id, {}), "steps": steps,
             "state": "open", "step_index": 0, "next_step_at": at, "started_at": at} for u in units]
    s.execute(insert(NoticeChain), rows)
    return len(rows)


# --- acknowledgement -------------------------------------------------------------------------------------


def acknowledge(s: Session, chain: NoticeChain, *, channel: str, at: datetime, person_id: int | None,
                who: str, notice: Notice | None = None, person_code: str | None = None) -> bool:
    """End the chain (from a reply, a link or a page); False when it had already ended."""
    won: Any = s.execute(update(NoticeChain).where(NoticeChain.id == chain.id, NoticeChain.state == "open").values(
        state="acknowledged", acked_at=at, acked_by=who, ack_person_id=person_id, ack_channel=channel,
        next_step_at=None))
    if won.rowcount != 1:
        return False
    s.refresh(chain)
    s.execute(update(Notice).where(Notice.chain_id == chain.id, Notice.state == "queued")
              .values(state="cancelled", reason="acknowledged", next_attempt_at=None))
    label = rules.CHANNEL_LABELS.get(Channel(channel), channel) if channel in Channel._value2member_map_ else {
        "link": "短链接", "page": "页面"}.get(channel, channel)
    local = at.astimezone(rules.LOCAL).strftime("%Y-%m-%d %H:%M:%S")
    _receipt(s, chain, notice, person_id, at, "ack", channel, "acknowledged", f"{who}通过{label}确认（{local}）")
    actor = Actor(code=person_code or f"notice:{channel}", name=who, person_id=person_id)
    _timeline(s, chain.event_id, at, "notice.acknowledged", f"{who}通过{label}确认收到通知（{local}），升级停止",
              {"chain": chain.id, "channel": channel, "notice": notice.id if notice else None,
               "at": at.isoformat()}, actor=actor)
    # the warning the chain is about is acknowledged with it (same person, the channel in the note)
    warning_link.mirror_onto_warning(s, chain, actor, at, f"{who}通过{label}确认升级通知（{local}）")
    return True
