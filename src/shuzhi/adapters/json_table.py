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


def read_geojson_points(data: bytes) -> list[dict[str, str]]:
    """A GeoJSON FeatureCollection of points as table rows: each feature's properties, with ``lon`` and
    ``lat`` from its geometry (the first feature is row 2, as in the other formats)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise TabularError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise TabularError("a GeoJSON file is a FeatureCollection of Point features")
    if len(doc["features"]) > tabular.MAX_ROWS:
        raise TableTooLarge(f"the file has more than {tabular.MAX_ROWS} features; split it", "rows")
    out = []
    for i, feature in enumerate(doc["features"], start=2):
        props = feature.get("properties") if isinstance(feature, dict) else None
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        item = {str(k): _text(v) for k, v in (props or {}).items()} if isinstance(props, dict) else {}
        coords = geom.get("coordinates") if isinstance(geom, dict) and geom.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            item["lon"], item["lat"] = _text(coords[0]), _text(coords[1])
        else:
            item["lon"] = item["lat"] = ""  # refused at the row as "lon must be a number"
        item[ROW] = str(i)
        out.append(item)
    return out


def write_json_table(rows: list[dict[str, str]]) -> bytes:
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2)


def read_any_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """``.json`` and ``.geojson`` (points) here, ``.csv``/``.xlsx`` through :func:`read_table`."""
    if filename.lower().endswith(".geojson"):
        return read_geojson_points(data)
    if filename.lower().endswith(".json"):
        return read_json_table(data)
    return read_table(data, filename)
