"""A review (复盘) as a Word document (python-docx) or a standalone HTML page, in Chinese,
times shown in Asia/Shanghai."""

from __future__ import annotations

import io
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from shuzhi.domain.review import Review, format_duration

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAGE = {"accept": "签收", "handle": "处置"}


def _t(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else "—"


def _sections(r: Review) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, columns, rows) of every table, shared by both formats."""
    return [
        ("一、阶段用时", ["阶段", "用时", "次数"],
         [[s.label, format_duration(s.seconds), str(s.visits)] for s in r.stages]),
        ("二、任务时限对照", ["单位", "环节", "用时", "时限", "超时"],
         [[t.unit_name, STAGE.get(t.stage, t.stage), format_duration(t.seconds), format_duration(t.limit_seconds),
           format_duration(t.late_seconds) if t.late_seconds > 0 else "按时"] for t in r.task_stages]),
        ("三、超时单位", ["单位", "超时环节数", "最长超时"],
         [[f"{x.unit_name}（{x.unit_code}）", str(x.late_stages), format_duration(x.worst_late_seconds)]
          for x in r.late]),
        ("四、退单与返工", ["时间", "类型", "单位", "原因"],
         [[_t(i.at), "退单", i.unit or "—", i.reason or ""] for i in r.returns]
         + [[_t(i.at), "返工", i.unit or "—", i.reason or ""] for i in r.reworks]),
        ("五、时间线", ["时间", "操作人", "动作", "状态", "单位", "说明"],
         [[_t(line.at), line.actor, line.action, f"{line.from_state or ''}→{line.to_state or ''}"
           if line.to_state else "", line.unit or "", line.reason or ""] for line in r.timeline]),
    ]


def _summary(r: Review) -> list[str]:
    lines = [f"案卷编号：{r.event_number}（{r.event_state}）", f"起止时间：{_t(r.started_at)} 至 {_t(r.ended_at)}，"
             f"历时 {format_duration(r.total_seconds)}",
             f"任务 {r.tasks} 项，超时 {r.late_tasks} 项，退单 {len(r.returns)} 次，返工 {len(r.reworks)} 次"]
    if r.plan_code:
        lines.insert(0, f"预案：{r.plan_name}（{r.plan_code}）")
    return lines


def _title(r: Review) -> str:
    return f"复盘报告：{r.plan_name or r.title}"


def to_docx(r: Review) -> bytes:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(10.5)
    # East Asian text takes its font from w:eastAsia, not from the Latin name.
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    doc.add_heading(_title(r), level=1)
    for line in _summary(r):
        doc.add_paragraph(line)
    for heading, columns, rows in _sections(r):
        doc.add_heading(heading, level=2)
        if not rows:
            doc.add_paragraph("无")
            continue
        table = doc.add_table(rows=1, cols=len(columns))
        table.style = "Table Grid"
        for cell, name in zip(table.rows[0].cells, columns, strict=True):
            cell.text = name
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = value
    doc.add_heading("六、经验教训与改进建议", level=2)
    doc.add_paragraph(r.notes.notes or "（尚未填写）")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def to_html(r: Review) -> str:
    parts = ["<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
             f"<title>{escape(_title(r))}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;"
             "width:100%}td,th{border:1px solid #999;padding:2px 6px;text-align:left}</style></head><body>",
             f"<h1>{escape(_title(r))}</h1>"]
    parts += [f"<p>{escape(line)}</p>" for line in _summary(r)]
    for heading, columns, rows in _sections(r):
        parts.append(f"<h2>{escape(heading)}</h2>")
        if not rows:
            parts.append("<p>无</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append("<h2>六、经验教训与改进建议</h2>")
    parts.append("<p style=\"white-space:pre-wrap\">" + escape(r.notes.notes or "（尚未填写）") + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
