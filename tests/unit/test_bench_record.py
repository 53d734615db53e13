"""The benchmark record (benchmarks/_results.py) and the docs renderer (benchmarks/render_docs.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _results  # noqa: E402
import render_docs  # noqa: E402
from catalogue import BENCHES, figure_names  # noqa: E402

PROVENANCE = ("commit", "dirty", "date", "machine", "python", "database", "command", "volume", "samples",
              "target", "status", "mode")


@pytest.fixture
def record_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    full, quick = tmp_path / "results.json", tmp_path / "results-quick.json"
    full.write_text(json.dumps({"kept": {"value": 1, "commit": "abc"}}) + "\n")
    monkeypatch.setattr(_results, "RESULTS", full)
    monkeypatch.setattr(_results, "QUICK_RESULTS", quick)
    monkeypatch.setattr(_results, "_OUTCOMES", [])
    monkeypatch.delenv("SHUZHI_BENCH_QUICK", raising=False)
    return full, quick


def _db_url() -> str:
    return os.environ.get("SHUZHI_TEST_DATABASE_URL") or "sqlite://"


def test_an_entry_carries_its_provenance(record_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    full, _quick = record_files
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_x.py", "--events", "10"])
    entry = _results.record(
        "x_ratio", 0.6, "ratio", 0.5, "higher", volume={"events_stored": 10}, database=_db_url(),
        samples=[0.55, 0.6, 0.7],
        ratio={"numerator": {"label": "HTTP", "value": 600, "unit": "events/s"},
               "denominator": {"label": "SQL", "value": 1000, "unit": "rows/s"}})
    for key in PROVENANCE:
        assert key in entry, key
    assert len(entry["commit"]) == 40 and isinstance(entry["dirty"], bool)
    m = entry["machine"]
    assert m["cpu_model"] and m["cores"] >= 1 and m["memory_mb"] > 0
    assert m["conditions"] in ("quiet", "under load")
    assert entry["python"]["version"].startswith("3.")
    assert entry["database"]["engine"] in ("postgresql", "sqlite", "citus")
    assert entry["database"]["version"]
    if entry["database"]["engine"] != "sqlite":
        # pg_settings rows whose source is not 'default': at least the server's own configuration file
        assert entry["database"]["settings"]
        assert all(s["source"] != "default" for s in entry["database"]["settings"].values())
    assert entry["command"] == "python benchmarks/bench_x.py --events 10"
    assert entry["samples"] == {"n": 3, "min": 0.55, "median": 0.6, "max": 0.7, "values": [0.55, 0.6, 0.7]}
    assert entry["ratio"]["numerator"]["value"] == 600 and entry["ratio"]["denominator"]["value"] == 1000
    assert entry["status"] == "met" and entry["mode"] == "full"
    stored = json.loads(full.read_text())
    assert stored["x_ratio"]["commit"] == entry["commit"] and stored["kept"] == {"value": 1, "commit": "abc"}
    assert _results.finish(render=False) == 0


def test_a_quick_run_never_touches_the_full_record(record_files: tuple[Path, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    full, quick = record_files
    before = full.read_bytes()
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_x.py", "--quick"])
    entry = _results.record("x_events_per_s", 10.0, "events/s", 500, "higher", volume={"events_stored": 5},
                            database=None)
    assert full.read_bytes() == before
    assert json.loads(quick.read_text())["x_events_per_s"]["mode"] == "quick"
    assert entry["database"] == {"engine": "none"}


def test_a_missed_target_is_recorded_as_missed_and_fails_the_run(record_files: tuple[Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    full, _ = record_files
    monkeypatch.setattr(sys, "argv", ["bench_x.py"])
    _results.record("x_s", 1.4, "s", 1.0, "lower", volume={"open_tasks": 1}, database=None)
    _results.record("y_s", 0.4, "s", 1.0, "lower", volume={"open_tasks": 1}, database=None)
    assert json.loads(full.read_text())["x_s"]["status"] == "missed"
    assert _results.finish(render=False) == 1


def test_a_negative_overhead_is_noise_not_met(record_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_x.py"])
    entry = _results.record("x_overhead_pct", -23.2, "%", 10, "lower", kind="overhead", volume={}, database=None)
    assert entry["status"] == "noise"
    assert _results.judge(4.0, 10, "lower", "overhead") == "met"
    assert _results.judge(12.0, 10, "lower", "overhead") == "missed"
    assert _results.finish(render=False) == 0


def test_a_ratio_needs_both_sides_and_a_figure_its_volume() -> None:
    with pytest.raises(_results.RecordError, match="denominator"):
        _results.build_entry("r", 0.5, "ratio", None, "higher", volume={}, database=None,
                             ratio={"numerator": {"label": "a", "value": 1}, "denominator": {"value": 2}})
    with pytest.raises(_results.RecordError, match="volume"):
        _results.build_entry("r", 0.5, "ratio", None, "higher", volume=None, database=None)  # type: ignore[arg-type]
    with pytest.raises(_results.RecordError, match="repeat"):
        _results.build_entry("r", 0.5, "ratio", None, "higher", volume={}, database=None, samples=[])


def test_memory_of_this_process_is_read() -> None:
    mem = _results.rss_mb(os.getpid())
    assert mem is not None and 0 < mem["rss_mb"] <= mem["peak_mb"]
    assert _results.rss_mb(2**22 + 12345) is None


# -- the docs renderer --------------------------------------------------------------------------------

DOC = """# Benchmarks

Prose written by hand stays.

<!-- bench:summary -->
old table
<!-- /bench:summary -->

More prose.

<!-- bench:bench dispatch -->
<!-- /bench:bench -->

<!-- bench:quick -->
<!-- /bench:quick -->

