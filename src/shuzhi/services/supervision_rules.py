"""Supervision thresholds (督办阈值) per area: reminder percentages, cards, timeouts — read, listed, saved and
dropped. A task follows the thresholds of the deepest area above its event that set its own, then the
installation-wide ones, then the defaults (:func:`shuzhi.domain.supervision.rules_for`); a town sets its
town's, the district the district's (issue #15). The sweep that applies them is :mod:`shuzhi.services.supervision`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_supervision import SupervisionRules
from shuzhi.domain import permissions as P
from shuzhi.domain.supervision import SupervisionRules as Rules
from shuzhi.domain.supervision import rules_for
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.supervision_clock import forget_rules, load_rules
from shuzhi.services.unit_of_work import UnitOfWork


def _code_of(path: str | None) -> str | None:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


def _area_path(s: Session, code: str) -> str:
    path = s.scalar(select(Area.path).where(Area.code == code))
    if path is None:
        raise Invalid(f"unknown area '{code}'", field="area_code")
    return path


def _rule_set_of(s: Session, path: str | None) -> SupervisionRules | None:
    where = SupervisionRules.area_path.is_(None) if path is None else SupervisionRules.area_path == path
    return s.scalar(select(SupervisionRules).where(where))


def _in_force(s: Session, path: str | None) -> dict[str, Any]:
    """The thresholds governing tasks in ``path``, with the area whose own they are (``area_code``;
    null: the installation-wide ones or the defaults)."""
    rows = s.execute(select(SupervisionRules.area_path, SupervisionRules.rules)).all()
    sets = [(p, Rules.from_mapping(r)) for p, r in rows]
    rules = rules_for(sets, path)
    source = next((p for p, r in sets if r is rules), None)
    return {"area_code": _code_of(source), **rules.to_mapping()}


def get_rules(uow: UnitOfWork, actor: Actor, area_code: str | None = None) -> dict[str, Any]:
    """The thresholds in force for ``area_code`` (by default the reader's own area; the installation's
    for an installation-wide reader), and whose they are. Another town's are not found (404)."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        s = uow.session
        path = _area_path(s, area_code) if area_code else authz.own_area_path(actor)
        if not authz.config_readable(actor, path):
            raise NotFound(f"area '{area_code}' not found")
        return _in_force(s, path)


def list_rule_sets(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """The thresholds areas set for themselves that concern the reader: his area's and those below it
    (``editable``), and — read-only — those above him and the installation-wide ones."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        rows = uow.session.scalars(select(SupervisionRules)
                                   .where(authz.config_read_clause(actor, SupervisionRules.area_path))
                                   .order_by(SupervisionRules.area_path))
        return [{"area_code": _code_of(r.area_path), "rules": Rules.from_mapping(r.rules).to_mapping(),
                 "editable": authz.path_visible(actor, r.area_path), "updated_by": r.updated_by,
                 "updated_at": r.updated_at} for r in rows]


def _target(s: Session, actor: Actor, area_code: str | None) -> str | None:
    """The area an author's thresholds are saved for: the one he names, else his own (installation-wide
    for an installation-wide author); outside his own area → 422 at ``area_code``."""
    path = _area_path(s, area_code) if area_code else authz.own_area_path(actor)
    if not authz.path_visible(actor, path):
        own = ", ".join(_code_of(x) or "" for x in actor.area_paths or ()) or "none"
        raise Invalid(f"supervision thresholds may only be set for an area inside the author's own ({own})",
                      field="area_code")
    return path


def _audit_object(path: str | None) -> str:
    return "supervision_rules" if path is None else f"supervision_rules:{_code_of(path)}"


def put_rules(uow: UnitOfWork, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Save the thresholds of an area (``area_code`` in the body; by default the author's own): a town
    sets its town's, the district the district's; they govern that area's tasks (opened tasks pick them
    up when they next change). Checked before they are stored (422 with the setting)."""
    authz.require(actor, P.RULE_WRITE)
    data = dict(data)
    area_code = data.pop("area_code", None)
    if area_code is not None and not isinstance(area_code, str):
        raise Invalid("area_code: an area code", field="area_code")
    try:
        rules = Rules.from_mapping(data)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        raise Invalid(text, field=text.split(":", 1)[0] if ":" in text else None) from None
    with uow:
        s = uow.session
        path = _target(s, actor, area_code)
        row = _rule_set_of(s, path)
        before = row.rules if row is not None else load_rules(s.connection(), path).to_mapping()
        audit.record_change(s, actor, "supervision_rules.put", _audit_object(path), before, rules.to_mapping())
        if row is None:
            next_id = (s.scalar(select(func.max(SupervisionRules.id))) or 0) + 1
            s.add(SupervisionRules(id=next_id, area_path=path, rules=rules.to_mapping(), updated_by=actor.label))
        else:
            row.rules = rules.to_mapping()
            row.updated_by = actor.label
            row.updated_at = datetime.now(UTC)
        s.flush()
        result = _in_force(s, path)
        uow.commit()
    forget_rules()
    return result


def delete_rules(uow: UnitOfWork, area_code: str, actor: Actor) -> dict[str, Any]:
    """Drop an area's own thresholds: its tasks follow the area above it again. Only inside the
    author's own area: another town's are not found (404), the district's are refused (403)."""
    authz.require(actor, P.RULE_WRITE)
    with uow:
        s = uow.session
        path = s.scalar(select(Area.path).where(Area.code == area_code))
        row = _rule_set_of(s, path) if path is not None else None
        if row is None or not authz.config_readable(actor, path):
            raise NotFound(f"area '{area_code}' has no supervision thresholds of its own")
        authz.ensure_config_in_scope(actor, path, what="supervision thresholds", field="area_code")
        audit.record_change(s, actor, "supervision_rules.delete", _audit_object(path), row.rules, None)
        s.delete(row)
        s.flush()
        result = _in_force(s, path)
        uow.commit()
    forget_rules()
    return result
