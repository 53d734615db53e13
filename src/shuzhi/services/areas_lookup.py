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


def centre_for(session: Session, area_path: str | None, level: str | None = None) -> Unit | None:
    """The lowest centre (or the one at ``level``) whose area contains ``area_path``."""
    if not area_path:
        return None
    codes = ancestors(area_path)
    rows = session.execute(
        select(Unit, Area.code).join(Area, Unit.area_id == Area.id)
        .where(Unit.kind == "centre", Unit.active.is_(True), Area.code.in_(codes))
    ).all()
    by_code = {code: unit for unit, code in rows}
    for code in reversed(codes):
        unit = by_code.get(code)
        if unit is not None and (level is None or unit.level == level):
            return unit
    return None


def single_district_centre(session: Session) -> Unit | None:
    units = session.scalars(select(Unit).where(Unit.kind == "centre", Unit.level == "district").limit(2)).all()
    return units[0] if len(units) == 1 else None

