"""Tables of the sensing part of shuzhi: the indicator tree, devices, readings and their summaries.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.

Readings are keyed by ``(indicator_id, series_key, at)`` — the primary key, so a duplicate is refused
by the database itself and no surrogate id costs a second index. A series is one indicator measured at
one place: the device's code when the reading came from a device, else the area's code (the same rule
as :class:`shuzhi.domain.readings.StoredReading`). Beside the raw rows, ``reading_latest`` holds the
newest value of every series and ``reading_rollups`` one row per series and hour (count, sum, min, max),
both kept up to date by the ingest statement, so dashboards never scan raw history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, Timestamps, UTCDateTime, utcnow


class IndicatorNode(Timestamps, Base):
    """A sector (板块), runway (跑道) or sub-runway (子跑道) of the knowledge tree."""

    __tablename__ = "indicator_nodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # sector|runway|sub_runway
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_nodes.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    #: The lead unit (牵头单位; for a runway 跑道建设牵头单位), answerable for the node's state; null = none named.
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))


class Indicator(Timestamps, Base):
    """A vital-sign indicator (体征指标): a leaf of the tree, measured per area (or device) over time."""

    __tablename__ = "indicators"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    sub_runway_id: Mapped[int] = mapped_column(ForeignKey("indicator_nodes.id"), index=True)
    #: Unit of measure as shown (``m``, ``MPa``, ``μg/m³``, ``次``); empty for counts without one.
    unit: Mapped[str] = mapped_column(String(20), default="")
    value_type: Mapped[str] = mapped_column(String(10))  # number|integer|boolean
    #: Expected reporting interval in seconds (the import takes ``30s``, ``5m``, ``1h``, ``1d``).
    frequency_s: Mapped[int] = mapped_column(Integer)
    source_system: Mapped[str] = mapped_column(String(100), default="")
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: The area level it is measured at (district, town, village, grid).
    level: Mapped[str] = mapped_column(String(10))
    realtime: Mapped[bool] = mapped_column(Boolean, default=True)
    warning: Mapped[bool] = mapped_column(Boolean, default=True)
    traceable: Mapped[bool] = mapped_column(Boolean, default=True)
    evaluable: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Raw readings older than this many days are purged; null = the installation's default.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IndicatorArea(Base):
    """The areas an indicator is measured in (readings for other areas are refused)."""

    __tablename__ = "indicator_areas"
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True, index=True)


class Device(Timestamps, Base):
    """A sensor that reports one indicator at one area (a manhole cover, a gauge, a camera counter)."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Reading(Base):
    """One value of one series at one instant; the primary key makes a repeated reading a no-op.

    No other index: every query (history, purge) names the series and a time range, which the
    primary key serves, and each extra index would cost every insert.

    On PostgreSQL the table is partitioned by day on ``at`` (``readings_partitions.py``), with a default
    partition for days that have none; the primary key includes ``at``, as partitioning requires.
    """

    __tablename__ = "readings"
    __table_args__ = {"postgresql_partition_by": "RANGE (at)"}
    indicator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    area_id: Mapped[int] = mapped_column(Integer)


#: ``fillfactor`` of ``reading_latest`` (PostgreSQL), updated by every batch: room on each page for a
#: new version of every row on it, so that updates stay HOT between vacuums.
CHURN_FILLFACTOR = 50


class LatestReading(Base):
    """The newest reading of each series (an out-of-order reading never replaces a newer one).

    Every batch updates the row of each series it names: on PostgreSQL the pages are left half empty
    (``fillfactor``, :data:`CHURN_FILLFACTOR`) so that the new version goes on the same page (a HOT
    update, no new index entry) and the previous one is pruned as the page is read: 2,134 series
    upserted 600 times stay in 272 kB (index 176 kB), all updates HOT; packed full, about a quarter
    were HOT and it grew to 4.4 MB (index 936 kB). Pruning needs the xmin horizon to move: while any
    session of the *cluster* holds a transaction open (PostgreSQL re-computes the per-database horizon
    only when the cluster-wide one moves), dead versions pile up either way and the upsert slows with
    them (issue #16, reading → warning → event; docs/sensing.md).
    """

    __tablename__ = "reading_latest"
    __table_args__ = (Index("ix_reading_latest_area", "area_id"), {"postgresql_with": {"fillfactor": CHURN_FILLFACTOR}})
    indicator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)


class ReadingRollup(Base):
    """Hourly summary of a series: exact because only newly stored readings are added to it. (Its pages
    stay packed: the table keeps years of hours and only the current one is updated; with the horizon
    free, pruning bounds the current hour's churn — see :class:`LatestReading`.)"""

    __tablename__ = "reading_rollups"
    __table_args__ = (Index("ix_reading_rollups_hour", "hour"),)
    indicator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)


