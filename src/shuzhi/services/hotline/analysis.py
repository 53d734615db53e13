"""分析研判: what the district's people said in a period, and the weekly report for the leaders' meeting.

- **Hot topics**: the period's reports grouped by class, then by the word that most made the model
  choose that class for each (``TextModel.drivers``: 冒水, 路灯, 占道 …); each topic has its count, its
  representative wording (the report nearest the group's centre in TF-IDF space) and its towns.
- **Rising topics**: classes counted at least 3 times and 1.5 × the previous period of the same length.
- **Hot spots**: cells of about 500 m with the most reports, with their leading class (for the map).
- **Unusual volumes**: classes whose count lies outside mean ± 2σ of the previous 8 periods.
- **Repeats**: callers who reported more than once, places reported again after closure (event links).
Everything is within the viewer's scope (``authz.event_clause``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select

from shuzhi.adapters.db.tables import Area, Event, EventClass
from shuzhi.adapters.db.tables_hotline import EventLink
from shuzhi.adapters.report_files import Chart, ReportDoc, Table, to_docx, to_html
from shuzhi.domain import hotline as rules
from shuzhi.domain.permissions import REPORT_READ
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.hotline.models import active_model, event_text
from shuzhi.services.hotline.suggest import _features
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
HISTORY_PERIODS = 8
CELL_DEG = 0.005  # ≈ 500 m in Dazu


@dataclass(frozen=True)
class Topic:
    class_code: str
    class_name: str
    count: int
    wording: str
    towns: list[str]
    numbers: list[str]


@dataclass(frozen=True)
class Rising:
    class_code: str
    class_name: str
    count: int
    previous: int


@dataclass(frozen=True)
class HotSpot:
    lon: float
    lat: float
    count: int
    class_code: str
    class_name: str
    town: str
    #: the spot's events (their numbers, up to 50): what a ledger's problem item links to (台账)
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unusual:
    class_code: str
    class_name: str
    count: int
    mean: float
    low: float
    high: float
    direction: str


@dataclass
class Analysis:
    since: date
    until: date
    reports: int
    previous_reports: int
    topics: list[Topic] = field(default_factory=list)
    rising: list[Rising] = field(default_factory=list)
    hot_spots: list[HotSpot] = field(default_factory=list)
    unusual: list[Unusual] = field(default_factory=list)
    repeat_callers: int = 0
    repeat_places: list[dict[str, Any]] = field(default_factory=list)


def _bounds(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def last_full_week(now: datetime) -> tuple[date, date]:
    today = now.astimezone(SHANGHAI).date()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def _cluster(keys: list[str]) -> list[list[int]]:
    """Reports of one class with the same leading word form one topic (a burst main is not a meter
    question, though both are 供水问题); the largest first."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return sorted(groups.values(), key=len, reverse=True)


