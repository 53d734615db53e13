"""CSV and XLSX in and out — the formats government offices keep their lists in.

Rows come back as ``dict[str, str]`` with the row number a person sees in Excel (header = row 1), so
every error can name the row and the column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

ROW = "__row__"
#: A signed number (``-5.2``, a negative reading) is data, not a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")

#: What makes a spreadsheet treat a text cell as a formula (or, with tab and CR, as one after Excel
#: trims it): ``=`` ``+`` ``-`` ``@`` and the control characters that can precede them (OWASP "CSV
#: injection"). Full-width ＝＋－＠ are included: Excel in Chinese locales accepts them too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class TabularError(ValueError):
    """A file that cannot be read as a table at all."""


class TableTooLarge(TabularError):
    """A file over one of the reading limits; ``limit`` names it (``rows``, ``xlsx_part_bytes`` …)."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


#: At most this many data rows per file (an import is a list, not a database dump).
MAX_ROWS = 100_000
#: An XLSX is a ZIP: a few kilobytes can inflate to gigabytes (a "zip bomb"). Each part (sheet, shared
#: strings) may be at most this large once uncompressed, and all parts together at most MAX_XLSX_TOTAL.
#: A sheet of MAX_ROWS events as the export writes them is ~84 MB of XML (about 840 bytes a row), so the
#: limits leave room for the largest list an import accepts, and no more than a few times that.
MAX_XLSX_PART = 192 * 1024 * 1024
MAX_XLSX_TOTAL = 256 * 1024 * 1024


def check_xlsx_parts(data: bytes, max_part: int | None = None, max_total: int | None = None) -> None:
    """Refuse a workbook whose parts inflate beyond the limits, from the ZIP directory alone (nothing
    is decompressed). The sizes in the directory are what zipfile enforces while reading, too: a
    part that inflates past its declared size is refused by it as a bad CRC/size."""
    max_part = MAX_XLSX_PART if max_part is None else max_part
    max_total = MAX_XLSX_TOTAL if max_total is None else max_total
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise TabularError(f"not a readable .xlsx workbook: {exc}") from None
    total = 0
    for info in infos:
        if info.file_size > max_part:
            raise TableTooLarge(f"the workbook part '{info.filename}' unpacks to {info.file_size} bytes; "
                                f"at most {max_part} bytes per part", "xlsx_part_bytes")
        total += info.file_size
    if total > max_total:
        raise TableTooLarge(f"the workbook unpacks to {total} bytes; at most {max_total} bytes",
                            "xlsx_total_bytes")


def neutralise(value: Any) -> Any:
    """A value safe to put in a CSV or XLSX cell: text that a spreadsheet would run as a formula gets
    a leading apostrophe (shown as text; stripped again by :func:`read_table`). Numbers, dates and
    other non-text values pass unchanged.

    The one function every file the system writes goes through (exports, reports, reviews,
    configuration sheets) — a reporter's description ``=HYPERLINK("http://evil", "点击")`` must never
    become a live formula on a duty officer's machine.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    """:func:`neutralise` over a row of cell values."""
    return [neutralise(v) for v in values]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores phone numbers and codes typed as numbers as floats: 13800138000.0
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    # what neutralise() wrote comes back as it was
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def _decode(data: bytes) -> str:
    # Excel on Chinese Windows saves "CSV" in GBK (GB18030 is its superset); UTF-8 may carry a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TabularError("the CSV file is neither UTF-8 nor GBK/GB18030 text")


def _rows(records: Iterator[list[str]], max_rows: int) -> list[dict[str, str]]:
    """Rows keyed by the header, read one at a time and stopped as soon as there are too many."""
    header = next(records, None)
    if header is None:
        raise TabularError("the file is empty")
    names = [h.strip() for h in header]
    if not any(names):
        raise TabularError("the first row must hold the column names")
    out: list[dict[str, str]] = []
    for number, values in enumerate(records, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(out) >= max_rows:
            raise TableTooLarge(f"the file has more than {max_rows} rows; split it", "rows")
        row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names) if name}
        row[ROW] = str(number)
        out.append(row)
    return out


def read_table(data: bytes, filename: str, sheet: str | None = None, *,
               max_rows: int | None = None) -> list[dict[str, str]]:
    """Rows of a ``.csv`` or ``.xlsx`` file keyed by header, each with its row number under ``ROW``.

    At most ``max_rows`` rows; an XLSX is checked against the unpacked-size limits before it is
    opened. Over a limit: :class:`TableTooLarge`, naming it.
    """
    max_rows = MAX_ROWS if max_rows is None else max_rows
    name = filename.lower()
    if name.endswith(".csv") or name.endswith(".txt"):
        text = _decode(data)
        try:
            return _rows(([_cell(v) for v in r] for r in csv.reader(io.StringIO(text))), max_rows)
        except csv.Error as exc:
            raise TabularError(f"unreadable CSV: {exc}") from None
    if name.endswith(".xlsx"):
        check_xlsx_parts(data)
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
            raise TabularError(f"not a readable .xlsx workbook: {exc}") from None
        try:
            if sheet is not None and sheet not in wb.sheetnames:
                raise TabularError(f"the workbook has no sheet '{sheet}' (it has {', '.join(wb.sheetnames)})")
            ws = wb[sheet] if sheet else wb.worksheets[0]
            rows = _rows(([_cell(v) for v in row] for row in ws.iter_rows(values_only=True)), max_rows)
        except TableTooLarge:
            raise
        except TabularError as exc:
            raise TabularError(str(exc).replace("the file is empty", "the sheet is empty")) from None
        finally:
            wb.close()
        return rows
    raise TabularError(f"'{filename}': use a .csv or .xlsx file")


def write_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese text correctly."""
    columns = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({c: neutralise(r.get(c, "")) for c in columns} for r in rows)
    return buf.getvalue().encode("utf-8-sig")


def write_xlsx(rows: list[dict[str, str]], columns: list[str] | None = None, title: str = "data") -> bytes:
    columns = columns or (list(rows[0]) if rows else [])
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(safe_row(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(safe_row(row.get(c, "") for c in columns))
    for i, col in enumerate(columns, start=1):
        width = max([len(col)] + [len(str(r.get(col, ""))) for r in rows[:200]])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, max(8, width * 1.6))
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
