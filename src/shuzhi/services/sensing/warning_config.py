"""Warning configuration: threshold rules (with import/export), silences and inhibitions.

Every document is checked by :mod:`shuzhi.domain.thresholds` and against the database (the indicator,
the area and the event classes it names exist) before it is stored; a bad one is refused with the
JSON path of every problem.  Every change bumps one counter row (``warning_config``) so that each
process evaluating readings sees it at its next batch (:func:`load_config`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, EventClass, Unit
from shuzhi.adapters.db.tables_sensing import Indicator
from shuzhi.adapters.db.tables_warnings import (
    ThresholdRuleRow,
    WarningConfigGeneration,
    WarningInhibition,
    WarningSilence,
)
from shuzhi.adapters.tabular import ROW, write_xlsx
from shuzhi.domain import permissions as p
from shuzhi.domain.conditions import RuleProblem
from shuzhi.domain.silences import Inhibition, Silence, parse_inhibition, parse_matcher
from shuzhi.domain.thresholds import LEVELS, RuleBook, ThresholdRule, parse_rule
from shuzhi.services import importing, ttl_cache
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_RULES = 10_000
MAX_SILENCES = 5_000
TABLE_COLUMNS = ("code", "name", "indicator", "area", "for", "keep_firing_for", "enabled", "conditions", "actions")


# --- the configuration as evaluation sees it -----------------------------------------------------


@dataclass(frozen=True)
class Config:
    generation: int
    rules: RuleBook
    silences: tuple[Silence, ...]
    inhibitions: tuple[Inhibition, ...]


class _ConfigCache:
    def __init__(self) -> None:
        self.data: dict[str, Config] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


_configs = _ConfigCache()
ttl_cache._ALL.append(_configs)  # type: ignore[arg-type]  # cleared with the other caches (tests)


def _generation(s: Session) -> int:
    return s.scalar(select(WarningConfigGeneration.generation).where(WarningConfigGeneration.id == 1)) or 0


def bump(s: Session) -> None:
    """Mark the configuration changed (inside the changing transaction)."""
    changed = cast(CursorResult[Any], s.execute(
        update(WarningConfigGeneration).where(WarningConfigGeneration.id == 1)
        .values(generation=WarningConfigGeneration.generation + 1))).rowcount
    if not changed:
        s.execute(insert(WarningConfigGeneration).values(id=1, generation=1))


def _rule_of(row: ThresholdRuleRow) -> ThresholdRule | None:
    rule, _ = parse_rule(row.document)
    if rule is None:  # stored documents were checked when saved; a bad one is skipped, never guessed
        return None
    return replace(rule, area_path=row.area_path, id=row.id, version=row.version, enabled=row.enabled)


def load_config(s: Session) -> Config:
    """Rules, silences and inhibitions, compiled; reloaded only when the generation moved (one
    primary-key read per call)."""
    url = str(s.get_bind().engine.url)
    gen = _generation(s)
    cached = _configs.data.get(url)
    if cached is not None and cached.generation == gen:
        return cached
    rules = [r for r in (_rule_of(row) for row in s.scalars(select(ThresholdRuleRow))) if r is not None]
    silences = []
    # Evaluation may run on readings from the past (a backlog, a replay), so ended silences are kept
    # too; the newest ones are enough — each is checked against the warning's own time.
    for row in s.scalars(select(WarningSilence).order_by(WarningSilence.ends_at.desc()).limit(MAX_SILENCES)):
        m, _ = parse_matcher(row.matcher)
        if m is not None:
            silences.append(Silence(row.id, row.starts_at, row.ends_at, replace(m, area_path=row.area_path)))
    inhibitions = []
    for irow in s.scalars(select(WarningInhibition).where(WarningInhibition.enabled.is_(True))):
        inh, _ = parse_inhibition(irow.document)
        if inh is not None:
            inhibitions.append(inh)
    config = Config(gen, RuleBook(_with_staleness(s, rules)), tuple(silences), tuple(inhibitions))
    with _configs.lock:
        _configs.data[url] = config
    return config


def _with_staleness(s: Session, rules: list[ThresholdRule]) -> list[ThresholdRule]:
    """The staleness alarm of real-time indicators (实时性, :func:`shuzhi.domain.collection.with_staleness`):
    a silence of ``stale_after`` × frequency (the vital-sign rule's) is a no-data warning. An indicator
    import and a change of the vital-sign rule bump the generation, so this follows them."""
    from shuzhi.adapters.db.tables_sensing import VitalSignRule
    from shuzhi.domain import vital_signs as vs
    from shuzhi.domain.collection import with_staleness

    realtime = dict(s.execute(select(Indicator.code, Indicator.frequency_s)
                              .where(Indicator.realtime.is_(True), Indicator.active.is_(True))).all())
    row = s.get(VitalSignRule, 1)
    vital = (vs.parse_rule(row.document)[0] if row is not None else None) or vs.default_rule()
    return with_staleness(rules, realtime, vital.stale_after)


# --- helpers ---------------------------------------------------------------------------------------


def _invalid(problems: Sequence[RuleProblem | dict[str, Any]], what: str) -> Invalid:
    details = [x.as_dict() if isinstance(x, RuleProblem) else x for x in problems]
    first = details[0]
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return Invalid(f"{what} is not valid: {first['path']}: {first['message']}{more}", field=first["path"],
                   details=details)


def _commit(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except IntegrityError:
        raise Conflict("it was changed by someone else at the same time; reload and retry") from None


@dataclass(frozen=True)
class _Checked:
    rule: ThresholdRule
    indicator_id: int
    area_id: int | None
    area_path: str | None


def _area_code(path: str | None) -> str | None:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


def _scope_problem(actor: Actor, path: str) -> RuleProblem:
    own = ", ".join(_area_code(x) or "" for x in actor.area_paths or ()) or "none"
    return RuleProblem(path, f"a rule may only govern an area inside its author's own ({own})", "out_of_scope")


def check_rule(s: Session, doc: Any, path: str = "$", actor: Actor | None = None,
               current: str | None = None) -> tuple[_Checked | None, list[RuleProblem]]:
    """Shape and values (domain), then the indicator, area and event classes it names; with ``actor``,
    the area it governs (its ``area``) lies inside its author's own: a rule without an area is the
    indicator's default everywhere and is written by an installation-wide author only — anyone else's
    rule gets his own area when it names none (a town's rule grades its town's series only), or, when
    he changes a rule, its ``current`` area code."""
    rule, problems = parse_rule(doc, path)
    if rule is None:
        return None, problems
    out: list[RuleProblem] = []
    if actor is not None and not actor.is_global:
        own = current or _area_code(authz.own_area_path(actor))
        if rule.area is None and own is not None:
            rule = replace(rule, area=own)
        elif rule.area is None:
            return None, [_scope_problem(actor, f"{path}.area")]
    ind = s.execute(select(Indicator.id, Indicator.active).where(Indicator.code == rule.indicator)).first()
    if ind is None:
        out.append(RuleProblem(f"{path}.indicator", f"unknown indicator '{rule.indicator}'", "unknown_value"))
    area = None
    if rule.area is not None:
        area = s.execute(select(Area.id, Area.path).where(Area.code == rule.area)).first()
        if area is None:
            out.append(RuleProblem(f"{path}.area", f"unknown area '{rule.area}'", "unknown_value"))
        elif actor is not None and not authz.path_visible(actor, area[1]):
            out.append(_scope_problem(actor, f"{path}.area"))
    classes = {a.event_class for a in rule.actions if a.event_class}
    known = set(s.scalars(select(EventClass.code).where(EventClass.code.in_(classes), EventClass.active.is_(True))))
    for i, a in enumerate(rule.actions):
        if a.event_class and a.event_class not in known:
            out.append(RuleProblem(f"{path}.actions.{LEVELS[i]}.event_class",
                                   f"unknown event class '{a.event_class}'", "unknown_value"))
    if actor is not None and not actor.is_global and area is not None:
        out += _copy_problems(s, rule, area[1], path)
    if out:
        return None, out
    assert ind is not None
    return _Checked(rule, ind[0], area[0] if area else None, area[1] if area else None), []


def _copy_problems(s: Session, rule: ThresholdRule, area_path: str, path: str) -> list[RuleProblem]:
    """A town's rule copies its warnings to units of its own area or up its chain (the district, the
    city), never sideways to another town's units — what its author could not copy by hand."""
    codes = {u for a in rule.actions for u in a.copy}
    if not codes:
        return []
    found = dict(s.execute(select(Unit.code, Area.path).join(Area, Area.id == Unit.area_id)
                           .where(Unit.code.in_(codes))).all())
    out: list[RuleProblem] = []
    for i, a in enumerate(rule.actions):
        for j, code in enumerate(a.copy):
            unit_path = found.get(code)
            if unit_path is None:
                out.append(RuleProblem(f"{path}.actions.{LEVELS[i]}.copy[{j}]", f"unknown unit '{code}'",
                                       "unknown_value"))
            elif not (unit_path.startswith(area_path) or area_path.startswith(unit_path)):
                out.append(RuleProblem(f"{path}.actions.{LEVELS[i]}.copy[{j}]",
                                       f"unit '{code}' lies outside the rule's area ({_area_code(area_path)}): "
                                       "a rule never sends warnings to another area's units", "out_of_scope"))
    return out