def analyse(uow: UnitOfWork, actor: Actor, *, since: date | None = None, until: date | None = None,
            area_code: str | None = None, now: datetime | None = None) -> Analysis:
    authz.require(actor, REPORT_READ)
    at = now or datetime.now(UTC)
    if since is None or until is None:
        since, until = last_full_week(at)
    if until < since:
        raise Invalid("'since' is after 'until'", field="since")
    start, end = _bounds(since), _bounds(until + timedelta(days=1))
    length = end - start
    with uow:
        s = uow.session
        where = [authz.event_clause(actor), Event.state.not_in(("cancelled",))]
        if area_code:
            area = s.scalar(select(Area).where(Area.code == area_code))
            if area is None:
                raise Invalid(f"unknown area '{area_code}'", field="area_code")
            where.append(Event.area_path.like(f"{area.path}%"))
        rows = s.execute(
            select(Event.id, Event.number, Event.title, Event.description, EventClass.code, EventClass.name,
                   Event.lon, Event.lat, Event.area_path, Event.reporter_phone, Event.source)
            .join(EventClass, EventClass.id == Event.event_class_id)
            .where(Event.received_at >= start, Event.received_at < end, *where)).all()
        names = dict(s.execute(select(EventClass.code, EventClass.name)).all())
        town_names = dict(s.execute(select(Area.path, Area.name).where(Area.level == "town")).all())
        # per class, counts of this and the previous periods (for rising and unusual volumes)
        history: dict[str, list[int]] = {}
        previous: dict[str, int] = {}
        for k in range(1, HISTORY_PERIODS + 1):
            counts = dict(s.execute(select(EventClass.code, func.count(Event.id))
                                    .join(EventClass, EventClass.id == Event.event_class_id)
                                    .where(Event.received_at >= start - k * length,
                                           Event.received_at < start - (k - 1) * length, *where)
                                    .group_by(EventClass.code)).all())
            if k == 1:
                previous = counts
            for code in set(counts) | set(history):
                history.setdefault(code, [0] * (k - 1)).append(counts.get(code, 0))
        loaded = active_model(s, uow.database)
        links = s.execute(select(EventLink.reasons, Event.number, Event.lon, Event.lat)
                          .join(Event, Event.id == EventLink.linked_event_id)
                          .where(EventLink.kind == "repeat", EventLink.at >= start, EventLink.at < end,
                                 authz.event_clause(actor))).all()

    def town_of(path: str | None) -> str:
        if not path:
            return ""
        return town_names.get("/".join(path.split("/")[:4]) + "/", "")

    result = Analysis(since, until, len(rows), sum(previous.values()))
    by_class: dict[str, list[Any]] = {}
    for r in rows:
        by_class.setdefault(r[4], []).append(r)
    topics: list[Topic] = []
    for code, members in by_class.items():
        texts = [event_text(m[2], m[3]) for m in members]
        vectors = None
        if loaded is not None and len(members) > 1:
            from scipy import sparse

            feats = _features(loaded, [(m[0], t) for m, t in zip(members, texts, strict=True)])
            vectors = sparse.vstack([feats[m[0]].vector for m in members]).tocsr()
            groups = _cluster([(loaded.model.drivers(t, code, 1) or [""])[0] for t in texts])
        else:
            groups = [list(range(len(members)))]
        for g in groups:
            rep = g[0]
            if vectors is not None and len(g) > 2:
                # the report nearest the topic's centre says it most typically
                centre = np.asarray(vectors[g].mean(axis=0)).ravel()
                rep = g[int(np.argmax(vectors[g] @ centre))]
            towns = Counter(town_of(members[i][8]) for i in g if town_of(members[i][8]))
            topics.append(Topic(code, names.get(code, code), len(g), texts[rep][:120],
                                [t for t, _ in towns.most_common(3)], [members[i][1] for i in g[:5]]))
    result.topics = sorted(topics, key=lambda t: (-t.count, t.class_code))[:10]
    current = Counter(r[4] for r in rows)
    result.rising = [Rising(c, names.get(c, c), n, p) for c, n, p in rules.rising(current, previous)][:10]
    result.unusual = [Unusual(d.code, names.get(d.code, d.code), d.count, d.mean, d.low, d.high, d.direction)
                      for d in rules.departures(current, history)][:10]
    cells: dict[tuple[int, int], list[Any]] = {}
    for r in rows:
        if r[6] is not None and r[7] is not None:
            cells.setdefault((int(r[6] // CELL_DEG), int(r[7] // CELL_DEG)), []).append(r)
    spots = []
    for members in cells.values():
        if len(members) < 2:
            continue
        lead = Counter(m[4] for m in members).most_common(1)[0][0]
        spots.append(HotSpot(round(sum(m[6] for m in members) / len(members), 5),
                             round(sum(m[7] for m in members) / len(members), 5), len(members), lead,
                             names.get(lead, lead), town_of(members[0][8]), tuple(m[1] for m in members[:50])))
    result.hot_spots = sorted(spots, key=lambda h: -h.count)[:15]
    phones = Counter(r[9] for r in rows if r[9])
    result.repeat_callers = sum(1 for n in phones.values() if n > 1)
    result.repeat_places = [{"earlier": number, "reasons": list(reasons), "lon": lon, "lat": lat}
                            for reasons, number, lon, lat in links if "same_place" in (reasons or [])]
    return result


def _doc(a: Analysis) -> ReportDoc:
    change = a.reports - a.previous_reports
    summary = [f"本周共受理群众诉求 {a.reports} 件，较上周{'增加' if change >= 0 else '减少'} {abs(change)} 件。"]
    if a.topics:
        summary.append("热点问题：" + "；".join(f"{t.class_name}（{t.count} 件）" for t in a.topics[:3]) + "。")
    if a.rising:
        summary.append("上升明显：" + "；".join(f"{r.class_name} {r.previous}→{r.count}" for r in a.rising[:3]) + "。")
    if a.unusual:
        summary.append("超出常态：" + "；".join(f"{u.class_name} {u.count} 件（常态 {u.low:.0f}–{u.high:.0f}）"
                                            for u in a.unusual[:3]) + "。")
    summary.append(f"重复来电人 {a.repeat_callers} 人；办结后同一地点再次反映 {len(a.repeat_places)} 处，"
                   "请相关单位复核核查质量。")
    return ReportDoc(
        title="群众诉求分析研判周报", subtitle=f"{a.since.isoformat()} 至 {a.until.isoformat()}", summary=summary,
        tables=[
            Table("热点问题", ["类别", "件数", "代表性诉求", "主要镇街"],
                  [[t.class_name, t.count, t.wording, "、".join(t.towns)] for t in a.topics]),
            Table("上升问题（与上周比）", ["类别", "本周", "上周"],
                  [[r.class_name, r.count, r.previous] for r in a.rising]),
            Table("超出常态的类别", ["类别", "本周", "常态均值", "常态范围", "方向"],
                  [[u.class_name, u.count, u.mean, f"{u.low:.0f}–{u.high:.0f}", "偏高" if u.direction == "above"
                    else "偏低"] for u in a.unusual]),
            Table("热点地点", ["镇街", "主要类别", "件数", "经度", "纬度"],
                  [[h.town, h.class_name, h.count, h.lon, h.lat] for h in a.hot_spots]),
        ],
        charts=[Chart("热点问题件数", "bar", [t.class_name for t in a.topics],
                      {"件数": [float(t.count) for t in a.topics]})]
        if a.topics else [],
    )


def weekly_report(uow: UnitOfWork, actor: Actor, fmt: str, *, day: date | None = None,
                  area_code: str | None = None, now: datetime | None = None) -> tuple[bytes, str, str]:
    """The week (Monday–Sunday) containing ``day`` (default: the last full week) as docx or html."""
    if fmt not in ("docx", "html"):
        raise Invalid(f"format '{fmt}' is not offered: docx or html", field="fmt")
    at = now or datetime.now(UTC)
    if day is None:
        since, until = last_full_week(at)
    else:
        since = day - timedelta(days=day.weekday())
        until = since + timedelta(days=6)
    a = analyse(uow, actor, since=since, until=until, area_code=area_code, now=at)
    doc = _doc(a)
    with uow:
        audit.record(uow.session, actor, "export", f"hotline-weekly:{since.isoformat()}", {"format": fmt})
        uow.commit()
    name = f"hotline-weekly-{since.isoformat()}.{fmt}"
    if fmt == "docx":
        return to_docx(doc), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", name
    return to_html(doc).encode("utf-8"), "text/html; charset=utf-8", name
