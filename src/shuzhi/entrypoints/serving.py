"""What ``shuzhi serve`` sets up before uvicorn starts its worker processes."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import Any

from shuzhi.config import Settings


def prepare_workers(settings: Settings, workers: int, log_level: str = "info") -> dict[str, Any]:
    """Share Prometheus metrics between worker processes and log JSON lines; returns uvicorn's log config.

    With more than one worker each process counts its own requests; prometheus-client's multiprocess
    mode keeps them in files under one directory, wiped at start so a restart does not add old counts.
    """
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = Path(settings.data_dir) / "prometheus"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())
    level = log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "shuzhi.entrypoints.api.observability.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


#: Allocations between young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect cyclic garbage less often in a long-running server process.

    A batch of readings allocates tens of thousands of short-lived dicts and tuples; with CPython's
    default thresholds each batch set off several full collections that walk every object the process
    holds (the app, the ORM, the caches) — about 40 % of the ingest path's CPU (measured: 4.75 → 3.0 µs
    per reading, docs/benchmarks.md). Reference counting still frees almost everything at once; only
    cycles wait a little longer. Idempotent.
    """
    young, _, _ = gc.get_threshold()
    if young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
