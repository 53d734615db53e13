"""JSON files as tables: an array of flat objects (or ``{"rows": [...]}``), one row per object.

Rows come back like :func:`shuzhi.adapters.tabular.read_table`'s — text values, with the row number a
person sees (the first object is row 2, as if the keys were a header row) — so one importer serves
CSV, XLSX and JSON alike.
"""

from __future__ import annotations

from typing import Any

import orjson

from shuzhi.adapters import tabular
from shuzhi.adapters.tabular import ROW, TableTooLarge, TabularError, read_table


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(_text(v) for v in value)
    return str(value).strip()


def read_json_table(data: bytes) -> list[dict[str, str]]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise TabularError(f"not JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        doc = doc["rows"]
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise TabularError('a JSON table is an array of objects (or {"rows": [...]})')
    if len(doc) > tabular.MAX_ROWS:
        raise TableTooLarge(f"the file has more than {tabular.MAX_ROWS} rows; split it", "rows")
    out = []
    for i, row in enumerate(doc, start=2):
        item = {str(k): _text(v) for k, v in row.items()}
        item[ROW] = str(i)
        out.append(item)
    return out


def write_json_table(rows: list[dict[str, str]]) -> bytes:
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2)


def read_any_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """``.json`` here, ``.csv``/``.xlsx`` through :func:`read_table`."""
    if filename.lower().endswith(".json"):
        return read_json_table(data)
    return read_table(data, filename)
