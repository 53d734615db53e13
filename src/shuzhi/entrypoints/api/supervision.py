"""Supervision: a leader's urge, escalation, the steps taken (and the public list), the thresholds,
inboxes, and outbound webhooks with their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.entrypoints.api.schemas import EventOut
from shuzhi.services import commands as c
from shuzhi.services import inbox, supervision, supervision_rules, webhooks

router = APIRouter(tags=["supervision"])


@router.post("/api/events/{ref}/urge", response_model=EventOut)
def urge(ref: Ref, body: supervision.UrgeCommand, uow: UowDep, actor: ActorDep) -> EventOut:
    """A leader's one-click urge (督办): an instruction and a new deadline for the open tasks."""
    return EventOut.of(supervision.urge(uow, ref, body, actor))


@router.post("/api/events/{ref}/tasks/{task_id}/escalate", response_model=EventOut)
def escalate(ref: Ref, task_id: int, body: c.WithReason, uow: UowDep, actor: ActorDep) -> EventOut:
    """Declare a task beyond the unit's capacity: it rises to the centre one level up (上报)."""
    return EventOut.of(supervision.escalate_task(uow, ref, task_id, body, actor))


class StepOut(BaseModel):
    event_number: str
    event_title: str
    task_id: int
    unit_code: str
    unit_name: str
    step: str
    deadline: datetime
    done_at: datetime