class MqttReceipt(Base):
    """When a message without a time of its own was first received (issue #15).

    A reading published without ``at`` is timed when it arrives; a broker redelivering the message
    (DUP set: the first delivery was never acknowledged, e.g. the process died after storing it)
    must not make it a second reading at a later time. ``digest`` is the SHA-256 of topic and payload:
    a redelivery carries both unchanged. Kept for the redelivery window, then purged."""

    __tablename__ = "mqtt_receipts"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class VitalSignRule(Base):
    """The installation's vital-sign rule (:mod:`shuzhi.domain.vital_signs`): one row, id 1; absent = the default."""

    __tablename__ = "vital_sign_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskPointKind(Base):
    """A kind of risk point the installation registers (危岩, 易涝点 …); none stored = the default kinds."""

    __tablename__ = "risk_point_kinds"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class RiskPoint(Timestamps, Base):
    """A risk or hazard point (风险点, 隐患点, 易涝点 …) on the map (:mod:`shuzhi.domain.risk_points`)."""

    __tablename__ = "risk_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    grade: Mapped[str] = mapped_column(String(10))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    #: Copied from the area when saved: every list and map layer is scoped by path prefix.
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    responsible_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    responsible_person: Mapped[str] = mapped_column(String(60), default="")
    responsible_phone: Mapped[str] = mapped_column(String(20), default="")
    #: Seconds between patrols (the import takes ``1d``, ``7d``); null = not patrolled.
    patrol_every_s: Mapped[int | None] = mapped_column(Integer)
    #: A person marked it under rectification (整改中); the timeline says who, when and why.
    rectifying: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RiskPointSeries(Base):
    """A series watching a risk point: an indicator at an area or a device (its series key)."""

    __tablename__ = "risk_point_series"
    __table_args__ = (Index("ix_risk_point_series_series", "indicator_id", "series_key"),)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"), primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    series_key: Mapped[str] = mapped_column(String(60), primary_key=True)


class RiskPointChange(Base):
    """The risk point's timeline, append-only: rectification started and ended, with who, when and why."""

    __tablename__ = "risk_point_changes"
    __table_args__ = (Index("ix_risk_point_changes_point", "risk_point_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")


class RiskPointCheck(Base):
    """A check on a risk point (巡查检查) recorded on the spot, mostly by a grid worker from the phone."""

    __tablename__ = "risk_point_checks"
    __table_args__ = (Index("ix_risk_point_checks_point", "risk_point_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(60))
    #: The patrol it was made on, when the worker had one running (patrols have no foreign key here:
    #: the patrol log is its own part).
    patrol_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(10))  # normal|abnormal
    note: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)


# The default partition is part of the table's shape on PostgreSQL (without it a reading for a day with no
# partition would be refused), so it is declared with the table, as an index would be, not wired at start.
event.listen(Reading.__table__, "after_create",
             DDL("CREATE TABLE IF NOT EXISTS readings_default PARTITION OF readings DEFAULT")  # type: ignore[no-untyped-call]
             .execute_if(dialect="postgresql"))


class IndicatorIntakeDay(Base):
    """Per indicator and local day of arrival: readings received, stored, late, rejected and duplicate
    (采集治理, :mod:`shuzhi.domain.collection`); one upsert per ingest batch keeps it."""

    __tablename__ = "indicator_intake_days"
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)


class IndicatorPlanEntry(Base):
    """The online plan (成熟一批、上线一批): an indicator planned to come online in a batch on a day; it is
    online from ``online_on`` (set when its first reading is seen, or given)."""

    __tablename__ = "indicator_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: By code, not a foreign key: an indicator is planned before it is in the catalogue.
    indicator_code: Mapped[str] = mapped_column(String(40), unique=True)
    batch: Mapped[str] = mapped_column(String(60))
    planned_on: Mapped[date] = mapped_column(Date)
    online_on: Mapped[date | None] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskPointRectification(Timestamps, Base):
    """One rectification (整改) of a risk point: found → measures and deadline → done → verified
    (:data:`shuzhi.domain.risk_points.RECT_TRANSITIONS`); every step is a line on the point's timeline."""

    __tablename__ = "risk_point_rectifications"
    __table_args__ = (Index("ix_risk_point_rectifications_open", "state", "deadline_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    finding: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found_by: Mapped[str] = mapped_column(String(60))
    measures: Mapped[str] = mapped_column(Text, default="")
    #: The deadline counted in working days on the responsible unit's calendar from when measures were set.
    working_days: Mapped[int | None] = mapped_column(Integer)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str] = mapped_column(String(60), default="")
    #: When the reminder (one working day left) and the overdue notice were written: once each per deadline.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
