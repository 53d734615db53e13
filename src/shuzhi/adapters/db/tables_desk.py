"""Tables of the desk: copy lists (抄送名单) — the named sets of units a notice is copied to at once.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, UTCDateTime, utcnow


class CopyList(Base):
    """A named list of units ("all towns in the Laixi basin", "every department on the flood list").

    It belongs to its author's unit and is scoped by that unit's area path: only actors who see that
    area see and use the list, so a town cannot copy to another district's list of units.
    """

    __tablename__ = "copy_lists"
    __table_args__ = (UniqueConstraint("owner_unit_id", "name", name="uq_copy_lists_owner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CopyListMember(Base):
    """One unit on a copy list."""

    __tablename__ = "copy_list_members"

    copy_list_id: Mapped[int] = mapped_column(ForeignKey("copy_lists.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("units.id"), primary_key=True)
