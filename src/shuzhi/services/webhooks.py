"""Outbound webhooks delivered from the transactional outbox.

* subscriptions (``webhook.admin``): a URL, a secret, topics, an area subtree and event classes. A
  subscription belongs to its area: someone whose scope is a town subscribes for his town only (by
  default his own area; never another town's, never installation-wide), so a town's receiver never
  gets another town's events; he lists, changes and replays only subscriptions of his areas;
* ``fan_out`` (periodic job) turns each committed outbox message into one delivery per matching
  subscription (unique per pair, so a re-run adds nothing);
* ``deliver_due`` (periodic job) POSTs due deliveries, signed (HMAC-SHA256 over timestamp and body),
  retries failures with exponential backoff and dead-letters them after the subscription's limit;
  every attempt is logged; an administrator can replay a dead delivery.

Delivery is at-least-once: a worker killed after the POST but before recording it will POST again
(after the claim's lease runs out). Receivers deduplicate by the ``X-Shuzhi-Delivery`` header.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from shuzhi.adapters import webhooks as http
from shuzhi.adapters.db.tables import Area, EventClass
from shuzhi.adapters.db.tables_supervision import (
    OutboxMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from shuzhi.domain import permissions as P
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.outbox import TOPICS
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

#: First retry after this long, doubling each time, at most :data:`BACKOFF_CAP`.
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)
#: A claimed delivery is someone's for this long; after a crash it becomes due again.
LEASE = timedelta(minutes=2)
#: Total time one delivery may take (resolve, connect, send, answer): a slow receiver costs this at most.
TIMEOUT_S = 10.0
#: Deliveries claimed per round of the delivery loop: a round of slow receivers stays well inside LEASE.
DELIVERY_BATCH = 10

UowFactory = Callable[[], UnitOfWork]
log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 10 s, 20 s, 40 s … at most an hour."""
    wait: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(wait, BACKOFF_CAP)


def topics(actor: Actor) -> dict[str, str]:
    authz.require(actor, P.WEBHOOK_ADMIN)
    return dict(TOPICS)


# --- subscriptions --------------------------------------------------------------------------------


class SubscriptionIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=500)
    topics: list[str] = Field(min_length=1, description="outbox topics, or ['*'] for all")
    area_code: str | None = Field(default=None, max_length=15, description="only events in this area subtree")
    class_codes: list[str] = Field(default_factory=list, description="only events of these classes")
    secret: str | None = Field(default=None, min_length=16, max_length=200, description="default: generated")
    max_attempts: int = Field(default=8, ge=1, le=30)


class SubscriptionPatch(BaseModel):
    active: bool | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=30)


def allowed_networks() -> tuple[str, ...]:
    """The networks the operator allow-listed for receivers (settings.webhook_allowed_networks)."""
    from shuzhi.config import get_settings

    return tuple(get_settings().webhook_allowed_networks)


def check_url(url: str) -> None:
    """A receiver URL must be http(s) and must not point into loopback, private, link-local or
    metadata addresses (unless allow-listed). A name that does not resolve yet is accepted: every
    delivery resolves and checks it again, and connects only to the address it checked."""
    if not url.startswith(("http://", "https://")):
        raise Invalid("the URL must start with http:// or https://", field="url")
    try:
        http.resolve(url, allowed_networks())
    except http.UnsafeTarget as exc:
        raise Invalid(str(exc), field="url") from None
    except OSError:
        pass


def create_subscription(uow: UnitOfWork, cmd: SubscriptionIn, actor: Actor) -> WebhookSubscription:
    authz.require(actor, P.WEBHOOK_ADMIN)
    check_url(cmd.url)
    for i, t in enumerate(cmd.topics):
        if t != "*" and t not in TOPICS:
            raise Invalid(f"unknown topic '{t}' (known: {', '.join(TOPICS)})", field=f"topics[{i}]")
    with uow:
        s = uow.session
        path = None
        area_code = cmd.area_code
        if cmd.area_code:
            path = s.scalar(select(Area.path).where(Area.code == cmd.area_code))
            if path is None:
                raise Invalid(f"unknown area '{cmd.area_code}'", field="area_code")
        elif actor.area_paths:
            path = actor.area_paths[0]  # a town's subscription is the town's, unless it names a village
            area_code = path.rstrip("/").rsplit("/", 1)[-1]
        authz.ensure_config_area_writable(actor, path, "a webhook subscription")
        known = set(s.scalars(select(EventClass.code).where(EventClass.code.in_(cmd.class_codes))))
        for i, code in enumerate(cmd.class_codes):
            if code not in known:
                raise Invalid(f"unknown event class '{code}'", field=f"class_codes[{i}]")
        sub = WebhookSubscription(name=cmd.name, url=cmd.url, secret=cmd.secret or secrets.token_hex(32),
                                  topics=list(dict.fromkeys(cmd.topics)), area_code=area_code, area_path=path,
                                  class_codes=list(dict.fromkeys(cmd.class_codes)), max_attempts=cmd.max_attempts,
                                  active=True, created_by=actor.label)
        s.add(sub)
        s.flush()
        audit.record_change(s, actor, "webhook.create", f"webhook:{sub.id}", None, _sub_audit(sub))
        uow.commit()
        return sub