@router.get("/api/supervision/steps", response_model=list[StepOut])
def list_steps(uow: UowDep, actor: ActorDep, step: Annotated[list[str], Query()] = [],  # noqa: B006
               event: str | None = None, since: datetime | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[StepOut]:
    """Reminders, overdue notices, urges, cards and escalations done, newest first, in your scope."""
    rows = supervision.list_steps(uow, actor, steps=step, event_ref=event, since=since, limit=limit)
    return [StepOut(**r.__dict__) for r in rows]


@router.get("/api/supervision/public-list", response_model=list[StepOut])
def public_list(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[StepOut]:
    """The public list (通报): tasks that earned a red card, newest first, in your scope."""
    return [StepOut(**r.__dict__) for r in supervision.list_steps(uow, actor, steps=["red_card"], limit=limit)]


@router.get("/api/supervision/rules")
def get_rules(uow: UowDep, actor: ActorDep,
              area_code: Annotated[str | None, Query(max_length=20)] = None) -> dict[str, Any]:
    """The supervision thresholds in force for an area (default: your own), and whose they are
    (``area_code``: the area that set them; null: the installation-wide ones or the defaults)."""
    return supervision_rules.get_rules(uow, actor, area_code)


@router.get("/api/supervision/rule-sets")
def list_rule_sets(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The thresholds areas set for themselves that concern you: your area's and those below it
    (``editable``), and those above you (read-only)."""
    return supervision_rules.list_rule_sets(uow, actor)


@router.put("/api/supervision/rules")
def put_rules(body: dict[str, Any], uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Change the thresholds (reminder fractions, card delays) of an area — ``area_code`` in the body,
    by default your own; only inside your own area. Checked before they are stored."""
    return supervision_rules.put_rules(uow, body, actor)


@router.delete("/api/supervision/rules/{area_code}")
def delete_rules(area_code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Drop an area's own thresholds: its tasks follow the area above it again. Answers those now in force."""
    return supervision_rules.delete_rules(uow, area_code, actor)


# --- inbox ---


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    event_id: int | None
    task_id: int | None
    to_person: bool
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    read_by: str | None


class ReadBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)


class Count(BaseModel):
    unread: int


class Changed(BaseModel):
    changed: int


@router.get("/api/inbox", response_model=list[NotificationOut])
def list_inbox(uow: UowDep, actor: ActorDep, unread: bool | None = None,
               kind: Annotated[list[str], Query()] = [],  # noqa: B006
               event_id: int | None = None, before_id: int | None = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[NotificationOut]:
    """Your and your unit's notifications, newest first (filters: unread, kind, event; page by before_id)."""
    items = inbox.list_notifications(uow, actor, unread=unread, kind=kind, event_id=event_id, before_id=before_id,
                                     limit=limit)
    return [NotificationOut(id=n.id, kind=n.kind, title=n.title, body=n.body, event_id=n.event_id,
                            task_id=n.task_id, to_person=n.person_id is not None, payload=n.payload,
                            created_at=n.created_at, read_at=n.read_at, read_by=n.read_by) for n in items]


@router.get("/api/inbox/unread-count", response_model=Count)
def unread_count(uow: UowDep, actor: ActorDep) -> Count:
    """How many of your and your unit's notifications are unread."""
    return Count(unread=inbox.unread_count(uow, actor))


@router.post("/api/inbox/read", response_model=Changed)
def mark_read(body: ReadBody, uow: UowDep, actor: ActorDep) -> Changed:
    """Mark notifications read (ids that are not yours are ignored)."""
    return Changed(changed=inbox.mark_read(uow, actor, body.ids))


@router.post("/api/inbox/read-all", response_model=Changed)
def mark_all_read(uow: UowDep, actor: ActorDep) -> Changed:
    """Mark all your and your unit's notifications read."""
    return Changed(changed=inbox.mark_read(uow, actor, None))


# --- webhooks (administrators) ---


class SubscriptionOut(BaseModel):
    id: int
    name: str
    url: str
    topics: list[str]
    area_code: str | None
    class_codes: list[str]
    max_attempts: int
    active: bool
    created_by: str
    created_at: datetime
    #: only in the answer to the creation: store it, it is not shown again
    secret: str | None = None


def _sub_out(s: Any, with_secret: bool = False) -> SubscriptionOut:
    return SubscriptionOut(id=s.id, name=s.name, url=s.url, topics=s.topics, area_code=s.area_code,
                           class_codes=s.class_codes, max_attempts=s.max_attempts, active=s.active,
                           created_by=s.created_by, created_at=s.created_at,
                           secret=s.secret if with_secret else None)


@router.get("/api/webhooks/topics")
def topics(actor: ActorDep) -> dict[str, str]:
    """The topics a subscription can ask for, with their Chinese names."""
    return webhooks.topics(actor)


@router.post("/api/webhooks", status_code=201, response_model=SubscriptionOut)
def create_subscription(body: webhooks.SubscriptionIn, uow: UowDep, actor: ActorDep) -> SubscriptionOut:
    """Subscribe a URL to topics (area and class filters optional); the secret is shown once."""
    return _sub_out(webhooks.create_subscription(uow, body, actor), with_secret=True)


@router.get("/api/webhooks", response_model=list[SubscriptionOut])
def list_subscriptions(uow: UowDep, actor: ActorDep) -> list[SubscriptionOut]:
    """Every webhook subscription (without secrets)."""
    return [_sub_out(s) for s in webhooks.list_subscriptions(uow, actor)]


@router.patch("/api/webhooks/{sub_id}", response_model=SubscriptionOut)
def patch_subscription(sub_id: int, body: webhooks.SubscriptionPatch, uow: UowDep, actor: ActorDep
                       ) -> SubscriptionOut:
    """Pause/resume a subscription or change its attempt limit."""
    return _sub_out(webhooks.patch_subscription(uow, sub_id, body, actor))


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    outbox_id: int
    topic: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptOut]


@router.get("/api/webhooks/deliveries", response_model=list[DeliveryOut])
def list_deliveries(uow: UowDep, actor: ActorDep, state: str | None = Query(default=None,
                    pattern="^(pending|delivered|dead)$"), subscription_id: int | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeliveryOut]:
    """The delivery log: each delivery with every attempt (status, error, duration)."""
    views = webhooks.list_deliveries(uow, actor, state=state, subscription_id=subscription_id, limit=limit)
    return [DeliveryOut(id=v.delivery.id, subscription_id=v.delivery.subscription_id, outbox_id=v.delivery.outbox_id,
                        topic=v.topic, state=v.delivery.state, attempts=v.delivery.attempts,
                        next_attempt_at=v.delivery.next_attempt_at, last_status=v.delivery.last_status,
                        last_error=v.delivery.last_error, created_at=v.delivery.created_at,
                        delivered_at=v.delivery.delivered_at,
                        log=[AttemptOut(at=a.at, status_code=a.status_code, error=a.error,
                                        duration_ms=a.duration_ms) for a in v.attempts_log]) for v in views]


@router.post("/api/webhooks/deliveries/{delivery_id}/replay", response_model=Changed)
def replay(delivery_id: int, uow: UowDep, actor: ActorDep) -> Changed:
    """Send a dead-lettered delivery again."""
    webhooks.replay(uow, delivery_id, actor)
    return Changed(changed=1)
