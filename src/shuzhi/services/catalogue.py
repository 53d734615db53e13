"""The event-class catalogue (GB/T 30428.2 style: components 部件 and events 事件, major/minor classes)
with each class's default mode, default urgency and time limits per stage and urgency."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import EventClass
from shuzhi.domain.permissions import REFERENCE_WRITE
from shuzhi.domain.time_limits import Stage, TimeLimits, Urgency
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.importing import ImportReport, canonical_rows
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

LIMIT_COLUMNS = [f"{stage.value}_{urgency.value}" for urgency in Urgency for stage in Stage]
CLASS_COLUMNS = ["code", "name", "kind", "major_code", "major_name", "default_mode", "default_urgency",
                 *LIMIT_COLUMNS]
CLASS_ALIASES = {
    "code": ["编码", "小类编码"], "name": ["名称", "小类名称"], "kind": ["类型", "部件事件"],
    "major_code": ["大类编码"], "major_name": ["大类名称"], "default_mode": ["默认方式", "处置方式"],
    "default_urgency": ["默认紧急程度", "紧急程度"],
    **{f"{s.value}_{u.value}": [f"{u.label}{s.label}时限"] for u in Urgency for s in Stage},
}
KINDS = ("component", "event")
MODES = ("notify", "handle")


def _limits(row: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for urgency in Urgency:
        for stage in Stage:
            text = row.get(f"{stage.value}_{urgency.value}", "").strip()
            if text:
                out.setdefault(urgency.value, {})[stage.value] = text
    return out


def _limit_column(message: str) -> str:
    """The cell a limit error is about: the domain's messages start with ``urgency.stage``."""
    m = re.match(r"(normal|urgent|critical)\.(accept|handle|read)", message)
    return f"{m.group(2)}_{m.group(1)}" if m else LIMIT_COLUMNS[0]


def import_event_classes(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], *, actor: Actor = SYSTEM,
                         dry_run: bool = False) -> ImportReport:
    """Create or update classes by code; limits are checked (``5wd``, ``4wh``, ``2h``) before anything is
    written, and a more urgent level may never be given more time than a less urgent one.
    Needs ``reference.write``; a stored import is written to the audit log."""
    authz.require(actor, REFERENCE_WRITE)
    with uow:
        s = uow.session
        checked = canonical_rows(rows, CLASS_ALIASES, ["code", "name", "kind", "major_code", "major_name"])
        if checked.fatal:
            return checked.report
        parsed: dict[str, dict[str, Any]] = {}
        for r in checked.items:
            if not r.get("name"):
                checked.error(r, "name", "name is empty")
            if r.get("kind") not in KINDS:
                checked.error(r, "kind", "kind must be component (部件) or event (事件)")
            mode = r.get("default_mode") or "handle"
            if mode not in MODES:
                checked.error(r, "default_mode", "default_mode must be notify or handle")
            urgency = r.get("default_urgency") or "normal"
            if urgency not in {u.value for u in Urgency}:
                checked.error(r, "default_urgency", "default_urgency must be normal, urgent or critical")
            limits = _limits(r)
            try:
                normalised = TimeLimits.from_mapping(limits).to_mapping()
            except ValueError as exc:
                checked.error(r, _limit_column(str(exc)), str(exc))
                continue
            parsed[r["code"]] = {"name": r["name"], "kind": r.get("kind"), "major_code": r["major_code"],
                                 "major_name": r["major_name"], "default_mode": mode,
                                 "default_urgency": urgency, "time_limits": normalised, "active": True}
        report = checked.report
        if report.errors:
            return report
        existing = {c.code: c for c in s.scalars(select(EventClass).where(EventClass.code.in_(list(parsed))))}
        for code, fields in parsed.items():
            cls = existing.get(code)
            if cls is None:
                s.add(EventClass(code=code, **fields))
                report.created += 1
            elif all(getattr(cls, k) == v for k, v in fields.items()):
                report.unchanged += 1
            else:
                for k, v in fields.items():
                    setattr(cls, k, v)
                report.updated += 1
        if not dry_run:
            audit.record(s, actor, "reference.import", "event_classes",
                         {"created": report.created, "updated": report.updated, "unchanged": report.unchanged})
            uow.commit()
        return report


def _row(c: EventClass) -> dict[str, str]:
    row = {"code": c.code, "name": c.name, "kind": c.kind, "major_code": c.major_code, "major_name": c.major_name,
           "default_mode": c.default_mode, "default_urgency": c.default_urgency}
    for column in LIMIT_COLUMNS:
        stage, urgency = column.split("_", 1)
        row[column] = (c.time_limits or {}).get(urgency, {}).get(stage, "")
    return row


def export_event_classes(uow: UnitOfWork) -> list[dict[str, str]]:
    with uow:
        return [_row(c) for c in uow.session.scalars(select(EventClass).order_by(EventClass.code))]


def list_event_classes(uow: UnitOfWork, *, kind: str | None = None, major_code: str | None = None,
                       mode: str | None = None) -> list[dict[str, str]]:
    if kind is not None and kind not in KINDS:
        raise Invalid("kind must be component or event", field="kind")
    if mode is not None and mode not in MODES:
        raise Invalid("mode must be notify or handle", field="mode")
    return [r for r in export_event_classes(uow) if (kind is None or r["kind"] == kind)
            and (major_code is None or r["major_code"] == major_code) and (mode is None or r["default_mode"] == mode)]


def get_event_class(uow: UnitOfWork, code: str) -> dict[str, str]:
    with uow:
        c = uow.session.scalar(select(EventClass).where(EventClass.code == code))
        if c is None:
            raise NotFound(f"event class {code} not found")
        return _row(c)
