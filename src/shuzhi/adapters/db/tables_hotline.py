"""Tables of hotline intelligence: model versions, the suggestions made at intake, links between events.

* ``model_versions`` — every trained text model: its blob (a few MB), the cut-off of the history it was
  trained on, how many examples and corrections, the accuracy measured on held-out examples, and
  whether it is the active one (exactly one active at a time; activation and rollback move the flag).
* ``model_suggestions`` — what the active model suggested for each event when it was registered, so
  that the accuracy in production (suggestion vs the event's final class) is a figure per class and month.
* ``event_links`` — an event linked to an earlier one as a repeat (same caller or same place again after
  closure). Append-only like the timeline: ids without foreign keys (see docs/architecture.md).
* ``model_auto_thresholds`` — per class, the score above which automation may act on the model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, UTCDateTime, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="hotline")
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    trained_by: Mapped[str] = mapped_column(String(60))
    #: the newest event the training saw (its received time); later events were not seen
    data_cutoff: Mapped[datetime | None] = mapped_column(UTCDateTime)
    examples: Mapped[int] = mapped_column(Integer)
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    classes: Mapped[int] = mapped_column(Integer)
    #: held-out accuracy: {"n", "top1", "top3", "unit_top1"} and training seconds
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)


class ModelSuggestion(Base):
    __tablename__ = "model_suggestions"
    __table_args__ = (Index("ix_model_suggestions_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, unique=True)
    model_version_id: Mapped[int] = mapped_column(Integer)
    class_code: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    top: Mapped[list[Any]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventLink(Base):
    __tablename__ = "event_links"
    __table_args__ = (UniqueConstraint("event_id", "linked_event_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, index=True)
    linked_event_id: Mapped[int] = mapped_column(BigId, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # repeat
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # same_caller | same_place
    actor: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class ModelAutoThreshold(Base):
    __tablename__ = "model_auto_thresholds"

    class_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(60))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