def _record(row: ThresholdRuleRow, actor: Actor) -> dict[str, Any]:
    """The rule as stored, and whether the reader may change it (``editable``: it is of his area or
    below; the district's rule or the indicator's default he reads only)."""
    return {**row.document, "enabled": row.enabled, "id": row.id, "version": row.version,
            "created_by": row.created_by, "created_at": row.created_at, "updated_at": row.updated_at,
            "editable": p.INDICATOR_WRITE in actor.permissions and authz.path_visible(actor, row.area_path)}


def _rule_row(s: Session, code: str, actor: Actor) -> ThresholdRuleRow:
    """The rule by code, if it concerns the actor (his area, below or above it, or indicator-wide);
    another town's rule is not found (404)."""
    row = s.scalar(select(ThresholdRuleRow).where(ThresholdRuleRow.code == code))
    if row is None or not authz.config_readable(actor, row.area_path):
        raise NotFound(f"threshold rule '{code}' not found")
    return row


def _writable_row(s: Session, code: str, actor: Actor) -> ThresholdRuleRow:
    """The rule by code, to change: 404 as :func:`_rule_row`, 403 when it belongs above the actor (the
    district's rule for a town, an indicator's default for anyone not installation-wide)."""
    row = _rule_row(s, code, actor)
    authz.ensure_config_in_scope(actor, row.area_path, what=f"threshold rule '{code}'", field="area")
    return row


