"""好差评 figures: the rates per window, department, town and clerk, and the service ratings' measures
per department or area for the evaluation (监督评价).

The rankings and the scoring scheme add them to each unit's (or child area's) event and ledger figures,
so a city can weight 好评率, 差评整改率 and on-time rectification beside closure and dispatch rates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_public_services import (
    ServiceCaseShare,
    ServiceRating,
    ServiceVerification,
    ServiceWindow,
)
from shuzhi.domain import permissions as P
from shuzhi.domain.evaluation import RATING_RATES
from shuzhi.domain.evaluation import rating_rates as rating_rates_of
from shuzhi.domain.periods import PeriodError, parse_period
from shuzhi.domain.ratings import Grade, Rates, RatingFact, VState, counts, rates
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.ratings import SHANGHAI

GROUPINGS = ("window", "department", "town", "clerk")


@dataclass(frozen=True)
class RateRow:
    key: str
    name: str
    ratings: int
    good: int
    neutral: int
    bad: int
    invalid: int
    good_rate: float | None
    rectification_rate: float | None
    on_time_rate: float | None
    #: the points the active scoring scheme's 好差评 items give these rates (None: the scheme has none)
    score: float | None = None


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    lo = datetime.combine(since, time(), SHANGHAI).astimezone(UTC) if since else None
    hi = datetime.combine(until + timedelta(days=1), time(), SHANGHAI).astimezone(UTC) if until else None
    if lo and hi and lo >= hi:
        raise Invalid("'since' must not be after 'until'", field="since")
    return lo, hi


def rating_rates(uow: UnitOfWork, actor: Actor, by: str, *, since: date | None = None, until: date | None = None,
                 period: str | None = None) -> list[RateRow]:
    """好评率, 差评整改率 and on-time rectification per window, department, town or clerk, over the
    ratings in the actor's scope rated in [since, until] (local days), or in ``period`` (an evaluation
    period, ``2026-12``, ``2026-W49``, ``2026-Q4`` …, as the evaluation page names it; not with since/until).
    A 差评 whose appeal was upheld counts as invalid and leaves the denominators.

    When the active scoring scheme weights the rating rates (``good_rating_rate`` …), each row gets the
    points those items give and the rows rank by them; otherwise they rank by 好评率."""
    authz.require(actor, P.EVALUATION_READ)
    if by not in GROUPINGS:
        raise Invalid(f"one of {', '.join(GROUPINGS)}", field="by")
    if period is not None:
        if since is not None or until is not None:
            raise Invalid("give either a period or since/until, not both", field="period")
        try:
            p = parse_period(period)
        except PeriodError as exc:
            raise Invalid(str(exc), field="period") from None
        since, until = p.start, p.end
    lo, hi = _bounds(since, until)
    with uow:
        s = uow.session
        facts = rating_facts(s, actor, by, lo, hi)
        names = _names(s, by, set(facts))
        from shuzhi.services.evaluation_schemes import active_scheme

        items = [i for i in active_scheme(s, actor.area_paths[0] if actor.area_paths else None)[1].items
                 if i.rate in RATING_RATES]
        out = []
        for k, fs in facts.items():
            rt: Rates = rates(fs)
            weighted = rating_rates_of(counts(fs))
            score = round(sum(i.points(weighted[i.rate]) for i in items), 2) if items else None
            out.append(RateRow(k, names.get(k, k), rt.ratings, rt.good, rt.neutral, rt.bad, rt.invalid,
                               rt.good_rate, rt.rectification_rate, rt.on_time_rate, score))
        return sorted(out, key=lambda x: (-(x.score or 0), -(x.good_rate or 0), -x.ratings, x.key))


def rating_facts(s: Session, actor: Actor, by: str, lo: datetime | None, hi: datetime | None, *,
                 area_key: Callable[[str], str] | None = None) -> dict[str, list[RatingFact]]:
    """The ratings in the actor's scope rated in [lo, hi), as facts per group key (``by`` one of
    :data:`GROUPINGS`, or ``area`` with ``area_key`` mapping a rating's area path to its key)."""
    q = (select(ServiceRating.id, ServiceRating.grade, ServiceRating.window_id, ServiceRating.clerk_person_id,
                ServiceRating.area_path, ServiceRating.case_id, ServiceVerification.appeal_decision,
                ServiceVerification.state, ServiceVerification.replied_at, ServiceVerification.due_at)
         .outerjoin(ServiceVerification, ServiceVerification.rating_id == ServiceRating.id)
         .where(authz.area_clause(actor, ServiceRating.area_path)))
    if lo:
        q = q.where(ServiceRating.rated_at >= lo)
    if hi:
        q = q.where(ServiceRating.rated_at < hi)
    rows = list(s.execute(q).all())
    if by == "area" and area_key is not None:
        keys = {r.id: [area_key(r.area_path)] for r in rows}
    else:
        keys = _group_keys(s, by, rows)
    facts: dict[str, list[RatingFact]] = defaultdict(list)
    for r in rows:
        fact = RatingFact(Grade(r.grade), invalid=r.appeal_decision == "upheld",
                          rectified=r.state in (VState.REPLIED.value, VState.CLOSED.value),
                          on_time=r.replied_at is not None and r.replied_at <= r.due_at)
        for k in keys.get(r.id, ()):
            facts[k].append(fact)
    return facts


