"""Tables of the integration part of shuzhi: how the event catalogue is offered over Open311, and what
an Open311 client sent that the event itself has no column for.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, UTCDateTime, utcnow


class Open311Service(Base):
    """How one event class is offered as an Open311 service (GeoReport v2 ``service``).

    Without a row every active class is offered under its own code, name and major class; a row lets
    the city rename it, give it another code, a notice, keywords, or hide it.
    """

    __tablename__ = "open311_services"
    event_class_id: Mapped[int] = mapped_column(ForeignKey("event_classes.id", ondelete="CASCADE"),
                                                primary_key=True)
    service_code: Mapped[str] = mapped_column(String(40), unique=True)
    service_name: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    group_name: Mapped[str | None] = mapped_column(String(100))
    keywords: Mapped[str | None] = mapped_column(String(300))
    #: Shown to the citizen after submitting (``service_notice``), e.g. the promised handling time.
    service_notice: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Open311Request(Base):
    """What an Open311 client sent with a request beyond the event's own columns."""

    __tablename__ = "open311_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    #: Handed back on POST; ``GET tokens/{token}`` maps it to the request id.
    token: Mapped[str] = mapped_column(String(40), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[str | None] = mapped_column(String(100))
    device_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    media_url: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(40))
    #: ``attribute[code]=value`` answers to the service definition, as submitted.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
