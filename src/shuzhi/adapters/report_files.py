"""Rendering a report (tables + charts) as HTML, an Excel workbook and a Word document.

A report is plain data (:class:`ReportDoc`); this module only draws it: charts with matplotlib in a
CJK font (Noto Sans CJK, found through the font manager), the workbook with openpyxl (one sheet per
table), the document with python-docx (tables and PNG charts), HTML escaped throughout.
"""

from __future__ import annotations

import html
import io
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shuzhi.adapters.tabular import safe_row

COLOURS = {"green": "#2e9d4a", "blue": "#2f6fd6", "yellow": "#e6c229", "orange": "#f08c1a", "red": "#d63a2f",
           "grey": "#9e9e9e"}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    title: str
    kind: str  # bar|line|pie
    labels: list[str]
    series: dict[str, list[float]]
    colours: list[str] | None = None  # per bar, by colour name


@dataclass
class ReportDoc:
    title: str
    subtitle: str
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if "Noto Sans CJK SC" in f.name or f.name == "Noto Sans CJK JP":
            return f.name
    for f in font_manager.fontManager.ttflist:
        if "CJK" in f.name:
            return f.name
    return None


_STYLE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _style() -> None:
    """Matplotlib's style for every chart, set once: rcParams are process-global, so they are never
    changed per chart (``rc_context`` around a drawing would change them under another thread's feet)."""
    import matplotlib

    with _STYLE_LOCK:
        font = _cjk_font()
        matplotlib.rcParams["font.family"] = [font, "sans-serif"] if font else ["sans-serif"]
        matplotlib.rcParams["axes.unicode_minus"] = False


def chart_png(chart: Chart) -> bytes:
    """One chart as PNG bytes, drawn once for the same data: a bulletin's chart is the same picture
    in its HTML and its Word file and for every peer who downloads them, and drawing it costs a few
    hundred milliseconds. The last :data:`CHARTS_KEPT` pictures are kept (:func:`clear_charts`)."""
    try:
        return _kept_png(chart.title, chart.kind, tuple(chart.labels),
                         tuple((name, tuple(values)) for name, values in chart.series.items()),
                         None if chart.colours is None else tuple(chart.colours))
    except TypeError:  # a label or value that cannot be a key: drawn, not kept
        return draw_chart(chart)


#: Charts kept drawn (a PNG is some tens of kilobytes).
CHARTS_KEPT = 64


@lru_cache(maxsize=CHARTS_KEPT)
def _kept_png(title: str, kind: str, labels: tuple[str, ...],
              series: tuple[tuple[str, tuple[float, ...]], ...], colours: tuple[str, ...] | None) -> bytes:
    return draw_chart(Chart(title, kind, list(labels), {name: list(values) for name, values in series},
                            None if colours is None else list(colours)))


def clear_charts() -> None:
    """Forget the charts drawn (a benchmark measuring a fresh bulletin; tests)."""
    _kept_png.cache_clear()