def _sub_audit(sub: WebhookSubscription) -> dict[str, Any]:
    """What an auditor needs to see of a subscription (never its signing secret)."""
    return {"name": sub.name, "url": sub.url, "topics": sub.topics, "area_code": sub.area_code,
            "class_codes": sub.class_codes, "max_attempts": sub.max_attempts, "active": sub.active}


def list_subscriptions(uow: UnitOfWork, actor: Actor) -> list[WebhookSubscription]:
    """The subscriptions of the actor's areas (all, for an installation-wide administrator)."""
    authz.require(actor, P.WEBHOOK_ADMIN)
    with uow:
        return list(uow.session.scalars(select(WebhookSubscription)
                                        .where(authz.config_clause(actor, WebhookSubscription.area_path))
                                        .order_by(WebhookSubscription.id)))


def _subscription(s: Session, sub_id: int, actor: Actor) -> WebhookSubscription:
    """The subscription, if it is of the actor's areas (another town's reads as not found)."""
    sub = s.get(WebhookSubscription, sub_id)
    if sub is None or not (actor.area_paths is None or (
            sub.area_path is not None and authz.path_visible(actor, sub.area_path))):
        raise NotFound(f"webhook subscription {sub_id} not found")
    return sub


def patch_subscription(uow: UnitOfWork, sub_id: int, cmd: SubscriptionPatch, actor: Actor) -> WebhookSubscription:
    authz.require(actor, P.WEBHOOK_ADMIN)
    with uow:
        sub = _subscription(uow.session, sub_id, actor)
        before = _sub_audit(sub)
        if cmd.active is not None:
            sub.active = cmd.active
        if cmd.max_attempts is not None:
            sub.max_attempts = cmd.max_attempts
        audit.record_change(uow.session, actor, "webhook.update", f"webhook:{sub.id}", before, _sub_audit(sub))
        uow.commit()
        return sub


# --- fan-out and delivery (periodic jobs) -----------------------------------------------------------


def _matches(sub: Any, msg: Any) -> bool:
    if "*" not in sub.topics and msg.topic not in sub.topics:
        return False
    if sub.area_path and not (msg.area_path or "").startswith(sub.area_path):
        return False
    return not (sub.class_codes and msg.class_code not in sub.class_codes)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def fan_out(uow_factory: UowFactory, now: datetime, batch: int = 1000) -> int:
    """One delivery per (message, matching subscription); messages are marked fanned out."""
    total = 0
    while True:
        with uow_factory() as uow:
            conn = uow.session.connection()
            q = (select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.area_path, OutboxMessage.class_code)
                 .where(OutboxMessage.fanned_out.is_(False)).order_by(OutboxMessage.id).limit(batch))
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            msgs = conn.execute(q).all()
            if not msgs:
                return total
            subs = conn.execute(select(WebhookSubscription.id, WebhookSubscription.topics,
                                       WebhookSubscription.area_path, WebhookSubscription.class_codes)
                                .where(WebhookSubscription.active.is_(True))).all()
            rows = [{"subscription_id": sub.id, "outbox_id": m.id, "state": "pending", "attempts": 0,
                     "next_attempt_at": now, "created_at": now} for m in msgs for sub in subs if _matches(sub, m)]
            if rows:
                conn.execute(_insert(conn)(WebhookDelivery).on_conflict_do_nothing(
                    index_elements=["subscription_id", "outbox_id"]), rows)
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in msgs]))
                         .values(fanned_out=True))
            uow.commit()
            total += len(rows)
            if len(msgs) < batch:
                return total


def _claim_deliveries(uow_factory: UowFactory, now: datetime, batch: int) -> list[Any]:
    with uow_factory() as uow:
        conn = uow.session.connection()
        q = (select(WebhookDelivery.id, WebhookDelivery.next_attempt_at, WebhookDelivery.attempts)
             .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
             .order_by(WebhookDelivery.next_attempt_at).limit(batch))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        mine = []
        for d in conn.execute(q).all():
            # the lease: nobody else takes it until it runs out (a crash mid-POST retries after it)
            got: Any = conn.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == d.id, WebhookDelivery.next_attempt_at == d.next_attempt_at
            ).values(next_attempt_at=now + LEASE))
            if got.rowcount == 1:
                mine.append(d.id)
        if not mine:
            return []
        rows = conn.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookSubscription.url, WebhookSubscription.secret,
                   WebhookSubscription.max_attempts, OutboxMessage.id.label("message_id"), OutboxMessage.topic,
                   OutboxMessage.payload, OutboxMessage.created_at)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
            .where(WebhookDelivery.id.in_(mine))).all()
        uow.commit()
        return list(rows)


