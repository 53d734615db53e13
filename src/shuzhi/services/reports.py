"""The centre's rhythm (日报、周调度、月盘点): daily report, weekly dispatch report, monthly review; and the
periods the seeds score in (每月通报、季度通报、半年小结、年度考评, :mod:`shuzhi.domain.report_kinds`),
each over its own window and compared with the one before: totals, areas, units (events and ledgers)
and the ledgers' responsible leaders, with their places' and rates' movement.

Each report is built from the evaluation figures of one area (a district by default) for one period,
rendered as HTML, an Excel workbook and a Word document, and kept (one per kind, period and area;
generating again replaces it).  :func:`generate_due_reports` is what the worker runs: yesterday's
daily report, last week's dispatch report (from Monday), last month's review and bulletin, and the last
complete quarter's, half year's and year's reports, for each district, each once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters import report_files as rf
from shuzhi.adapters.db.tables import Area
from shuzhi.adapters.db.tables_evaluation import EvaluationReport
from shuzhi.domain import permissions as P
from shuzhi.domain.evaluation import LABELS, Figures
from shuzhi.domain.periods import Period, of_kind
from shuzhi.domain.report_kinds import REPORT_KINDS, change_text, compare_totals, movement_text
from shuzhi.services import evaluation as ev
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.rollups import refresh_rollups
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

KINDS = {code: (k.period, k.title) for code, k in REPORT_KINDS.items()}
_SUMMARY = ["received", "dispatched", "dispatched_accurately", "accepted_on_time", "accepted_late",
            "handled_on_time", "handled_overdue", "due", "deferred", "due_closed", "due_closed_on_time", "closed",
            "reworked", "returned", "self_handled", "called_back", "satisfied"]
_RATES = ["closure_rate", "on_time_closure_rate", "accurate_dispatch_rate", "rework_rate", "satisfaction_rate",
          "accept_on_time_rate", "on_time_handling_rate", "avg_accept_work_hours", "avg_handle_work_hours"]


@dataclass(frozen=True)
class Rendered:
    html: str
    xlsx: bytes
    docx: bytes
    title: str


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _fmt(name: str, v: Any) -> Any:
    if name.endswith("_rate"):
        return _pct(v)
    if isinstance(v, float):
        return round(v, 2)
    return v


def build(s: Session, actor: Actor, kind: str, period: Period, area: Area) -> rf.ReportDoc:
    """The content of a report (tables and charts) for ``area`` and ``period``."""
    title_kind = KINDS[kind][1]
    q = ev.Query(area, period)
    _, total, _ = ev.grouped(s, actor, q)
    f = Figures(dict(total)).as_dict()
    doc = rf.ReportDoc(title=f"{area.name}城市运行和治理中心{title_kind}",
                       subtitle=f"统计周期：{period.title}（{period.start.isoformat()} 至 {period.end.isoformat()}）；"
                                f"生成时间：{datetime.now(UTC).astimezone(ev_tz()).strftime('%Y-%m-%d %H:%M')}")
    doc.summary.append(
        f"本期受理事件 {f['received']} 件，派遣 {f['dispatched']} 件，结案 {f['closed']} 件；"
        f"应结案 {f['due']} 件，结案率 {_pct(f['closure_rate'])}，按期结案率 {_pct(f['on_time_closure_rate'])}，"
        f"准确派遣率 {_pct(f['accurate_dispatch_rate'])}，满意率 {_pct(f['satisfaction_rate'])}。")
    doc.tables.append(rf.Table("总体指标", ["指标", "数值"],
                               [[LABELS[k], _fmt(k, f[k])] for k in _SUMMARY + _RATES]))
    code, scheme, towns = ev.scored(s, actor, ev.Query(area, period, "area"))
    doc.tables.append(rf.Table("各下级区域情况（五色图）", ["区域", "受理", "派遣", "应结案", "结案", "超期", "结案率",
                                                   "按期结案率", "得分", "颜色"],
                               [[t["name"], t["received"], t["dispatched"], t["due"], t["due_closed"],
                                 t["handled_overdue"], _pct(t["closure_rate"]), _pct(t["on_time_closure_rate"]),
                                 t["score"], t["band"]] for t in towns]))
    doc.charts.append(rf.Chart("各下级区域得分（五色图）", "bar", [t["name"] for t in towns],
                               {"得分": [t["score"] or 0.0 for t in towns]}, [t["colour"] for t in towns]))
    if kind in ("weekly", "monthly"):
        units = ev.scored(s, actor, ev.Query(area, period, "unit"))[2]
        units = [u for u in units if u["score"] is not None]
        doc.tables.append(rf.Table("各单位派遣与处置", ["单位", "按时签收", "超时签收", "按时处置", "超期处置",
                                                                "退单", "返工",
                                                 "平均处置（工作小时）"],
                                   [[u["name"], u["accepted_on_time"], u["accepted_late"], u["handled_on_time"],
                                     u["handled_overdue"], u["returned"], u["reworked"],
                                     _fmt("h", u["avg_handle_work_hours"])] for u in units]))
        led = [u for u in units if u.get("runway_indicators")]
        if led:
            doc.tables.append(rf.Table("跑道牵头单位数据质量与预警处置", [
                LABELS["runway_indicators"], "单位", LABELS["data_coverage_rate"], LABELS["data_freshness_rate"],
                LABELS["data_completeness_rate"], LABELS["runway_warnings"], LABELS["warning_ack_on_time_rate"]],
                [[u["runway_indicators"], u["name"], _pct(u["data_coverage_rate"]), _pct(u["data_freshness_rate"]),
                  _pct(u["data_completeness_rate"]), u["runway_warnings"], _pct(u["warning_ack_on_time_rate"])]
                 for u in led]))
        days = ev.grouped(s, actor, ev.Query(area, period, "day"))[0]
        doc.tables.append(rf.Table("每日趋势", ["日期", "受理", "派遣", "结案", "超期处置"],
                                   [[d["key"], d["counts"]["received"], d["counts"]["dispatched"],
                                     d["counts"]["closed"], d["counts"]["handled_overdue"]] for d in days]))
        doc.charts.append(rf.Chart("每日受理与结案", "line", [str(d["key"])[5:] for d in days],
                                   {"受理": [d["counts"]["received"] for d in days],
                                    "结案": [d["counts"]["closed"] for d in days]}))
    if kind == "monthly":
        r = ev.ranking_of(s, actor, ev.Query(area, period, "unit", unit_kind="department"))
        rows = [[x["rank"], x["name"], x["score"], x["band"], "—" if x["movement"] is None else f"{x['movement']:+d}",
                 _pct(x["closure_rate"])] for x in r["ranking"]]
        doc.tables.append(rf.Table("部门赛马排名", ["名次", "部门", "得分", "颜色", "较上期", "结案率"], rows))
        doc.tables.append(rf.Table("红榜", ["名次", "单位", "得分"], [[x["rank"], x["name"], x["score"]]
                                                                for x in r["red_list"]]))
        doc.tables.append(rf.Table("黑榜", ["名次", "单位", "得分"], [[x["rank"], x["name"], x["score"]]
                                                                for x in r["black_list"]]))
        classes = ev.grouped(s, actor, ev.Query(area, period, "class"))[0]
        classes.sort(key=lambda g: -g["counts"]["received"])
        doc.tables.append(rf.Table("事件分类（前十）", ["分类", "受理", "结案", "超期处置"],
                                   [[c["name"], c["counts"]["received"], c["counts"]["closed"],
                                     c["counts"]["handled_overdue"]] for c in classes[:10]]))
        sources = ev.grouped(s, actor, ev.Query(area, period, "source"))[0]
        doc.tables.append(rf.Table("事件来源", ["来源", "受理"],
                                   [[x["name"], x["counts"]["received"]] for x in sources]))
        doc.charts.append(rf.Chart("事件来源构成", "pie", [x["name"] for x in sources],
                                   {"受理": [x["counts"]["received"] for x in sources]}))
    if REPORT_KINDS[kind].compared:
        _compared(s, actor, doc, period, area, f)
    doc.summary.append(f"评分办法：{code}；颜色分档：" + "、".join(f"{b.label}≥{b.min_score:g}" for b in scheme.bands))
    return doc


_COMPARED_TOTALS = ["received", "dispatched", "due", "due_closed", "due_closed_on_time", "closed",
                    "handled_overdue", "reworked", "closure_rate", "on_time_closure_rate", "accurate_dispatch_rate",
                    "satisfaction_rate"]


def _cmp(v: Any, name: str) -> str:
    return change_text(v, rate=name.endswith("_rate"))


def _compared(s: Session, actor: Actor, doc: rf.ReportDoc, period: Period, area: Area, f: dict[str, Any]) -> None:
    """The scored periods' sections: this window against the previous one — totals, areas, units with
    their ledger figures, the ledgers' responsible leaders, and the red and black lists."""
    from shuzhi.services.ledgers.figures import leader_ranking

    prev = period.previous()
    _, before_total, _ = ev.grouped(s, actor, ev.Query(area, prev))
    before = Figures(dict(before_total)).as_dict()
    doc.summary.append(
        f"与上期（{prev.title}）比较：受理 {f['received']} 件（上期 {before['received']} 件），"
        f"按期结案率 {_pct(f['on_time_closure_rate'])}（"
        f"{_cmp(compare_totals(f, before, ['on_time_closure_rate'])[0].change, 'on_time_closure_rate')}）。")
    doc.tables.append(rf.Table("与上期比较", ["指标", "本期", "上期", "变化"],
                               [[LABELS[c.name], _fmt(c.name, c.now), _fmt(c.name, c.before), _cmp(c.change, c.name)]
                                for c in compare_totals(f, before, _COMPARED_TOTALS)]))
    towns = ev.ranking_of(s, actor, ev.Query(area, period, "area"))["ranking"]
    doc.tables.append(rf.Table("各下级区域排名（与上期比较）",
                               ["名次", "区域", "得分", "上期得分", "得分变化", "名次变化", "按期结案率", "较上期"],
                               [[t["rank"], t["name"], t["score"], _fmt("s", t["previous_score"]),
                                 _cmp(None if t["previous_score"] is None else t["score"] - t["previous_score"], "s"),
                                 movement_text(t["rank"], t["previous_rank"]), _pct(t["on_time_closure_rate"]),
                                 _rate_change(t, "on_time_closure_rate")] for t in towns]))
    if towns:
        doc.charts.append(rf.Chart("各下级区域得分：本期与上期", "bar", [t["name"] for t in towns],
                                   {"本期": [t["score"] or 0.0 for t in towns],
                                    "上期": [t["previous_score"] or 0.0 for t in towns]}))
    r = ev.ranking_of(s, actor, ev.Query(area, period, "unit"))
    doc.tables.append(rf.Table("各单位综合排名（事件与台账，与上期比较）",
                               ["名次", "单位", "得分", "得分变化", "名次变化", "按期结案率", "较上期", "按期对账率",
                                "较上期", "按期销账率", "较上期", "台账超期", "台账反弹"],
                               [[u["rank"], u["name"], u["score"],
                                 _cmp(None if u["previous_score"] is None else u["score"] - u["previous_score"], "s"),
                                 movement_text(u["rank"], u["previous_rank"]), _pct(u["on_time_closure_rate"]),
                                 _rate_change(u, "on_time_closure_rate"), _pct(u.get("ledger_report_rate")),
                                 _rate_change(u, "ledger_report_rate"), _pct(u.get("ledger_completion_rate")),
                                 _rate_change(u, "ledger_completion_rate"), u.get("ledger_overdue", 0),
                                 u.get("ledger_reopened", 0)] for u in r["ranking"]]))
    leaders = leader_ranking(s, actor, period, prev, area_path=area.path)
    doc.tables.append(rf.Table("责任领导台账情况（与上期比较）",
                               ["名次", "责任领导", "得分", "名次变化", "事项", "按期对账率", "较上期", "按期销账率",
                                "较上期", "超期", "停滞", "反弹"],
                               [[x.place, x.name, x.score, movement_text(x.place, x.previous_place), x.items,
                                 _pct(x.report_rate), _cmp(_minus(x.report_rate, x.previous_report_rate), "x_rate"),
                                 _pct(x.completion_rate),
                                 _cmp(_minus(x.completion_rate, x.previous_completion_rate), "x_rate"), x.overdue,
                                 x.stalled, x.reopened] for x in leaders]))
    doc.tables.append(rf.Table("红榜", ["名次", "单位", "得分"], [[x["rank"], x["name"], x["score"]]
                                                            for x in r["red_list"]]))
    doc.tables.append(rf.Table("黑榜", ["名次", "单位", "得分"], [[x["rank"], x["name"], x["score"]]
                                                            for x in r["black_list"]]))


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _rate_change(row: dict[str, Any], name: str) -> str:
    return _cmp(_minus(row.get(name), (row.get("previous") or {}).get(name)), name)


