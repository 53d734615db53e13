"""The organisation: centres, departments, village and grid units, and the people in them.

Units and people are imported from CSV/XLSX (all or nothing, every problem named by row and column),
updated by code on re-import, never duplicated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, EventClass, Person, Unit, UnitCoverage, UnitDuty
from shuzhi.domain.permissions import REFERENCE_WRITE, STAFF_READ, USER_ADMIN, is_reserved_code
from shuzhi.domain.personal_data import mask_phone
from shuzhi.domain.town import LEFT_MOVED
from shuzhi.services.actors import SYSTEM, Actor, forget_people
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.importing import ImportReport, Rows, canonical_rows, split_list
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

UNIT_KINDS = ("centre", "department", "village", "grid")
LEVELS = ("city", "district", "town", "village", "grid")
ROLES = ("administrator", "duty_officer", "dispatcher", "handler", "grid_worker", "leader", "auditor", "integrator")
UNIT_COLUMNS = ["code", "name", "kind", "level", "area_code", "parent_code", "duties", "coverage", "phone"]
PEOPLE_COLUMNS = ["code", "name", "phone", "unit_code", "role"]
UNIT_ALIASES = {
    "code": ["编码", "单位编码"], "name": ["名称", "单位名称"], "kind": ["类型"], "level": ["层级", "级别"],
    "area_code": ["区域编码", "所属区域"], "parent_code": ["上级编码", "上级单位"], "duties": ["职责", "职责事项"],
    "coverage": ["覆盖区域", "管辖区域"], "phone": ["电话", "联系电话"],
}
PEOPLE_ALIASES = {
    "code": ["编码", "工号", "人员编码"], "name": ["姓名"], "phone": ["手机", "电话", "手机号"],
    "unit_code": ["单位编码", "所属单位"], "role": ["角色"],
}
# Mainland mobile (1[3-9] + 9 digits) or a landline with area code (023-43781234).
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def _by_code(s: Session, model: Any, codes: Iterable[str]) -> dict[str, Any]:
    codes = list(set(codes))
    out: dict[str, Any] = {}
    for i in range(0, len(codes), 900):  # stay under SQLite's bound-parameter limit
        out.update({o.code: o for o in s.scalars(select(model).where(model.code.in_(codes[i:i + 900])))})
    return out


def _check_units(s: Session, rows: Rows) -> tuple[dict[str, Area], dict[str, EventClass]]:
    wanted_areas = {r.get("area_code", "") for r in rows.items}
    wanted_classes: set[str] = set()
    for r in rows.items:
        wanted_areas.update(split_list(r.get("coverage", "")))
        wanted_classes.update(split_list(r.get("duties", "")))
    areas = _by_code(s, Area, wanted_areas)
    classes = _by_code(s, EventClass, wanted_classes)
    in_file = {r.get("code", "") for r in rows.items}
    stored_units = _by_code(s, Unit, {r.get("parent_code", "") for r in rows.items} - in_file)
    for r in rows.items:
        if not r.get("name"):
            rows.error(r, "name", "name is empty")
        kind, level = r.get("kind", ""), r.get("level", "")
        if kind not in UNIT_KINDS:
            rows.error(r, "kind", f"kind must be one of {', '.join(UNIT_KINDS)}")
        if level not in LEVELS:
            rows.error(r, "level", f"level must be one of {', '.join(LEVELS)}")
        area = areas.get(r.get("area_code", ""))
        if area is None:
            rows.error(r, "area_code", f"unknown area '{r.get('area_code', '')}' (import the areas first)")
        elif kind == "centre" and (level not in ("city", "district", "town") or area.level != level):
            rows.error(r, "level", f"a centre sits at city, district or town level, at its area's level "
                                   f"({area.level})")
        elif kind in ("village", "grid") and area.level != kind:
            rows.error(r, "area_code", f"a {kind} unit belongs to a {kind} area, not a {area.level}")
        parent = r.get("parent_code", "")
        if parent and parent not in in_file and parent not in stored_units:
            rows.error(r, "parent_code", f"unknown parent unit '{parent}'")
        if parent and parent == r.get("code"):
            rows.error(r, "parent_code", "a unit cannot be its own parent")
        for c in split_list(r.get("duties", "")):
            if c not in classes:
                rows.error(r, "duties", f"unknown event class '{c}'")
        for a in split_list(r.get("coverage", "")):
            if a not in areas:
                rows.error(r, "coverage", f"unknown area '{a}'")
        phone = r.get("phone", "")
        if phone and not PHONE.match(phone):
            rows.error(r, "phone", f"'{phone}' is not a mobile or landline number")
    return areas, classes


def import_units(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], *, actor: Actor = SYSTEM,
                 dry_run: bool = False) -> ImportReport:
    """Create or update units by code, with their duties and coverage (replaced by the file's).

    Needs ``reference.write``; a stored import is written to the audit log.
    """
    authz.require(actor, REFERENCE_WRITE)
    with uow:
        s = uow.session
        checked = canonical_rows(rows, UNIT_ALIASES, ["code", "name", "kind", "level", "area_code"])
        if checked.fatal:
            return checked.report
        areas, classes = _check_units(s, checked)
        if checked.report.errors:
            return checked.report
        report = checked.report
        existing = _by_code(s, Unit, (r["code"] for r in checked.items))
        unit_codes = dict(s.execute(select(Unit.id, Unit.code)).all())
        duties = _current_links(s, UnitDuty, UnitDuty.event_class_id, [u.id for u in existing.values()])
        cover = _current_links(s, UnitCoverage, UnitCoverage.area_id, [u.id for u in existing.values()])
        units: dict[str, Unit] = {}
        links: dict[str, tuple[set[int], set[int]]] = {}
        for r in checked.items:
            area = areas[r["area_code"]]
            fields = {"name": r["name"], "kind": r["kind"], "level": r["level"], "area_id": area.id,
                      "phone": r.get("phone") or None, "active": True}
            unit = existing.get(r["code"])
            new_duties = {classes[c].id for c in split_list(r.get("duties", ""))}
            new_cover = {areas[a].id for a in split_list(r.get("coverage", ""))} or {area.id}
            if unit is None:
                unit = Unit(code=r["code"], **fields)
                s.add(unit)
                report.created += 1
            else:
                same = all(getattr(unit, k) == v for k, v in fields.items())
                same = same and duties.get(unit.id, set()) == new_duties and cover.get(unit.id, set()) == new_cover
                for k, v in fields.items():
                    setattr(unit, k, v)
                if same and unit_codes.get(unit.parent_id or -1, "") == r.get("parent_code", ""):
                    report.unchanged += 1
                else:
                    report.updated += 1
            units[r["code"]] = unit
            links[r["code"]] = (new_duties, new_cover)
        s.flush()
        parents = _by_code(s, Unit, {r.get("parent_code", "") for r in checked.items if r.get("parent_code")})
        for r in checked.items:
            unit = units[r["code"]]
            parent = parents.get(r.get("parent_code", ""))
            unit.parent_id = parent.id if parent else None
            new_duties, new_cover = links[r["code"]]
            if duties.get(unit.id, set()) != new_duties:
                s.execute(delete(UnitDuty).where(UnitDuty.unit_id == unit.id))
                s.add_all(UnitDuty(unit_id=unit.id, event_class_id=c) for c in new_duties)
            if cover.get(unit.id, set()) != new_cover:
                s.execute(delete(UnitCoverage).where(UnitCoverage.unit_id == unit.id))
                s.add_all(UnitCoverage(unit_id=unit.id, area_id=a) for a in new_cover)
        if not dry_run:
            audit.record(s, actor, "reference.import", "units",
                         {"created": report.created, "updated": report.updated, "unchanged": report.unchanged})
            uow.commit()
        return report


def _current_links(s: Session, model: Any, column: Any, unit_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for i in range(0, len(unit_ids), 900):
        for unit_id, other in s.execute(select(model.unit_id, column).where(model.unit_id.in_(unit_ids[i:i + 900]))):
            out.setdefault(unit_id, set()).add(other)
    return out


def import_people(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], *, actor: Actor = SYSTEM,
                  dry_run: bool = False) -> ImportReport:
    """Create or update people by code.

    A role decides a person's permissions, so this needs ``user.admin``, and every role given or
    changed is written to the audit log.
    """
    authz.require(actor, USER_ADMIN)
    role_changes: list[dict[str, str | None]] = []
    with uow:
        s = uow.session
        checked = canonical_rows(rows, PEOPLE_ALIASES, ["code", "name", "unit_code", "role"])
        if checked.fatal:
            return checked.report
        units = _by_code(s, Unit, (r["unit_code"] for r in checked.items))
        for r in checked.items:
            if not r.get("name"):
                checked.error(r, "name", "name is empty")
            if r["unit_code"] not in units:
                checked.error(r, "unit_code", f"unknown unit '{r['unit_code']}'")
            if r["role"] not in ROLES:
                checked.error(r, "role", f"role must be one of {', '.join(ROLES)}")
            if is_reserved_code(r["code"]):
                checked.error(r, "code", f"'{r['code']}' is reserved for the system and cannot be a staff code")
            phone = r.get("phone", "")
            if phone and not PHONE.match(phone):
                checked.error(r, "phone", f"'{phone}' is not a mobile or landline number")
        report = checked.report
        if report.errors:
            return report
        existing = _by_code(s, Person, (r["code"] for r in checked.items))
        moved: list[int] = []
        for r in checked.items:
            # ``active`` is not imported: a disabled account stays disabled (an administrator enables it,
            # audited, in the user administration); a file cannot silently bring it back
            fields = {"name": r["name"], "phone": r.get("phone") or None, "unit_id": units[r["unit_code"]].id,
                      "role": r["role"]}
            person = existing.get(r["code"])
            if person is None:
                s.add(Person(code=r["code"], active=True, **fields))
                report.created += 1
                role_changes.append({"person": r["code"], "from": None, "to": r["role"]})
            elif all(getattr(person, k) == v for k, v in fields.items()):
                report.unchanged += 1
            else:
                if person.role != r["role"] or person.unit_id != fields["unit_id"]:
                    role_changes.append({"person": r["code"], "from": person.role, "to": r["role"]})
                if person.unit_id != fields["unit_id"]:
                    moved.append(person.id)
                for k, v in fields.items():
                    setattr(person, k, v)
                report.updated += 1
        if not dry_run:
            # open tasks of people the file moved to another unit return to their old unit's leader
            from shuzhi.services.assignees import return_open_tasks

            at = datetime.now(UTC)
            for person_id in moved:
                return_open_tasks(s, person_id, actor, at, LEFT_MOVED)
            audit.record(s, actor, "reference.import", "people",
                         {"created": report.created, "updated": report.updated, "unchanged": report.unchanged})
            # Large imports (the demo's 2,500 people) keep the first thousand role lines.
            for change in role_changes[:1000]:
                audit.record(s, actor, "user.role_change", f"person:{change['person']}",
                             {"from": change["from"], "to": change["to"]})
            uow.commit()
            forget_people()
        return report


def export_units(uow: UnitOfWork) -> list[dict[str, str]]:
    with uow:
        s = uow.session
        units = list(s.scalars(select(Unit).order_by(Unit.code)))
        codes = {u.id: u.code for u in units}
        area_codes = dict(s.execute(select(Area.id, Area.code)).all())
        class_codes = dict(s.execute(select(EventClass.id, EventClass.code)).all())
        duties = _current_links(s, UnitDuty, UnitDuty.event_class_id, list(codes))
        cover = _current_links(s, UnitCoverage, UnitCoverage.area_id, list(codes))
        return [{
            "code": u.code, "name": u.name, "kind": u.kind, "level": u.level, "area_code": area_codes[u.area_id],
            "parent_code": codes.get(u.parent_id, "") if u.parent_id else "",
            "duties": ";".join(sorted(class_codes[c] for c in duties.get(u.id, set()))),
            "coverage": ";".join(sorted(area_codes[a] for a in cover.get(u.id, set()))),
            "phone": u.phone or "",
        } for u in units]


def _people_rows(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    with uow:
        stmt = (select(Person, Unit.code).join(Unit, Person.unit_id == Unit.id).join(Area, Area.id == Unit.area_id)
                .where(authz.area_clause(actor, Area.path, Unit.id)).order_by(Person.code))
        return [{"code": p.code, "name": p.name, "phone": p.phone or "", "unit_code": uc, "role": p.role}
                for p, uc in uow.session.execute(stmt).all()]


def export_people(uow: UnitOfWork, actor: Actor = SYSTEM) -> list[dict[str, str]]:
    """Every person with phone and role, in the import format: staff personal data, so it needs
    ``user.admin`` and is written to the audit log."""
    authz.require(actor, USER_ADMIN)
    rows = _people_rows(uow, actor)
    with uow:
        audit.record(uow.session, actor, "export", "people", {"rows": len(rows)})
        uow.commit()
    return rows


def list_units(uow: UnitOfWork, *, kind: str | None = None, level: str | None = None,
               area_code: str | None = None, limit: int = 5000) -> list[dict[str, str]]:
    if kind is not None and kind not in UNIT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(UNIT_KINDS)}", field="kind")
    if level is not None and level not in LEVELS:
        raise Invalid(f"level must be one of {', '.join(LEVELS)}", field="level")
    rows = export_units(uow)
    return [r for r in rows if (kind is None or r["kind"] == kind) and (level is None or r["level"] == level)
            and (area_code is None or r["area_code"].startswith(area_code))][:limit]


def get_unit(uow: UnitOfWork, code: str) -> dict[str, str]:
    for row in export_units(uow):
        if row["code"] == code:
            return row
    raise NotFound(f"unit {code} not found")


def list_people(uow: UnitOfWork, *, actor: Actor, unit_code: str | None = None,
                role: str | None = None) -> list[dict[str, str]]:
    """The staff directory: the people of the units in the actor's scope (administrators and auditors:
    everyone). Needs ``staff.read``; phones are masked like a reporter's (the full list with phones is
    the administrators' audited export)."""
    authz.require(actor, STAFF_READ)
    if role is not None and role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    return [{**r, "phone": mask_phone(r["phone"]) or ""} for r in _people_rows(uow, actor)
            if (unit_code is None or r["unit_code"] == unit_code) and (role is None or r["role"] == role)]
