"""SQLAlchemy tables: the persistent shape of the governance model.

Portable between SQLite (the demo) and PostgreSQL (production): JSON columns for boundaries and
limits, times stored as UTC, area subtrees as a materialised path (``/500000/500111/500111001/``)
so that "everything in this town" is one indexed prefix match on both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    inspect,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.base import NO_VALUE

# Stable constraint names so that Alembic migrations are the same on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no 64-bit autoincrement for BIGINT primary keys; INTEGER is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# A reference to a BIGINT id (tasks, events, outbox rows); SQLite keeps them as INTEGER like their targets.
BigRef = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite (which has no time zones) gets them back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times are stored in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Area(Timestamps, Base):
    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10), index=True)
    #: The dual grid (issue #20): a grid is of the governance layer or a special-purpose one (safety, flood …)
    #: over the same ground; a point is located in the governance grid (:mod:`shuzhi.domain.grid_teams`).
    layer: Mapped[str] = mapped_column(String(12), default="governance", server_default="governance")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    #: ``/city/district/town/…/self/`` codes; a subtree is ``path LIKE '<path>%'``.
    path: Mapped[str] = mapped_column(String(100), index=True)
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    centroid_lon: Mapped[float | None] = mapped_column(Float)
    centroid_lat: Mapped[float | None] = mapped_column(Float)
    #: Validity (issue #20, areas that change): an area version is valid from ``valid_from`` (``None``:
    #: always was) until ``valid_to`` (``None``: still is). A change retires versions and creates new ones,
    #: never rewrites one; ``successor_id`` names the version that answers for a retired one (by id
    #: without a foreign key: areas are never deleted, and SQLite would copy the table to add one).
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    successor_id: Mapped[int | None] = mapped_column(Integer)


class AreaChange(Base):
    """One named change of the area tree (村社撤并, a grid split, a moved boundary): what, why, who, when,
    and the mapping from each retired version to its successors. Append-only."""

    __tablename__ = "area_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # merge|split|move_boundary
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(60))
    #: ``{"retired": [codes], "created": [codes], "successors": {old: new}, "moved": {events, tasks, people,
    #: units}}``
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Unit(Timestamps, Base):
    """A centre, department, village committee or grid team: anything a task can be given to."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12), index=True)  # centre|department|village|grid
    level: Mapped[str] = mapped_column(String(10))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The unit governing an area version lives as long as it (issue #20); ``None``: open-ended.
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)

    area: Mapped[Area] = relationship(lazy="joined")


