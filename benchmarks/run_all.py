"""``make bench``: run every benchmark script in this folder, each in its own process.

Each script merges its figures into ``benchmarks/results.json``; a failing script is reported and the
others still run, and the exit code says whether all of them ran.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """``run_all.py [--reuse] [NAME …]``: every script, or those whose name contains a NAME.

    ``--reuse`` is passed to the scripts that know it, so that figures can be re-taken quickly on a quiet
    machine against the databases an earlier run prepared."""
    args = sys.argv[1:]
    reuse = "--reuse" in args
    wanted = [a for a in args if a != "--reuse"]
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not wanted or any(w in p.name for w in wanted))
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        extra = ["--reuse"] if reuse and "--reuse" in script.read_text(encoding="utf-8") else []
        rc = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent)
        print(f"== {script.name}: exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