def _clash(s: Session, checked: _Checked, own_id: int | None, path: str) -> RuleProblem | None:
    """One rule per indicator and area (the default has no area)."""
    other = s.scalar(select(ThresholdRuleRow.code).where(
        ThresholdRuleRow.indicator_id == checked.indicator_id, ThresholdRuleRow.area_key == (checked.rule.area or ""),
        ThresholdRuleRow.id != (own_id or -1)))
    if other is None:
        return None
    where = f"area {checked.rule.area}" if checked.rule.area else "the whole indicator"
    return RuleProblem(f"{path}.area", f"rule '{other}' already covers {where}; change that one", "duplicate")


def _store(s: Session, checked: _Checked, row: ThresholdRuleRow | None, actor: Actor, at: datetime) -> ThresholdRuleRow:
    r = checked.rule
    doc = r.document()
    if row is None:
        row = ThresholdRuleRow(code=r.code, name=r.name, indicator_id=checked.indicator_id, area_key=r.area or "",
                               area_id=checked.area_id, area_path=checked.area_path, document=doc,
                               enabled=r.enabled, version=1, created_by=actor.label, created_at=at, updated_at=at)
        s.add(row)
    else:
        row.name, row.indicator_id, row.area_key = r.name, checked.indicator_id, r.area or ""
        row.area_id, row.area_path, row.document, row.enabled = checked.area_id, checked.area_path, doc, r.enabled
        row.version += 1
        row.updated_at = at
    bump(s)
    s.flush()
    return row


# --- threshold rules -------------------------------------------------------------------------------


def list_rules(uow: UnitOfWork, actor: Actor, indicator: str | None = None) -> list[dict[str, Any]]:
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        q = (select(ThresholdRuleRow).where(authz.config_read_clause(actor, ThresholdRuleRow.area_path))
             .order_by(ThresholdRuleRow.code))
        if indicator:
            q = q.join(Indicator, Indicator.id == ThresholdRuleRow.indicator_id).where(Indicator.code == indicator)
        return [_record(r, actor) for r in uow.session.scalars(q)]


def get_rule(uow: UnitOfWork, actor: Actor, code: str) -> dict[str, Any]:
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        return _record(_rule_row(uow.session, code, actor), actor)


