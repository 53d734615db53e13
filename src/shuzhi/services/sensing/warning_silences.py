"""Silences (静默) and inhibitions (抑制) of warnings: a silence holds back the warnings of its area for a
time (a town's silence only its town's, issue #15); an inhibition ties warnings across areas by indicator,
so only installation-wide authors write it. Both are audited with before and after, and bump the
configuration generation that evaluation reloads by (:mod:`shuzhi.services.sensing.warning_config`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_sensing import Indicator
from shuzhi.adapters.db.tables_warnings import (
    WarningInhibition,
    WarningSilence,
)
from shuzhi.domain import permissions as p
from shuzhi.domain.silences import parse_inhibition, parse_matcher
from shuzhi.domain.thresholds import LEVELS
from shuzhi.services.actors import Actor
from shuzhi.services.commands import ZonedDatetime
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.sensing.warning_config import _area_code, _commit, _invalid, bump
from shuzhi.services.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_RULES = 10_000
MAX_SILENCES = 5_000
TABLE_COLUMNS = ("code", "name", "indicator", "area", "for", "keep_firing_for", "enabled", "conditions", "actions")



# --- silences --------------------------------------------------------------------------------------


class NewSilence(BaseModel):
    """A silence (静默): warnings that match do not notify, open events or start plans in the window."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    starts_at: ZonedDatetime | None = Field(default=None, description="default: now")
    ends_at: ZonedDatetime
    matcher: dict[str, Any] = Field(description='e.g. {"indicators": ["SS-WATER-LEVEL"], "area": "500111001"}')
    comment: str = Field(min_length=1, max_length=2000, description="why, e.g. planned works")



def _silence_record(row: WarningSilence, now: datetime, actor: Actor) -> dict[str, Any]:
    """The silence, and whether the reader may end it (``editable``: of his area or below)."""
    return {"id": row.id, "starts_at": row.starts_at, "ends_at": row.ends_at, "matcher": row.matcher,
            "comment": row.comment, "created_by": row.created_by, "created_at": row.created_at,
            "expired_by": row.expired_by, "active": row.starts_at <= now < row.ends_at,
            "editable": p.INDICATOR_WRITE in actor.permissions and authz.path_visible(actor, row.area_path)}


def create_silence(uow: UnitOfWork, actor: Actor, cmd: NewSilence, *, now: datetime | None = None) -> dict[str, Any]:
    """Silence matching warnings for a while. A silence belongs to the area it names and holds back
    warnings of that area only; one that names no area silences everywhere and is set by an
    installation-wide author only — anyone else's gets his own area (a town silences its town's
    warnings, never another town's: 422 at ``matcher.area``)."""
    authz.require(actor, p.INDICATOR_WRITE)
    at = now or datetime.now(UTC)
    starts = cmd.starts_at or at
    if cmd.ends_at <= starts:
        raise Invalid("the silence must end after it starts", field="ends_at")
    if cmd.ends_at - starts > timedelta(days=366):
        raise Invalid("a silence lasts at most a year", field="ends_at")
    m, problems = parse_matcher(cmd.matcher, "matcher")
    if m is None:
        raise _invalid(problems, "the matcher")
    if not (m.indicators or m.series or m.area):
        raise Invalid("name the indicators, series or area to silence (a silence of everything is refused)",
                      field="matcher")
    if m.area is None and not actor.is_global:
        m = replace(m, area=_area_code(authz.own_area_path(actor)))
    with uow:
        s = uow.session
        path = None
        if m.area:
            path = s.scalar(select(Area.path).where(Area.code == m.area))
            if path is None:
                raise Invalid(f"unknown area '{m.area}'", field="matcher.area")
        if not authz.path_visible(actor, path):
            own = ", ".join(_area_code(x) or "" for x in actor.area_paths or ()) or "none"
            raise Invalid(f"a silence may only hold back warnings inside its author's own area ({own})",
                          field="matcher.area")
        if m.indicators:
            known = set(_known_codes(s, m.indicators))
            unknown = sorted(m.indicators - known)
            if unknown:
                raise Invalid(f"unknown indicator or tree node '{unknown[0]}'", field="matcher.indicators")
        row = WarningSilence(starts_at=starts, ends_at=cmd.ends_at, matcher=m.document(), area_path=path,
                             comment=cmd.comment, created_by=actor.label, created_at=at)
        s.add(row)
        bump(s)
        s.flush()
        result = _silence_record(row, at, actor)
        audit.record_change(s, actor, "silence.create", f"silence:{row.id}", None, _silence_audit(row))
        _commit(uow)
        return result


def _known_codes(s: Session, codes: frozenset[str]) -> list[str]:
    from shuzhi.adapters.db.tables_sensing import IndicatorNode

    found = list(s.scalars(select(Indicator.code).where(Indicator.code.in_(codes))))
    return found + list(s.scalars(select(IndicatorNode.code).where(IndicatorNode.code.in_(codes))))


