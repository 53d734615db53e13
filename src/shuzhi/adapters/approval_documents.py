"""The electronic approval decision (准予行政许可决定书) of 一枚印章管审批, as a Word document (python-docx).

One document per approval: the approval bureau's document number (文号) carries the case number, so the
paper trail and the case are one; the seal line names the bureau's 行政审批专用章 — the single seal that
replaces the departments' seals for the matters moved to it. The applicant is named (the decision is
addressed to them) but no identity number or telephone is printed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ApprovalDecision:
    #: the bureau's document number, e.g. 大足审批〔2026〕500111-20261207-000001号
    document_number: str
    case_number: str
    applicant: str
    #: (matter name, legal basis, the department on whose behalf it is approved)
    matters: tuple[tuple[str, str, str], ...]
    result: str
    seal_unit: str
    decided_on: date


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def decision_docx(d: ApprovalDecision) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    title = doc.add_heading("准予行政许可决定书", level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    num = doc.add_paragraph(d.document_number)
    num.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"{d.applicant}：")
    doc.add_paragraph(f"你（单位）提出的申请（办件号 {d.case_number}），经审查，符合法定条件、标准，"
                      f"根据下列依据，本机关决定准予行政许可。")
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for i, head in enumerate(("许可事项", "设定依据", "原实施部门")):
        table.rows[0].cells[i].text = head
    for name, basis, dept in d.matters:
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = name, basis, dept
    doc.add_paragraph(f"审查意见：{d.result}")
    doc.add_paragraph("如不服本决定，可依法申请行政复议或者提起行政诉讼。")
    for line in (d.seal_unit, "（行政审批专用章）", f"{d.decided_on.year}年{d.decided_on.month}月{d.decided_on.day}日"):
        p = doc.add_paragraph(line)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