def create_rule(uow: UnitOfWork, actor: Actor, doc: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Store a new rule; every problem is listed with its JSON path (422), a taken code is 409."""
    authz.require(actor, p.INDICATOR_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        checked, problems = check_rule(s, doc, actor=actor)
        if checked is None:
            raise _invalid(problems, "the rule")
        if s.scalar(select(ThresholdRuleRow.id).where(ThresholdRuleRow.code == checked.rule.code)) is not None:
            raise Conflict(f"a threshold rule '{checked.rule.code}' already exists", field="code")
        clash = _clash(s, checked, None, "$")
        if clash:
            raise _invalid([clash], "the rule")
        row = _store(s, checked, None, actor, at)
        result = _record(row, actor)
        audit.record_change(s, actor, "threshold_rule.create", f"threshold_rule:{row.code}", None, row.document)
        _commit(uow)
        return result


def update_rule(uow: UnitOfWork, actor: Actor, code: str, doc: Any, *, expected_version: int | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    authz.require(actor, p.INDICATOR_WRITE)
    at = now or datetime.now(UTC)
    if isinstance(doc, dict):
        doc = {**doc, "code": doc.get("code", code)}
    with uow:
        s = uow.session
        row = _writable_row(s, code, actor)
        if expected_version is not None and expected_version != row.version:
            raise Conflict(f"the rule is at version {row.version}, you had {expected_version}; reload and retry",
                           field="expected_version")
        checked, problems = check_rule(s, doc, actor=actor, current=row.area_key or None)
        if checked is None:
            raise _invalid(problems, "the rule")
        if checked.rule.code != code:
            raise Invalid("a rule's code cannot be changed", field="code")
        clash = _clash(s, checked, row.id, "$")
        if clash:
            raise _invalid([clash], "the rule")
        before = row.document
        _store(s, checked, row, actor, at)
        result = _record(row, actor)
        audit.record_change(s, actor, "threshold_rule.update", f"threshold_rule:{code}", before, row.document)
        _commit(uow)
        return result


def delete_rule(uow: UnitOfWork, actor: Actor, code: str) -> None:
    """Delete a rule; its warnings stay (they name the rule by code)."""
    authz.require(actor, p.INDICATOR_WRITE)
    with uow:
        s = uow.session
        row = _writable_row(s, code, actor)
        audit.record_change(s, actor, "threshold_rule.delete", f"threshold_rule:{code}", row.document, None)
        s.delete(row)
        bump(s)
        _commit(uow)


def export_rules(uow: UnitOfWork, actor: Actor, fmt: str = "json") -> bytes:
    """All rules as JSON (``{"rules": [...]}``) or XLSX (one row each, conditions and actions as JSON)."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        docs = [r.document for r in uow.session.scalars(
            select(ThresholdRuleRow).where(authz.config_read_clause(actor, ThresholdRuleRow.area_path))
            .order_by(ThresholdRuleRow.code))]
        audit.record(uow.session, actor, "export", "threshold_rules", {"format": fmt, "rows": len(docs)})
        uow.commit()
    if fmt == "json":
        return json.dumps({"rules": docs}, ensure_ascii=False, indent=2).encode()
    if fmt == "xlsx":
        rows = [{"code": d["code"], "name": d.get("name", ""), "indicator": d["indicator"], "area": d.get("area") or "",
                 "for": d.get("for", "0s"), "keep_firing_for": d.get("keep_firing_for", "0s"),
                 "enabled": "yes" if d.get("enabled", True) else "no",
                 "conditions": json.dumps(d["conditions"], ensure_ascii=False),
                 "actions": json.dumps(d.get("actions", {}), ensure_ascii=False)} for d in docs]
        return write_xlsx(rows, list(TABLE_COLUMNS), title="threshold_rules")
    raise Invalid(f"unknown format '{fmt}'; use json or xlsx", field="format")


def _sheet_docs(data: bytes, filename: str, problems: list[dict[str, Any]]) -> tuple[list[Any], list[int]]:
    rows = importing.rule_sheet(data, filename, required=("code", "indicator", "conditions"),
                                columns=TABLE_COLUMNS, limit=MAX_IMPORT_RULES)
    docs: list[Any] = []
    numbers: list[int] = []
    for i, cell in enumerate(rows):
        n = int(cell[ROW])
        doc: dict[str, Any] = {"code": cell["code"], "indicator": cell["indicator"]}
        for column in ("name", "area", "for", "keep_firing_for"):
            if cell.get(column):
                doc[column] = cell[column]
        if cell.get("enabled"):
            doc["enabled"] = cell["enabled"].lower() in ("yes", "true", "1", "y", "是")
        for column in ("conditions", "actions"):
            text = cell.get(column, "")
            if not text:
                continue
            try:
                doc[column] = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append({"path": f"$[{i}].{column}", "row": n, "column": column, "code": "wrong_type",
                                 "message": f"not JSON: {exc.msg} at character {exc.pos}"})
        docs.append(doc)
        numbers.append(n)
    return docs, numbers


