"""The catalogue behind the window: matters with their guides, bundles, windows and service points.

Every document is checked by the domain (:mod:`shuzhi.domain.services_catalogue`) before it is
stored, and refused with the path of each problem (API: 422 with ``field``; import: the sheet, row and
column). Reading the catalogue is open to every signed-in actor (it is public information, printed on
every guide); changing it needs ``reference.write``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_public_services import ServiceBundle, ServiceMatter, ServiceWindow
from shuzhi.adapters.tabular import TabularError, read_table
from shuzhi.domain import permissions as P
from shuzhi.domain.services_catalogue import (
    PLACE_LABELS,
    Bundle,
    DocumentInvalid,
    MatterGuide,
    Place,
    Problem,
    bundle_to_doc,
    matter_to_doc,
    parse_bundle,
    parse_matter,
)
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


def invalid(problems: Sequence[Problem], what: str) -> Invalid:
    first = problems[0]
    return Invalid(f"{what}: {first.field}: {first.message}" + (f" (and {len(problems) - 1} more)"
                                                                 if len(problems) > 1 else ""),
                   field=first.field, details=[p.as_dict() for p in problems])


def _departments(s: Session) -> dict[str, Unit]:
    return {u.code: u for u in s.scalars(select(Unit).where(Unit.kind == "department", Unit.active.is_(True)))}


def _search_text(g: MatterGuide, dept_name: str) -> str:
    return " ".join([g.code, g.name, g.keywords, dept_name]).lower()


@dataclass(frozen=True)
class MatterRecord:
    code: str
    name: str
    department_code: str
    department_name: str
    promised_days: int
    statutory_days: int
    places: list[str]
    version: int
    guide: dict[str, Any]


def _record(m: ServiceMatter, unit: Unit) -> MatterRecord:
    return MatterRecord(m.code, m.name, unit.code, unit.name, m.promised_days, m.statutory_days,
                        m.places.split(","), m.version, m.guide)


def _store_matter(s: Session, g: MatterGuide, unit: Unit, at: datetime) -> ServiceMatter:
    row = s.scalar(select(ServiceMatter).where(ServiceMatter.code == g.code))
    doc = matter_to_doc(g)
    values = {"name": g.name, "unit_id": unit.id, "kind": g.kind.value, "promised_days": g.promised_days,
              "statutory_days": g.statutory_days, "places": ",".join(p.value for p in g.places),
              "search_text": _search_text(g, unit.name), "guide": doc, "active": True, "updated_at": at}
    if row is None:
        row = ServiceMatter(code=g.code, version=1, created_at=at, **values)
        s.add(row)
    elif row.guide != doc or not row.active:
        for k, v in values.items():
            setattr(row, k, v)
        row.version += 1
    return row


def save_matter(uow: UnitOfWork, doc: Any, actor: Actor, *, now: datetime | None = None) -> MatterRecord:
    """Create or change one matter's guide (a change raises its version)."""
    authz.require(actor, P.REFERENCE_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        depts = _departments(s)
        try:
            g = parse_matter(doc, {c: u.name for c, u in depts.items()})
        except DocumentInvalid as exc:
            raise invalid(exc.problems, "the matter") from None
        row = _store_matter(s, g, depts[g.department_code], at)
        audit.record(s, actor, "service.matter.save", f"service_matter:{g.code}", {"version": row.version})
        uow.commit()
        return _record(row, depts[g.department_code])


# --- import from Excel ---------------------------------------------------------------------------

#: column headers of the matters sheet (Chinese as printed in 事项清单, or the field names)
MATTER_COLUMNS = {"事项编码": "code", "事项名称": "name", "实施部门编码": "department_code", "事项类型": "kind",
                  "设定依据": "legal_basis", "受理条件": "conditions", "收费标准": "fee",
                  "法定时限（工作日）": "statutory_days", "承诺时限（工作日）": "promised_days",
                  "办理地点": "places", "关键词": "keywords", "容缺补齐时限（工作日）": "deferral_days"}
MATERIAL_COLUMNS = {"事项编码": "matter_code", "材料编码": "code", "材料名称": "name", "是否必需": "required",
                    "可容缺": "deferrable", "备注": "note"}
_PLACE_BY_LABEL = {**{v: k.value for k, v in PLACE_LABELS.items()}, **{p.value: p.value for p in Place},
                   "区政务服务大厅": "district_hall", "镇街": "town", "村社区": "village", "网办": "online"}
_YES = {"是", "y", "yes", "true", "1", "√"}
_NO = {"否", "n", "no", "false", "0", ""}


def _cells(row: dict[str, str], columns: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in row.items():
        if k in columns:
            out[columns[k]] = v
        elif k in columns.values():
            out[k] = v
    return out


def _matter_docs(data: bytes, filename: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Documents built from the ``matters`` and ``materials`` sheets; problems name sheet, row and column."""
    problems: list[dict[str, str]] = []
    try:
        rows = read_table(data, filename, "matters" if filename.lower().endswith(".xlsx") else None)
        materials = read_table(data, filename, "materials") if filename.lower().endswith(".xlsx") else []
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None
    docs: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for row in rows:
        c = _cells(row, MATTER_COLUMNS)
        doc: dict[str, Any] = {k: v for k, v in c.items() if k not in ("statutory_days", "promised_days", "places",
                                                                        "deferral_days")}
        doc["_row"] = row["ROW"]
        for k in ("statutory_days", "promised_days", "deferral_days"):
            v = (c.get(k) or "").strip()
            if not v and k == "deferral_days":
                continue
            try:
                doc[k] = int(float(v))
            except ValueError:
                problems.append({"field": f"matters!{row['ROW']}.{k}", "message": f"not a number: {v!r}"})
                doc[k] = 0
        places = [p.strip() for p in (c.get("places") or "").replace("，", ",").replace("、", ",").split(",")
                  if p.strip()]
        doc["places"] = [_PLACE_BY_LABEL.get(p, p) for p in places]
        doc["kind"] = doc.get("kind") or "public_service"
        doc["materials"] = []
        docs.append(doc)
        by_code[str(doc.get("code", ""))] = doc
    for row in materials:
        c = _cells(row, MATERIAL_COLUMNS)
        target = by_code.get(c.get("matter_code", ""))
        if target is None:
            problems.append({"field": f"materials!{row['ROW']}.matter_code",
                             "message": f"no matter '{c.get('matter_code')}' in the matters sheet"})
            continue
        flags = {}
        for k, default in (("required", True), ("deferrable", False)):
            v = (c.get(k) or "").strip().lower()
            if v in _YES:
                flags[k] = True
            elif v in _NO:
                flags[k] = default if v == "" else False
            else:
                problems.append({"field": f"materials!{row['ROW']}.{k}", "message": f"是 or 否, not {v!r}"})
        target["materials"].append({"code": c.get("code", ""), "name": c.get("name", ""), "note": c.get("note", ""),
                                    **flags})
    return docs, problems


@dataclass(frozen=True)
class ImportReport:
    created: int
    changed: int
    unchanged: int


def import_matters(uow: UnitOfWork, data: bytes, filename: str, actor: Actor, *,
                   now: datetime | None = None) -> ImportReport:
    """Import a 事项清单 workbook (sheets ``matters`` and ``materials``) or a CSV of matters; all or
    nothing: one bad cell refuses the file with every problem named by sheet, row and column."""
    authz.require(actor, P.REFERENCE_WRITE)
    at = now or datetime.now(UTC)
    docs, problems = _matter_docs(data, filename)
    with uow:
        s = uow.session
        depts = _departments(s)
        names = {c: u.name for c, u in depts.items()}
        guides: list[MatterGuide] = []
        seen: set[str] = set()
        for doc in docs:
            row = doc.pop("_row")
            try:
                g = parse_matter(doc, names)
            except DocumentInvalid as exc:
                problems.extend({"field": f"matters!{row}.{p.field.removeprefix('$.')}", "message": p.message}
                                for p in exc.problems)
                continue
            if g.code in seen:
                problems.append({"field": f"matters!{row}.code", "message": f"'{g.code}' appears twice"})
            seen.add(g.code)
            guides.append(g)
        if problems:
            first = problems[0]
            raise Invalid(f"the file has {len(problems)} problem(s); first: {first['field']}: {first['message']}",
                          field=first["field"], details=problems)
        if not guides:
            raise Invalid("the file holds no matters", field="file")
        existing = {m.code: m.version for m in s.scalars(select(ServiceMatter))}
        created = changed = 0
        for g in guides:
            row = _store_matter(s, g, depts[g.department_code], at)
            if g.code not in existing:
                created += 1
            elif row.version != existing[g.code]:
                changed += 1
        audit.record(s, actor, "service.matter.import", "service_matters",
                     {"file": filename, "created": created, "changed": changed})
        uow.commit()
        return ImportReport(created, changed, len(guides) - created - changed)


# --- search and read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    kind: str  # matter|bundle
    code: str
    name: str
    department: str
    promised_days: int
    places: list[str]


def search(uow: UnitOfWork, actor: Actor, q: str, *, place: str | None = None, limit: int = 20) -> list[Hit]:
    """Matters and bundles whose name, keywords, code or department contain every word of ``q``;
    bundles first (一件事 before its parts), then matters by name. ``place`` keeps those that can be
    done there (a village point sees what a village point may accept)."""
    if actor.person_id is None and not actor.permissions:
        raise authz.Forbidden("sign in to search the catalogue")
    words = [w for w in q.lower().split() if w][:5]
    if place is not None and place not in {p.value for p in Place}:
        raise Invalid(f"unknown place '{place}'", field="place")
    if not 1 <= limit <= 100:
        raise Invalid("limit must be between 1 and 100", field="limit")
    with uow:
        s = uow.session
        bq = select(ServiceBundle).where(ServiceBundle.active.is_(True))
        mq = (select(ServiceMatter.code, ServiceMatter.name, Unit.name, ServiceMatter.promised_days,
                     ServiceMatter.places)
              .join(Unit, Unit.id == ServiceMatter.unit_id).where(ServiceMatter.active.is_(True)))
        for w in words:
            bq = bq.where(ServiceBundle.search_text.contains(w, autoescape=True))
            mq = mq.where(ServiceMatter.search_text.contains(w, autoescape=True))
        if place is not None:
            mq = mq.where(ServiceMatter.places.contains(place, autoescape=True))
        hits = [Hit("bundle", b.code, b.name, "一件事一次办", 0, []) for b in s.scalars(bq.order_by(ServiceBundle.code)
                                                                                    .limit(limit))]
        for code, name, dept, days, places in s.execute(mq.order_by(func.length(ServiceMatter.name),
                                                                     ServiceMatter.code).limit(limit - len(hits))):
            hits.append(Hit("matter", code, name, dept, days, places.split(",")))
        return hits


def get_matter(uow: UnitOfWork, code: str) -> MatterRecord:
    """One matter's guide (public: the guide is printed at every window)."""
    with uow:
        s = uow.session
        row = s.scalar(select(ServiceMatter).where(ServiceMatter.code == code, ServiceMatter.active.is_(True)))
        if row is None:
            raise NotFound(f"no matter '{code}'")
        unit = s.get(Unit, row.unit_id)
        assert unit is not None
        return _record(row, unit)


def load_matters(s: Session, codes: Sequence[str] | None = None) -> dict[str, MatterGuide]:
    q = select(ServiceMatter).where(ServiceMatter.active.is_(True))
    if codes is not None:
        q = q.where(ServiceMatter.code.in_(list(codes)))
    return {m.code: parse_matter(m.guide) for m in s.scalars(q)}


# --- bundles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleRecord:
    code: str
    name: str
    version: int
    document: dict[str, Any]
    matters: list[dict[str, Any]]


def _codes_in(doc: Any) -> list[str]:
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    return [it["matter_code"] for it in items if isinstance(it, dict) and isinstance(it.get("matter_code"), str)]


def _bundle_record(s: Session, row: ServiceBundle) -> BundleRecord:
    b = load_bundle(s, row)
    matters = load_matters(s, [it.matter_code for it in b.items])
    units = {u.code: u.name for u in s.scalars(select(Unit).where(
        Unit.code.in_([m.department_code for m in matters.values()])))}
    return BundleRecord(row.code, row.name, row.version, row.document, [
        {"code": it.matter_code, "name": matters[it.matter_code].name, "stage": it.stage,
         "department": units.get(matters[it.matter_code].department_code, ""),
         "promised_days": matters[it.matter_code].promised_days,
         "materials": [{"code": m.code, "name": m.name, "required": m.required, "deferrable": m.deferrable}
                       for m in matters[it.matter_code].materials],
         "conditional": it.when is not None} for it in b.items if it.matter_code in matters])


def load_bundle(s: Session, row: ServiceBundle) -> Bundle:
    return parse_bundle(row.document, load_matters(s, _codes_in(row.document)))


def save_bundle(uow: UnitOfWork, doc: Any, actor: Actor, *, now: datetime | None = None) -> BundleRecord:
    """Create or change a bundle; refused with the JSON path of every problem."""
    authz.require(actor, P.REFERENCE_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        try:
            b = parse_bundle(doc, load_matters(s, _codes_in(doc)))
        except DocumentInvalid as exc:
            raise invalid(exc.problems, "the bundle") from None
        clean = bundle_to_doc(b)
        text = " ".join([b.code, b.name, b.description, "一件事"]).lower()
        row = s.scalar(select(ServiceBundle).where(ServiceBundle.code == b.code))
        if row is None:
            row = ServiceBundle(code=b.code, name=b.name, search_text=text, document=clean, version=1,
                                created_at=at, updated_at=at)
            s.add(row)
        elif row.document != clean:
            row.name, row.search_text, row.document, row.updated_at = b.name, text, clean, at
            row.version += 1
        s.flush()
        audit.record(s, actor, "service.bundle.save", f"service_bundle:{b.code}", {"version": row.version})
        uow.commit()
        return _bundle_record(s, row)


def get_bundle(uow: UnitOfWork, code: str) -> BundleRecord:
    with uow:
        row = uow.session.scalar(select(ServiceBundle).where(ServiceBundle.code == code,
                                                             ServiceBundle.active.is_(True)))
        if row is None:
            raise NotFound(f"no bundle '{code}'")
        return _bundle_record(uow.session, row)


def list_bundles(uow: UnitOfWork) -> list[BundleRecord]:
    with uow:
        s = uow.session
        return [_bundle_record(s, r) for r in s.scalars(select(ServiceBundle).where(ServiceBundle.active.is_(True))
                                                        .order_by(ServiceBundle.code))]


# --- windows and service points ------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRecord:
    id: int
    code: str
    name: str
    kind: str
    unit_code: str
    area_code: str
    address: str


_WINDOW_KINDS = ("district_hall", "town", "village")


def save_window(uow: UnitOfWork, code: str, name: str, kind: str, unit_code: str, area_code: str, address: str,
                actor: Actor) -> WindowRecord:
    """A window of the hall or a town/village point; its staff are the people of ``unit_code``."""
    authz.require(actor, P.REFERENCE_WRITE)
    if kind not in _WINDOW_KINDS:
        raise Invalid(f"one of {', '.join(_WINDOW_KINDS)}", field="kind")
    if not code.strip() or len(code) > 40:
        raise Invalid("a code of 1 to 40 characters", field="code")
    if not name.strip():
        raise Invalid("is required", field="name")
    with uow:
        s = uow.session
        unit = s.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise Invalid(f"unknown unit '{unit_code}'", field="unit_code")
        area = s.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            raise Invalid(f"unknown area '{area_code}'", field="area_code")
        row = s.scalar(select(ServiceWindow).where(ServiceWindow.code == code))
        if row is None:
            row = ServiceWindow(code=code)
            s.add(row)
        row.name, row.kind, row.unit_id, row.area_id, row.area_path, row.address = (
            name, kind, unit.id, area.id, area.path, address)
        s.flush()
        audit.record(s, actor, "service.window.save", f"service_window:{code}", {"unit": unit_code})
        uow.commit()
        return WindowRecord(row.id, code, name, kind, unit.code, area.code, address)


def windows_of(uow: UnitOfWork, actor: Actor) -> list[WindowRecord]:
    """The windows the actor can work at: those of their unit, or all they can see."""
    with uow:
        s = uow.session
        q = (select(ServiceWindow, Unit.code, Area.code).join(Unit, Unit.id == ServiceWindow.unit_id)
             .join(Area, Area.id == ServiceWindow.area_id).where(ServiceWindow.active.is_(True)))
        if actor.area_paths is not None:
            q = q.where(or_(ServiceWindow.unit_id == actor.unit_id,
                            authz.area_clause(actor, ServiceWindow.area_path)))
        return [WindowRecord(w.id, w.code, w.name, w.kind, uc, ac, w.address)
                for w, uc, ac in s.execute(q.order_by(ServiceWindow.code))]
