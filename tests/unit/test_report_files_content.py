"""The Word document drawn row by row from XML (``report_files._fill_rows``) is the document python-docx's
cell API made before: every part of the .docx byte for byte, and the same headings, paragraphs and
table rows read back — for plain cells, numbers, ``None``, empty text, tabs, line breaks, leading and
trailing (also ideographic) spaces, characters XML escapes, an empty table and a ragged row."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from shuzhi.adapters import report_files as rf

PNG = rf.chart_png(rf.Chart("单位得分", "bar", ["第1镇街", "区部门01"], {"得分": [88.5, 61.0]}))


def reference_docx(doc: rf.ReportDoc, pngs: list[bytes]) -> bytes:
    """``report_files.to_docx`` as it was before the rows were made from XML: python-docx's cell API."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

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
        for row in t.rows:
            cells = table.add_row().cells
            for i, v in enumerate(row):
                cells[i].text = rf._cell(v)
    for chart, png in zip(doc.charts, pngs, strict=True):
        d.add_heading(chart.title, level=2)
        d.add_picture(io.BytesIO(png), width=Cm(16))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def content(data: bytes) -> list[Any]:
    """What a reader sees: headings and paragraphs with their style, tables as rows of cell texts."""
    from docx import Document
    from docx.table import Table

    out: list[Any] = []
    for block in Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(block, Table):
            out.append([[c.text for c in r.cells] for r in block.rows])
        else:
            out.append((block.style.name if block.style else None, block.text))
    return out


TRICKY = ["普通文字", "", None, 3, 2.5, -0.125, " 前导空格", "尾随空格 ", "\u3000全角空格", "制表\t符", "换\n行",
          "回车\r\n换行", "<b>&amp;\"'", "—", "0", 0, True]


def bulletin_like() -> rf.ReportDoc:
    ranking = [[i + 1, f"第{i}镇街治理中心", 91.5 - i, "+1.2", "95.0%", "+3.2个百分点", "80.0%", "—", "60%", i % 4,
                i % 3, 0, "↑2"] for i in range(50)]
    overdue = [[str(n), f"重点任务{n}：推进改革事项", f"区部门{n % 20:02d}", f"领导{n % 12}", "2026-05-31", 20 + n,
                f"{n % 95}%"] for n in range(200)]
    return rf.ReportDoc(
        title="基准台账2026年6月每月通报", subtitle="发布：（预览）",
        summary=["统计区间：2026-06-01 至 2026-06-30", "五色状态：红（超期） 176 项"],
        tables=[rf.Table("单位排名（赛马比拼）", ["名次", "单位", "得分", "得分较上期", "按期对账率", "较上期",
                                          "按期销账率", "较上期", "平均进度", "超期", "停滞", "反弹", "名次较上期"],
                         ranking),
                rf.Table("超期事项", ["编号", "事项", "牵头单位", "责任领导", "完成时限", "超期天数", "进度"], overdue),
                rf.Table("停滞事项", ["编号", "事项"], []),
                rf.Table("边界", ["甲", "乙", "丙"], [TRICKY[i:i + 3] for i in range(0, len(TRICKY) - 2)])],
        charts=[rf.Chart("单位得分", "bar", ["第1镇街", "区部门01"], {"得分": [88.5, 61.0]})])


def test_the_docx_is_the_one_python_docx_cell_api_made() -> None:
    doc = bulletin_like()
    new, old = rf.to_docx(doc, [PNG]), reference_docx(doc, [PNG])
    assert content(new) == content(old)
    assert content(new)[5][1] == ["1", "第0镇街治理中心", "91.50", "+1.2", "95.0%", "+3.2个百分点", "80.0%", "—",
                                  "60%", "0", "0", "0", "↑2"]
    assert parts(new) == parts(old)


def test_a_ragged_row_is_drawn_as_python_docx_draws_it() -> None:
    rows: list[list[Any]] = [["a", "b", "c"], ["短"], ["d", "e", "f"]]
    doc = rf.ReportDoc("题", "副题", tables=[rf.Table("表", ["甲", "乙", "丙"], rows)])
    assert parts(rf.to_docx(doc, [])) == parts(reference_docx(doc, []))
    assert content(rf.to_docx(doc, []))[-1] == [["甲", "乙", "丙"], ["a", "b", "c"], ["短", "", ""], ["d", "e", "f"]]
    too_long = rf.ReportDoc("题", "副题", tables=[rf.Table("表", ["甲"], [["a", "b"]])])
    with pytest.raises(IndexError):
        reference_docx(too_long, [])
    with pytest.raises(IndexError):
        rf.to_docx(too_long, [])
