"""Hotline intelligence: suggestions for the desk, model versions, repeats and analysis (分析研判)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.services.errors import Invalid
from shuzhi.services.hotline import accuracy, analysis, automation, links, models
from shuzhi.services.hotline.suggest import SuggestRequest, suggest

router = APIRouter(tags=["hotline"])


@router.post("/api/events/suggest")
def suggest_for_text(body: SuggestRequest, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Top-3 classes and units with confidence and the words behind them, likely duplicates and repeats."""
    return asdict(suggest(uow, body, actor))


@router.get("/api/models")
def list_models(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every stored version of the hotline model, newest first (cut-off, measured accuracy, active)."""
    return [asdict(v) for v in models.list_versions(uow, actor)]


@router.post("/api/models/{version}/activate")
def activate_model(version: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Make a version the active one (also a rollback to any older version)."""
    return asdict(models.activate(uow, version, actor))


@router.post("/api/models/rollback")
def rollback_model(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Go back to the version before the active one."""
    return asdict(models.rollback(uow, actor))


@router.get("/api/models/production-accuracy")
def production_accuracy(uow: UowDep, actor: ActorDep, since: date | None = None,
                        until: date | None = None) -> list[dict[str, Any]]:
    """The model's suggestion at intake against the final class, per month and class (your scope)."""
    return [asdict(r) for r in accuracy.production_accuracy(uow, actor, since=since, until=until)]


@router.get("/api/models/thresholds")
def list_thresholds(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Per class, the model score from which automation may classify and dispatch without a person."""
    return [asdict(t) for t in automation.list_thresholds(uow, actor)]


@router.put("/api/models/thresholds/{class_code}")
def set_threshold(class_code: str, body: automation.ThresholdBody, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Open a class to automation above a threshold (administrators)."""
    return asdict(automation.set_threshold(uow, class_code, body, actor))


@router.delete("/api/models/thresholds/{class_code}", status_code=204)
def clear_threshold(class_code: str, uow: UowDep, actor: ActorDep) -> Response:
    """Close a class to automation: people decide again."""
    automation.clear_threshold(uow, class_code, actor)
    return Response(status_code=204)


@router.post("/api/events/{ref}/model-decision")
def model_decision(ref: Ref, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Let the model classify a registered event and the rules dispatch it, if its class's threshold
    allows; the decision (version, score, threshold) is on the timeline either way."""
    return asdict(automation.decide_by_model(uow, ref, actor))


class RepeatLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    earlier_number: str = Field(min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=500)


@router.post("/api/events/{ref}/repeat-of")
def link_repeat(ref: Ref, body: RepeatLink, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Link an event as a repeat of an earlier, closed one (same caller or place again after closure)."""
    return asdict(links.link_repeat(uow, ref, body.earlier_number, actor, note=body.note))


def _period(since: date | None, until: date | None) -> tuple[date | None, date | None]:
    if since and until and since > until:
        raise Invalid("'since' is after 'until'", field="since")
    return since, until


@router.get("/api/hotline/analysis")
def hotline_analysis(uow: UowDep, actor: ActorDep, since: date | None = None, until: date | None = None,
                     area_code: Annotated[str | None, Query(max_length=15)] = None) -> dict[str, Any]:
    """Hot topics with representative wording, rising topics, hot spots, classes out of their usual range,
    repeat callers and places — for the period (default: the last full week) and area."""
    start, end = _period(since, until)
    return asdict(analysis.analyse(uow, actor, since=start, until=end, area_code=area_code))


@router.get("/api/hotline/weekly-report")
def weekly_report(uow: UowDep, actor: ActorDep, format: Annotated[str, Query(pattern="^(docx|html)$")] = "docx",
                  day: date | None = None, area_code: Annotated[str | None, Query(max_length=15)] = None) -> Response:
    """The weekly analysis report for the leaders' meeting (docx or html) of the week containing ``day``."""
    data, media_type, name = analysis.weekly_report(uow, actor, format, day=day, area_code=area_code,
                                                    now=datetime.now().astimezone())
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