def ev_tz() -> Any:
    from shuzhi.domain.calendar import SHANGHAI

    return SHANGHAI


def render(doc: rf.ReportDoc) -> Rendered:
    pngs = [rf.chart_png(c) for c in doc.charts]
    return Rendered(rf.to_html(doc, pngs), rf.to_xlsx(doc), rf.to_docx(doc, pngs), doc.title)


def _period(kind: str, day: date | None, today: date) -> Period:
    if kind not in KINDS:
        raise Invalid(f"unknown report kind '{kind}'; one of {', '.join(KINDS)}", field="kind")
    pkind = KINDS[kind][0]
    if day is None:  # the last complete period
        day = today - timedelta(days=1) if kind == "daily" else of_kind(pkind, today).start - timedelta(days=1)
    return of_kind(pkind, day)


def _meta(r: EvaluationReport) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "period": r.period_label, "start": r.period_start.isoformat(),
            "end": r.period_end.isoformat(), "area_path": r.area_path, "title": r.title,
            "generated_at": r.generated_at.isoformat(), "generated_by": r.generated_by,
            "downloads": {f: f"/api/reports/{r.id}/report.{f}" for f in ("html", "xlsx", "docx")}}


def generate_report(uow: UnitOfWork, actor: Actor, kind: str, *, day: date | None = None, area: str | None = None,
                    now: datetime | None = None, refresh: bool = True) -> dict[str, Any]:
    """Build, render and store one report (replacing an earlier one of the same kind, period and area).

    Only for an area inside the actor's scope (403 otherwise): a town may read the district's figures
    as far as they are his, but what he would store is his town's narrower view, and it must never
    replace the district's official report. A department has no area of its own and stores none."""
    authz.require(actor, P.REPORT_READ)
    now = now or datetime.now(UTC)
    period = _period(kind, day, now.astimezone(ev_tz()).date())
    if refresh:
        refresh_rollups(uow, now)
    with uow:
        s = uow.session
        target = ev.resolve_area(s, actor, area)
        if target is None:
            raise NotFound("no area to report on", field="area")
        if not authz.path_visible(actor, target.path):
            raise authz.Forbidden(f"{actor.label} may store reports only for areas inside his own scope; "
                                  f"the report of {target.name} is made at its own level", field="area")
        rendered = render(build(s, actor, kind, period, target))
        row = s.scalar(select(EvaluationReport).where(EvaluationReport.kind == kind,
                                                      EvaluationReport.period_start == period.start,
                                                      EvaluationReport.area_id == target.id))
        if row is None:
            row = EvaluationReport(kind=kind, period_start=period.start, area_id=target.id)
            s.add(row)
        row.period_label, row.period_end, row.area_path = period.label, period.end, target.path
        row.title, row.generated_at, row.generated_by = rendered.title, datetime.now(UTC), actor.label
        row.html, row.xlsx, row.docx = rendered.html, rendered.xlsx, rendered.docx
        s.flush()
        out = _meta(row)
        uow.commit()
        return out


