"""The record: the one writer of ``benchmarks/results.json`` (full runs) and ``results-quick.json`` (smoke runs).

Every benchmark script calls :func:`record` once per figure and ends with ``sys.exit(finish())``.
Each entry carries what is needed to reproduce it and to judge it (issue #16):

- ``commit`` and ``dirty`` (uncommitted changes outside the generated record files), ``date`` (UTC);
- ``machine``: CPU model, logical cores, cores this process may use, memory, kernel, load average
  when the script started and when the figure was taken, and ``conditions``: ``quiet`` or ``under load``;
- ``python`` (implementation and version);
- ``database``: engine, server version and every setting whose ``pg_settings.source`` is not ``default``;
  on a Citus coordinator the engine is ``citus`` and ``citus`` holds the cluster (``_citus.provenance``:
  Citus version, workers, shards per distributed table, reference tables);
- ``command``: the command line as run, and ``mode``: ``full`` or ``quick``;
- ``volume``: the data the figure ran on (events stored, series, grids …);
- ``samples``: min / median / max (and the values) over the repeats; ``value`` is the figure itself;
- ``ratio``: both sides of a ratio, each with its value and unit;
- ``target``, ``better`` and ``status``: ``met``, ``missed``, ``noise`` or ``no target``.

A missed target is recorded as missed and makes :func:`finish` return 1, so the run exits non-zero.
An overhead (``kind="overhead"``) below zero cannot be a saving: it is recorded as ``noise``, never as met.
``--quick`` on the command line (or ``SHUZHI_BENCH_QUICK=1``) sends entries to ``results-quick.json``;
a quick run never writes ``results.json``.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
QUICK_RESULTS = HERE / "results-quick.json"
LEGACY_RESULTS = HERE / "results-legacy.json"
# Files the benchmarks themselves rewrite: changes to them do not make a run "dirty".
GENERATED = ("benchmarks/results.json", "benchmarks/results-quick.json", "docs/benchmarks.md")
STATUSES = ("met", "missed", "noise", "no target")

_START_LOAD: list[float] | None = None
_OUTCOMES: list[tuple[str, str]] = []
_DB_CACHE: dict[str, dict[str, Any]] = {}


class RecordError(ValueError):
    """A figure handed to :func:`record` that the record cannot hold honestly."""


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return [float(x) for x in os.getloadavg()]


def mark_start() -> None:
    """Note the load average before the script does anything (called on import)."""
    global _START_LOAD
    if _START_LOAD is None:
        _START_LOAD = _loadavg()


mark_start()


def is_quick(argv: Iterable[str] | None = None) -> bool:
    """A smoke run: ``--quick`` among the arguments or ``SHUZHI_BENCH_QUICK=1``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return "--quick" in args or os.environ.get("SHUZHI_BENCH_QUICK") == "1"


def target_file(quick: bool) -> Path:
    """Where an entry goes: quick runs never reach ``results.json``."""
    return QUICK_RESULTS if quick else RESULTS


# -- provenance -----------------------------------------------------------------------------------

def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    # only trailing newlines go: `git status --porcelain` lines start with a meaningful space
    return out.stdout.rstrip("\n") if out.returncode == 0 else ""


