"""定期晒账: the period's bulletin of a ledger — units ranked by on-time progress (赛马), overdue and
stalled items, the five colours, the movement since the previous period — published to the peers
and drawn as Word, Excel or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert, select

from shuzhi.adapters import report_files as rf
from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_ledgers import LedgerBulletin, LedgerItem, LedgerItemAssist
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import ledgers as d
from shuzhi.domain.report_kinds import change_text, movement_text
from shuzhi.services import outbox
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.ledgers import access
from shuzhi.services.ledgers.clocks import local_day
from shuzhi.services.ledgers.figures import (
    ITEM_COLUMNS,
    parse_day,
    parse_kind,
    ranked_rows,
    tallies_of,
    window_bounds,
)
from shuzhi.services.security import audit
from shuzhi.services.unit_of_work import UnitOfWork

#: Items named in each list of a bulletin (the rest are counted).
LISTED = 200
_COLOUR_NAMES = {"green": "绿（按计划推进）", "blue": "蓝（已销账）", "yellow": "黄（临期或滞后）",
                 "orange": "橙（停滞）", "red": "红（超期）"}
_STATE_NAMES = {"open": "未启动", "in_progress": "推进中", "pending_sign_off": "待销号", "closed": "已销账",
                "suspended": "暂缓", "cancelled": "已撤销"}


class BulletinView(BaseModel):
    id: int | None
    ledger: str
    period_kind: str
    period: str
    title: str
    published_at: datetime | None
    published_by: str | None
    content: dict[str, Any]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def build(uow: UnitOfWork, ledger_code: str, actor: Actor, *, period_kind: str = "monthly", day: str | None = None,
          now: datetime | None = None) -> BulletinView:
    """The bulletin's content for the period (not stored; :func:`publish` stores and sends it)."""
    at = now or datetime.now(UTC)
    kind = parse_kind(period_kind)
    window = d.period_window(kind, parse_day(day, at))
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        if not acc.whole:
            raise NotFound(f"ledger {ledger_code} not found")  # a bulletin shows every unit: the whole ledger only
        ledger = acc.ledger
        # one read of the items serves the ranking of both periods and the lists
        items = s.execute(select(*ITEM_COLUMNS, LedgerItem.number, LedgerItem.title)
                          .where(LedgerItem.ledger_id == ledger.id,
                                 LedgerItem.state != d.ItemState.CANCELLED.value).order_by(LedgerItem.path)).all()
        current, previous = tallies_of(s, [ledger], [window, d.previous_window(kind, window)], at, rows=items)
        rows = ranked_rows(current, previous)
        _start, end = window_bounds(window)
        day_end = local_day(min(end, at))
        schedule = d.Schedule(ledger.schedule)
        units = {u.id: u for u in s.scalars(select(Unit))}
        overdue_items: list[tuple[int, Any]] = []  # (days overdue, item)
        stalled_items: list[tuple[str, Any]] = []  # (last report's day, item)
        colours = {c.value: 0 for c in d.Colour}
        for it in items:
            last_on = local_day(it.last_progress_at) if it.last_progress_at else None
            facts = d.ItemFacts(d.ItemState(it.state), it.time_limit, it.progress, local_day(it.created_at), last_on)
            c = d.colour(facts, day_end, schedule)
            if c is not None:
                colours[c.value] += 1
            if d.is_overdue(facts, day_end):
                overdue_items.append(((day_end - it.time_limit).days if it.time_limit else 0, it))
            elif d.is_stalled(facts, day_end, schedule):
                stalled_items.append((last_on.isoformat() if last_on else "", it))
        # a bulletin names the worst: the longest overdue and the longest stalled, with the totals; only
        # those are written out (thousands may be overdue or stalled at 10,000 items). Stable sorts: equal
        # keys keep the ledger's order.
        totals = {"overdue": len(overdue_items), "stalled": len(stalled_items)}
        overdue_items.sort(key=lambda x: -x[0])
        stalled_items.sort(key=lambda x: x[0])

        def line(it: Any, days_overdue: int, last_progress: str) -> dict[str, Any]:
            return {"id": it.id, "number": it.number, "title": it.title, "unit": units[it.lead_unit_id].name,
                    "leader": it.leader_name or "", "time_limit": it.time_limit.isoformat() if it.time_limit else "",
                    "progress": it.progress, "state": it.state, "days_overdue": days_overdue,
                    "last_progress": last_progress}

        def last_progress(it: Any) -> str:
            return local_day(it.last_progress_at).isoformat() if it.last_progress_at else ""

        overdue = [line(it, days, last_progress(it)) for days, it in overdue_items[:LISTED]]
        stalled = [line(it, (day_end - it.time_limit).days if it.time_limit else 0, last)
                   for last, it in stalled_items[:LISTED]]
        title = f"{ledger.name}{d.window_title(kind, window)}{d.REPORT_PERIOD_TITLES[kind]}"
        content = {"ledger": ledger.code, "ledger_name": ledger.name, "window": [window.start.isoformat(),
                                                                                 window.end.isoformat()],
                   "previous": d.previous_window(kind, window).label, "as_of": day_end.isoformat(),
                   "colours": colours, "ranking": [r.model_dump() for r in rows], "overdue": overdue,
                   "stalled": stalled, "totals": totals}
        return BulletinView(id=None, ledger=ledger.code, period_kind=kind.value, period=window.label, title=title,
                            published_at=None, published_by=None, content=content)