def _group_keys(s: Session, by: str, rows: list[Any]) -> dict[int, list[str]]:
    if by == "window":
        return {r.id: [str(r.window_id)] for r in rows}
    if by == "clerk":
        return {r.id: [str(r.clerk_person_id)] for r in rows if r.clerk_person_id is not None}
    if by == "town":
        return {r.id: ["/".join(r.area_path.strip("/").split("/")[:3])] for r in rows
                if len(r.area_path.strip("/").split("/")) >= 3}
    # department: every department that had a share in the rated case (a bundle counts for each); a
    # visit (no case) counts for the unit that staffs the window, which answers for its service
    case_ids = {r.case_id for r in rows if r.case_id}
    units: dict[int, set[int]] = defaultdict(set)
    for chunk in [list(case_ids)[i:i + 5000] for i in range(0, len(case_ids), 5000)]:
        for cid, uid in s.execute(select(ServiceCaseShare.case_id, ServiceCaseShare.unit_id)
                                  .where(ServiceCaseShare.case_id.in_(chunk))):
            units[cid].add(uid)
    window_ids = {r.window_id for r in rows if not r.case_id}
    staffed: dict[int, int] = {}
    if window_ids:
        staffed = {i: u for i, u in s.execute(select(ServiceWindow.id, ServiceWindow.unit_id)
                                              .where(ServiceWindow.id.in_(window_ids)))}
    return {r.id: ([str(u) for u in sorted(units.get(r.case_id, ()))] if r.case_id
                   else [str(staffed[r.window_id])] if r.window_id in staffed else [])
            for r in rows}


def _names(s: Session, by: str, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    if by == "window":
        return {str(i): n for i, n in s.execute(select(ServiceWindow.id, ServiceWindow.name)
                                                .where(ServiceWindow.id.in_([int(k) for k in keys])))}
    if by == "clerk":
        return {str(i): n for i, n in s.execute(select(Person.id, Person.name)
                                                .where(Person.id.in_([int(k) for k in keys])))}
    if by == "department":
        return {str(i): n for i, n in s.execute(select(Unit.id, Unit.name)
                                                .where(Unit.id.in_([int(k) for k in keys])))}
    codes = {k.split("/")[-1]: k for k in keys}
    return {codes[c]: n for c, n in s.execute(select(Area.code, Area.name).where(Area.code.in_(list(codes))))}


def evaluation_counts(s: Session, actor: Actor, by: str, lo: datetime, hi: datetime, *,
                      area_key: Callable[[str], str] | None = None) -> dict[str, dict[str, int]]:
    """The rating measures (``RATING_MEASURES``) per group key of the ratings in the actor's scope rated in
    [lo, hi): ``by`` is ``department`` (keys are unit ids as text; a bundle counts for each of its
    departments) or ``area`` (keys from ``area_key`` applied to the rating's area path)."""
    return {k: counts(fs) for k, fs in rating_facts(s, actor, by, lo, hi, area_key=area_key).items()}