def draw_chart(chart: Chart) -> bytes:
    """Draw one chart as PNG bytes.  Safe to call from several threads at once (the worker and API
    threads draw reports): each call owns its :class:`~matplotlib.figure.Figure` and Agg canvas;
    pyplot, whose global figure manager is not thread-safe, is never used."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _style()
    fig = Figure(figsize=(8, 3.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(chart.labels)))
    if chart.kind == "pie":
        values = next(iter(chart.series.values()), [])
        if sum(values) > 0:
            ax.pie(values, labels=chart.labels, autopct="%1.0f%%", textprops={"fontsize": 8})
        ax.axis("equal")
    elif chart.kind == "line":
        for name, values in chart.series.items():
            ax.plot(x, values, marker="o", label=name)
        ax.set_xticks(x, chart.labels, rotation=45, ha="right", fontsize=7)
        ax.legend(fontsize=8)
    else:
        n = max(1, len(chart.series))
        width = 0.8 / n
        for i, (name, values) in enumerate(chart.series.items()):
            colours = [COLOURS.get(c, c) for c in chart.colours] if chart.colours and n == 1 else None
            ax.bar([v + i * width for v in x], values, width, label=name, color=colours)
        ax.set_xticks([v + width * (n - 1) / 2 for v in x], chart.labels, rotation=45, ha="right", fontsize=7)
        if n > 1:
            ax.legend(fontsize=8)
    ax.set_title(chart.title, fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def to_html(doc: ReportDoc, pngs: list[bytes] | None = None) -> str:
    import base64

    pngs = pngs if pngs is not None else [chart_png(c) for c in doc.charts]
    e = html.escape
    parts = ["<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
             f"<title>{e(doc.title)}</title><style>body{{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:4px 8px;font-size:13px}"
             "th{background:#eef}</style></head><body>",
             f"<h1>{e(doc.title)}</h1><p>{e(doc.subtitle)}</p>"]
    parts += [f"<p>{e(line)}</p>" for line in doc.summary]
    for t in doc.tables:
        parts.append(f"<h2>{e(t.title)}</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in t.columns) + "</tr>")
        for row in t.rows:
            parts.append("<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    for chart, png in zip(doc.charts, pngs, strict=True):
        data = base64.b64encode(png).decode()
        parts.append(f"<h2>{e(chart.title)}</h2><img alt=\"{e(chart.title)}\" src=\"data:image/png;base64,{data}\">")
    parts.append("</body></html>")
    return "".join(parts)


def _sheet_title(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or "表"
    name, i = base, 2
    while name in used:
        name, i = f"{base[:26]}{i}", i + 1
    used.add(name)
    return name


def to_xlsx(doc: ReportDoc) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    used: set[str] = set()
    for t in doc.tables:
        ws = wb.create_sheet(_sheet_title(t.title, used))
        ws.append(safe_row([doc.title]))
        ws.append(safe_row([t.title]))
        ws.append(safe_row(t.columns))
        for c in ws[3]:
            c.font = Font(bold=True)
        for row in t.rows:
            ws.append(safe_row("" if v is None else (round(v, 4) if isinstance(v, float) else v) for v in row))
        for i, col in enumerate(t.columns, start=1):
            ws.column_dimensions[ws.cell(3, i).column_letter].width = max(10, min(40, len(str(col)) * 2 + 2))
    if not doc.tables:
        wb.create_sheet("报告").append(safe_row([doc.title]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fill_rows(table: Any, rows: list[list[Any]]) -> None:
    """Append the rows to a python-docx table, each cell holding its text in one run — the XML that
    ``table.add_row().cells[i].text = …`` writes, made directly: python-docx's cell API costs about a
    millisecond a cell (every ``add_row`` and ``text`` walks the table's children), a bulletin has
    thousands. One empty row made by python-docx is the template; each row is a deep copy of it with
    the texts set. Text that python-docx would not store as a single plain ``<w:t>`` (empty, a tab
    or line break, leading or trailing spaces) goes through python-docx's own run setter, and a row
    of another length than the header through its cell API, so the document is the same XML."""
    from copy import deepcopy

    from docx.oxml.ns import qn

    if not rows:
        return
    tbl = table._tbl
    template = table.add_row()._tr
    tbl.remove(template)
    for tc in template.tc_lst:
        tc.p_lst[0].add_r().text = "x"
    w_r, w_t = qn("w:r"), qn("w:t")
    width = len(template.tc_lst)
    for row in rows:
        if len(row) != width:  # a ragged row: python-docx's way (cells left empty, or its IndexError)
            cells = table.add_row().cells
            for i, v in enumerate(row):
                cells[i].text = _cell(v)
            continue
        tr = deepcopy(template)
        for tc, v in zip(tr.tc_lst, row, strict=True):
            text = _cell(v)
            r = tc.p_lst[0].find(w_r)
            if text and text.strip() == text and "\t" not in text and "\n" not in text and "\r" not in text:
                r.find(w_t).text = text
            else:
                r.text = text
        tbl.append(tr)


def to_docx(doc: ReportDoc, pngs: list[bytes] | None = None) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    pngs = pngs if pngs is not None else [chart_png(c) for c in doc.charts]
    d = Document()
    style = d.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    d.add_heading(doc.title, level=0)
    d.add_paragraph(doc.subtitle)
    for line in doc.summary:
        d.add_paragraph(line)
    for t in doc.tables:
        d.add_heading(t.title, level=2)
        table = d.add_table(rows=1, cols=len(t.columns))
        table.style = "Table Grid"
        for i, col in enumerate(t.columns):
            table.rows[0].cells[i].text = str(col)
        _fill_rows(table, t.rows)
    for chart, png in zip(doc.charts, pngs, strict=True):
        d.add_heading(chart.title, level=2)
        d.add_picture(io.BytesIO(png), width=Cm(16))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