def publish(uow: UnitOfWork, ledger_code: str, actor: Actor, *, period_kind: str = "monthly", day: str | None = None,
            now: datetime | None = None) -> BulletinView:
    """Store the bulletin and send it to every unit with an item in the ledger (the peers) and the owner."""
    at = now or datetime.now(UTC)
    draft = build(uow, ledger_code, actor, period_kind=period_kind, day=day, now=at)
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        access.require_manage(actor, acc)
        ledger = acc.ledger
        row = LedgerBulletin(ledger_id=ledger.id, period_kind=draft.period_kind, period=draft.period,
                             title=draft.title, content=draft.content, published_at=at, published_by=actor.label)
        s.add(row)
        s.flush()
        peers = set(s.scalars(select(LedgerItem.lead_unit_id).where(LedgerItem.ledger_id == ledger.id).distinct()))
        peers |= set(s.scalars(select(LedgerItemAssist.unit_id)
                               .join(LedgerItem, LedgerItem.id == LedgerItemAssist.item_id)
                               .where(LedgerItem.ledger_id == ledger.id).distinct()))
        peers.add(ledger.owner_unit_id)
        top = draft.content["ranking"][:3]
        body = f"排名前列：{'、'.join(r['name'] for r in top) or '—'}；超期{draft.content['totals']['overdue']}项，" \
               f"停滞{draft.content['totals']['stalled']}项"
        payload = {"ledger": ledger.code, "bulletin": row.id, "period": draft.period}
        s.connection().execute(insert(Notification), [
            {"person_id": None, "unit_id": u, "event_id": None, "task_id": None, "kind": "ledger.bulletin",
             "title": f"晒账通报：{draft.title}"[:200], "body": body, "payload": payload, "created_at": at,
             "read_at": None, "read_by": None} for u in sorted(peers)])
        outbox.emit_many(s.connection(), [outbox.message("ledger.bulletin", at, {**payload, "title": draft.title})])
        audit.record(s, actor, "ledger.bulletin.publish", f"ledger:{ledger.code}",
                     {"bulletin": row.id, "period": draft.period, "peers": len(peers)}, at=at)
        uow.commit()
        return BulletinView(id=row.id, ledger=ledger.code, period_kind=row.period_kind, period=row.period,
                            title=row.title, published_at=at, published_by=actor.label, content=draft.content)


def list_bulletins(uow: UnitOfWork, ledger_code: str, actor: Actor) -> list[BulletinView]:
    """The published bulletins: read by everyone they were published to (晒账) — every unit with an item
    in the ledger, whatever the ledger's visibility — as by those who see the whole ledger."""
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        return [BulletinView(id=b.id, ledger=ledger_code, period_kind=b.period_kind, period=b.period, title=b.title,
                             published_at=b.published_at, published_by=b.published_by, content={})
                for b in s.scalars(select(LedgerBulletin).where(LedgerBulletin.ledger_id == acc.ledger.id)
                                   .order_by(LedgerBulletin.id.desc()))]


