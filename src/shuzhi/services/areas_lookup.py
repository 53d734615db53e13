"""Lookups over the stored area tree and units, shared by the use cases."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.services.errors import Invalid


def area_by_code(session: Session, code: str, field: str = "area_code") -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise Invalid(f"unknown area '{code}'", field=field)
    return area


def unit_by_code(session: Session, code: str, field: str = "unit_code") -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise Invalid(f"unknown unit '{code}'", field=field)
    if not unit.active:
        raise Invalid(f"unit '{code}' is inactive", field=field)
    return unit


def ancestors(area_path: str) -> list[str]:
    """Codes from the city down to the area itself, read off the materialised path."""
    return [c for c in area_path.split("/") if c]
