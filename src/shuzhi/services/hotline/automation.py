"""Automation acting on the model — only per class, above a threshold an administrator sets.

"自动+手动": a registered event whose class the model is sure of (its score for the class is at least
that class's threshold) may be classified by the model and dispatched by the rules without a person;
below the threshold, or for a class without one, a person decides. Every decision — acted on or not —
is a timeline entry ``model.decide`` with the model version, the class, the score and the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from shuzhi.adapters.db.tables import EventClass
from shuzhi.adapters.db.tables_hotline import ModelAutoThreshold
from shuzhi.domain.permissions import EVENT_DISPATCH, MODEL_ADMIN
from shuzhi.services import commands, handling
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.hotline.models import active_model, event_text
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork


class ThresholdBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(gt=0.0, le=1.0, description="the model's score from which automation may act")


@dataclass(frozen=True)
class ThresholdView:
    class_code: str
    threshold: float
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class ModelDecision:
    number: str
    model_version: int
    class_code: str
    score: float
    threshold: float | None
    acted: bool
    state: str


def list_thresholds(uow: UnitOfWork, actor: Actor) -> list[ThresholdView]:
    authz.require(actor, MODEL_ADMIN)
    with uow:
        return [ThresholdView(t.class_code, t.threshold, t.set_by, t.set_at) for t in uow.session.scalars(
            select(ModelAutoThreshold).order_by(ModelAutoThreshold.class_code))]


def set_threshold(uow: UnitOfWork, class_code: str, body: ThresholdBody, actor: Actor, *,
                  now: datetime | None = None) -> ThresholdView:
    authz.require(actor, MODEL_ADMIN)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if s.scalar(select(EventClass.id).where(EventClass.code == class_code)) is None:
            raise NotFound(f"event class '{class_code}' not found", field="class_code")
        row = s.get(ModelAutoThreshold, class_code)
        before = None if row is None else {"threshold": row.threshold}
        if row is None:
            row = ModelAutoThreshold(class_code=class_code)
            s.add(row)
        row.threshold, row.set_by, row.set_at = body.threshold, actor.label, at
        audit.record_change(s, actor, "model.threshold", f"class:{class_code}", before,
                            {"threshold": body.threshold})
        uow.commit()
        return ThresholdView(class_code, body.threshold, actor.label, at)


def clear_threshold(uow: UnitOfWork, class_code: str, actor: Actor) -> None:
    authz.require(actor, MODEL_ADMIN)
    with uow:
        row = uow.session.get(ModelAutoThreshold, class_code)
        if row is None:
            raise NotFound(f"no threshold for class '{class_code}'", field="class_code")
        uow.session.delete(row)
        audit.record_change(uow.session, actor, "model.threshold", f"class:{class_code}",
                            {"threshold": row.threshold}, None)
        uow.commit()


def decide_by_model(uow: UnitOfWork, ref: str, actor: Actor, *, now: datetime | None = None) -> ModelDecision:
    """For a registered event: let the model classify it when its class's threshold allows, then
    dispatch by the rules. The model's decision is on the timeline whether or not it acted."""
    from shuzhi.services.dispatching.deciding import auto_dispatch

    authz.require(actor, EVENT_DISPATCH)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        # as every change of an event: seeing it is not enough, the actor must hold a role on it (403)
        event = handling.load_actable_event(s, ref, actor)
        if event.state != "registered":
            raise Conflict(f"the model decides for registered events; this one is {event.state}", field="state")
        loaded = active_model(s, uow.database)
        if loaded is None:
            raise Conflict("no model is active yet: train one (shuzhi model train)", field="model")
        text = event_text(event.title, event.description)
        if not text:
            raise Invalid("the event has no words for the model", field="description")
        best = loaded.model.top(text, k=1)[0]
        limit = s.get(ModelAutoThreshold, best.code)
        threshold = limit.threshold if limit is not None else None
        acted = threshold is not None and best.score >= threshold
        current = event.event_class.code if event.event_class else None
        why = "模型置信度达到该类别的自动处理阈值" if acted else "模型置信度不足或该类别未开放自动处理，由人工决定"
        note(s, event, actor, "model.decide", at, from_state=event.state, to_state=event.state, reason=why,
             payload={"model_version": loaded.version, "class": best.code, "score": round(best.score, 4),
                      "threshold": threshold, "acted": acted, "class_before": current})
        number, version = event.number, loaded.version
        uow.commit()
    if not acted:
        return ModelDecision(number, version, best.code, round(best.score, 4), threshold, False, "registered")
    if current != best.code:
        handling.reclassify(uow, number, commands.Reclassify(
            event_class_code=best.code, reason=f"模型 v{version} 分类（置信度 {best.score:.2f}）"), actor, now=at)
    done = auto_dispatch(uow, number, actor, now=at)
    return ModelDecision(number, version, best.code, round(best.score, 4), threshold, True, done.state)