def body_of(row: Any) -> bytes:
    return json.dumps({"id": row.message_id, "delivery_id": row.id, "topic": row.topic,
                       "created_at": row.created_at.isoformat(), "data": row.payload},
                      ensure_ascii=False, sort_keys=True).encode()


def deliver_due(uow_factory: UowFactory, now: datetime, batch: int = 50,
                clock: Callable[[], float] | None = None) -> int:
    """POST every due delivery once; returns how many were attempted."""
    import time

    rows = _claim_deliveries(uow_factory, now, batch)
    allowed = allowed_networks()
    for row in rows:
        body = body_of(row)
        ts = int(clock() if clock else time.time())
        result = http.post(row.url, body, {
            http.TIMESTAMP_HEADER: str(ts), http.SIGNATURE_HEADER: http.sign(row.secret, ts, body),
            http.DELIVERY_HEADER: str(row.id), http.TOPIC_HEADER: row.topic}, timeout=TIMEOUT_S,
            allowed=allowed)
        attempts = row.attempts + 1
        if result.ok:
            values: dict[str, Any] = {"state": "delivered", "delivered_at": now, "next_attempt_at": None}
        elif attempts >= row.max_attempts:
            values = {"state": "dead", "next_attempt_at": None}
        else:
            values = {"next_attempt_at": now + backoff(attempts)}
        with uow_factory() as uow:
            s = uow.session
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(
                attempts=attempts, last_status=result.status, last_error=result.error, **values))
            s.add(WebhookAttempt(delivery_id=row.id, at=now, status_code=result.status, error=result.error,
                                 duration_ms=result.duration_ms))
            uow.commit()
    return len(rows)


def delivery_loop(uow_factory: UowFactory, stop: threading.Event, interval: float = 2.0) -> None:
    """Deliver in a loop of its own (a thread of each worker), never in the scheduler's tick: a slow
    or hanging receiver then holds up only other deliveries, never the supervision sweep. Several
    loops (several workers) share the work through the claims of :func:`_claim_deliveries`."""
    away = False
    while not stop.is_set():
        try:
            done = deliver_due(uow_factory, datetime.now(UTC), batch=DELIVERY_BATCH)
            if away:
                log.info("webhook deliveries resume")
                away = False
        except (OperationalError, InterfaceError) as exc:
            # The database away is the scheduler's news (it logs it once); one line here too, not
            # a traceback every round, and the deliveries wait for it like the sweep does.
            if not away:
                log.warning("webhook deliveries wait for the database (%s)", str(exc).splitlines()[0][:160])
                away = True
            done = 0
        except Exception:
            log.exception("webhook delivery round failed")
            done = 0
        if done < DELIVERY_BATCH:
            stop.wait(interval)


# --- the delivery log (administrators) --------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    topic: str
    attempts_log: list[WebhookAttempt]


def list_deliveries(uow: UnitOfWork, actor: Actor, *, state: str | None = None,
                    subscription_id: int | None = None, limit: int = 100) -> list[DeliveryView]:
    authz.require(actor, P.WEBHOOK_ADMIN)
    with uow:
        s = uow.session
        q = (select(WebhookDelivery, OutboxMessage.topic)
             .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
             .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
             .where(authz.config_clause(actor, WebhookSubscription.area_path))
             .order_by(WebhookDelivery.id.desc()).limit(limit))
        if state:
            q = q.where(WebhookDelivery.state == state)
        if subscription_id is not None:
            q = q.where(WebhookDelivery.subscription_id == subscription_id)
        found = s.execute(q).all()
        ids = [d.id for d, _ in found]
        log: dict[int, list[WebhookAttempt]] = {}
        for a in s.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
                           .order_by(WebhookAttempt.id)):
            log.setdefault(a.delivery_id, []).append(a)
        return [DeliveryView(d, topic, log.get(d.id, [])) for d, topic in found]


def replay(uow: UnitOfWork, delivery_id: int, actor: Actor, *, now: datetime | None = None) -> WebhookDelivery:
    """Send a dead (or delivered) delivery again: pending, attempts from zero, due now."""
    authz.require(actor, P.WEBHOOK_ADMIN)
    at = now or datetime.now(UTC)
    with uow:
        d = uow.session.get(WebhookDelivery, delivery_id)
        if d is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        try:
            _subscription(uow.session, d.subscription_id, actor)
        except NotFound:
            raise NotFound(f"webhook delivery {delivery_id} not found") from None
        if d.state == "pending":
            raise Invalid("the delivery is still pending; it will be retried by itself", field="delivery_id")
        d.state, d.attempts, d.next_attempt_at, d.delivered_at = "pending", 0, at, None
        audit.record(uow.session, actor, "webhook.replay", f"webhook_delivery:{d.id}",
                     {"subscription": d.subscription_id})
        uow.commit()
        return d
