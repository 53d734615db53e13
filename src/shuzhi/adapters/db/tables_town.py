"""The town's structure (一中心四板块一网格, issue #20): its boards, their posts and duties, and the
city's board names.

A board (板块) is a unit (``units``, kind ``department`` at town level, under the town centre), so
dispatch, tasks, scope and evaluation treat it like any other unit; this part adds what only a board
has: its key among the town's boards, the town leader in charge, its posts held by named people and
its duty list (履职清单).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, Timestamps


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
