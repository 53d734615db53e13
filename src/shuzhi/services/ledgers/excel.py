"""Excel in, Excel out: import a ledger kept in a spreadsheet — mapping step (remembered per ledger),
a preview before anything is written, row-level errors in Chinese, unit names matched with suggestions
for near misses — and export it in the same layout.

Import is all or nothing: a file with any row in error writes nothing (the preview lists every error,
naming the row as Excel numbers it and the column by its header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters import ledger_sheets
from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_ledgers import Ledger, LedgerItem, LedgerItemAssist
from shuzhi.adapters.tabular import TabularError
from shuzhi.domain import ledger_import as li
from shuzhi.domain import ledgers as d
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.ledgers import access, items
from shuzhi.services.ledgers.books import columns_of
from shuzhi.services.security import audit
from shuzhi.services.unit_of_work import UnitOfWork

PREVIEW_ROWS = 50
_SOURCES = [("巡视", d.ProblemSource.INSPECTION), ("巡察", d.ProblemSource.INSPECTION), ("审计", d.ProblemSource.AUDIT),
            ("督察", d.ProblemSource.SUPERVISION), ("督查", d.ProblemSource.SUPERVISION)]


class RowError(BaseModel):
    row: int
    column: str
    message: str


class UnitSuggestion(BaseModel):
    text: str
    rows: list[int]
    suggestions: list[dict[str, str]]


class PreviewRow(BaseModel):
    row: int
    number: str
    title: str
    lead_unit: str | None
    time_limit: str | None
    progress: int | None
    parent: str | None
    fields: dict[str, Any]


class ImportPreview(BaseModel):
    headers: list[str]
    mapping: dict[str, str]
    targets: dict[str, str] = Field(description="every field a column can feed, with its Chinese label")
    rows: int
    valid: int
    preview: list[PreviewRow]
    errors: list[RowError]
    units: list[UnitSuggestion]


class ImportResult(BaseModel):
    created: int
    sub_items: int
    mapping: dict[str, str]


@dataclass
class _Parsed:
    row: int
    cmd: items.ItemCommand
    progress: int | None
    parent_number: str | None


@dataclass
class _Outcome:
    headers: list[str]
    mapping: dict[str, str]
    parsed: list[_Parsed] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    misses: dict[str, list[int]] = field(default_factory=dict)
    matcher: li.UnitMatcher | None = None
    title_rows: list[str] = field(default_factory=list)


def _targets(ledger: Ledger) -> dict[str, str]:
    out = dict(li.STANDARD_LABELS)
    out.update({f"fields.{c.key}": c.label for c in columns_of(ledger)})
    return out


def _source(text: str) -> d.ProblemSource:
    for word, src in _SOURCES:
        if word in text:
            return src
    return d.ProblemSource.OTHER


def _parse(session: Session, ledger: Ledger, grid: list[list[str]], mapping: dict[str, str] | None,
           aliases: dict[str, str]) -> _Outcome:
    try:
        header = li.detect_header(grid)
    except ValueError as exc:
        raise Invalid(str(exc), field="file") from None
    names = header.names
    cols = columns_of(ledger)
    targets = _targets(ledger)
    remembered = {h: t for h, t in (ledger.import_mapping or {}).items() if h in names and t in targets}
    chosen = mapping if mapping is not None else {**li.guess_mapping(names, {c.key: c.label for c in cols}),
                                                  **remembered}
    for h, t in chosen.items():
        if h not in names:
            raise Invalid(f"映射中的列“{h}”不在表头中", field=f"mapping.{h}")
        if t and t not in targets:
            raise Invalid(f"“{t}”不是可导入的字段", field=f"mapping.{h}")
    chosen = {h: t for h, t in chosen.items() if t}
    if "title" not in chosen.values() or "lead_unit" not in chosen.values():
        missing = "任务/事项" if "title" not in chosen.values() else "牵头单位"
        raise Invalid(f"请为“{missing}”指定一列", field="mapping")
    units = {u.name: u.id for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    codes = {u.code: u.id for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    by_code = {v: k for k, v in codes.items()}
    alias_ids: dict[str, int] = {}
    for text, code in {**(ledger.unit_aliases or {}), **aliases}.items():
        if code in codes:
            alias_ids[text] = codes[code]
        elif text in aliases:
            raise Invalid(f"单位编码“{code}”不存在", field=f"unit_aliases.{text}")
    matcher = li.UnitMatcher(units, codes, alias_ids)
    out = _Outcome(names, chosen, matcher=matcher,
                   title_rows=[next((v for v in r if v), "") for r in grid[:max(0, header.data_start - 1)]][:1])
    kind = d.ITEM_KIND_OF[d.LedgerKind(ledger.kind)]
    today = datetime.now(SHANGHAI).date()
    col_of = {t: h for h, t in chosen.items()}
    index = {h: i for i, h in enumerate(names) if h}
    seen_numbers: set[str] = set()
    existing = set(session.scalars(select(LedgerItem.number).where(LedgerItem.ledger_id == ledger.id)))
    for r_i in range(header.data_start, len(grid)):
        raw = grid[r_i]
        if not any(v.strip() for v in raw):
            continue
        excel_row = r_i + 1

        def get(target: str, raw: list[str] = raw) -> str:
            h = col_of.get(target)
            if h is None:
                return ""
            i = index[h]
            return raw[i].strip() if i < len(raw) else ""

        errors: list[RowError] = []

        def err(target: str, message: str, errors: list[RowError] = errors, excel_row: int = excel_row) -> None:
            errors.append(RowError(row=excel_row, column=col_of.get(target, targets.get(target, target)),
                                   message=message))

        title = get("title")
        if not title:
            # a second header row or a subtotal line offices leave in: skipped when it carries no task
            if not get("lead_unit"):
                continue
            err("title", "任务/事项不能为空")
        number = get("code")
        if number and not re.fullmatch(r"[\w.\-（）()]{1,40}", number):
            err("code", f"编号“{number}”含有不能使用的字符")
        if number in seen_numbers or number in existing:
            err("code", f"编号“{number}”重复" + ("（台账中已有）" if number in existing else "（表内重复）"))
        if number:
            seen_numbers.add(number)
        lead_text = get("lead_unit")
        lead_code = None
        if not lead_text:
            err("lead_unit", "牵头单位不能为空")
        else:
            found, suggestions = matcher.match(lead_text)
            if found is None:
                out.misses.setdefault(lead_text, []).append(excel_row)
                hint = f"，是否为：{'、'.join(suggestions)}" if suggestions else ""
                err("lead_unit", f"未找到单位“{lead_text}”{hint}")
            else:
                lead_code = by_code[found]
        assist_codes = []
        for name in li.split_units(get("assist_units")):
            found, suggestions = matcher.match(name)
            if found is None:
                out.misses.setdefault(name, []).append(excel_row)
                hint = f"，是否为：{'、'.join(suggestions)}" if suggestions else ""
                err("assist_units", f"未找到配合单位“{name}”{hint}")
            elif by_code[found] != lead_code:
                assist_codes.append(by_code[found])
        time_limit = get("time_limit")
        parsed_limit = d.parse_loose_date(time_limit) if time_limit else None
        if time_limit and parsed_limit is None:
            err("time_limit", f"无法识别的日期“{time_limit}”（可写 2024-06-30、2024年6月底、2024年第三季度）")
        elif parsed_limit is not None and (problem := d.limit_problem(parsed_limit, today)):
            err("time_limit", problem)
        reply_due = get("reply_due")
        if reply_due and d.parse_loose_date(reply_due) is None:
            err("reply_due", f"无法识别的日期“{reply_due}”")
        progress_text = get("progress")
        progress = li.parse_progress(progress_text)
        if progress_text and progress is None:
            err("progress", f"无法识别的进度“{progress_text}”（可写 60%、0.6 或 已完成）")
        custom: dict[str, Any] = {}
        for c in cols:
            value = get(f"fields.{c.key}")
            try:
                v = d.coerce_field(c, value)
            except d.LedgerError as exc:
                err(f"fields.{c.key}", str(exc))
                continue
            if v is not None:
                custom[c.key] = v
        measures = [{"title": m, "due": None} for m in li.split_measures(get("measures"))]
        data: dict[str, Any] = {"title": title or "（空）", "number": number or None, "lead_unit": lead_code or "-",
                                "assist_units": assist_codes, "leader": get("leader") or None,
                                "person": get("person") or None, "milestones": measures,
                                "time_limit": time_limit or None, "fields": custom}
        if kind is d.ItemKind.PROBLEM:
            finding = get("finding") or title
            data.update(source=_source(get("source")), finding=finding)
        if kind is d.ItemKind.SUGGESTION:
            proposer = get("proposer")
            if not proposer:
                err("proposer", "提出人（代表/委员）不能为空")
            text = f"{get('code')}{get('source')}{proposer}"
            data.update(proposer=proposer or "-", reply_due=reply_due or None,
                        proposal_kind=d.ProposalKind.PROPOSAL if ("提案" in text or "委员" in text)
                        else d.ProposalKind.SUGGESTION)
        parent_number = None
        if number:
            m = re.fullmatch(r"(.+)[.\-](\d+)", number)
            if m and (m[1] in seen_numbers or m[1] in existing):
                parent_number = m[1]
        if errors:
            out.errors += errors
            continue
        try:
            cmd = items.ItemCommand(**data)
        except ValidationError as exc:
            first = exc.errors()[0]
            err(str(first["loc"][0]), f"内容不合要求：{first['msg']}")
            out.errors += errors
            continue
        out.parsed.append(_Parsed(excel_row, cmd, progress, parent_number))
    return out


def _read(data: bytes, filename: str) -> list[list[str]]:
    try:
        return ledger_sheets.read_grid(data, filename)
    except TabularError as exc:
        raise Invalid(str(exc), field="file") from None


def preview(uow: UnitOfWork, ledger_code: str, data: bytes, filename: str, actor: Actor, *,
            mapping: dict[str, str] | None = None, unit_aliases: dict[str, str] | None = None) -> ImportPreview:
    """What an import would write, and every error, without writing anything."""
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        access.require_manage(actor, acc)
        grid = _read(data, filename)
        out = _parse(s, acc.ledger, grid, mapping, unit_aliases or {})
        units = {u.name: u.code for u in s.scalars(select(Unit).where(Unit.active.is_(True)))}
        rows = [PreviewRow(row=p.row, number=p.cmd.number or "（自动）", title=p.cmd.title,
                           lead_unit=p.cmd.lead_unit, time_limit=p.cmd.time_limit, progress=p.progress,
                           parent=p.parent_number, fields=p.cmd.fields) for p in out.parsed[:PREVIEW_ROWS]]
        assert out.matcher is not None
        misses = [UnitSuggestion(text=t, rows=r, suggestions=[{"name": n, "code": units[n]}
                                                              for n in out.matcher.match(t)[1] if n in units])
                  for t, r in out.misses.items()]
        return ImportPreview(headers=[h for h in out.headers if h], mapping=out.mapping, targets=_targets(acc.ledger),
                             rows=len(out.parsed) + len({e.row for e in out.errors}), valid=len(out.parsed),
                             preview=rows, errors=out.errors, units=misses)


def commit(uow: UnitOfWork, ledger_code: str, data: bytes, filename: str, actor: Actor, *,
           mapping: dict[str, str] | None = None, unit_aliases: dict[str, str] | None = None,
           now: datetime | None = None) -> ImportResult:
    """Write the file's items (all or nothing) and remember the mapping, the confirmed unit names and
    the layout for the next import and the export."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        access.require_manage(actor, acc)
        grid = _read(data, filename)
        ledger = acc.ledger
        out = _parse(s, ledger, grid, mapping, unit_aliases or {})
        if out.errors:
            first = out.errors[0]
            raise Invalid(f"第{first.row}行“{first.column}”：{first.message}"
                          f"（共{len(out.errors)}处错误，未导入任何数据）",
                          field="file", details=[e.model_dump() for e in out.errors[:200]])
        if not out.parsed:
            raise Invalid("文件中没有可导入的事项", field="file")
        by_number: dict[str, LedgerItem] = {i.number: i for i in s.scalars(
            select(LedgerItem).where(LedgerItem.ledger_id == ledger.id))}
        subs = 0
        for p in out.parsed:
            parent = by_number.get(p.parent_number) if p.parent_number else None
            item = items.insert_item(s, ledger, p.cmd, actor, at, parent, action="item.import")
            if p.progress is not None and 0 < p.progress < 100:
                item.own_progress = item.progress = p.progress
            by_number[item.number] = item
            if parent is not None:
                subs += 1
                items.roll_up(s, item)
        ledger.import_mapping = dict(out.mapping)
        ledger.unit_aliases = {**(ledger.unit_aliases or {}), **(unit_aliases or {})}
        ledger.import_layout = {"title": out.title_rows[0] if out.title_rows else ledger.name,
                                "headers": [h for h in out.headers if h]}
        ledger.updated_at = at
        audit.record(s, actor, "ledger.import", f"ledger:{ledger.code}",
                     {"file": filename[:200], "items": len(out.parsed), "sub_items": subs}, at=at)
        uow.commit()
        return ImportResult(created=len(out.parsed), sub_items=subs, mapping=out.mapping)


