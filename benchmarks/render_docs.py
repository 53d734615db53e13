"""Regenerate the tables of ``docs/benchmarks.md`` from the record (run by ``make bench`` and ``make bench-docs``).

Only the text between marker comments is replaced; the prose around them stays hand-written:

- ``<!-- bench:summary -->`` … ``<!-- /bench:summary -->``: every figure of ``catalogue.py``, measured
  (from ``results.json``) or marked as not measured with the record yet;
- ``<!-- bench:bench NAME -->`` … ``<!-- /bench:bench -->``: the figures of one benchmark, with provenance;
- ``<!-- bench:quick -->`` … ``<!-- /bench:quick -->``: smoke runs (``results-quick.json``), never figures;
- ``<!-- bench:legacy -->`` … ``<!-- /bench:legacy -->``: entries from before the record (``results-legacy.json``);
- ``<!-- bench:capacity -->`` … ``<!-- /bench:capacity -->`` (in ``docs/operations.md``): the capacity plan
  for Chongqing, computed from the record by ``capacity.py``.

A figure taken on the local Citus cluster (``NAME_citus``, catalogue ``on_citus``) is listed right after its
one-machine figure in the summary, and its benchmark's table follows the one-machine table in that block.

``render_docs.py --check`` exits 1 when the docs differ from what the record gives (for CI).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import LEGACY_RESULTS, QUICK_RESULTS, RESULTS  # noqa: E402
from capacity import plan  # noqa: E402
from catalogue import BENCHES, CITUS, Bench, Figure, citus_twin  # noqa: E402

DOC = HERE.parent / "docs" / "benchmarks.md"
DOCS = (DOC, HERE.parent / "docs" / "operations.md")
BLOCK = re.compile(r"(<!-- bench:(\w+)(?: ([\w-]+))? -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)
STATUS = {"met": "met", "missed": "**missed**", "noise": "noise (not met)", "no target": "—"}


def fmt(x: Any) -> str:
    """A number as people read it: thousands separated, four significant digits below 1,000."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == int(x):
        return f"{int(x)}"
    return f"{x:.4g}"


def _measured(e: Mapping[str, Any]) -> str:
    text = f"**{fmt(e['value'])} {e['unit']}**"
    ratio = e.get("ratio")
    if ratio:
        n, d = ratio["numerator"], ratio["denominator"]
        text += (f" ({n['label']} {fmt(n['value'])} {n.get('unit', '')} ÷ {d['label']} {fmt(d['value'])} "
                 f"{d.get('unit', '')})").replace("  ", " ")
    return text


def _spread(e: Mapping[str, Any]) -> str:
    s = e.get("samples") or {}
    if not s or s.get("n", 1) <= 1:
        return "1 run"
    return f"{fmt(s['min'])} / {fmt(s['median'])} / {fmt(s['max'])} (n={s['n']})"


def _volume(e: Mapping[str, Any]) -> str:
    vol = e.get("volume") or {}
    return ", ".join(f"{k.replace('_', ' ')} {fmt(v)}" for k, v in vol.items()) or "—"


def _where(e: Mapping[str, Any]) -> str:
    m = e.get("machine") or {}
    db = e.get("database") or {}
    dbtxt = db.get("engine", "—") if db.get("engine") != "postgresql" else f"PostgreSQL {db.get('version', '?')}"
    if db.get("engine") == "citus":
        c = db.get("citus") or {}
        dbtxt = (f"Citus {c.get('version', '?')} on PostgreSQL {db.get('version', '?')}, {c.get('workers', '?')} "
                 f"workers, {c.get('shard_count', '?')} shards a table")
    commit = str(e.get("commit", "?"))[:8] + ("+dirty" if e.get("dirty") else "")
    return (f"{e.get('date', '?')[:16].replace('T', ' ')} UTC, `{commit}`, {m.get('cores', '?')} × "
            f"{m.get('cpu_model', '?')}, {fmt(m.get('memory_mb'))} MB, {m.get('conditions', '?')} "
            f"(load {fmt((m.get('load_average_start') or [None])[0])}), {dbtxt}")


_ALL_NAMES = {f.name for b in BENCHES for f in b.figures}


def _side_by_side() -> list[tuple[Bench, Figure]]:
    """Every (benchmark, figure) of the catalogue, each Citus figure right after its one-machine one."""
    twins = {f.name: (b, f) for b in BENCHES if b.name.endswith(CITUS) for f in b.figures}
    out: list[tuple[Bench, Figure]] = []
    for bench in BENCHES:
        for f in bench.figures:
            if f.name in twins and f.name[: -len(CITUS)] in _ALL_NAMES:
                continue  # listed beside its one-machine figure
            out.append((bench, f))
            if f.name + CITUS in twins:
                out.append(twins[f.name + CITUS])
    return out


