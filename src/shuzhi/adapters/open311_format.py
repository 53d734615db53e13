"""Open311 documents as JSON and XML, from the same plain data.

GeoReport v2: "All text returned by the service, whether in XML, JSON, or any other text-based
content-type, MUST be encoded as UTF-8. Appropriate HTTP headers must be set, and the root element must
be preceded with the XML declaration including the encoding="UTF-8" attribute." XML is written with
:mod:`xml.etree.ElementTree` (escaping and encoding done by the library, Chinese text kept as is).
Lists become repeated child elements named by :data:`ITEM_TAGS` (``attributes`` → ``attribute`` …).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_request_updates": "request_update",
}


def w3_datetime(value: datetime) -> str:
    """ISO 8601 with the offset, in the centre's time zone ("1994-11-05T08:15:30-05:00")."""
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return w3_datetime(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


#: What XML 1.0 (§2.2 Char) does not allow: C0 controls other than tab, LF, CR; lone surrogates;
#: U+FFFE and U+FFFF. ElementTree escapes ``<&>`` but writes these as they are, which makes the whole
#: document unreadable for the client — one reporter's pasted control character would break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3_datetime(value)
    return xml_safe(str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _append(element, key, child)
    elif isinstance(value, list | tuple):
        tag = ITEM_TAGS.get(element.tag, "item")
        for item in value:
            _append(element, tag, item)
    else:
        element.text = _text(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    _fill(ET.SubElement(parent, xml_safe(tag)), value)


def to_xml(root: str, value: Any) -> bytes:
    """``<?xml version="1.0" encoding="UTF-8"?>`` then ``<root>…</root>``."""
    element = ET.Element(root)
    _fill(element, value)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def to_json(value: Any) -> bytes:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(fmt: str, root: str, value: Any) -> tuple[bytes, str]:
    """The body and its content type; for JSON the document is the value itself (the root has no name)."""
    if fmt == "xml":
        return to_xml(root, value), XML_TYPE
    return to_json(value), JSON_TYPE


def errors(fmt: str, code: int, description: str) -> tuple[bytes, str]:
    """``[{"code": 403, "description": "Invalid api_key"}]`` / ``<errors><error>…</error></errors>``."""
    return render(fmt, "errors", [{"code": code, "description": description}])
