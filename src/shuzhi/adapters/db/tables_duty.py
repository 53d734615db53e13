"""Tables of the duty roster (排班): shifts per centre, with the person and role on duty.

See :mod:`shuzhi.domain.duty` for the rules a stored shift obeys.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
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
