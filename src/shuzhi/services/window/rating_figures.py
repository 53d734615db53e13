"""好差评 figures for the evaluation (监督评价): the service ratings' measures per department or area.

The rankings and the scoring scheme add them to each unit's (or child area's) event and ledger figures,
so a city can weight 好评率, 差评整改率 and on-time rectification beside closure and dispatch rates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from shuzhi.domain.ratings import counts
from shuzhi.services.actors import Actor
from shuzhi.services.window.ratings import rating_facts


def evaluation_counts(s: Session, actor: Actor, by: str, lo: datetime, hi: datetime, *,
                      area_key: Callable[[str], str] | None = None) -> dict[str, dict[str, int]]:
    """The rating measures (``RATING_MEASURES``) per group key of the ratings in the actor's scope rated in
    [lo, hi): ``by`` is ``department`` (keys are unit ids as text; a bundle counts for each of its
    departments) or ``area`` (keys from ``area_key`` applied to the rating's area path)."""
    return {k: counts(fs) for k, fs in rating_facts(s, actor, by, lo, hi, area_key=area_key).items()}
