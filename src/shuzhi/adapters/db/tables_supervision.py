"""Tables of the supervision part of shuzhi: task clocks, supervision steps, urges, escalations,
inboxes, the outbox and outbound webhooks, and the durable scheduler's periodic jobs.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, BigRef, UTCDateTime, utcnow


class SupervisionClock(Base):
    """The durable scheduler's row for one task: when its next supervision step falls due.

    ``plan`` holds the steps still to come as ``[[step, due_at, deadline], …]`` (ISO times, in due order),
    computed from the task's deadlines whenever the task changes (see
    :mod:`shuzhi.services.supervision_clock`), so that a sweep only reads this table's due rows (and
    the small unit and class tables): the cost of a sweep grows with the due rows, not with the open
    tasks. A task with nothing left to supervise — ended, returned, a notify-only share — has no row.
    """

    __tablename__ = "supervision_clocks"
    # Room on every page (fill factor 80): a sweep's update of a due clock writes the new row version
    # next to the old one, so it dirties the page its claim already locked and not a second one.
    # (due time, task): the sweep's claims go through the due clocks in this order, each starting after
    # the last clock the one before took (services/supervision.py, _Keyset)
    __table_args__ = (Index("ix_supervision_clocks_next_due", "next_due_at", "task_id"),
                      {"postgresql_with": {"fillfactor": 80}})
    task_id: Mapped[int] = mapped_column(BigRef, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigRef)
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    plan: Mapped[list[Any]] = mapped_column(JSON)
    #: Consecutive failures of this row; each pushes ``next_due_at`` further out (no crash loop).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the sweep writes about the task and its event, carried here so that a sweep reads no task
    # and no event row (two index look-ups per due row, most of a claim's cost at 10,000 due rows; the
    # task's assignee too: its look-up alone was two thirds of a claim at 1,000,000 open tasks).
    # Kept in step by the same hook: the task's columns whenever the task changes, the event's
    # whenever the event's do (a reclassification).
    unit_id: Mapped[int] = mapped_column(Integer)
    dispatched_by_unit_id: Mapped[int | None] = mapped_column(Integer)
    event_number: Mapped[str] = mapped_column(String(40))
    event_title: Mapped[str] = mapped_column(String(200))
    area_path: Mapped[str] = mapped_column(String(100))
    event_class_id: Mapped[int | None] = mapped_column(Integer)
    #: The person the task is assigned to (事件责任人): its reminders go to him, not to the whole unit.
    assignee_id: Mapped[int | None] = mapped_column(Integer)


class SupervisionStep(Base):
    """One supervision step that happened (reminder, overdue, automatic urge, card, escalation).

    The unique key (task, step, deadline) makes each step happen once per deadline: a worker that
    crashed after doing it and a second worker racing for it both hit the key and do nothing. A new
    deadline (extension, a leader's urge) starts a fresh set of steps.
    """

    __tablename__ = "supervision_steps"
    __table_args__ = (
        # with the district: on Citus every unique key holds the distribution column (adapters/db/citus.py)
        UniqueConstraint("task_id", "step", "deadline", "district_code",
                         name="uq_supervision_steps_task_step_deadline"),
        Index("ix_supervision_steps_step_done", "step", "done_at"),
        Index("ix_supervision_steps_event", "event_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: By id, without a foreign key, like every append-only record (see ``TimelineEntry``).
    task_id: Mapped[int] = mapped_column(BigRef)
    event_id: Mapped[int] = mapped_column(BigRef)
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    unit_id: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(20))
    #: The deadline this step is about (the accept or handle deadline it was computed from).
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    area_path: Mapped[str | None] = mapped_column(String(100))


class SupervisionRules(Base):
    """The supervision thresholds of an area, as data: one row per area that sets its own (a town's,
    the district's), and one installation-wide (``area_path`` null); the defaults where none applies.
    A task follows the deepest row above its event's area (:func:`shuzhi.domain.supervision.rules_for`)."""

    __tablename__ = "supervision_rules"
    __table_args__ = (Index("ux_supervision_rules_area", "area_path", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The area whose tasks these thresholds govern (materialised path); null = installation-wide.
    area_path: Mapped[str | None] = mapped_column(String(100))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Urge(Base):
    """A leader's urge (督办): an instruction and a new deadline for the event's open tasks."""

    __tablename__ = "urges"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigRef, ForeignKey("events.id"), index=True)
        #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    by: Mapped[str] = mapped_column(String(60))
    instruction: Mapped[str] = mapped_column(Text)
    new_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    task_ids: Mapped[list[int]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Escalation(Base):
    """A task that rose to the centre one level up (上报): not accepted in time, or beyond the unit."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigRef, ForeignKey("events.id"), index=True)
    task_id: Mapped[int] = mapped_column(BigRef, ForeignKey("tasks.id"))
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20))  # accept_timeout|beyond_capacity
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """One inbox item, addressed to a person or to a unit (everyone of the unit sees it)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_unit", "unit_id", "id"),
        # most items go to a unit: those need no entry in the index of personal items
        Index("ix_notifications_person", "person_id", "id", postgresql_where=text("person_id IS NOT NULL"),
              sqlite_where=text("person_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The addressee by id, without a foreign key, like every append-only record (see ``TimelineEntry``).
    person_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(BigRef)
    task_id: Mapped[int | None] = mapped_column(BigRef)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(60))


class OutboxMessage(Base):
    """A fact for the outside world, written in the same transaction as the change it reports
    (transactional outbox); the worker fans it out to matching webhook subscriptions."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "fanned_out", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(BigRef)
    area_path: Mapped[str | None] = mapped_column(String(100))
    class_code: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookSubscription(Base):
    """Where to send which outbox topics, filtered by area subtree and event class."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    topics: Mapped[list[str]] = mapped_column(JSON)
    area_code: Mapped[str | None] = mapped_column(String(15))
    area_path: Mapped[str | None] = mapped_column(String(100))
    class_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One outbox message to one subscription: pending → delivered, or dead after ``max_attempts``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "outbox_id", name="uq_webhook_deliveries_subscription_outbox"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(BigRef, ForeignKey("outbox.id"))
    state: Mapped[str] = mapped_column(String(10))  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """The delivery log: every HTTP attempt with its answer."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigRef, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


class ScheduledJob(Base):
    """A periodic job of the durable scheduler: when it runs next (claimed by conditional UPDATE)."""

    __tablename__ = "scheduled_jobs"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