def generate_due_reports(uow: UnitOfWork, now: datetime | None = None) -> list[dict[str, Any]]:
    """For each district: yesterday's daily, last week's and last month's reports, if not yet made."""
    now = now or datetime.now(UTC)
    today = now.astimezone(ev_tz()).date()
    refresh_rollups(uow, now)
    with uow:
        districts = [(a.id, a.code) for a in uow.session.scalars(select(Area).where(Area.level == "district"))]
        have = {(r.kind, r.period_start, r.area_id) for r in uow.session.execute(
            select(EvaluationReport.kind, EvaluationReport.period_start, EvaluationReport.area_id)).all()}
    made = []
    for area_id, code in districts:
        for kind in KINDS:
            period = _period(kind, None, today)
            if (kind, period.start, area_id) in have:
                continue
            made.append(generate_report(uow, SYSTEM, kind, day=period.start, area=code, now=now, refresh=False))
    return made


def list_reports(uow: UnitOfWork, actor: Actor, kind: str | None = None) -> list[dict[str, Any]]:
    authz.require(actor, P.REPORT_READ)
    with uow:
        q = select(EvaluationReport).where(authz.area_clause(actor, EvaluationReport.area_path)).order_by(
            EvaluationReport.period_start.desc(), EvaluationReport.id.desc())
        if kind:
            q = q.where(EvaluationReport.kind == kind)
        return [_meta(r) for r in uow.session.scalars(q.limit(500))]


def report_file(uow: UnitOfWork, actor: Actor, report_id: int, fmt: str) -> tuple[bytes, str, str]:
    """The stored rendering of a report: (content, media type, file name)."""
    authz.require(actor, P.REPORT_READ)
    types = {"html": "text/html; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    if fmt not in types:
        raise NotFound(f"no .{fmt} rendering; one of html, xlsx, docx", field="format")
    with uow:
        r = uow.session.get(EvaluationReport, report_id)
        if r is None:
            raise NotFound(f"report {report_id} not found")
        authz.ensure_visible(actor, r.area_path, what="report")
        data: bytes = r.html.encode() if fmt == "html" else getattr(r, fmt)
        return data, types[fmt], f"{r.kind}-{r.period_label}.{fmt}"