def git_state() -> dict[str, Any]:
    """The commit checked out and whether anything but the generated record files differs from it."""
    commit = _git("rev-parse", "HEAD").strip() or "unknown"
    excludes = [f":(exclude){p}" for p in GENERATED]
    status = _git("status", "--porcelain", "--", ".", *excludes)
    return {"commit": commit, "dirty": bool(status), "dirty_files": status.splitlines()[:20]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """CPU model and cores, memory, kernel and the load average now and at the script's start."""
    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = cores
    start = _START_LOAD or _loadavg()
    now = _loadavg()
    # "quiet": nothing else kept the cores busy in the minute before the script started.
    quiet = start[0] <= 0.5 * cores
    return {
        "cpu_model": _cpu_model(), "cores": cores, "cores_usable": usable, "memory_mb": _memory_mb(),
        "arch": platform.machine(), "kernel": platform.release(), "hostname": platform.node(),
        "load_average_start": start, "load_average_end": now,
        "conditions": os.environ.get("SHUZHI_BENCH_CONDITIONS") or ("quiet" if quiet else "under load"),
    }


def python_info() -> dict[str, str]:
    return {"implementation": platform.python_implementation(), "version": platform.python_version()}


def database_info(url: str | None) -> dict[str, Any]:
    """Engine, server version and the non-default settings (``pg_settings.source <> 'default'``); on a Citus
    coordinator, engine ``citus`` and the cluster it distributes over."""
    if not url:
        return {"engine": "none"}
    if url in _DB_CACHE:
        return _DB_CACHE[url]
    if url.startswith("sqlite"):
        import sqlite3

        info: dict[str, Any] = {"engine": "sqlite", "version": sqlite3.sqlite_version, "settings": {}}
    else:
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            rows = conn.execute(
                "SELECT name, setting, unit, source FROM pg_settings WHERE source <> 'default' ORDER BY name"
            ).fetchall()
            database = conn.execute("SELECT current_database()").fetchone()
            from _citus import provenance  # beside this module

            cluster = provenance(conn)
        info = {
            "engine": "postgresql" if cluster is None else "citus", "version": version[0] if version else "unknown",
            "database": database[0] if database else None,
            "settings": {n: {"setting": s, "unit": u, "source": src} for n, s, u, src in rows},
        }
        if cluster is not None:
            info["citus"] = cluster
    _DB_CACHE[url] = info
    return info


def command_line() -> str:
    script = Path(sys.argv[0])
    try:
        shown = str(script.resolve().relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return shlex.join(["python", shown, *sys.argv[1:]])


# -- judging --------------------------------------------------------------------------------------

def summarise(samples: Iterable[float]) -> dict[str, Any]:
    values = [float(v) for v in samples]
    if not values:
        raise RecordError("samples: at least one repeat is needed")
    return {"n": len(values), "min": min(values), "median": statistics.median(values), "max": max(values),
            "values": values}


def judge(value: float, target: float | None, better: str, kind: str = "figure") -> str:
    """``met`` / ``missed`` against the target; an overhead below zero is ``noise`` (a check cannot save time)."""
    if kind == "overhead" and value < 0:
        return "noise"
    if target is None:
        return "no target"
    ok = value >= target if better == "higher" else value <= target
    return "met" if ok else "missed"


def _side(side: Mapping[str, Any], which: str) -> dict[str, Any]:
    if "value" not in side or "label" not in side:
        raise RecordError(f"ratio {which}: needs 'label' and 'value' (and a 'unit')")
    return dict(side)


def build_entry(
    name: str,
    value: float,
    unit: str,
    target: float | None,
    better: Literal["higher", "lower"],
    *,
    volume: Mapping[str, Any],
    database: str | None,
    samples: Iterable[float] | None = None,
    ratio: Mapping[str, Mapping[str, Any]] | None = None,
    kind: Literal["figure", "overhead"] = "figure",
    quick: bool = False,
    goal: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One entry with its provenance; pure apart from reading the machine, git and the database."""
    if better not in ("higher", "lower"):
        raise RecordError(f"{name}: better must be 'higher' or 'lower', not {better!r}")
    if not isinstance(volume, Mapping):
        raise RecordError(f"{name}: volume must say what the figure ran on (events stored, series, grids …)")
    if ratio is not None:
        ratio = {"numerator": _side(ratio["numerator"], "numerator"),
                 "denominator": _side(ratio["denominator"], "denominator")}
    sampled = summarise([value] if samples is None else samples)
    status = judge(float(value), target, better, kind)
    entry: dict[str, Any] = {
        "name": name, "value": value, "unit": unit, "target": target, "better": better, "kind": kind,
        "status": status, "goal": goal, "samples": sampled, "ratio": ratio, "volume": dict(volume),
        "mode": "quick" if quick else "full",
        **git_state(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "python": python_info(), "database": database_info(database),
        "command": command_line(),
    }
    entry.update(extra)
    return entry


def write_entry(entry: dict[str, Any], path: Path) -> None:
    """Merge one entry into ``path`` under a lock (scripts may run side by side)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_suffix(path.suffix + ".lock")
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        data[entry["name"]] = entry
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    lock.unlink(missing_ok=True)


def record(
    name: str,
    value: float,
    unit: str,
    target: float | None,
    better: Literal["higher", "lower"],
    *,
    volume: Mapping[str, Any],
    database: str | None,
    samples: Iterable[float] | None = None,
    ratio: Mapping[str, Mapping[str, Any]] | None = None,
    kind: Literal["figure", "overhead"] = "figure",
    goal: str | None = None,
    path: Path | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write one figure with its provenance to the record and print it; returns the entry.

    ``value`` is the figure as the goal defines it (a median, a p99 …); ``samples`` are its repeats;
    ``database`` is the URL the figure ran against (``None`` for pure-Python figures)."""
    quick = is_quick()
    entry = build_entry(name, value, unit, target, better, volume=volume, database=database, samples=samples,
                        ratio=ratio, kind=kind, quick=quick, goal=goal, **extra)
    write_entry(entry, path or target_file(quick))
    _OUTCOMES.append((name, entry["status"]))
    s = entry["samples"]
    spread = f" (min {s['min']:.4g}, median {s['median']:.4g}, max {s['max']:.4g}; n={s['n']})" if s["n"] > 1 else ""
    flag = {"met": "met", "missed": "MISSED", "noise": "NOISE (not met)", "no target": "no target"}[entry["status"]]
    print(f"{name}: {value:.4g} {unit}{spread} target {target} → {flag}"
          f"{' [quick: results-quick.json]' if quick else ''}", flush=True)
    return entry


def outcomes() -> list[tuple[str, str]]:
    return list(_OUTCOMES)


def finish(render: bool = True) -> int:
    """Exit status of the script: 1 when any figure missed its target, else 0. Noise is printed.
    The tables of docs/benchmarks.md are regenerated from the record, so that they never lag behind it."""
    if render and _OUTCOMES:
        import render_docs  # beside this module; imported late: it imports this one

        render_docs.main([])
    missed = [n for n, s in _OUTCOMES if s == "missed"]
    noise = [n for n, s in _OUTCOMES if s == "noise"]
    if noise:
        print("noise (a negative overhead is not a result): " + ", ".join(noise), flush=True)
    if missed:
        print("MISSED: " + ", ".join(missed), flush=True)
        return 1
    return 0


# -- memory -----------------------------------------------------------------------------------------

def rss_mb(pid: int) -> dict[str, float] | None:
    """Resident memory of a process now and at its peak (``VmRSS``/``VmHWM``), MB; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found: dict[str, float] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found["rss_mb" if key == "VmRSS" else "peak_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return found or None


def tree_rss_mb(pid: int) -> dict[str, Any]:
    """Memory of a process and its children (uvicorn's master and workers): each, and the largest worker."""
    out: dict[str, Any] = {"processes": {}}
    for p in [pid, *_children(pid)]:
        m = rss_mb(p)
        if m:
            out["processes"][str(p)] = m
    workers = [m for p, m in out["processes"].items() if int(p) != pid] or list(out["processes"].values())
    out["largest_rss_mb"] = max((m["rss_mb"] for m in workers), default=None)
    out["largest_peak_mb"] = max((m["peak_mb"] for m in workers), default=None)
    return out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            for k in kids:
                found.append(int(k))
                found.extend(_children(int(k)))
    except OSError:
        pass
    return found
