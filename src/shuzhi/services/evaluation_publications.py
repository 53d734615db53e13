"""赛马比拼 published when the district chooses (issue #20): a district centre publishes its towns' ranking
for a period; the towns of the district (their centres, boards, villages and grids) then see it, as it
stood when published. Until then the ranking of a period is the district's own: a town asking for its
peers' ranking (``rankings(peers=True, by="area")``) gets the published one or *not found*.

A publication is immutable — who, when, which period, the ranked rows — and audited
(``evaluation.publish``); a period is published once per district (409 on ``period``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_evaluation import EvaluationPublication
from shuzhi.domain import permissions as P
from shuzhi.domain.areas import AreaLevel
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.evaluation import build_query, period_of, ranking_of
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

_DISTRICT = AreaLevel.DISTRICT.value


def _codes(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def _publishing_district(s: Session, actor: Actor, code: str | None) -> Area:
    """The district whose towns' ranking the actor publishes: his own district centre's (a person whose
    scope is the district), or the one named by an installation-wide publisher."""
    if code is not None and code.strip():
        area = s.scalar(select(Area).where(Area.code == code.strip()))
        if area is None or not (actor.area_paths is None
                                or any(area.path.startswith(p) or p.startswith(area.path) for p in actor.area_paths)):
            raise NotFound(f"unknown area '{code}'", field="area")
        if area.level != _DISTRICT:
            raise Invalid("a district publishes the ranking of its towns: name a district", field="area")
    elif actor.area_paths is None:
        raise Invalid("name the district whose towns' ranking is published", field="area")
    elif not actor.area_paths:
        raise authz.Forbidden("the towns' ranking is published by the district centre", field="area")
    else:
        area = s.scalar(select(Area).where(Area.path == actor.area_paths[0]))
        if area is None:
            raise NotFound("unknown area", field="area")
    if actor.area_paths is not None and not any(area.path.startswith(p) for p in actor.area_paths):
        raise authz.Forbidden("the towns' ranking is published by the district centre", field="area")
    if area.level != _DISTRICT:
        raise authz.Forbidden("the towns' ranking is published by the district centre", field="area")
    return area


def _record(p: EvaluationPublication, area: Area | None = None, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id, "district": {"code": area.code, "name": area.name} if area is not None else None,
        "period": p.period_label, "period_title": p.ranking.get("period", {}).get("title"),
        "scheme": p.scheme, "note": p.note, "published_by": p.published_by,
        "published_at": p.published_at.isoformat(), "towns": len(p.ranking.get("ranking", []))}
    if full:
        out["ranking"] = p.ranking
    return out


def publish(uow: UnitOfWork, actor: Actor, *, period: str | None, area: str | None = None, note: str | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """Publish the towns' ranking of a period to the district's towns: the rows as they stand now, kept."""
    authz.require(actor, P.EVALUATION_PUBLISH)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        p = period_of(period)
        if p.start > at.astimezone(SHANGHAI).date():
            raise Invalid(f"the period {p.label} has not begun: nothing to rank yet", field="period")
        district = _publishing_district(s, actor, area)
        if s.scalar(select(EvaluationPublication.id).where(EvaluationPublication.area_id == district.id,
                                                           EvaluationPublication.period_label == p.label)):
            raise Conflict(f"the ranking of {p.label} is already published; a publication is not changed",
                           field="period")
        q = build_query(s, actor, area=district.code, period=p.label, group_by="area")
        ranking = ranking_of(s, actor, q)
        row = EvaluationPublication(
            area_id=district.id, area_path=district.path, period_label=p.label, period_start=p.start,
            period_end=p.end, scheme=str(ranking.get("scheme") or ""), ranking=ranking,
            note=(note or "").strip()[:2000], published_by=actor.label, published_by_id=actor.person_id,
            published_at=at)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"the ranking of {p.label} is already published", field="period") from None
        audit.record(s, actor, "evaluation.publish", f"publication:{district.code}:{p.label}", {
            "period": p.label, "district": district.code, "scheme": row.scheme, "note": row.note,
            "ranking": [{"rank": r["rank"], "code": r["code"], "score": r["score"]} for r in ranking["ranking"]]},
            at=at)
        out = _record(row, district, full=True)
        uow.commit()
        return out


def _visible(actor: Actor, path: str) -> bool:
    """The district's own people and those of its towns (centres, boards, villages, grids) — and above."""
    if actor.area_paths is None:
        return True
    return any(p.startswith(path) or path.startswith(p) for p in actor.area_paths)


def list_publications(uow: UnitOfWork, actor: Actor) -> dict[str, Any]:
    """The publications the actor may read, newest period first, and whether he may publish."""
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        s = uow.session
        rows = s.execute(select(EvaluationPublication, Area).join(Area, Area.id == EvaluationPublication.area_id)
                         .order_by(EvaluationPublication.period_start.desc(), EvaluationPublication.id.desc())
                         .limit(200)).all()
        items = [_record(p, a) for p, a in rows if _visible(actor, p.area_path)]
        can = P.EVALUATION_PUBLISH in actor.permissions and (
            actor.area_paths is None or any(len(_codes(p)) == 2 for p in actor.area_paths))
        return {"items": items, "can_publish": can}


def published_ranking(s: Session, actor: Actor, district_code: str | None, period: str | None) -> dict[str, Any]:
    """The published ranking of the actor's district for a period (the rows as they stood), else not found."""
    p = period_of(period)
    if district_code is None:
        if not actor.area_paths:
            raise NotFound(f"the ranking of {p.label} is not published", field="period")
        codes = _codes(actor.area_paths[0])
        if len(codes) < 2:
            raise NotFound(f"the ranking of {p.label} is not published", field="period")
        district_code = codes[1]
    row = s.execute(select(EvaluationPublication, Area).join(Area, Area.id == EvaluationPublication.area_id)
                    .where(Area.code == district_code, EvaluationPublication.period_label == p.label)).first()
    if row is None or not _visible(actor, row[0].area_path):
        raise NotFound(f"the ranking of {p.label} is not published", field="period")
    pub, area = row
    own = next((c for path in (actor.area_paths or ()) for c in _codes(path)[2:3]), None)
    return {**pub.ranking, "published": _record(pub, area), "own": own}


def get_published(uow: UnitOfWork, actor: Actor, *, period: str | None, area: str | None = None) -> dict[str, Any]:
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        return published_ranking(uow.session, actor, area or None, period)
