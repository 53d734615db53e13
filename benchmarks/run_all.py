"""``make bench`` / ``make bench-one NAME=…``: run the published benchmarks with their published flags.

``run_all.py [--quick] [NAME …]``: every benchmark of ``catalogue.py`` (or those named), each in its own
process, with the flags in the catalogue; ``--quick`` runs each script's smoke run instead (written to
``results-quick.json`` only). Prepared databases are reused by the scripts when their fingerprint (schema
head, volume, seed) matches (``_prepared.py``). Afterwards the tables in ``docs/benchmarks.md`` are
regenerated from the record. Exit status: 0 when every script ran and every target was met, else 1.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from catalogue import BENCHES, by_name  # noqa: E402


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        print("names: " + ", ".join(b.name for b in BENCHES))
        return 0
    unknown = [a for a in argv if a.startswith("-") and a != "--quick"]
    if unknown:
        # A mistyped flag must not start the whole catalogue (hours of full runs) by accident.
        print(f"unknown option {unknown[0]}; usage: run_all.py [--quick] [NAME …]", file=sys.stderr)
        return 2
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    try:
        benches = [by_name(n) for n in names] if names else list(BENCHES)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    failed: list[str] = []
    for bench in benches:
        flags = bench.quick_args if quick else bench.args
        cmd = [sys.executable, str(HERE / bench.script), *flags]
        print(f"== {bench.name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        print(f"== {bench.name}: exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(f"{bench.name} (exit {rc})")
    rc_docs = subprocess.call([sys.executable, str(HERE / "render_docs.py")], cwd=HERE.parent)
    if failed:
        print("failed or missed a target: " + ", ".join(failed))
    return 1 if failed or rc_docs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
