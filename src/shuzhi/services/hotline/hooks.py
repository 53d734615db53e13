"""Hotline intelligence's seams: what the model suggested for each new event, and scheduled retraining.

Registered by :func:`shuzhi.services.bootstrap.bootstrap`. The suggestion is recorded in the intake's own
transaction (``model_suggestions``), so that the accuracy in production — the model's suggestion
against the class people finally gave the event — can be counted per class and month. A model problem
never stops intake: the event is registered without a recorded suggestion and the problem is logged.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_hotline import ModelSuggestion
from shuzhi.services import hooks
from shuzhi.services.hotline import intake_automation, models

log = logging.getLogger("shuzhi.hotline")
#: Sources whose events are people's words (a sensor's warning or a notice is not worth a suggestion).
WORDED_SOURCES = frozenset({"hotline", "citizen_platform", "grid_patrol", "online_app", "duty_officer",
                            "upper_centre", "legacy_system"})
#: Sources whose new events the model may classify and dispatch by itself, for the classes an
#: administrator opened to automation (``services/hotline/intake_automation.py``): the people's reports.
AUTOMATED_SOURCES = frozenset({"hotline", "citizen_platform", "online_app"})


def record_suggestion(s: Session, change: hooks.EventChange) -> None:
    if change.change != "registered":
        return
    if change.source is not None:  # the intake gave what was reported: no need to read it back
        row: tuple[str, str | None, str | None] | None = (change.source, change.title, change.description)
    else:
        q = select(Event.source, Event.title, Event.description).where(Event.id == change.event_id)
        if change.district_code is not None:  # on Citus: the case's one shard, not every shard of events
            q = q.where(Event.district_code == change.district_code)
        found = s.execute(q).first()
        row = (found[0], found[1], found[2]) if found is not None else None
    if row is None or row[0] not in WORDED_SOURCES:
        return
    text = models.event_text(row[1], row[2])
    if not text:
        return
    try:
        loaded = models.active_model(s)
        if loaded is None:
            return
        top = loaded.model.top(text, k=3)
    except Exception:  # the model must never stop intake
        log.exception("hotline model could not suggest for event %s", change.event_id)
        return
    s.add(ModelSuggestion(event_id=change.event_id, model_version_id=loaded.id, class_code=top[0].code,
                          score=round(top[0].score, 4), top=[[t.code, round(t.score, 4)] for t in top],
                          at=change.at))
    if row[0] in AUTOMATED_SOURCES:
        intake_automation.act_at_intake(s, change.event_id, loaded.version, top[0].code, top[0].score, change.at)
