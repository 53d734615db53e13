"""Tables of the duty roster (排班): shifts per centre, with the person and role on duty.

See :mod:`shuzhi.domain.duty` for the rules a stored shift obeys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, UTCDateTime, utcnow


class DutyShift(Base):
    """One person's shift at one unit: ``[starts_at, ends_at)`` in UTC, as ``leader_on_duty`` or
    ``officer``. Edited and deleted (a roster is a plan, not a record); the duty log keeps what
    happened on a shift."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        # "who is on duty at this centre now": the shifts of the unit that started before now, newest first
        Index("ix_duty_shifts_unit_starts", "unit_id", "starts_at"),
        # "is this person already on duty then" (one person, one desk)
        Index("ix_duty_shifts_person_starts", "person_id", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    #: ``manual`` (entered on the page or API) or ``import`` (from the centre's roster file).
    source: Mapped[str] = mapped_column(String(10), default="manual")
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


# --- the duty desk: handovers, the duty log, on-post checks (domain/duty_desk.py) ---------------------


class DutyHandover(Base):
    """A shift handover (交接班): offered by the outgoing officer with the open items of the moment
    (``items``, a snapshot), confirmed by the incoming one. Never changed once confirmed or withdrawn."""

    __tablename__ = "duty_handovers"
    __table_args__ = (Index("ix_duty_handovers_unit_offered", "unit_id", "offered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    from_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    to_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    state: Mapped[str] = mapped_column(String(12))  # offered | confirmed | withdrawn
    items: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirm_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class DutyLogEntry(Base):
    """One line of a centre's duty log (值班日志); append-only."""

    __tablename__ = "duty_log_entries"
    __table_args__ = (Index("ix_duty_log_unit_occurred", "unit_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[str] = mapped_column(Text)
    counterpart: Mapped[str] = mapped_column(String(100), default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PresenceCheck(Base):
    """An on-post check (在岗抽查): a superior centre asks a lower centre's officer on duty to confirm
    presence by ``due_at``; the sweep marks a pending check past its time as missed."""

    __tablename__ = "duty_presence_checks"
    __table_args__ = (Index("ix_presence_checks_state_due", "state", "due_at"),
                      Index("ix_presence_checks_unit_asked", "unit_id", "asked_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    by_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: The officer on duty when asked (None: nobody on the roster then — anyone of the unit may answer).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    asked_by: Mapped[str] = mapped_column(String(60))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))  # pending | confirmed | missed
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(Text, default="")
