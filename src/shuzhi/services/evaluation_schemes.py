"""Scoring schemes (评分办法): the active one, the list, and saving one (checked first, audited).

A scheme is data (:mod:`shuzhi.domain.scoring`); when none is stored the built-in default is active.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables_evaluation import EvaluationScheme
from shuzhi.domain import permissions as P
from shuzhi.domain.scoring import DEFAULT_SCHEME, Scheme, SchemeError, parse_scheme
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


def active_scheme(s: Session) -> tuple[str, Scheme]:
    row = s.scalar(select(EvaluationScheme).where(EvaluationScheme.active.is_(True)).order_by(EvaluationScheme.id))
    if row is None:
        return "default", parse_scheme(DEFAULT_SCHEME)
    return row.code, parse_scheme(row.document)


def _scheme_json(row: EvaluationScheme) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "active": row.active, "version": row.version,
            "document": row.document, "created_by": row.created_by,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


def list_schemes(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        rows = uow.session.scalars(select(EvaluationScheme).order_by(EvaluationScheme.code)).all()
        out = [_scheme_json(r) for r in rows]
        if not any(r.active for r in rows):
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


def save_scheme(uow: UnitOfWork, actor: Actor, code: str, name: str, document: dict[str, Any],
                activate: bool = True) -> dict[str, Any]:
    """Create or replace a scheme (validated first; nothing is stored when it is rejected)."""
    authz.require(actor, P.EVALUATION_WRITE)
    validate_scheme(document)
    with uow:
        s = uow.session
        row = s.scalar(select(EvaluationScheme).where(EvaluationScheme.code == code))
        before = None if row is None else {"name": row.name, "document": row.document, "active": row.active}
        if row is None:
            row = EvaluationScheme(code=code, name=name, document=document, active=False, version=1,
                                   created_by=actor.label)
            s.add(row)
        else:
            row.name, row.document, row.version = name, document, row.version + 1
        if activate:
            for other in s.scalars(select(EvaluationScheme).where(EvaluationScheme.active.is_(True))):
                other.active = False
            row.active = True
        audit.record_change(s, actor, "scoring_scheme.save", f"scoring_scheme:{code}", before,
                            {"name": row.name, "document": row.document, "active": row.active})
        s.flush()
        out = _scheme_json(row)
        uow.commit()
        return out
