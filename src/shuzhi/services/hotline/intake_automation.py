"""Automation at intake: the model classifies and the rules dispatch a new report, per class, when the
model's score clears the threshold an administrator set for that class (``model_auto_thresholds``).

Runs inside the intake's transaction, from the hotline hook, right after the suggestion is recorded:

- the model's best class has no threshold, or its score is below it → nothing automatic happens; the
  event stays registered for the duty officer (the suggestion is still recorded for the accuracy count);
- the desk already gave the event another class → people decided, the model does not overrule them;
- otherwise the event takes the model's class (a ``event.reclassify`` line when it had none), a
  ``model.decide`` line records the model version, class, score and threshold, and the dispatch rules
  dispatch it as the centre's automatic dispatch would (one nobody's duties cover stays registered
  with an ``event.auto_dispatch_failed`` line).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, EventClass
from shuzhi.adapters.db.tables_hotline import ModelAutoThreshold
from shuzhi.domain.events import EventAction
from shuzhi.services import hooks
from shuzhi.services.actors import SYSTEM
from shuzhi.services.transitions import move_event, note


def act_at_intake(s: Session, event_id: int, model_version: int, class_code: str, score: float,
                  at: datetime) -> bool:
    """Classify and dispatch the new event by the model when its class's threshold allows; True if it acted."""
    limit = s.get(ModelAutoThreshold, class_code)
    if limit is None or score < limit.threshold:
        return False
    event = s.get(Event, event_id)
    if event is None or event.state != "registered":
        return False
    given = event.event_class.code if event.event_class is not None else None
    if given is not None and given != class_code:
        return False
    chosen = s.scalar(select(EventClass).where(EventClass.code == class_code))
    if chosen is None:
        return False
    if given is None:
        why = f"模型 v{model_version} 分类（置信度 {score:.2f}）"
        move_event(s, event, EventAction.RECLASSIFY, SYSTEM, at, reason=why,
                   payload={"from_class": None, "to_class": class_code, "from_urgency": event.urgency,
                            "to_urgency": event.urgency})
        event.event_class_id, event.event_class = chosen.id, chosen
        change = hooks.EventChange(event_id=event.id, event_class_code=class_code, urgency=event.urgency,
                                   previous_class_code=None, previous_urgency=event.urgency,
                                   area_path=event.area_path, at=at, change="reclassified",
                                   district_code=event.district_code)
        for hook in hooks.EVENT_HOOKS:
            hook(s, change)
    note(s, event, SYSTEM, "model.decide", at, from_state=event.state, to_state=event.state,
         reason="模型置信度达到该类别的自动处理阈值，自动分类并分拨",
         payload={"model_version": model_version, "class": class_code, "score": round(score, 4),
                  "threshold": limit.threshold, "acted": True, "class_before": given, "at_intake": True})
    _dispatch(s, event, at)
    return True


def _dispatch(s: Session, event: Event, at: datetime) -> None:
    from shuzhi.services.dispatching import deciding

    deciding.apply_rules_in(s, event, SYSTEM, at)
