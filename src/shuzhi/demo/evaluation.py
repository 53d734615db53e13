"""The demo's scoring scheme and colour bands, and its first roll-up, so that the evaluation endpoints
show a real five-colour map of the demo district's 27 towns from the start."""

from __future__ import annotations

from datetime import datetime

from shuzhi.domain.scoring import DEFAULT_SCHEME
from shuzhi.services.actors import SYSTEM
from shuzhi.services.evaluation_schemes import save_scheme
from shuzhi.services.rollups import refresh_rollups
from shuzhi.services.unit_of_work import UnitOfWork


def seed_evaluation(uow: UnitOfWork, now: datetime | None = None) -> None:
    """Store the default (Jinhua-style) scheme with the green/blue/yellow/orange/red bands, then roll up."""
    save_scheme(uow, SYSTEM, "default", "数字城管综合评价办法（默认，参照金华规则）", dict(DEFAULT_SCHEME), activate=True)
    refresh_rollups(uow, now)
