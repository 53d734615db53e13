"""Tables of the calendar part of shuzhi: years entered by administrators, office hours per centre.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, UTCDateTime, utcnow


class CalendarYear(Base):
    """One year's holidays and make-up working days as an administrator entered them (from the State
    Council's notice); it replaces whatever the bundled ``chinesecalendar`` says of that year."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: ISO dates, sorted.
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    makeup_workdays: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The notice it comes from, e.g. 国办发明电〔2026〕7号.
    source: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(60))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficeHoursSetting(Base):
    """A centre's office hours (``09:00-12:00,14:00-18:00``); units under it work to the same hours."""

    __tablename__ = "office_hours"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    spans: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
