"""The demo's scoring scheme and colour bands, and its first roll-up, so that the evaluation endpoints
show a real five-colour map of the demo district's 27 towns from the start."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shuzhi.domain.scoring import DEFAULT_SCHEME
from shuzhi.services.actors import SYSTEM
from shuzhi.services.evaluation_schemes import save_scheme
from shuzhi.services.rollups import refresh_rollups
from shuzhi.services.unit_of_work import UnitOfWork


def with_runway_items(scheme: dict[str, Any]) -> dict[str, Any]:
    """The scheme with a runway lead unit's data scored (issue #22): 5 points for the coverage of its
    evaluable indicators' series and 5 for acknowledging their warnings on time, taken from the two
    closure items."""
    items = [dict(i) for i in scheme["items"]]
    for i in items:
        if i["rate"] in ("closure_rate", "on_time_closure_rate"):
            i["weight"] -= 5
    items += [{"rate": "data_coverage_rate", "weight": 5, "full_mark_at": 0.98, "zero_at": 0.60},
              {"rate": "warning_ack_on_time_rate", "weight": 5, "full_mark_at": 0.95, "zero_at": 0.50}]
    return {**scheme, "items": items}


def seed_evaluation(uow: UnitOfWork, now: datetime | None = None) -> None:
    """Store the default (Jinhua-style) scheme with the green/blue/yellow/orange/red bands, then roll up."""
    save_scheme(uow, SYSTEM, "default", "数字城管综合评价办法（默认，参照金华规则；含跑道数据质量与预警处置）",
                with_runway_items(DEFAULT_SCHEME), activate=True)
    refresh_rollups(uow, now)
