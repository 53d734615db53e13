"""Tables of notices (通知): people's channels, group robots, escalation policies and chains, the
notices themselves (a durable outbox: written in the transaction that decided them, sent by the
worker) and every receipt (send, delivery report, reply, acknowledgement).

Notices, receipts and chains name events, units and people by id without foreign keys, like the
other high-volume append-only records (docs/architecture.md, "Append-only records").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, BigRef, UTCDateTime, utcnow


class NoticeSetting(Base):
    """A person's channels and quiet hours (local ``HH:MM``; urgent kinds are not held back by them)."""

    __tablename__ = "notice_settings"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NoticeRobot(Base):
    """A unit's WeCom or DingTalk group robot (its webhook and, for DingTalk, the signing secret)."""

    __tablename__ = "notice_robots"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # wecom | dingtalk
    name: Mapped[str] = mapped_column(String(100))
    webhook_url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EscalationPolicy(Base):
    """Who is told, by which channels, after how long without an acknowledgement (steps as JSON)."""

    __tablename__ = "escalation_policies"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The notice kind this policy serves (``warning.red`` …); one enabled policy per kind is used.
    kind: Mapped[str] = mapped_column(String(30), index=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NoticeChain(Base):
    """One escalation: steps run one after another until someone acknowledges."""

    __tablename__ = "notice_chains"
    __table_args__ = (Index("ix_notice_chains_due", "next_step_at"),
                      Index("ix_notice_chains_dedup", "dedup_key", "started_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    policy_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    #: What it is about: ``warning:<id>``, ``plan_run:<id>:<unit>`` …; with the kind, the de-dup key.
    subject: Mapped[str] = mapped_column(String(200))
    dedup_key: Mapped[str] = mapped_column(String(240))
    event_id: Mapped[int | None] = mapped_column(BigRef, index=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    #: The template's fields (event number, class, place, deadline, link …) — never personal data.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))  # open | acknowledged | exhausted | cancelled
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(100))
    ack_person_id: Mapped[int | None] = mapped_column(Integer)
    ack_channel: Mapped[str | None] = mapped_column(String(10))


class Notice(Base):
    """One message to one address on one channel (the durable outbox the sender works through)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_due", "state", "next_attempt_at"),
        Index("ix_notices_person", "person_id", "id"),
        Index("ix_notices_event", "event_id", "id"),
        Index("ix_notices_chain", "chain_id"),
        Index("ix_notices_address", "address", "id"),
        Index("ix_notices_dedup", "dedup_key", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chain_id: Mapped[int | None] = mapped_column(BigRef)
    step: Mapped[int] = mapped_column(Integer, default=0)
    event_id: Mapped[int | None] = mapped_column(BigRef)
    person_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    #: The rule that named the recipient (duty_officer, unit_leader …).
    who: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))  # sms | im | inapp
    #: The phone number, ``robot:<id>``, or ``inbox``.
    address: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    #: Short code for replies ("1 K7Q2M9") and the short link (/n/<code>).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    #: queued | sending | submitted | delivered | failed | suppressed | cancelled
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedup_key: Mapped[str] = mapped_column(String(240))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class NoticeReceipt(Base):
    """Everything that happened to a notice: each hand-over to the gateway, each delivery report, each
    retry, a final failure, a reply, the acknowledgement. Append-only."""

    __tablename__ = "notice_receipts"
    __table_args__ = (Index("ix_notice_receipts_notice", "notice_id", "id"),
                      Index("ix_notice_receipts_event", "event_id", "id"),
                      Index("ix_notice_receipts_person", "person_id", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int | None] = mapped_column(BigRef)
    chain_id: Mapped[int | None] = mapped_column(BigRef)
    event_id: Mapped[int | None] = mapped_column(BigRef)
    person_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: submitted | dlr | retry | failed | reply | ack | escalated
    kind: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
