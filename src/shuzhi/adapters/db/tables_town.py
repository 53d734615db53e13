"""The town's structure (一中心四板块一网格, issue #20): its boards, their posts and duties, and the
city's board names.

A board (板块) is a unit (``units``, kind ``department`` at town level, under the town centre), so
dispatch, tasks, scope and evaluation treat it like any other unit; this part adds what only a board
has: its key among the town's boards, the town leader in charge, its posts held by named people and
its duty list (履职清单).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, Timestamps, UTCDateTime, utcnow


class TownBoardName(Base):
    """The city's boards for every town (the default four when the city has named none)."""

    __tablename__ = "town_board_names"
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class TownBoard(Timestamps, Base):
    """A board of a town: the unit, which of the city's boards it is, and the town leader in charge."""

    __tablename__ = "town_boards"
    __table_args__ = (UniqueConstraint("town_area_id", "key"),)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    town_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    key: Mapped[str] = mapped_column(String(30))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    #: The town leader in charge of the board (分管领导): a person of the town, usually of its centre.
    leader_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: The duty list (履职清单): ``[{"title": …, "detail": …}]``, in order.
    duties: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class BoardPost(Base):
    """A post (岗位) of a board and the person holding it; holding a post makes one a member of the
    board (tasks of the board may be assigned to him) whatever his own unit."""

    __tablename__ = "board_posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    board_unit_id: Mapped[int] = mapped_column(ForeignKey("town_boards.unit_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)


# --- grid teams "1+3+N", duty lists "6+1", 五长制 (issue #20, second slice) ---------------------------


class GridTeamRole(Base):
    """The city's grid team roles (网格长, 专职/兼职网格员, 网格指导员 and the N it adds); the four of
    "1+3" when it named none."""

    __tablename__ = "grid_team_roles"
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class GridTeamMember(Base):
    """A person serving in a grid's team in a role; ``is_primary`` marks the one primary membership of
    a person who serves in several grids. Serving makes him a member of the grid unit (its tasks may be
    assigned to him) whatever his own unit."""

    __tablename__ = "grid_team_members"
    __table_args__ = (UniqueConstraint("grid_unit_id", "person_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    sort: Mapped[int] = mapped_column(Integer, default=0)


class GridDuty(Base):
    """A recurring duty of a role (履职清单 "6+1"): what, how often, where or which objects, done how."""

    __tablename__ = "grid_duties"
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(200))
    frequency: Mapped[str] = mapped_column(String(10))
    place: Mapped[str] = mapped_column(String(300), default="")
    done_by: Mapped[str] = mapped_column(String(10), default="either")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DutyItem(Base):
    """One period's due item of a duty for one member of one grid; done by a patrol or a visit."""

    __tablename__ = "duty_items"
    __table_args__ = (UniqueConstraint("duty_id", "person_id", "grid_unit_id", "period_start"),
                      Index("ix_duty_items_person_due", "person_id", "due_at"),
                      Index("ix_duty_items_path_due", "area_path", "due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("grid_duties.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    #: the grid's area path: the scope of the row
    area_path: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_kind: Mapped[str | None] = mapped_column(String(10))
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrols.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AreaContact(Base):
    """A link of the urban chain of contacts (五长制) in a grid: 社区长 → 网格长 → 片区长 → 楼栋长 → 物业长.
    ``place`` names what the link answers for (a block, a building, an estate); ``parent_id`` the link
    above. The person is reached through it: a task of the grid's unit may be assigned to him."""

    __tablename__ = "area_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    link: Mapped[str] = mapped_column(String(12))
    place: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area_contacts.id", ondelete="CASCADE"))
    sort: Mapped[int] = mapped_column(Integer, default=0)
