"""Tables of the evaluation part of shuzhi: per-event facts, daily roll-ups, schemes and reports.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.

* ``evaluation_event_facts`` — what each event last contributed (its cells from
  :func:`shuzhi.domain.evaluation.contributions`), so that a change to the event can be applied to the
  roll-ups as an exact difference (new − old).
* ``evaluation_rollups`` — the daily sums at several *grains* (which dimensions are kept), keyed by
  (grain, local day, town-level area, unit, class, source); a dimension a grain drops is stored as 0/''.
* ``evaluation_state`` — the refresh watermark (last timeline entry applied, last judging time).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, Task, TimelineEntry, Timestamps, UTCDateTime, utcnow
from shuzhi.domain.evaluation import MEASURES

Count = BigInteger().with_variant(Integer(), "sqlite")


class EvaluationEventFacts(Base):
    __tablename__ = "evaluation_event_facts"
    event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    area_id: Mapped[int] = mapped_column(Integer)
    area_path: Mapped[str] = mapped_column(String(100))
    class_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    #: ``[[day ordinal, unit id, {measure: value}], …]``
    cells: Mapped[list[Any]] = mapped_column(JSON)


class EvaluationRollup(Base):
    __tablename__ = "evaluation_rollups"
    # Class first: a query filtered by class uses it (class, grain, day range); any other query has no
    # class condition, cannot use it, and reads the month's rows by the key (grain, day, …) — with the
    # grain first, PostgreSQL chose it for per-class figures and walked every day of the grain's history.
    __table_args__ = (Index("ix_evaluation_rollups_class_grain_day", "class_id", "grain", "day"),)
    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    area_path: Mapped[str] = mapped_column(String(100))


for _name in MEASURES:
    EvaluationRollup.__table__.append_column(Column(_name, Count, nullable=False, default=0))  # type: ignore[attr-defined]

# The refresh finds tasks whose deadline passed since the last one (their figures change with no event);
# per-person figures read the timeline by actor and time.
Index("ix_tasks_accept_due_at", Task.accept_due_at)
Index("ix_tasks_handle_due_at", Task.handle_due_at)
Index("ix_timeline_actor_at", TimelineEntry.actor_id, TimelineEntry.at)


class EvaluationState(Base):
    __tablename__ = "evaluation_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Timeline entries up to this id have been applied.
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The ``now`` the figures were last judged at (deadlines passed before it are counted).
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events_applied: Mapped[int] = mapped_column(BigInteger, default=0)


class EvaluationScheme(Timestamps, Base):
    """A scoring scheme (考核评分办法) as a validated JSON document; one is active per area.

    ``area_path``: the area whose figures it scores (``None``: installation-wide). Figures are scored
    by the active scheme of the nearest area at or above the one asked about: a town's scheme scores
    its villages and units, never another town, nor the towns in the district's ranking."""

    __tablename__ = "evaluation_schemes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    area_path: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(60))


class EvaluationReport(Base):
    """A generated report (日报 / 周调度 / 月盘点) with its three renderings, kept for download."""

    __tablename__ = "evaluation_reports"
    __table_args__ = (UniqueConstraint("kind", "period_start", "area_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # daily|weekly|monthly
    period_label: Mapped[str] = mapped_column(String(30))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(60))
    html: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    xlsx: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    docx: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))


class EvaluationPublication(Base):
    """A district's ranking of its towns for a period, published to them (赛马比拼, issue #20): the rows as
    they stood when published, who published and when. Never changed nor deleted; one per district and
    period. Until a period is published its ranking stays the district's own."""

    __tablename__ = "evaluation_publications"
    __table_args__ = (UniqueConstraint("area_id", "period_label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    period_label: Mapped[str] = mapped_column(String(30))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(40))
    #: ``{"ranking": [...], "red_list": [...], "black_list": [...], "unranked": [...], "previous_period": …}``
    ranking: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    published_by: Mapped[str] = mapped_column(String(100))
    published_by_id: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
