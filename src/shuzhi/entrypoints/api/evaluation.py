"""Evaluation API: figures, the five-colour map, rankings, people, scoring schemes, roll-up refresh."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from shuzhi.domain import permissions as P
from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import evaluation as ev
from shuzhi.services import evaluation_people, evaluation_publications, evaluation_schemes, reports
from shuzhi.services.rollups import refresh_rollups
from shuzhi.services.security import authz

router = APIRouter(tags=["evaluation"])


@router.get("/api/evaluation/figures")
def get_figures(uow: UowDep, actor: ActorDep, period: str, area: str | None = None, group_by: str | None = None,
                unit: str | None = None, event_class: str | None = None, source: str | None = None,
                unit_kind: str | None = None) -> dict[str, Any]:
    """Counts, rates and average times for an area and period, optionally grouped."""
    return ev.figures(uow, actor, area=area, period=period, group_by=group_by, unit=unit, event_class=event_class,
                      source=source, unit_kind=unit_kind)


@router.get("/api/evaluation/colour-map")
def get_colour_map(uow: UowDep, actor: ActorDep, period: str, area: str | None = None, by: str = "area",
                   unit_kind: str | None = None, event_class: str | None = None,
                   source: str | None = None) -> dict[str, Any]:
    """The five-colour map (五色图): score and colour band per child area or per unit."""
    return ev.colour_map(uow, actor, by=by, area=area, period=period, unit_kind=unit_kind,
                         event_class=event_class, source=source)


@router.get("/api/evaluation/rankings")
def get_rankings(uow: UowDep, actor: ActorDep, period: str, area: str | None = None, by: str = "unit",
                 unit_kind: str | None = None, peers: bool = False) -> dict[str, Any]:
    """Rankings (赛马) with movement against the previous period, red and black lists (红黑榜).
    ``peers=true``: the ranking among one's peers (the parent area's towns or units), with the
    ``evaluation.peers`` permission — scores and lists only, never the peers' events."""
    return ev.rankings(uow, actor, by=by, area=area, period=period, unit_kind=unit_kind, peers=peers)


class PublicationIn(BaseModel):
    period: str = Field(min_length=1, max_length=30, description="e.g. 2024-06, 2024-Q2, 2024-W24")
    area: str | None = Field(default=None, max_length=15, description="the district; by default your own")
    note: str | None = Field(default=None, max_length=2000)


@router.post("/api/evaluation/publications", status_code=201)
def publish_ranking(body: PublicationIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Publish the towns' ranking of a period to the district's towns (赛马比拼); kept as it stands, once."""
    return evaluation_publications.publish(uow, actor, period=body.period, area=body.area, note=body.note)


@router.get("/api/evaluation/publications")
def list_publications(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The published rankings one may read (one's district's), newest first, and whether one may publish."""
    return evaluation_publications.list_publications(uow, actor)


@router.get("/api/evaluation/publications/{period}")
def get_publication(period: str, uow: UowDep, actor: ActorDep, area: str | None = None) -> dict[str, Any]:
    """The published ranking of one's district for a period, as it stood when published; 404 until then."""
    return evaluation_publications.get_published(uow, actor, period=period, area=area)


@router.get("/api/evaluation/people")
def get_people(uow: UowDep, actor: ActorDep, period: str, area: str | None = None,
               unit: str | None = None) -> dict[str, Any]:
    """What each person did in the period (timeline actions by kind)."""
    return evaluation_people.people(uow, actor, area=area, period=period, unit=unit)


class SchemeIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    document: dict[str, Any]
    activate: bool = True
    area_code: str | None = Field(default=None, max_length=20,
                                  description="the area whose figures it scores; by default the author's own "
                                              "(or the scheme's current one)")


@router.get("/api/evaluation/schemes")
def list_schemes(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Scoring schemes; the active one is used for scores, colours and lists."""
    return evaluation_schemes.list_schemes(uow, actor)


@router.put("/api/evaluation/schemes/{code}")
def put_scheme(code: str, body: SchemeIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create or replace a scoring scheme (validated: weights add up, thresholds in order)."""
    return evaluation_schemes.save_scheme(uow, actor, code, body.name, body.document, body.activate,
                                          area_code=body.area_code)


@router.post("/api/evaluation/refresh")
def refresh(uow: UowDep, actor: ActorDep, full: bool = False) -> dict[str, Any]:
    """Bring the daily roll-ups up to date now (the worker also does it periodically)."""
    authz.require(actor, P.EVALUATION_WRITE)
    r = refresh_rollups(uow, full=full)
    return {"full": r.full, "events": r.events, "watermark": r.watermark, "judged_at": r.judged_at.isoformat()}


class ReportIn(BaseModel):
    kind: str = Field(description="daily | weekly | monthly | bulletin (每月通报) | quarterly | half_year (半年小结) "
                      "| annual (年度考评)")
    date: dt.date | None = Field(default=None, description="a day inside the period; default: the last complete one")
    area: str | None = Field(default=None, max_length=15, description="area code; default: your own")


@router.get("/api/reports")
def list_reports(uow: UowDep, actor: ActorDep, kind: str | None = None) -> list[dict[str, Any]]:
    """Reports made so far (newest first), in your scope."""
    return reports.list_reports(uow, actor, kind)


@router.post("/api/reports", status_code=201)
def create_report(body: ReportIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Generate a report now (日报/周调度/月盘点/每月通报/季度/半年小结/年度考评; HTML, .xlsx, .docx)."""
    return reports.generate_report(uow, actor, body.kind, day=body.date, area=body.area)


@router.get("/api/reports/{report_id}/report.{fmt}")
def download_report(report_id: int, fmt: str, uow: UowDep, actor: ActorDep) -> Response:
    """Download a stored report as html, xlsx or docx."""
    data, media, name = reports.report_file(uow, actor, report_id, fmt)
    disposition = "inline" if fmt == "html" else f"attachment; filename=\"{name}\""
    return Response(data, media_type=media, headers={"Content-Disposition": disposition})
