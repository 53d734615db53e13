"""Scoring schemes (评分办法): the active one, the list, and saving one (checked first, audited).

A scheme is data (:mod:`shuzhi.domain.scoring`); when none is stored the built-in default is active.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_evaluation import EvaluationScheme
from shuzhi.domain import permissions as P
from shuzhi.domain.scoring import DEFAULT_SCHEME, Scheme, SchemeError, parse_scheme
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


def active_scheme(s: Session, area_path: str | None = None) -> tuple[str, Scheme]:
    """The scheme that scores figures of ``area_path``: the active scheme of the nearest area at or
    above it, else the installation-wide active one, else the built-in default. A town's scheme thus
    scores inside the town only; the district's ranking of its towns uses the district's scheme."""
    rows = s.scalars(select(EvaluationScheme).where(EvaluationScheme.active.is_(True))
                     .order_by(EvaluationScheme.id)).all()
    fitting = [r for r in rows if r.area_path is None or (area_path is not None and area_path.startswith(r.area_path))]
    if not fitting:
        return "default", parse_scheme(DEFAULT_SCHEME)
    row = max(fitting, key=lambda r: len(r.area_path or ""))
    return row.code, parse_scheme(row.document)


def _code_of(path: str | None) -> str | None:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else None


def _scheme_json(row: EvaluationScheme) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "active": row.active, "version": row.version,
            "document": row.document, "created_by": row.created_by, "area_code": _code_of(row.area_path),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


def list_schemes(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """The schemes that govern the actor's area: installation-wide, his area's and those above and
    below it (another town's are not listed)."""
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        rows = uow.session.scalars(select(EvaluationScheme)
                                   .where(authz.config_read_clause(actor, EvaluationScheme.area_path))
                                   .order_by(EvaluationScheme.code)).all()
        out = [_scheme_json(r) for r in rows]
        if not any(r.active and r.area_path is None for r in rows):
            out.append({"code": "default", "name": "默认评分办法（内置）", "active": True, "version": 0,
                        "document": DEFAULT_SCHEME, "created_by": "system", "updated_at": None})
        return out


def validate_scheme(document: Any) -> Scheme:
    try:
        return parse_scheme(document)
    except SchemeError as exc:
        first = next(iter(exc.errors))
        raise Invalid(f"the scoring scheme is not valid: {exc}", field=f"document.{first}".rstrip("."),
                      details={"errors": exc.errors}) from None


def _scheme_audit(row: EvaluationScheme) -> dict[str, Any]:
    return {"name": row.name, "document": row.document, "active": row.active, "area_code": _code_of(row.area_path)}


def save_scheme(uow: UnitOfWork, actor: Actor, code: str, name: str, document: dict[str, Any],
                activate: bool = True, *, area_code: str | None = None) -> dict[str, Any]:
    """Create or replace a scheme (validated first; nothing is stored when it is rejected).

    A scheme belongs to an area: ``area_code``, else its current one, else the author's own area
    (installation-wide for an administrator). Only people whose scope covers that area write it (a
    town's scheme is written at the town or above); activating it replaces the active scheme of
    that area only."""
    authz.require(actor, P.EVALUATION_WRITE)
    validate_scheme(document)
    with uow:
        s = uow.session
        row = s.scalar(select(EvaluationScheme).where(EvaluationScheme.code == code))
        if row is not None:
            authz.ensure_config_in_scope(actor, row.area_path, what=f"scoring scheme '{code}'")
        if area_code:
            area_path = s.scalar(select(Area.path).where(Area.code == area_code))
            if area_path is None:
                raise Invalid(f"unknown area '{area_code}'", field="area_code")
        elif row is not None:
            area_path = row.area_path
        else:
            area_path = actor.area_paths[0] if actor.area_paths else None
        authz.ensure_config_area_writable(actor, area_path, "a scoring scheme")
        before = None if row is None else _scheme_audit(row)
        if row is None:
            row = EvaluationScheme(code=code, name=name, document=document, active=False, version=1,
                                   created_by=actor.label, area_path=area_path)
            s.add(row)
        else:
            row.name, row.document, row.version, row.area_path = name, document, row.version + 1, area_path
        if activate:
            same_area = (EvaluationScheme.area_path.is_(None) if area_path is None
                         else EvaluationScheme.area_path == area_path)
            for other in s.scalars(select(EvaluationScheme).where(EvaluationScheme.active.is_(True), same_area)):
                other.active = False
            row.active = True
        audit.record_change(s, actor, "scoring_scheme.save", f"scoring_scheme:{code}", before, _scheme_audit(row))
        s.flush()
        out = _scheme_json(row)
        uow.commit()
        return out
