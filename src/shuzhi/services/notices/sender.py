"""The notice sender: hands queued notices to the SMS gateway and the IM robots, and takes back what
they report — delivery reports (DLR) and replies from phones.

Like the scheduler's jobs, everything it knows is in the database. ``send_due`` claims a batch of due
notices (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer) and leases them
(``state = sending``, due again after :data:`LEASE`): a sender that dies mid-batch loses nothing, its
notices fall due again. The batch is handed over by a few threads (Kannel takes requests in
parallel), then every outcome is written in one transaction:

- accepted by the gateway → ``submitted``; the DLR moves it to ``delivered`` (1) or fails the attempt
  (2, 16);
- refused for a while (gateway away, restarting, queue full) or a failed DLR → queued again after a
  backoff, until ``max_attempts``; then ``failed``, reported on the timeline and to the unit's inbox,
  and the chain moves to its next step at once (an urgent notice never dies unread);
- refused for good (a number the carrier cannot reach, a robot's bad key) → ``failed`` at once.

Delivery is at least once: a sender killed after the gateway accepted a message but before writing
it down sends it again when the lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters import im_robots
from shuzhi.adapters.db.districts import districts_of_events
from shuzhi.adapters.db.tables import Person, TimelineEntry
from shuzhi.adapters.db.tables_notices import Notice, NoticeChain, NoticeReceipt, NoticeRobot
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.adapters.kannel import (
    DLR_DELIVERED,
    DLR_QUEUED,
    DLR_SMSC_ACCEPTED,
    DLR_SMSC_REJECTED,
    DLR_UNDELIVERED,
    KannelClient,
    KannelConfig,
    verify_dlr_token,
)
from shuzhi.config import Settings
from shuzhi.domain import notices as rules
from shuzhi.services.actors import SYSTEM
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.notices import escalation
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.notices")
UowFactory = Callable[[], UnitOfWork]
LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=5)
DLR_LABELS = {DLR_DELIVERED: "已送达手机", DLR_UNDELIVERED: "未送达手机", DLR_QUEUED: "运营商排队中",
              DLR_SMSC_ACCEPTED: "运营商已接收", DLR_SMSC_REJECTED: "运营商拒收"}


@dataclass
class Gateways:
    """The outside channels the sender uses (built from the settings by :func:`from_settings`)."""

    kannel: KannelClient | None = None
    robot_send: Callable[..., im_robots.RobotResult] = im_robots.send
    threads: int = 8
    backoff_base: timedelta = BACKOFF_BASE
    backoff_cap: timedelta = BACKOFF_CAP
    base_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def backoff(self, attempts: int) -> timedelta:
        wait: timedelta = self.backoff_base * (2 ** max(attempts - 1, 0))
        return min(wait, self.backoff_cap)


def kannel_config(settings: Settings) -> KannelConfig | None:
    if not settings.sms_sendsms_url:
        return None
    return KannelConfig(sendsms_url=settings.sms_sendsms_url, username=settings.sms_username,
                        password=settings.sms_password, sender=settings.sms_sender,
                        callback_base=settings.sms_callback_base, callback_secret=settings.sms_callback_secret)


def from_settings(settings: Settings) -> Gateways:
    config = kannel_config(settings)
    return Gateways(kannel=KannelClient(config) if config else None, base_url=settings.public_base_url)


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    address: str
    body: str
    attempts: int
    max_attempts: int
    chain_id: int | None
    event_id: int | None
    person_id: int | None
    unit_id: int | None


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    permanent: bool
    error: str | None
    status: str | None


def _claim(uow_factory: UowFactory, now: datetime, batch: int) -> list[_Claimed]:
    with uow_factory() as uow:
        s = uow.session
        q = (select(Notice.id, Notice.channel, Notice.address, Notice.body, Notice.attempts, Notice.max_attempts,
                    Notice.chain_id, Notice.event_id, Notice.person_id, Notice.unit_id)
             .where(Notice.state.in_(("queued", "sending")), Notice.next_attempt_at <= now)
             .order_by(Notice.next_attempt_at, Notice.id).limit(batch))
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = s.execute(q).all()
        if not rows:
            return []
        s.execute(update(Notice).where(Notice.id.in_([r.id for r in rows])).values(
            state="sending", next_attempt_at=now + LEASE, attempts=Notice.attempts + 1))
        uow.commit()
        return [_Claimed(r.id, r.channel, r.address, r.body, r.attempts + 1, r.max_attempts, r.chain_id,
                         r.event_id, r.person_id, r.unit_id) for r in rows]


def _robots(uow_factory: UowFactory, claimed: list[_Claimed]) -> dict[int, NoticeRobot]:
    ids = {int(c.address.split(":", 1)[1]) for c in claimed if c.channel == "im" and c.address.startswith("robot:")}
    if not ids:
        return {}
    with uow_factory() as uow:
        robots = {r.id: r for r in uow.session.scalars(select(NoticeRobot).where(NoticeRobot.id.in_(ids)))}
        for r in robots.values():
            uow.session.expunge(r)
        return robots


def _hand_over(gateways: Gateways, robots: dict[int, NoticeRobot], c: _Claimed) -> _Outcome:
    if c.channel == "sms":
        if gateways.kannel is None:
            return _Outcome(False, True, "no SMS gateway configured (SHUZHI_SMS_SENDSMS_URL)", None)
        r = gateways.kannel.submit(c.address, c.body, c.id, c.attempts)
        return _Outcome(r.ok, r.permanent, r.error, str(r.status) if r.status is not None else None)
    if c.channel == "im":
        robot = robots.get(int(c.address.split(":", 1)[1])) if c.address.startswith("robot:") else None
        if robot is None or not robot.enabled:
            return _Outcome(False, True, "the group robot was removed or disabled", None)
        mention = c.body.rsplit("\n@", 1)
        text, mobiles = (mention[0], [mention[1]]) if len(mention) == 2 else (c.body, [])
        res = gateways.robot_send(robot.kind, robot.webhook_url, robot.secret, text, mobiles)
        return _Outcome(res.ok, res.permanent, res.error, str(res.status) if res.status is not None else None)
    return _Outcome(False, True, f"channel {c.channel} is not sent by the sender", None)


def send_due(uow_factory: UowFactory, now: datetime, gateways: Gateways, batch: int = 500) -> int:
    """Hand every due notice to its gateway; returns how many were attempted."""
    total = 0
    while True:
        claimed = _claim(uow_factory, now, batch)
        if not claimed:
            return total
        robots = _robots(uow_factory, claimed)
        with ThreadPoolExecutor(max_workers=max(1, gateways.threads)) as pool:
            outcomes = list(pool.map(_hand_over, [gateways] * len(claimed), [robots] * len(claimed), claimed))
        with uow_factory() as uow:
            _record_all(uow.session, claimed, outcomes, now, gateways)
            uow.commit()
        total += len(claimed)
        if len(claimed) < batch:
            return total


def _record_all(s: Session, claimed: list[_Claimed], outcomes: list[_Outcome], now: datetime,
                gateways: Gateways) -> None:
    """The batch's outcomes in a few statements: accepted ones in one executemany (a DLR that came
    back first has already moved its notice on: ``state = 'sending'`` keeps it), the rest one by one."""
    accepted = [(c, o) for c, o in zip(claimed, outcomes, strict=True) if o.ok]
    if accepted:
        table = cast(Table, Notice.__table__)
        s.execute(update(table).where(table.c.id == bindparam("nid"), table.c.state == "sending")
                  .values(state="submitted", submitted_at=now, next_attempt_at=None, last_error=None),
                  [{"nid": c.id} for c, _ in accepted])
        s.execute(insert(NoticeReceipt), [
            {"notice_id": c.id, "chain_id": c.chain_id, "event_id": c.event_id, "person_id": c.person_id, "at": now,
             "kind": "submitted", "channel": c.channel, "status": o.status,
             "detail": f"第{c.attempts}次交{_where(c)}网关：{_to(c)}"} for c, o in accepted])
        # one query for the names and one executemany for the timeline lines, not two round trips a notice
        ids = {c.person_id for c, _ in accepted if c.person_id}
        names = dict(s.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all()) if ids else {}
        districts = districts_of_events(s, {c.event_id for c, _ in accepted if c.event_id is not None})
        lines = [{"event_id": c.event_id, "district_code": districts.get(c.event_id), "task_id": None,
                  "at": now, "actor_id": SYSTEM.person_id,
                  "actor": SYSTEM.label, "action": "notice.sent", "from_state": None, "to_state": None,
                  "reason": f"{_where(c)}已发出：{names.get(c.person_id, '') if c.person_id else '单位'}（{_to(c)}）",
                  "payload": {"notice": c.id, "channel": c.channel, "attempt": c.attempts}}
                 for c, _ in accepted if c.event_id is not None]
        if lines:
            s.execute(insert(TimelineEntry), lines)
    for c, o in zip(claimed, outcomes, strict=True):
        if not o.ok:
            _failed_attempt(s, c, now, gateways, o.error or "refused", permanent=o.permanent, status=o.status)


def _where(c: _Claimed) -> str:
    return rules.CHANNEL_LABELS.get(rules.Channel(c.channel), c.channel)


def _to(c: _Claimed) -> str:
    return rules.mask_phone(c.address) if c.channel == "sms" else c.address


def _who(s: Session, c: _Claimed) -> str:
    if c.person_id:
        return s.scalar(select(Person.name).where(Person.id == c.person_id)) or ""
    return "单位"


def _receipt(s: Session, c: _Claimed, at: datetime, kind: str, status: str | None, detail: str) -> None:
    s.add(NoticeReceipt(notice_id=c.id, chain_id=c.chain_id, event_id=c.event_id, person_id=c.person_id, at=at,
                        kind=kind, channel=c.channel, status=status, detail=detail[:1000]))


def _failed_attempt(s: Session, c: _Claimed, now: datetime, gateways: Gateways, error: str, *, permanent: bool,
                    status: str | None) -> None:
    """Retry after a backoff, or — out of attempts, or refused for good — fail and report."""
    if not permanent and c.attempts < c.max_attempts:
        due = now + gateways.backoff(c.attempts)
        s.execute(update(Notice).where(Notice.id == c.id).values(state="queued", next_attempt_at=due,
                                                                 last_error=error[:300]))
        retry_at = due.astimezone(rules.LOCAL).strftime("%H:%M:%S")
        _receipt(s, c, now, "retry", status, f"第{c.attempts}次失败（{error}），{retry_at}重试")
        return
    s.execute(update(Notice).where(Notice.id == c.id).values(state="failed", next_attempt_at=None,
                                                             last_error=error[:300]))
    _receipt(s, c, now, "failed", status, f"共{c.attempts}次未能送达：{error}")
    where = rules.CHANNEL_LABELS.get(rules.Channel(c.channel), c.channel)
    escalation._timeline(s, c.event_id, now, "notice.failed",
                         f"{where}未能送达{_who(s, c)}（{c.attempts}次）：{error}",
                         {"notice": c.id, "channel": c.channel, "attempts": c.attempts})
    if c.unit_id is not None:
        s.add(Notification(person_id=None, unit_id=c.unit_id, event_id=c.event_id, kind="notice.failed",
                           title=f"{where}未送达", body=f"通知 {c.id} 未能送达{_who(s, c)}：{error}",
                           payload={"notice": c.id}, created_at=now))
    if c.chain_id is not None:
        # the next step now: nobody was reached by this one
        s.execute(update(NoticeChain).where(NoticeChain.id == c.chain_id, NoticeChain.state == "open",
                                            NoticeChain.next_step_at.is_not(None), NoticeChain.next_step_at > now)
                  .values(next_step_at=now))


# --- what the gateway tells us --------------------------------------------------------------------------


def handle_dlr(uow: UnitOfWork, *, notice_id: int, attempt: int, token: str, dlr_type: int, reply: str,
               secret: str, gateways: Gateways, at: datetime | None = None) -> None:
    """A delivery report from Kannel for one attempt of one notice (authenticated by its HMAC)."""
    if not secret or not verify_dlr_token(secret, notice_id, attempt, token):
        raise NotFound("unknown delivery report")
    now = at or datetime.now(UTC)
    with uow:
        s = uow.session
        n = s.get(Notice, notice_id)
        if n is None:
            raise NotFound("unknown delivery report")
        c = _Claimed(n.id, n.channel, n.address, n.body, attempt, n.max_attempts, n.chain_id, n.event_id,
                     n.person_id, n.unit_id)
        label = DLR_LABELS.get(dlr_type, f"状态{dlr_type}")
        _receipt(s, c, now, "dlr", str(dlr_type), f"{label}（第{attempt}次）{reply}".strip())
        current = attempt == n.attempts
        if dlr_type in (DLR_DELIVERED, DLR_UNDELIVERED, DLR_SMSC_REJECTED):
            escalation._timeline(s, n.event_id, now, "notice.dlr",
                                 f"短信回执：{label}（{_who(s, c)}，{rules.mask_phone(n.address)}）",
                                 {"notice": n.id, "type": dlr_type, "attempt": attempt})
        if not current or n.state in ("delivered", "cancelled", "failed"):
            uow.commit()
            return
        if dlr_type == DLR_DELIVERED:
            n.state, n.delivered_at = "delivered", now
        elif dlr_type in (DLR_UNDELIVERED, DLR_SMSC_REJECTED):
            _failed_attempt(s, c, now, gateways, f"DLR {dlr_type} {label} {reply}".strip(), permanent=False,
                            status=str(dlr_type))
        uow.commit()


def handle_reply(uow: UnitOfWork, *, phone: str, text: str, mo_key: str, key: str,
                 at: datetime | None = None) -> str:
    """A reply from a phone through Kannel's sms-service; returns the SMS to send back."""
    import hmac

    if not mo_key or not hmac.compare_digest(mo_key, key):
        raise NotFound("not found")
    now = at or datetime.now(UTC)
    number = _national(phone)
    reply = rules.parse_reply(text)
    with uow:
        s = uow.session
        q = select(Notice).where(Notice.channel == "sms", or_(Notice.address == number, Notice.address == phone),
                                 Notice.created_at > now - timedelta(days=2)).order_by(Notice.id.desc())
        if reply.code:
            q = select(Notice).where(Notice.code == reply.code)
        candidates = list(s.scalars(q.limit(50)))
        s.add(NoticeReceipt(notice_id=candidates[0].id if candidates else None,
                            chain_id=candidates[0].chain_id if candidates else None,
                            event_id=candidates[0].event_id if candidates else None,
                            person_id=candidates[0].person_id if candidates else None, at=now, kind="reply",
                            channel="sms", status="ack" if reply.ack else "text",
                            detail=f"{rules.mask_phone(number)}回复：{text[:200]}"))
        if not reply.ack:
            uow.commit()
            return "已收到。确认通知请回复1。"
        for n in candidates:
            chain = s.get(NoticeChain, n.chain_id) if n.chain_id else None
            if chain is None or chain.state != "open":
                continue
            person = s.get(Person, n.person_id) if n.person_id else None
            who = person.name if person else rules.mask_phone(number)
            escalation.acknowledge(s, chain, channel="sms", at=now, person_id=n.person_id, who=who, notice=n,
                                   person_code=person.code if person else None)
            uow.commit()
            number_text = chain.context.get("number") or ""
            return f"已确认{number_text}，谢谢。"
        uow.commit()
        return "没有待确认的通知。"


def _national(phone: str) -> str:
    p = phone.strip().replace(" ", "")
    for prefix in ("+86", "0086", "86"):
        if p.startswith(prefix) and len(p) - len(prefix) == 11:
            return p[len(prefix):]
    return p


def ack_by_code(uow: UnitOfWork, code: str, *, channel: str = "link", at: datetime | None = None) -> dict[str, Any]:
    """Acknowledge through a notice's short link (the code is the credential, as in a reply)."""
    now = at or datetime.now(UTC)
    with uow:
        s = uow.session
        n = s.scalars(select(Notice).where(Notice.code == code.upper())).first()
        if n is None:
            raise NotFound("link not found or expired")
        chain = s.get(NoticeChain, n.chain_id) if n.chain_id else None
        if chain is None:
            raise Invalid("this notice needs no acknowledgement", field="code")
        person = s.get(Person, n.person_id) if n.person_id else None
        done = escalation.acknowledge(s, chain, channel=channel, at=now, person_id=n.person_id,
                                      who=person.name if person else "单位", notice=n,
                                      person_code=person.code if person else None)
        uow.commit()
        return {"acknowledged": done, "already": not done and chain.state == "acknowledged",
                "acked_at": chain.acked_at, "title": n.title, "number": chain.context.get("number")}
