"""Accuracy in production: the model's suggestion at intake against the class people finally gave.

Counted per month (Asia/Shanghai) and class over the decided events (acted on, not cancelled) that had
a suggestion recorded (``model_suggestions``), within the viewer's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shuzhi.adapters.db.tables import Event, EventClass
from shuzhi.adapters.db.tables_hotline import ModelSuggestion, ModelVersion
from shuzhi.domain.permissions import EVALUATION_READ
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class AccuracyRow:
    month: str  # YYYY-MM
    class_code: str  # the final class
    class_name: str
    suggested: int
    right: int
    rate: float
    versions: list[int]


def production_accuracy(uow: UnitOfWork, actor: Actor, *, since: date | None = None,
                        until: date | None = None, now: datetime | None = None) -> list[AccuracyRow]:
    """Per month and final class: how many suggestions were made and how many were right."""
    authz.require(actor, EVALUATION_READ)
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    until = until or today
    since = since or (until.replace(day=1) - timedelta(days=335)).replace(day=1)
    if since > until:
        raise Invalid("'since' is after 'until'", field="since")
    start = datetime.combine(since, time.min, tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=SHANGHAI).astimezone(UTC)
    with uow:
        rows = uow.session.execute(
            select(ModelSuggestion.at, ModelSuggestion.class_code, EventClass.code, EventClass.name,
                   ModelVersion.version)
            .join(Event, Event.id == ModelSuggestion.event_id)
            .join(EventClass, EventClass.id == Event.event_class_id)
            .join(ModelVersion, ModelVersion.id == ModelSuggestion.model_version_id)
            .where(ModelSuggestion.at >= start, ModelSuggestion.at < end,
                   Event.state.not_in(("registered", "cancelled")), authz.event_clause(actor))).all()
    cells: dict[tuple[str, str], list[int]] = {}
    names: dict[str, str] = {}
    versions: dict[tuple[str, str], set[int]] = {}
    for at, suggested, final, name, version in rows:
        key = (at.astimezone(SHANGHAI).strftime("%Y-%m"), final)
        cell = cells.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += suggested == final
        names[final] = name
        versions.setdefault(key, set()).add(version)
    return [AccuracyRow(month, code, names[code], n, right, round(right / n, 4), sorted(versions[(month, code)]))
            for (month, code), (n, right) in sorted(cells.items())]
