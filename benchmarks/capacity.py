"""The capacity plan for Chongqing, computed from the record (``results.json``) and the city's demand.

``render_docs.py`` writes it into ``docs/operations.md`` between ``<!-- bench:capacity -->`` markers, so
the plan's arithmetic always uses the figures the benchmarks last measured (full runs only) and shows
where each number comes from. A figure that is not in the record yet is said to be missing and its line
of the plan is left out, never guessed.

The demand side is stated here, with its source, so that an operator can replace it with their own:
the seeds' counts (city centre, districts, towns, grids, sensing devices, one district's events) and
two planning choices (the peak factor and the share of a core the plan lets each process use).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Demand:
    """The city's load. Defaults: Chongqing from the seeds (``../shared/domain.md`` §1, issue #25)."""

    districts: int = 41  # district/county centres (seed)
    towns: int = 1_031  # town/street centres (seed)
    grids: int = 62_000  # grids (seed)
    devices: int = 13_620_000  # sensing devices (seed, issue #25)
    reading_interval_s: int = 300  # one reading per device every five minutes (issue #25)
    district_events: int = 126_686  # Dazu's events … (seed)
    district_days: int = 167  # … in 5.5 months (seed)
    peak_factor: int = 10  # a storm or a flood against the average: a planning choice
    utilisation: float = 0.5  # the share of each core the plan fills, the rest is headroom: a choice
    raw_reading_days: int = 30  # raw readings kept hot before only the roll-ups remain: a choice
    node_cores: int = 16  # the node size the plan counts in
    node_disk_tb: float = 4.0  # usable disk per node