def list_silences(uow: UnitOfWork, actor: Actor, *, current: bool = True,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Silences not yet ended (``current``), or all of them, newest first."""
    authz.require(actor, p.INDICATOR_READ)
    at = now or datetime.now(UTC)
    with uow:
        q = select(WarningSilence).order_by(WarningSilence.id.desc())
        if current:
            q = q.where(WarningSilence.ends_at > at)
        q = q.where(authz.config_read_clause(actor, WarningSilence.area_path))
        return [_silence_record(r, at, actor) for r in uow.session.scalars(q)]


def expire_silence(uow: UnitOfWork, actor: Actor, silence_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """End a silence now (kept for the record); warnings it held back are released at the next check.
    Only a silence of the actor's own area or below: another town's is not found, the district's 403."""
    authz.require(actor, p.INDICATOR_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        row = s.get(WarningSilence, silence_id)
        if row is None:
            raise NotFound(f"silence {silence_id} not found")
        # a silence above the actor (the district's, an installation-wide one) he sees but may not end
        authz.ensure_config_writable(actor, row.area_path, what=f"silence {silence_id}", field="matcher.area")
        before = _silence_audit(row)
        if row.ends_at > at:
            row.ends_at = max(at, row.starts_at)
            row.expired_by = actor.label
            bump(s)
        s.flush()
        result = _silence_record(row, at, actor)
        audit.record_change(s, actor, "silence.expire", f"silence:{row.id}", before, _silence_audit(row))
        _commit(uow)
        return result


def _silence_audit(row: WarningSilence) -> dict[str, Any]:
    return {"starts_at": row.starts_at, "ends_at": row.ends_at, "matcher": row.matcher, "comment": row.comment}


# --- inhibitions -----------------------------------------------------------------------------------


def _inhibition_record(row: WarningInhibition) -> dict[str, Any]:
    return {**row.document, "enabled": row.enabled, "id": row.id, "created_by": row.created_by,
            "updated_at": row.updated_at}


def list_inhibitions(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        return [_inhibition_record(r) for r in
                uow.session.scalars(select(WarningInhibition).order_by(WarningInhibition.code))]


def put_inhibition(uow: UnitOfWork, actor: Actor, doc: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Create or replace an inhibition by its code. An inhibition ties warnings by indicator, not by
    area (its scope may reach any area), so it is installation-wide configuration: written by an
    installation-wide author only (403), never by a town for its neighbours."""
    authz.require(actor, p.INDICATOR_WRITE)
    authz.ensure_config_in_scope(actor, None, what="inhibitions", field="code")
    at = now or datetime.now(UTC)
    inh, problems = parse_inhibition(doc)
    if inh is None:
        raise _invalid(problems, "the inhibition")
    assert isinstance(doc, dict)
    with uow:
        s = uow.session
        for key, m in (("source", inh.source), ("target", inh.target)):
            unknown = sorted(m.indicators - set(_known_codes(s, m.indicators)))
            if unknown:
                raise Invalid(f"unknown indicator or tree node '{unknown[0]}'", field=f"{key}.indicators")
        stored: dict[str, Any] = {
            "code": inh.code, "name": str(doc.get("name", ""))[:200], "source": inh.source.document(),
            "target": inh.target.document(), "min_level": LEVELS[inh.min_level], "scope": inh.scope}
        enabled = doc.get("enabled", True) is not False
        row = s.scalar(select(WarningInhibition).where(WarningInhibition.code == inh.code))
        before = None if row is None else {**row.document, "enabled": row.enabled}
        if row is None:
            row = WarningInhibition(code=inh.code, name=stored["name"], document=stored, enabled=enabled,
                                    created_by=actor.label, created_at=at, updated_at=at)
            s.add(row)
        else:
            row.name, row.document, row.enabled, row.updated_at = stored["name"], stored, enabled, at
        bump(s)
        s.flush()
        result = _inhibition_record(row)
        audit.record_change(s, actor, "inhibition.put", f"inhibition:{inh.code}", before,
                            {**stored, "enabled": enabled})
        _commit(uow)
        return result


def delete_inhibition(uow: UnitOfWork, actor: Actor, code: str) -> None:
    authz.require(actor, p.INDICATOR_WRITE)
    authz.ensure_config_in_scope(actor, None, what="inhibitions", field="code")
    with uow:
        s = uow.session
        row = s.scalar(select(WarningInhibition).where(WarningInhibition.code == code))
        if row is None:
            raise NotFound(f"inhibition '{code}' not found")
        audit.record_change(s, actor, "inhibition.delete", f"inhibition:{code}",
                            {**row.document, "enabled": row.enabled}, None)
        s.execute(delete(WarningInhibition).where(WarningInhibition.id == row.id))
        bump(s)
        _commit(uow)


__all__ = ["NewSilence", "create_silence", "delete_inhibition", "expire_silence", "list_inhibitions",
           "list_silences", "put_inhibition"]
