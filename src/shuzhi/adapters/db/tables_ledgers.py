"""Tables of ledgers (台账): ledgers, items and their sub-items, progress reports and reporting slots,
evidence, the immutable item timeline, the ledger clocks of the scheduler, bulletins and event links.

Same ``Base`` as the rest, so the migrations and the test schema see them (``docs/ledgers.md``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, UTCDateTime, utcnow

# A reference to a BIGINT id (items, events); SQLite keeps them as INTEGER like their targets.
BigRef = BigInteger().with_variant(Integer(), "sqlite")


class Ledger(Base):
    """A ledger is data: its kind, custom columns, owner, sign-off authority, visibility and schedule."""

    __tablename__ = "ledgers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: Who closes items off (销账机关) unless an item names its own (a problem's raising body).
    sign_off_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    visibility: Mapped[str] = mapped_column(String(10), default="private")
    schedule: Mapped[str] = mapped_column(String(10), default="monthly")
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The import's column mapping ``{header: target}`` and confirmed unit names ``{text: unit code}``,
    #: remembered for the next import of the same ledger.
    import_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unit_aliases: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The header layout of the last import (title rows, the header's names), for an export in the same layout.
    import_layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerItem(Base):
    """One item with its "四合一": task, lead/assisting units and the responsible leader and person,
    measures as dated milestones, the time limit; sub-items hang below it down the levels."""

    __tablename__ = "ledger_items"
    __table_args__ = (
        UniqueConstraint("ledger_id", "number", name="uq_ledger_items_ledger_number"),
        Index("ix_ledger_items_ledger_state", "ledger_id", "state"),
        Index("ix_ledger_items_ledger_lead", "ledger_id", "lead_unit_id"),
        Index("ix_ledger_items_ledger_limit", "ledger_id", "time_limit"),
        Index("ix_ledger_items_area_path", "area_path"),
        Index("ix_ledger_items_path", "path"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id"))
    parent_id: Mapped[int | None] = mapped_column(BigRef, ForeignKey("ledger_items.id"), index=True)
    #: ``/<root id>/<child id>/…/`` — a subtree is a prefix match, like the area paths.
    path: Mapped[str] = mapped_column(String(200), default="/")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="open")
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: The lead unit's area path, so that scope is the same prefix match as for events.
    area_path: Mapped[str] = mapped_column(String(100))
    leader_name: Mapped[str | None] = mapped_column(String(50))
    leader_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    person_name: Mapped[str | None] = mapped_column(String(50))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    milestones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    time_limit: Mapped[date | None] = mapped_column(Date)
    #: Progress shown (rolled up from sub-items when it has any) and as last reported for itself.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    own_progress: Mapped[int] = mapped_column(Integer, default=0)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # problems (巡视/审计/督察反馈问题)
    source: Mapped[str | None] = mapped_column(String(20))
    finding: Mapped[str | None] = mapped_column(Text)
    # suggestions and proposals (人大代表建议/政协委员提案)
    proposer: Mapped[str | None] = mapped_column(String(100))
    proposal_kind: Mapped[str | None] = mapped_column(String(12))
    reply_due: Mapped[date | None] = mapped_column(Date)
    reply_attachment_id: Mapped[int | None] = mapped_column(BigRef)
    satisfaction: Mapped[str | None] = mapped_column(String(12))
    #: The sign-off authority for this item (the body that raised a problem); the ledger's otherwise.
    sign_off_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(60))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class LedgerItemAssist(Base):
    """An assisting unit (配合单位) of an item: a row, so that "items my unit assists" is an index look-up."""

    __tablename__ = "ledger_item_assists"
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class LedgerTimelineEntry(Base):
    """One immutable line of an item's history (actor, time, from, to, reason); append-only, by id."""

    __tablename__ = "ledger_timeline"
    __table_args__ = (Index("ix_ledger_timeline_item", "item_id", "id"),
                      # re-opened items per period (the evaluation and the bulletin)
                      Index("ix_ledger_timeline_ledger_action", "ledger_id", "action", "at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigRef)
    ledger_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LedgerReport(Base):
    """A progress report (对账) on one item by its responsible unit."""

    __tablename__ = "ledger_reports"
    __table_args__ = (Index("ix_ledger_reports_item", "item_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(60))
    progress: Mapped[int] = mapped_column(Integer)
    milestones_done: Mapped[list[Any]] = mapped_column(JSON, default=list)
    narrative: Mapped[str] = mapped_column(Text)
    attachment_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The reporting periods this report answered, and whether it came in time for each.
    periods: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LedgerReportSlot(Base):
    """One report owed: an item's reporting period, its due time, and when (if) it was answered."""

    __tablename__ = "ledger_report_slots"
    __table_args__ = (
        UniqueConstraint("item_id", "period", name="uq_ledger_report_slots_item_period"),
        Index("ix_ledger_report_slots_due", "due_at"),
        Index("ix_ledger_report_slots_unit_due", "unit_id", "due_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id", ondelete="CASCADE"))
    ledger_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(24))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_id: Mapped[int | None] = mapped_column(BigRef)


class LedgerAttachment(Base):
    """Evidence (佐证材料), a reply document (答复件) or a report's annex, stored with the item."""

    __tablename__ = "ledger_attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(12))  # evidence|reply|report
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerClock(Base):
    """The scheduler's row for one item and one clock kind — ``deadline`` (the item's time limit) or
    ``report`` (the next progress report owed): when its next step is due and the steps to come."""

    __tablename__ = "ledger_clocks"
    __table_args__ = (Index("ix_ledger_clocks_next_due", "next_due_at"),)
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    ledger_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    plan: Mapped[list[Any]] = mapped_column(JSON)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerClockStep(Base):
    """A step that happened; unique per item, clock, step and deadline, so it happens once."""

    __tablename__ = "ledger_clock_steps"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", "step", "deadline", name="uq_ledger_clock_steps_key"),
        Index("ix_ledger_clock_steps_unit_done", "unit_id", "done_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigRef)
    ledger_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    step: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerBulletin(Base):
    """A published bulletin (晒账) of a period: the ranking and lists as data, drawn as Word/Excel/HTML."""

    __tablename__ = "ledger_bulletins"
    __table_args__ = (Index("ix_ledger_bulletins_ledger", "ledger_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id"))
    period_kind: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(60))


class LedgerEventLink(Base):
    """An item linked to an event: a case that arose from a task, or events whose pattern became a problem."""

    __tablename__ = "ledger_event_links"
    item_id: Mapped[int] = mapped_column(BigRef, ForeignKey("ledger_items.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigRef, ForeignKey("events.id"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(12))  # arose_from|pattern
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