def _stored_area(s: Session, doc: Any) -> tuple[str | None, str] | None:
    """``(area_path, area_key)`` of the stored rule a document names by code, if there is one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("code"), str):
        return None
    row = s.execute(select(ThresholdRuleRow.area_path, ThresholdRuleRow.area_key)
                    .where(ThresholdRuleRow.code == doc["code"])).first()
    return (row[0], row[1]) if row is not None else None


def import_rules(uow: UnitOfWork, actor: Actor, data: bytes, filename: str, *,
                 now: datetime | None = None) -> dict[str, list[str]]:
    """Create or update rules by code from JSON, XLSX or CSV, all or nothing; every problem is listed
    with its path (``$[i].conditions[0].levels.red``) and, for a sheet, its row."""
    authz.require(actor, p.INDICATOR_WRITE)
    at = now or datetime.now(UTC)
    importing.check_size(data, MAX_IMPORT_BYTES)
    problems: list[dict[str, Any]] = []
    numbers: list[int] | None = None
    if filename.lower().endswith((".xlsx", ".csv")):
        docs, numbers = _sheet_docs(data, filename, problems)
    else:
        docs = importing.json_list(data, "rules", limit=MAX_IMPORT_RULES)
    report: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    with uow:
        s = uow.session
        valid: list[_Checked] = []
        seen: dict[str, int] = {}
        scopes: dict[tuple[int, str], int] = {}
        for i, doc in enumerate(docs):
            row_no = {"row": numbers[i]} if numbers is not None else {}
            stored = _stored_area(s, doc)
            if stored is not None and not authz.path_visible(actor, stored[0]):
                # a stored rule of another area (another town's, the district's): not the author's to change
                problems.append({"path": f"$[{i}].code", "code": "out_of_scope", **row_no,
                                 "message": f"rule '{doc.get('code')}' belongs to another area"})
                continue
            checked, found_problems = check_rule(s, doc, f"$[{i}]", actor=actor,
                                                 current=(stored[1] or None) if stored is not None else None)
            problems += [{**x.as_dict(), **row_no} for x in found_problems]
            if checked is None:
                continue
            code = checked.rule.code
            if code in seen:
                problems.append({"path": f"$[{i}].code", "code": "duplicate", **row_no,
                                 "message": f"code '{code}' also at $[{seen[code]}]"})
                continue
            scope = (checked.indicator_id, checked.rule.area or "")
            if scope in scopes:
                problems.append({"path": f"$[{i}].area", "code": "duplicate", **row_no,
                                 "message": f"$[{scopes[scope]}] already covers this indicator and area"})
                continue
            seen[code], scopes[scope] = i, i
            valid.append(checked)
        existing = {r.code: r for r in s.scalars(select(ThresholdRuleRow).where(ThresholdRuleRow.code.in_(seen)))}
        for checked in valid:
            # a stored rule outside the file that already covers this scope (rules in the file may move)
            other = s.scalar(select(ThresholdRuleRow.code).where(
                ThresholdRuleRow.indicator_id == checked.indicator_id,
                ThresholdRuleRow.area_key == (checked.rule.area or ""), ThresholdRuleRow.code.not_in(seen)))
            if other is not None:
                i = seen[checked.rule.code]
                problems.append({"path": f"$[{i}].area", "code": "duplicate",
                                 **({"row": numbers[i]} if numbers is not None else {}),
                                 "message": f"rule '{other}' already covers this indicator and area"})
        if problems:
            raise _invalid(problems, "the import")
        # Scopes move between rules within one file: free them first so the unique index never sees
        # two rules on one scope halfway through.
        for checked in valid:
            own = existing.get(checked.rule.code)
            if own is not None and own.document != checked.rule.document():
                own.area_key = f"~{own.id}"
        s.flush()
        for checked in valid:
            own = existing.get(checked.rule.code)
            if own is None:
                made = _store(s, checked, None, actor, at)
                audit.record_change(s, actor, "threshold_rule.import", f"threshold_rule:{made.code}", None,
                                    made.document, file=filename)
                report["created"].append(checked.rule.code)
            elif own.document == checked.rule.document():
                report["unchanged"].append(checked.rule.code)
            else:
                before = own.document
                _store(s, checked, own, actor, at)
                audit.record_change(s, actor, "threshold_rule.import", f"threshold_rule:{own.code}", before,
                                    own.document, file=filename)
                report["updated"].append(checked.rule.code)
        _commit(uow)
        return report


__all__ = ["Config", "bump", "check_rule", "create_rule", "delete_rule", "export_rules", "get_rule",
           "import_rules", "list_rules", "load_config", "update_rule"]
