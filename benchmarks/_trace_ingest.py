"""``shuzhi ingest-mqtt`` with stage timestamps, for ``bench_warning_latency.py --trace``.

Runs the production command unchanged (same options, same default batching) after wrapping a few
functions to note wall-clock times (``time.time()``, comparable across the benchmark's processes) as
JSON lines in ``$SHUZHI_TRACE_FILE``:

- ``{"k": "recv", "grid", "t"}``: a probe's message reached the subscriber (paho's network thread);
- ``{"k": "batch", "collect", "start", "stored", "hooked", "committed", "acked", "n", "probes",
  "queued"}``: one batch — when its gathering began, when ingest began, readings stored, reading hooks
  (threshold evaluation, warnings, events) done, committed, acknowledged; readings; probe grids in it;
  messages still queued when it was handed to ingest;
- ``{"k": "event", "grid", "registered", "dispatched"}``: a probe's event registered and dispatched.

Usage: ``python benchmarks/_trace_ingest.py ingest-mqtt …`` (the arguments of ``shuzhi``).
"""

from __future__ import annotations

import cProfile
import os
import sys
import threading
import time
from typing import Any

import orjson

from shuzhi.services.bootstrap import bootstrap

_out = open(os.environ.get("SHUZHI_TRACE_FILE", "trace.jsonl"), "ab", buffering=0)  # noqa: SIM115
_lock = threading.Lock()
_batch: dict[str, Any] = {}


def _write(row: dict[str, Any]) -> None:
    with _lock:
        _out.write(orjson.dumps(row) + b"\n")


def _wire() -> None:
    from shuzhi.adapters import mqtt
    from shuzhi.services import hooks, intake
    from shuzhi.services.sensing import ingest, warnings

    bootstrap()
    on_message, collect, store_batch = mqtt.Subscriber._on_message, mqtt.Subscriber._collect, mqtt.Subscriber._store

    def _on_message(self: Any, client: Any, userdata: Any, msg: Any) -> None:
        if "PROBE_LEVEL" in msg.topic:
            _write({"k": "recv", "grid": msg.topic.rsplit("/", 1)[-1], "t": time.time()})
        on_message(self, client, userdata, msg)

    def _collect(self: Any, stop: Any) -> Any:
        _batch["collect"] = time.time()
        return collect(self, stop)

    def _store(self: Any, batch: Any) -> None:
        _batch["start"] = time.time()
        _batch["queued"] = self.messages.qsize()
        probes = [item["series"] for m in batch for item in m.items
                  if type(item) is dict and item.get("indicator") == "PROBE_LEVEL"]
        _batch["probes"] = probes
        _batch["n"] = sum(len(m.items) for m in batch)
        store_batch(self, batch)
        _batch["acked"] = time.time()
        _write({"k": "batch", **_batch})
        _batch.clear()

    mqtt.Subscriber._on_message = _on_message  # type: ignore[method-assign]
    mqtt.Subscriber._collect = _collect  # type: ignore[method-assign]
    mqtt.Subscriber._store = _store  # type: ignore[method-assign]

    real_ingest, real_store = ingest.ingest, ingest.store

    def _ingest(*a: Any, **kw: Any) -> Any:
        out = real_ingest(*a, **kw)
        _batch["committed"] = time.time()
        return out

    def _store_rows(*a: Any, **kw: Any) -> Any:
        out = real_store(*a, **kw)
        _batch["stored"] = time.time()
        return out

    ingest.ingest = _ingest  # type: ignore[assignment]
    ingest.store = _store_rows  # type: ignore[assignment]

    profile_to = os.environ.get("SHUZHI_TRACE_PROFILE")  # cProfile of the reading hooks, dumped as it goes
    profiler = cProfile.Profile() if profile_to else None
    calls = [0]

    def _hooked(hook: Any) -> Any:
        def run(s: Any, batch: Any) -> Any:
            if profiler is not None:
                profiler.enable()
            out = hook(s, batch)
            _batch["hooked"] = time.time()
            if profiler is not None:
                profiler.disable()
                calls[0] += 1
                if calls[0] % 10 == 0:
                    profiler.dump_stats(profile_to)
            return out
        return run

    hooks.READING_HOOKS[:] = [_hooked(h) for h in hooks.READING_HOOKS]

    real_register, real_dispatch = intake.register_event, warnings._dispatch
    events: dict[int, dict[str, Any]] = {}

    def _register(s: Any, cmd: Any, *a: Any, **kw: Any) -> Any:
        ev = real_register(s, cmd, *a, **kw)
        if cmd.area_code:
            events[ev.id] = {"k": "event", "grid": cmd.area_code, "registered": time.time()}
        return ev

    def _dispatch(s: Any, ev: Any, at: Any) -> None:
        real_dispatch(s, ev, at)
        row = events.pop(ev.id, None)
        if row is not None:
            _write({**row, "dispatched": time.time()})

    intake.register_event = _register  # type: ignore[assignment]
    warnings._dispatch = _dispatch  # type: ignore[assignment]


if __name__ == "__main__":
    _wire()
    from shuzhi.entrypoints.cli import app

    sys.argv = ["shuzhi", *sys.argv[1:]]
    app()
