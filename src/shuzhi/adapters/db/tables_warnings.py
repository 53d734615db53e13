"""Tables of the warnings part of shuzhi: threshold rules, warnings with their level history, silences
and inhibitions.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.

One warning row is one episode of one series (indicator × device or area).  ``open_key`` is set
while the episode is pending or firing and cleared when it ends: its unique index is what keeps a
series to one open warning across every process that evaluates readings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, Timestamps, UTCDateTime, utcnow


class ThresholdRuleRow(Timestamps, Base):
    """A threshold rule (the JSON document of :mod:`shuzhi.domain.thresholds`), per indicator and
    optionally per area subtree (``area_key`` is the area code, or ``""`` for the indicator's default)."""

    __tablename__ = "threshold_rules"
    __table_args__ = (UniqueConstraint("indicator_id", "area_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    area_key: Mapped[str] = mapped_column(String(15), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    #: Copied from the area when saved: overrides are matched by path prefix.
    area_path: Mapped[str | None] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(60))


class WarningConfigGeneration(Base):
    """One row whose counter every change of rules, silences or inhibitions bumps, so that every
    process sees a change at its next batch by reading one row."""

    __tablename__ = "warning_config"
    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class IndicatorWarning(Base):
    """One warning episode of one series: pending → firing (level may rise or fall) → resolved."""

    __tablename__ = "warnings"
    __table_args__ = (
        Index("ix_warnings_state_area", "state", "area_path"),
        Index("ix_warnings_series", "indicator_id", "series_key"),
        Index("ix_warnings_started", "started_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    episode_key: Mapped[str] = mapped_column(String(140), unique=True)
    #: ``<indicator id>|<series key>`` while pending or firing, else null (unique: one open episode).
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    indicator_code: Mapped[str] = mapped_column(String(40))
    series_key: Mapped[str] = mapped_column(String(60))
    area_code: Mapped[str] = mapped_column(String(15))
    area_path: Mapped[str] = mapped_column(String(100))
    device_code: Mapped[str | None] = mapped_column(String(60))
    rule_code: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10))  # pending|firing|resolved|cleared
    level: Mapped[str | None] = mapped_column(String(10))
    peak_level: Mapped[str | None] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_value: Mapped[float | None] = mapped_column(Float)
    last_reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it does not notify (``{"kind": "silence"|"inhibition", "ref": …, "by_warning": …}``), or null.
    suppressed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: It has been announced (hooks called, event opened or updated) at least once.
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(60))
    ack_note: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class WarningLevelChange(Base):
    """Every step of a warning's life, append-only: pending, fired, raised, lowered, resolved,
    cleared, suppressed, released, acknowledged."""

    __tablename__ = "warning_changes"
    __table_args__ = (Index("ix_warning_changes_warning", "warning_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    change: Mapped[str] = mapped_column(String(12))
    from_level: Mapped[str | None] = mapped_column(String(10))
    to_level: Mapped[str | None] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WarningSilence(Base):
    """A silence (静默): warnings matching ``matcher`` in ``[starts_at, ends_at)`` do not notify."""

    __tablename__ = "warning_silences"
    __table_args__ = (Index("ix_warning_silences_ends", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    matcher: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The matcher's area path (when it names an area), resolved when saved.
    area_path: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Ended early by a person (the window's end is moved to that time; kept for the record).
    expired_by: Mapped[str | None] = mapped_column(String(60))


class WarningInhibition(Timestamps, Base):
    """An inhibition (抑制) rule: a firing upstream warning suppresses its dependants."""

    __tablename__ = "warning_inhibitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