class UnitDuty(Base):
    """A unit is responsible for an event class (from its mandate list, 三定/履职清单)."""

    __tablename__ = "unit_duties"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    event_class_id: Mapped[int] = mapped_column(
        ForeignKey("event_classes.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UnitCoverage(Base):
    """The areas a unit serves (their whole subtrees)."""

    __tablename__ = "unit_coverage"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)


class Person(Timestamps, Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship(lazy="joined")


class EventClass(Timestamps, Base):
    """A minor class of GB/T 30428.2 (component 部件 or event 事件) with its major class."""

    __tablename__ = "event_classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # component|event
    major_code: Mapped[str] = mapped_column(String(20), index=True)
    major_name: Mapped[str] = mapped_column(String(100))
    default_mode: Mapped[str] = mapped_column(String(10))
    default_urgency: Mapped[str] = mapped_column(String(10))
    #: ``{"normal": {"accept": "4wh", "handle": "5wd"}, "urgent": {...}, "critical": {...}}``
    time_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: A case handled on the spot (自行处置) is verified by someone other than who handled it (#15).
    separate_verifier: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_state_received", "state", "received_at"),
        Index("ix_events_area_path", "area_path"),
        Index("ix_events_received_id", "received_at", "id"),
        # a district centre's cases by time: on Citus the district is one shard
        Index("ix_events_district_received", "district_code", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The district (GB/T 2260, 6 digits) the case belongs to: the first part of its number. On Citus the
    #: distribution column of the case tables (``adapters/db/citus.py``); filled at insert
    #: (``adapters/db/districts.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    request_type: Mapped[str | None] = mapped_column(String(10))
    event_class_id: Mapped[int | None] = mapped_column(ForeignKey("event_classes.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    #: The lowest area the event was located in (a grid when the point fell in one).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    area_path: Mapped[str | None] = mapped_column(String(100))
    #: Where the event happened, kept when an area change re-homes the open event to a successor area
    #: (``None``: never re-homed, ``area_path`` is where it happened). Figures group by this.
    origin_area_id: Mapped[int | None] = mapped_column(Integer)
    origin_area_path: Mapped[str | None] = mapped_column(String(100))
    reporter_name: Mapped[str | None] = mapped_column(String(50))
    reporter_phone: Mapped[str | None] = mapped_column(String(30))
    reporter_id_number: Mapped[str | None] = mapped_column(String(30))
    urgency: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    #: A client-chosen key: a retried intake with the same key returns the first event.
    intake_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    #: The centre that owns the case (首接负责) and answers for it until it is closed.
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    master_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    event_class: Mapped[EventClass | None] = relationship(lazy="joined")
    area: Mapped[Area | None] = relationship(lazy="joined")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="event", order_by="Task.id", lazy="selectin", foreign_keys="Task.event_id"
    )


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_unit_state", "unit_id", "state"),
        Index("ix_tasks_state_handle_due", "state", "handle_due_at"),
        # a unit's unread copies (抄送未阅), newest first, and their count: the inbox of a district centre
        # holds 100,000 of them, and the partial index is all the inbox reads (issue 18)
        Index("ix_tasks_unit_unread", "unit_id", "id", postgresql_where=text("state = 'notified'"),
              sqlite_where=text("state = 'notified'")),
        # a person's own tasks (指派给我): only assigned tasks are in it
        Index("ix_tasks_assignee_state", "assignee_id", "state", postgresql_where=text("assignee_id IS NOT NULL"),
              sqlite_where=text("assignee_id IS NOT NULL")),
        # 一贯到底's waits per level: the tasks that carry work (not the copies, ~96 % of the rows) by dispatch time
        Index("ix_tasks_work_dispatched", "dispatched_at", postgresql_where=text("role IN ('lead', 'assist')"),
              sqlite_where=text("role IN ('lead', 'assist')")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    dispatched_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    dispatched_by: Mapped[str | None] = mapped_column(String(40))
    instruction: Mapped[str | None] = mapped_column(Text)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A copy's read deadline (抄送阅知时限, working time); None for lead/assist tasks.
    read_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_requested_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The named person of the unit who answers for the task (事件责任人), given by the unit's leader or a
    #: superior centre; ``None`` = the unit as a whole. By id without a foreign key, like the timeline's
    #: actor: people are never deleted, and a check would lock the person's row on every task write.
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    event: Mapped[Event] = relationship(back_populates="tasks", foreign_keys=[event_id])
    unit: Mapped[Unit] = relationship(lazy="joined", foreign_keys=[unit_id])
    # selectin, not joined: a task load must not grow by the person's unit and area joins; a batch of
    # tasks with no assignee asks nothing more
    assignee: Mapped[Person | None] = relationship(
        lazy="selectin", primaryjoin="foreign(Task.assignee_id) == Person.id", viewonly=True)

    @property
    def assignee_if_loaded(self) -> Person | None:
        """The assignee as loaded with the task, without a query (a task created in this session, or
        read after its session closed, has none to load)."""
        if self.assignee_id is None:
            return None
        loaded = inspect(self).attrs.assignee.loaded_value
        return None if loaded is NO_VALUE else loaded


_MOVES_UP = "action IN ('event.escalate', 'task.return', 'task.escalate', 'supervision.escalate')"


class TimelineEntry(Base):
    """One immutable line of an event's history: who did what, when, from which state to which, why.

    Like the other append-only records (inbox, supervision steps, outbox) it names the event, the task
    and the actor by id, without a foreign key: a check would lock the event's and the task's rows for
    every line written, and those rows are never deleted (``docs/architecture.md``, "Append-only records").
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (
        Index("ix_timeline_event_at", "event_id", "id"),
        # 一贯到底's moves up a level by time (services/levels.py): only these few lines are in it
        Index("ix_timeline_moves_up_at", "at", postgresql_where=text(_MOVES_UP), sqlite_where=text(_MOVES_UP)),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId)
    task_id: Mapped[int | None] = mapped_column(BigId)
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    #: Its event's district (the distribution column on Citus, ``adapters/db/citus.py``).
    district_code: Mapped[str | None] = mapped_column(String(12))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventSequence(Base):
    """Per area and day counter behind human-readable event numbers (``500111-20240613-000123``)."""

    __tablename__ = "event_sequences"
    __table_args__ = (UniqueConstraint("prefix"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(30))
    last: Mapped[int] = mapped_column(Integer, default=0)


# --- dispatch rules ---


class DispatchRule(Timestamps, Base):
    """A dispatch rule (分拨规则): a condition over the event → lead and assisting units.

    ``condition`` and ``targets`` are the JSON of :mod:`shuzhi.domain.rules`, validated before they
    are stored; ``version`` counts the changes (each one is kept in ``dispatch_rule_versions``) and
    guards against lost updates (``UPDATE … WHERE version = :seen``).
    """

    __tablename__ = "dispatch_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Smaller is tried first.
    priority: Mapped[int] = mapped_column(Integer)
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    targets: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The level selectors look at when they name none (``town`` …); null = any.
    level: Mapped[str | None] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(60))
    #: The area whose events the rule routes (a town's rule, the district's); null = installation-wide.
    area_path: Mapped[str | None] = mapped_column(String(100))


class DispatchRuleVersion(Base):
    """Every saved state of a rule, append-only; kept by code so that a deleted rule's history stays."""

    __tablename__ = "dispatch_rule_versions"
    __table_args__ = (UniqueConstraint("rule_code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_rules.id", ondelete="SET NULL"), index=True
    )
    rule_code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(10))  # create|update|delete
    #: The rule document as saved (code, name, priority, condition, targets, level, enabled).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(60))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class ChangeStamp(Base):
    """A token replaced whenever a change to one kind of reference data is committed (written by
    triggers: ``adapters/db/change_stamps.py`` says why and how)."""

    __tablename__ = "change_stamps"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(40))
    #: PostgreSQL: the transaction that last replaced the token (once per transaction, at commit).
    txid: Mapped[int | None] = mapped_column(BigInteger)


# Each part of the product keeps its tables in its own module on the same metadata; importing them
# here means anything that sees ``Base.metadata`` (Alembic, the test schema) sees every table.
from shuzhi.adapters.db import (  # noqa: E402
    change_stamps,
    districts,
    tables_calendar,
    tables_desk,
    tables_duty,
    tables_evaluation,
    tables_hotline,
    tables_integration,
    tables_ledgers,
    tables_notices,
    tables_patrols,
    tables_plans,
    tables_public_services,
    tables_security,
    tables_sensing,
    tables_supervision,
    tables_town,
    tables_warnings,
)

__all__ = [
    "change_stamps",
    "districts",
    "tables_calendar",
    "tables_desk",
    "tables_duty",
    "tables_evaluation",
    "tables_hotline",
    "tables_integration",
    "tables_ledgers",
    "tables_notices",
    "tables_patrols",
    "tables_plans",
    "tables_public_services",
    "tables_security",
    "tables_sensing",
    "tables_supervision",
    "tables_town",
    "tables_warnings",
]

# The change stamps' rows and triggers belong to the schema: a schema made by ``create_all`` (the tests')
# gets them as a migrated one does (migration 0031).
event.listen(Base.metadata, "after_create", change_stamps.after_create)