def _fig(results: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    e = results.get(name)
    return e if e and e.get("mode", "full") == "full" else None


def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def plan(results: Mapping[str, Any], d: Demand = Demand()) -> str:
    """The plan as Markdown: demand, what each part costs per unit (measured), and the nodes it takes."""
    out: list[str] = []
    missing: list[str] = []
    cores_per_node = d.node_cores * d.utilisation

    readings_s = d.devices / d.reading_interval_s
    events_day = d.district_events / d.district_days * d.districts
    events_peak_s = events_day / 86_400 * d.peak_factor
    out += ["**Demand** (seeds and issue #25; `benchmarks/capacity.py`, `Demand`):", "",
            f"- readings: {_n(d.devices)} devices × one per {d.reading_interval_s} s = **{_n(readings_s)} "
            f"readings/s**, {_n(readings_s * 86_400 / 1e9, 2)} billion rows a day;",
            f"- events: Dazu received {_n(d.district_events)} in {d.district_days} days "
            f"({_n(d.district_events / d.district_days)} a day); × {d.districts} districts = **{_n(events_day)} "
            f"events a day**, {_n(events_day / 86_400, 2)}/s on average, **{_n(events_peak_s, 1)}/s** at "
            f"{d.peak_factor}× the average;",
            f"- the plan fills {d.utilisation:.0%} of each core and counts in nodes of {d.node_cores} cores and "
            f"{_n(d.node_disk_tb, 1)} TB of usable disk.", ""]

    rows = ["| part | measured (record) | arithmetic | needs |", "|---|---|---|---|"]

    mqtt = _fig(results, "mqtt_shared_readings_per_s_1p")
    if mqtt and mqtt.get("subscriber_cpu_us_per_reading"):
        us = float(mqtt["subscriber_cpu_us_per_reading"])
        cores = readings_s * us / 1e6
        rate = float(mqtt["value"])
        # an ingest process is one Python thread doing the work, so at most one core each; and no process
        # is planned above the rate one was measured at (that run may have been limited by what it offered)
        procs = max(math.ceil(cores / d.utilisation), math.ceil(readings_s / rate))
        rows.append(f"| readings in over MQTT: ingest processes (shared subscription, threshold evaluation on) | "
                    f"{_n(us, 2)} µs CPU/reading in the subscriber; one process took {_n(rate)} readings/s "
                    f"(`mqtt_shared_readings_per_s_1p`) | {_n(readings_s)} × {_n(us, 2)} µs = {_n(cores, 2)} "
                    f"cores ÷ {d.utilisation:.0%} (one core a process); and {_n(readings_s)} ÷ {_n(rate)} | "
                    f"**{procs} process(es)**, the larger of the two |")
    else:
        missing.append("mqtt_shared_readings_per_s_1p")
    ingest_cpu = _fig(results, "ingest_http_cpu_us_per_reading")
    if ingest_cpu and ingest_cpu.get("postgresql") is not None:
        us = float(ingest_cpu["postgresql"])
        cores = readings_s * us / 1e6
        rows.append(f"| readings written: database CPU (the ingest statement into readings, latest values and "
                    f"roll-ups) | {_n(us, 1)} µs CPU/reading in PostgreSQL (`ingest_http_cpu_us_per_reading`) | "
                    f"{_n(readings_s)} × {_n(us, 1)} µs = {_n(cores, 1)} cores ÷ {d.utilisation:.0%} | "
                    f"**{_n(cores / d.utilisation, 1)} cores** ({math.ceil(cores / cores_per_node)} worker "
                    f"node(s)) |")
        api_us = float(ingest_cpu.get("server") or 0.0)
        if api_us:
            api_cores = readings_s * api_us / 1e6
            rows.append(f"| … or readings in over HTTP batches instead of MQTT: API processes | {_n(api_us, 1)} µs "
                        f"CPU/reading in the API (`ingest_http_cpu_us_per_reading`) | {_n(readings_s)} × "
                        f"{_n(api_us, 1)} µs = {_n(api_cores, 1)} cores ÷ {d.utilisation:.0%} | "
                        f"**{_n(api_cores / d.utilisation, 1)} cores** |")
    else:
        missing.append("ingest_http_cpu_us_per_reading")
    per_reading = _fig(results, "storage_bytes_per_reading")
    if per_reading:
        b = float(per_reading["value"])
        day_tb = readings_s * 86_400 * b / 1e12
        hot_tb = day_tb * d.raw_reading_days
        rows.append(f"| readings stored (raw, {d.raw_reading_days} days) | {_n(b, 1)} bytes/reading with indexes "
                    f"(`storage_bytes_per_reading`) | {_n(readings_s * 86_400 / 1e9, 2)} G rows × {_n(b, 1)} B = "
                    f"{_n(day_tb, 2)} TB a day × {d.raw_reading_days} | **{_n(hot_tb, 1)} TB** "
                    f"({math.ceil(hot_tb / d.node_disk_tb)} node(s) of disk) |")
    else:
        missing.append("storage_bytes_per_reading")

    intake_cpu = _fig(results, "intake_http_cpu_ms_per_event")
    if intake_cpu:
        ms = float(intake_cpu["value"])
        cores = events_peak_s * ms / 1e3
        rows.append(f"| events in at the peak (HTTP intake) | {_n(ms, 2)} ms CPU/event "
                    f"(`intake_http_cpu_ms_per_event`) | {_n(events_peak_s, 1)}/s × {_n(ms, 2)} ms = "
                    f"{_n(cores, 3)} cores | **{_n(cores / d.utilisation, 2)} cores** |")
    else:
        missing.append("intake_http_cpu_ms_per_event")
    per_event = _fig(results, "storage_bytes_per_event")
    if per_event:
        b = float(per_event["value"])
        year_gb = events_day * 365 * b / 1e9
        rows.append(f"| cases stored, a year | {_n(b)} bytes/event with tasks, timeline and indexes "
                    f"(`storage_bytes_per_event`) | {_n(events_day)} × 365 × {_n(b)} B | **{_n(year_gb, 1)} GB a "
                    f"year** |")
    else:
        missing.append("storage_bytes_per_event")
    memory = _fig(results, "memory_api_worker_intake_mb")
    if memory:
        mb = float(memory["value"])
        rows.append(f"| API worker memory | {_n(mb, 1)} MB a worker (`memory_api_worker_intake_mb`) | "
                    f"{d.node_cores} workers a node × {_n(mb, 1)} MB | **{_n(d.node_cores * mb / 1024, 1)} GB a "
                    f"node** |")
    else:
        missing.append("memory_api_worker_intake_mb")

    out += rows
    if missing:
        out += ["", "Not in the record yet, so left out of the plan: " + ", ".join(f"`{m}`" for m in missing) + "."]
    return "\n".join(out) + "\n"