_EXTRA = ["状态", "进度", "最近进展时间"]
_STATE_NAMES = {"open": "未启动", "in_progress": "推进中", "pending_sign_off": "待销号", "closed": "已销账",
                "suspended": "暂缓", "cancelled": "已撤销"}
_SOURCE_NAMES = {"inspection": "巡视巡察", "audit": "审计", "supervision": "督察", "other": "其他"}


def export(uow: UnitOfWork, ledger_code: str, actor: Actor) -> tuple[bytes, str]:
    """The ledger's items (in the actor's scope) as .xlsx in the layout of its last import — the same
    headers in the same order — or, never imported, the standard layout; state and progress added."""
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        ledger = acc.ledger
        targets = _targets(ledger)
        layout = ledger.import_layout or {}
        mapping = ledger.import_mapping or {}
        if layout.get("headers"):
            headers = list(layout["headers"])
            target_of = {h: mapping.get(h) for h in headers}
        else:
            kind = d.ITEM_KIND_OF[d.LedgerKind(ledger.kind)]
            skip = {"source", "finding"} if kind is not d.ItemKind.PROBLEM else set()
            skip |= {"proposer", "reply_due"} if kind is not d.ItemKind.SUGGESTION else set()
            chosen = [t for t in targets if t not in skip and t != "progress"]
            headers = [targets[t] for t in chosen]
            target_of = dict(zip(headers, chosen, strict=True))
        headers += [h for h in _EXTRA if h not in headers]
        units = {u.id: u for u in s.scalars(select(Unit))}
        assists: dict[int, list[str]] = {}
        q = select(LedgerItem).where(LedgerItem.ledger_id == ledger.id, access.item_clause(acc, actor),
                                     LedgerItem.state != d.ItemState.CANCELLED.value).order_by(LedgerItem.path)
        rows_items = list(s.scalars(q))
        for item_id, unit_id in s.execute(select(LedgerItemAssist.item_id, LedgerItemAssist.unit_id).where(
                LedgerItemAssist.item_id.in_([i.id for i in rows_items] or [0]))):
            assists.setdefault(item_id, []).append(units[unit_id].name)
        rows = []
        for it in rows_items:
            values = {
                "code": it.number, "title": it.title, "lead_unit": units[it.lead_unit_id].name,
                "assist_units": "、".join(assists.get(it.id, [])), "leader": it.leader_name or "",
                "person": it.person_name or "",
                "measures": "；".join(f"{i + 1}.{m['title']}" + (f"（{m['due']}）" if m.get("due") else "")
                                     for i, m in enumerate(it.milestones or [])),
                "time_limit": it.time_limit.isoformat() if it.time_limit else "", "progress": f"{it.progress}%",
                "source": _SOURCE_NAMES.get(it.source or "", ""), "finding": it.finding or "",
                "proposer": it.proposer or "", "reply_due": it.reply_due.isoformat() if it.reply_due else "",
            }
            for key, v in (it.fields or {}).items():
                values[f"fields.{key}"] = "是" if v is True else "否" if v is False else v
            extra = {"状态": _STATE_NAMES.get(it.state, it.state), "进度": f"{it.progress}%",
                     "最近进展时间": it.last_progress_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
                     if it.last_progress_at else ""}
            rows.append([values.get(target_of.get(h) or "", "") if h not in extra else extra[h] for h in headers])
        title = str(layout.get("title") or ledger.name)
        return ledger_sheets.write_ledger(title, headers, rows), f"{ledger.name}.xlsx"
