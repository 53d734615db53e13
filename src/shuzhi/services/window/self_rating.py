"""Self-service rating (自助评价): an applicant rates a completed case without signing in.

By the case number and the receipt's check code (``domain/self_rating.py``); one rating per case, never
changed, and nothing personal is answered — not the applicant, the clerk nor the case's content. A wrong
number and a wrong code get the same answer, so the route tells nobody which case numbers exist. The
rating is stored as any other (``ratings._store_rating``): a 差评 opens its verification the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_public_services import ServiceCase, ServiceWindow
from shuzhi.domain import self_rating
from shuzhi.domain.ratings import LEVEL_LABELS, Level
from shuzhi.domain.service_cases import RATEABLE_CASE_STATES, CaseState
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.ratings import _store_rating

#: Who the timeline names for a rating given this way (no account, no person).
APPLICANT = Actor(code="applicant", name="申请人（自助评价）", role="public", area_paths=())


@dataclass(frozen=True)
class SelfRatingOut:
    number: str
    grade: str
    level_label: str
    rated_at: datetime


def rate(uow: UnitOfWork, number: Any, check_code: Any, body: dict[str, Any], *, now: datetime | None = None
         ) -> SelfRatingOut:
    """Rate case ``number`` with the check code on its receipt; once it is completed, once for good."""
    if not isinstance(number, str) or not number.strip() or len(number) > 40:
        raise Invalid("the case number on the receipt", field="number")
    if not isinstance(check_code, str) or not self_rating.well_formed(check_code):
        raise Invalid(f"the {self_rating.LENGTH}-character check code on the receipt", field="check_code")
    if body.get("named"):
        raise Invalid("a self-service rating is anonymous: rate by name at the window or by telephone",
                      field="named")
    number = number.strip()
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        case = s.scalar(select(ServiceCase).where(ServiceCase.number == number))
        if case is None or not self_rating.matches(number, check_code, case.check_digest):
            raise NotFound("no case with this number and check code")
        if CaseState(case.state) not in RATEABLE_CASE_STATES:
            raise Conflict("the case can be rated once it is completed")
        window = s.get(ServiceWindow, case.window_id)
        event = s.get(Event, case.event_id)
        assert window is not None and event is not None  # foreign keys
        out = _store_rating(s, APPLICANT, at, {**body, "named": False}, case=case, visit=None, window=window,
                            rater_name=None, rater_phone=None,
                            subject_code=case.bundle_code or case.matter_code, event=event)
        uow.commit()
        return SelfRatingOut(number, out.grade, LEVEL_LABELS[Level(out.level)], at)