def get_bulletin(uow: UnitOfWork, ledger_code: str, bulletin_id: int, actor: Actor) -> BulletinView:
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        b = s.get(LedgerBulletin, bulletin_id)
        if b is None or b.ledger_id != acc.ledger.id:
            raise NotFound(f"bulletin {bulletin_id} not found")
        return BulletinView(id=b.id, ledger=ledger_code, period_kind=b.period_kind, period=b.period, title=b.title,
                            published_at=b.published_at, published_by=b.published_by, content=dict(b.content))


def document(b: BulletinView) -> rf.ReportDoc:
    c = b.content
    ranking = c.get("ranking", [])
    colours = c.get("colours", {})
    summary = [f"统计区间：{c['window'][0]} 至 {c['window'][1]}（截至 {c['as_of']}），与上期（{c['previous']}）比较。",
               "五色状态：" + "，".join(f"{_COLOUR_NAMES[k]} {v} 项" for k, v in colours.items()),
               f"超期未完成 {c.get('totals', {}).get('overdue', len(c.get('overdue', [])))} 项，"
               f"停滞 {c.get('totals', {}).get('stalled', len(c.get('stalled', [])))} 项"
               f"（各列出最严重的{LISTED}项）。"]

    def move(r: dict[str, Any]) -> str:
        return movement_text(r["place"], r.get("previous_place"))

    def score_change(r: dict[str, Any]) -> str:
        return change_text(None if r.get("previous_score") is None else round(r["score"] - r["previous_score"], 2))

    def rate_change(r: dict[str, Any], name: str) -> str:
        before = r.get(f"previous_{name}")
        return change_text(None if before is None or r[name] is None else r[name] - before, rate=True)

    tables = [
        rf.Table("单位排名（赛马比拼）",
                 ["名次", "单位", "得分", "得分较上期", "按期对账率", "较上期", "按期销账率", "较上期", "平均进度",
                  "超期", "停滞", "反弹", "名次较上期"],
                 [[r["place"], r["name"], r["score"], score_change(r), _pct(r["report_rate"]),
                   rate_change(r, "report_rate"), _pct(r["completion_rate"]), rate_change(r, "completion_rate"),
                   f"{r['mean_progress']:.0f}%", r["overdue"], r["stalled"], r["reopened"], move(r)] for r in ranking]),
        rf.Table("超期事项", ["编号", "事项", "牵头单位", "责任领导", "完成时限", "超期天数", "进度"],
                 [[x["number"], x["title"], x["unit"], x["leader"], x["time_limit"], x["days_overdue"],
                   f"{x['progress']}%"] for x in c.get("overdue", [])]),
        rf.Table("停滞事项", ["编号", "事项", "牵头单位", "最近报送", "进度", "状态"],
                 [[x["number"], x["title"], x["unit"], x["last_progress"] or "从未报送", f"{x['progress']}%",
                   _STATE_NAMES.get(x["state"], x["state"])] for x in c.get("stalled", [])]),
    ]
    charts = []
    if ranking:
        charts.append(rf.Chart("单位得分", "bar", [r["name"] for r in ranking[:15]],
                               {"得分": [float(r["score"]) for r in ranking[:15]]}))
    return rf.ReportDoc(title=b.title, subtitle=f"发布：{b.published_by or '（预览）'}", summary=summary,
                        tables=tables, charts=charts)


def render(b: BulletinView, fmt: str) -> tuple[bytes, str, str]:
    """The bulletin as ``html``, ``xlsx`` or ``docx``: body, media type, file name."""
    doc = document(b)
    name = f"{b.title}"
    if fmt == "html":
        return rf.to_html(doc).encode(), "text/html; charset=utf-8", name + ".html"
    if fmt == "xlsx":
        return rf.to_xlsx(doc), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name + ".xlsx"
    if fmt == "docx":
        return (rf.to_docx(doc), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                name + ".docx")
    raise Invalid("format: html, xlsx or docx", field="format")
