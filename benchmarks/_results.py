"""Shared writer for ``benchmarks/results.json``.

Every benchmark script calls :func:`record` once per figure; entries are merged
into the file so that scripts can run one at a time or all together (``make bench``).
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

RESULTS = Path(__file__).with_name("results.json")


def record(
    name: str,
    value: float,
    unit: str,
    target: float | None,
    better: Literal["higher", "lower"],
    **extra: object,
) -> None:
    """Merge one figure into results.json and print it."""
    data: dict[str, dict[str, object]] = {}
    if RESULTS.exists():
        data = json.loads(RESULTS.read_text(encoding="utf-8"))
    entry: dict[str, object] = {"value": value, "unit": unit, "target": target, "better": better}
    entry.update(extra)
    entry["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    entry["machine"] = f"{platform.machine()} {platform.node()} python{platform.python_version()}"
    data[name] = entry
    RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    ok = target is None or (value >= target if better == "higher" else value <= target)
    print(f"{name}: {value:.4g} {unit} (target {target}, {'met' if ok else 'MISSED'})")