<!-- bench:legacy -->
<!-- /bench:legacy -->
"""


def _entry(name: str, value: float, status: str, mode: str = "full") -> dict[str, object]:
    return {"name": name, "value": value, "unit": "ms", "status": status, "mode": mode, "commit": "f" * 40,
            "dirty": False, "date": "2026-12-07T03:00:00+00:00",
            "samples": {"n": 3, "min": value * 0.9, "median": value, "max": value * 1.2},
            "volume": {"rules": 2000, "grids": 62000},
            "machine": {"cores": 2, "cpu_model": "AMD EPYC", "memory_mb": 24000, "conditions": "quiet",
                        "load_average_start": [0.1, 0.2, 0.3]},
            "database": {"engine": "postgresql", "version": "15.5"}}


def test_the_renderer_fills_the_tables_and_keeps_the_prose() -> None:
    results = {"dispatch_decision_service_p99_ms": _entry("dispatch_decision_service_p99_ms", 2.5, "missed")}
    quick = {"views_inbox_p95_ms": _entry("views_inbox_p95_ms", 12.0, "met", "quick")}
    legacy = {"note": "Before the record: not reproducible.",
              "entries": {"geo_locate_us_per_point": {"value": 11.2, "unit": "µs", "measured_at": "2026-11-23"}}}
    out = render_docs.render(DOC, results, quick, legacy)
    assert "Prose written by hand stays." in out and "More prose." in out and "old table" not in out
    # every figure of the catalogue is listed, measured or not
    for name in figure_names():
        assert f"`{name}`" in out
    assert "not measured with the record yet" in out
    line = next(x for x in out.splitlines() if "(`dispatch_decision_service_p99_ms`)" in x)
    assert "**2.5 ms**" in line and "**missed**" in line and "2.25 / 2.5 / 3 (n=3)" in line
    assert "grids 62,000" in line
    assert "`ffffffff`" in out and "PostgreSQL 15.5" in out and "quiet" in out
    assert "**not** a figure" in out and "`views_inbox_p95_ms`" in out
    assert "Before the record: not reproducible." in out and "11.2 µs" in out
    # rendering is idempotent: a second pass changes nothing
    assert render_docs.render(out, results, quick, legacy) == out


def test_a_figure_on_citus_is_listed_beside_its_one_machine_figure() -> None:
    one, citus = "intake_http_events_per_s", "intake_http_events_per_s_citus"
    e = _entry(citus, 120.0, "missed")
    e["database"] = {"engine": "citus", "version": "15.20", "citus": {"version": "13.2.2", "workers": 2,
                                                                        "shard_count": 48}}
    out = render_docs.render(DOC.replace("bench dispatch", "bench intake"), {one: _entry(one, 300.0, "missed"),
                                                                              citus: e}, {}, {})
    lines = out.splitlines()
    at = next(i for i, x in enumerate(lines) if f"(`{one}`)" in x)
    assert f"(`{citus}`)" in lines[at + 1] and "≥ 500 events/s" in lines[at + 1]
    assert "On the local Citus cluster:" in out and "make bench-one NAME=intake_citus" in out
    assert "Citus 13.2.2 on PostgreSQL 15.20, 2 workers, 48 shards a table" in out


def test_the_renderer_refuses_an_unknown_marker() -> None:
    with pytest.raises(ValueError, match="unknown marker"):
        render_docs.render("<!-- bench:bench nosuch -->\n<!-- /bench:bench -->", {}, {}, {})


def test_every_catalogue_script_exists_and_published_docs_match_the_record() -> None:
    for bench in BENCHES:
        assert (BENCH / bench.script).exists(), bench.script
    assert render_docs.main(["--check"]) == 0


def test_the_capacity_plan_multiplies_the_record_by_the_city_and_names_what_is_missing() -> None:
    import capacity

    demand = capacity.Demand(devices=3_000_000, reading_interval_s=300, district_events=1_670, district_days=167,
                             districts=10, peak_factor=10, utilisation=0.5, raw_reading_days=10, node_cores=16,
                             node_disk_tb=4.0)
    ingest = {**_entry("ingest_http_cpu_us_per_reading", 40.0, "no target"), "server": 30.0, "postgresql": 10.0}
    results = {"ingest_http_cpu_us_per_reading": ingest,
               "storage_bytes_per_reading": _entry("storage_bytes_per_reading", 100.0, "no target"),
               "intake_http_cpu_ms_per_event": _entry("intake_http_cpu_ms_per_event", 5.0, "no target"),
               # a quick run is never a figure: the plan leaves it out
               "storage_bytes_per_event": _entry("storage_bytes_per_event", 4000.0, "no target", "quick")}
    out = capacity.plan(results, demand)
    # 3 M devices / 300 s = 10,000 readings/s; the database's 10 µs each = 0.1 cores, ÷ 50 % = 0.2 cores;
    # over HTTP the API's 30 µs = 0.3 cores, ÷ 50 % = 0.6 cores
    assert "**10,000 readings/s**" in out and "= 0.1 cores" in out and "**0.2 cores** (1 worker node(s))" in out
    assert "**0.6 cores**" in out
    # 10,000/s × 86,400 s × 100 B = 86.4 GB a day = 0.09 TB; × 10 days = 0.9 TB (rounded from 0.864)
    assert "**0.9 TB**" in out and "(1 node(s) of disk)" in out
    # 10 events a day × 10 districts = 100 a day; peak 100/86,400 × 10 = 0.0116/s
    assert "**100 events a day**" in out
    missing = out.split("Not in the record yet")[1]
    assert "`storage_bytes_per_event`" in missing and "`mqtt_shared_readings_per_s_1p`" in missing
    assert "`ingest_http_cpu_us_per_reading`" not in missing
