"""Rules of the indicator tree and of readings, as plain functions (no I/O).

- The tree is sector (板块) → runway (跑道) → sub-runway (子跑道) → indicator (体征指标) (domain.md §2).
- An indicator's value type decides which values a reading may carry; a number must be finite.
- Reporting frequencies are written ``30s``, ``5m``, ``1h``, ``1d`` (or plain seconds).
- History queries pick a bucket so that a chart gets at most a few hundred points whatever the range.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from enum import StrEnum


class NodeKind(StrEnum):
    SECTOR = "sector"
    RUNWAY = "runway"
    SUB_RUNWAY = "sub_runway"


class ValueType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"


#: Levels an indicator may be measured at (areas below the city).
MEASURED_LEVELS = ("city", "district", "town", "village", "grid")

_FREQ = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|d|day)?\s*$", re.IGNORECASE)
_FREQ_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_FREQ_WORDS = {"实时": 60, "每分钟": 60, "每5分钟": 300, "每小时": 3600, "每日": 86400, "每天": 86400}


def parse_frequency(text: str) -> int:
    """``"5m"`` → 300 seconds; raises ``ValueError`` with a message fit for a user."""
    text = text.strip()
    if text in _FREQ_WORDS:
        return _FREQ_WORDS[text]
    m = _FREQ.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a frequency (write 30s, 5m, 1h or 1d)")
    seconds = float(m.group(1)) * _FREQ_UNITS[(m.group(2) or "s").lower()]
    if seconds < 1 or seconds > 31 * 86400:
        raise ValueError("a reporting frequency lies between 1 second and 31 days")
    return int(seconds)


def format_frequency(seconds: int) -> str:
    """The shortest exact text for a frequency: 300 → ``"5m"``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_TRUE = {"1", "true", "yes", "y", "是", "√", "有"}
_FALSE = {"0", "false", "no", "n", "否", "×", "无", ""}


def parse_flag(text: str) -> bool:
    """Spreadsheet yes/no: ``是``/``否``, ``true``/``false``, ``1``/``0``, ``y``/``n``; empty is no."""
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"'{text}' is not yes/no (write 是/否 or true/false)")


def coerce_value(raw: object, value_type: ValueType) -> float:
    """The stored float of a reading's value, or ``ValueError`` saying why it is refused.

    JSON gives numbers and booleans, CSV gives text; both are accepted when they mean a value of the
    indicator's type. NaN and infinities are refused: they would poison every average and threshold.
    """
    if isinstance(raw, bool):
        if value_type is ValueType.BOOLEAN:
            return 1.0 if raw else 0.0
        raise ValueError(f"a boolean where a {value_type.value} is expected")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if value_type is ValueType.BOOLEAN and text.lower() in ("true", "false"):
            return 1.0 if text.lower() == "true" else 0.0
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"'{text[:40]}' is not a number") from None
    elif raw is None:
        raise ValueError("value is missing")
    else:
        raise ValueError(f"a {type(raw).__name__} is not a value")
    if not math.isfinite(value):
        raise ValueError("value is not finite (NaN or infinity)")
    if value_type is ValueType.INTEGER and not value.is_integer():
        raise ValueError(f"{value} is not a whole number")
    if value_type is ValueType.BOOLEAN and value not in (0.0, 1.0):
        raise ValueError(f"{value} is not a boolean (0 or 1)")
    return value


#: Bucket sizes a history query may use, smallest first.
BUCKETS = (0, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)


def choose_bucket(start: datetime, end: datetime, max_points: int = 500, frequency_s: int = 60) -> int:
    """Seconds per point for a chart of ``start``–``end``: raw (0) while the raw readings fit in
    ``max_points``, else the smallest bucket that does (hourly and longer come from the rollups)."""
    span = max((end - start).total_seconds(), 1.0)
    if span / max(frequency_s, 1) <= max_points:
        return 0
    for size in BUCKETS[1:]:
        if span / size <= max_points:
            return size
    return BUCKETS[-1]


def bucket_start(at: datetime, size: int) -> datetime:
    """The start of the ``size``-second bucket holding ``at`` (buckets aligned to the Unix epoch, so
    hourly buckets are whole UTC hours — also whole hours in Asia/Shanghai, UTC+8)."""
    ts = at.timestamp()
    return at - timedelta(seconds=ts - (ts // size) * size)
