"""Spreadsheets as offices keep ledgers: read a sheet as a grid with merged cells filled (a merged
title or header group repeats its text in every cell it covers), and write a ledger back with a merged
title row above the header, as it came in."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils.exceptions import InvalidFileException

from shuzhi.adapters.tabular import TabularError, _cell, _decode

MAX_ROWS = 20000


def read_grid(data: bytes, filename: str) -> list[list[str]]:
    """The first sheet (or the CSV) as rows of text, merged ranges filled with their top-left value."""
    name = filename.lower()
    if name.endswith((".csv", ".txt")):
        rows = list(csv.reader(io.StringIO(_decode(data))))
        if not rows:
            raise TabularError("the file is empty")
        return [[c.strip() for c in r] for r in rows[:MAX_ROWS + 10]]
    if not name.endswith(".xlsx"):
        raise TabularError(f"'{filename}': use a .xlsx or .csv file")
    try:
        # not read-only: the merged ranges are only known to a fully loaded sheet
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise TabularError(f"not a readable .xlsx workbook: {exc}") from None
    ws = wb.worksheets[0]
    if ws.max_row > MAX_ROWS + 10:
        raise TabularError(f"the sheet has {ws.max_row} rows; at most {MAX_ROWS} can be imported at once")
    grid = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        top = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else ""
        for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
            for c in range(rng.min_col - 1, rng.max_col):
                if c < len(grid[r]):
                    grid[r][c] = top
    wb.close()
    while grid and not any(grid[-1]):
        grid.pop()
    if not grid:
        raise TabularError("the sheet is empty")
    return grid


def write_ledger(title: str, columns: list[str], rows: list[list[Any]], sheet: str = "台账") -> bytes:
    """A ledger sheet: the title merged across the columns, a bold bordered header, the rows, the header
    row frozen — the layout offices print and send on."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    width = max(1, len(columns))
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.append(columns)
    thin = Side(style="thin")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append(["" if v is None else v for v in row])
    for i, col in enumerate(columns, start=1):
        longest = max([len(str(col))] + [len(str(r[i - 1])) for r in rows[:200] if i - 1 < len(r)])
        ws.column_dimensions[ws.cell(2, i).column_letter].width = min(50, max(8, longest * 1.8))
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