def summary(results: Mapping[str, Any]) -> str:
    rows = ["| issue | figure | measured | min / median / max | target | status | volume |",
            "|---|---|---|---|---|---|---|"]
    for bench, f in _side_by_side():
        e = results.get(f.name)
        if e is None:
            rows.append(f"| {bench.issue} | {f.goal} (`{f.name}`) | not measured with the record yet | — | "
                        f"{f.target} | — | — |")
        else:
            rows.append(f"| {bench.issue} | {f.goal} (`{f.name}`) | {_measured(e)} | {_spread(e)} | {f.target} | "
                        f"{STATUS.get(e['status'], e['status'])} | {_volume(e)} |")
    return "\n".join(rows) + "\n"


def bench_block(bench: Bench, results: Mapping[str, Any]) -> str:
    twin = citus_twin(bench)
    if twin is None:
        return _bench_table(bench, results)
    return _bench_table(bench, results) + "\nOn the local Citus cluster:\n\n" + _bench_table(twin, results)


def _bench_table(bench: Bench, results: Mapping[str, Any]) -> str:
    rows = [f"Command: `make bench-one NAME={bench.name}` (`python benchmarks/{bench.script} {' '.join(bench.args)}`). "
            f"What it measures and how: the docstring of `benchmarks/{bench.script}`.",
            "", "| figure | measured | min / median / max | target | status | taken |", "|---|---|---|---|---|---|"]
    for f in bench.figures:
        e = results.get(f.name)
        if e is None:
            rows.append(f"| `{f.name}` | not measured with the record yet | — | {f.target} | — | — |")
        else:
            rows.append(f"| `{f.name}` | {_measured(e)} | {_spread(e)} | {f.target} | "
                        f"{STATUS.get(e['status'], e['status'])} | {_where(e)} |")
    return "\n".join(rows) + "\n"


def quick_block(quick: Mapping[str, Any]) -> str:
    if not quick:
        return "No smoke run recorded.\n"
    rows = ["Smoke runs at small volume (`--quick`): they show that a script works, **not** a figure.", "",
            "| figure | value | status | volume | taken |", "|---|---|---|---|---|"]
    for name in sorted(quick):
        e = quick[name]
        rows.append(f"| `{name}` | {fmt(e['value'])} {e['unit']} | {STATUS.get(e['status'], e['status'])} | "
                    f"{_volume(e)} | {_where(e)} |")
    return "\n".join(rows) + "\n"


def legacy_block(legacy: Mapping[str, Any]) -> str:
    entries = legacy.get("entries", {})
    if not entries:
        return "None.\n"
    rows = [str(legacy.get("note", "Before the record: not reproducible.")), "",
            "| figure | value | target | measured at | machine |", "|---|---|---|---|---|"]
    for name in sorted(entries):
        e = entries[name]
        rows.append(f"| `{name}` | {fmt(e.get('value'))} {e.get('unit', '')} | {fmt(e.get('target'))} | "
                    f"{e.get('measured_at', '?')} | {e.get('machine', '?')} |")
    return "\n".join(rows) + "\n"


def render(text: str, results: Mapping[str, Any], quick: Mapping[str, Any], legacy: Mapping[str, Any]) -> str:
    benches = {b.name: b for b in BENCHES}

    def body(kind: str, arg: str | None) -> str:
        if kind == "summary":
            return summary(results)
        if kind == "quick":
            return quick_block(quick)
        if kind == "legacy":
            return legacy_block(legacy)
        if kind == "capacity":
            return plan(results)
        if kind == "bench" and arg in benches:
            return bench_block(benches[arg], results)
        raise ValueError(f"unknown marker bench:{kind} {arg or ''}".strip())

    return BLOCK.sub(lambda m: m.group(1) + body(m.group(2), m.group(3)) + m.group(5), text)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def main(argv: list[str]) -> int:
    records = _load(RESULTS), _load(QUICK_RESULTS), _load(LEGACY_RESULTS)
    stale = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        new = render(text, *records)
        if new == text:
            continue
        if "--check" in argv:
            stale.append(doc.name)
        else:
            doc.write_text(new, encoding="utf-8")
            print(f"docs/{doc.name}: regenerated from the record")
    if stale:
        print(f"{', '.join(stale)} not what the record gives: run make bench-docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
