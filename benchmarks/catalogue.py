"""Every published figure: which script takes it, with which flags, and what goal it measures.

``make bench`` runs every entry with its ``args`` (the flags the published figures were taken with),
``make bench-one NAME=…`` runs one, and ``render_docs.py`` lists every figure here — measured or not —
in ``docs/benchmarks.md``. Change the flags here, and only here, so that the docs, the record and the
command cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    name: str  # key in results.json
    goal: str  # what the figure is, as the goal defines it
    target: str  # the goal's target as people read it ("—" when the figure has none)


@dataclass(frozen=True)
class Bench:
    name: str  # NAME for ``make bench-one``
    script: str  # file in benchmarks/
    args: tuple[str, ...]  # the published flags (rounds, repeats, volumes)
    issue: str
    figures: tuple[Figure, ...] = field(default_factory=tuple)
    quick_args: tuple[str, ...] = ("--quick",)


BENCHES: tuple[Bench, ...] = (
    Bench("intake", "bench_intake.py", ("--events", "1000000", "--requests", "6000", "--rounds", "3"), "#2 #5", (
        Figure("intake_http_events_per_s", "events/s over HTTP, PostgreSQL, ≥ 1 M events stored with timelines, "
               "tasks and clocks, many tokens, idempotency keys, production rate limiter; median of rounds",
               "≥ 500 events/s"),
        Figure("intake_http_vs_sql_baseline_ratio", "… ÷ the identical rows (event + first timeline entry, drawn "
               "number) by plain SQL from the same connections, interleaved with the HTTP rounds", "≥ 0.5"),
        Figure("intake_http_p99_open_loop_ms", "p99 latency, open loop (Poisson arrivals) at 80 % of the peak rate",
               "—"),
        Figure("intake_http_cpu_ms_per_event", "CPU per event: API processes + PostgreSQL backends", "—"),
        Figure("intake_security_overhead_pct", "sign-in, permission and scope checks, side by side in one run "
               "(a negative value is noise)", "≤ 10 %"),
        Figure("memory_api_worker_intake_mb", "resident memory of the largest API worker after the intake runs",
               "≤ 400 MB at city scale"),
    )),
    Bench("authz", "bench_authz.py", (), "#5", (
        Figure("intake_security_cpu_us_per_request", "the same checks in process: CPU per request", "—"),
    )),
    Bench("dispatch", "bench_dispatch.py", ("--rules", "2000", "--grids", "62000", "--events", "5000"), "#3", (
        Figure("dispatch_decision_service_p99_ms", "p99 of the service path (`decide_for_event`) on PostgreSQL, "
               "2,000 stored rules, 62,000 grids", "≤ 2 ms"),
        Figure("dispatch_decision_pure_p99_ms", "p99 of the pure function (`domain.rules.decide`), same rules",
               "—"),
    )),
    Bench("calendar", "bench_calendar.py", (), "#3", (
        Figure("calendar_deadline_5wd", "deadline of a 5-working-day limit", "≤ 100 µs"),
        Figure("calendar_deadline_250wd", "deadline of a 250-working-day limit", "≤ 5 ms"),
    )),
    Bench("geo", "bench_geo.py", ("--grids", "62000", "--points", "200000"), "#2", (
        Figure("geo_locate_vs_strtree_ratio", "point → grid through the service's index ÷ Shapely's STRtree on the "
               "same polygons in the same run (hundreds of vertices, 5 % of points outside)", "≤ 1.5×"),
        Figure("geo_locate_us_per_point", "point → grid, one point at a time (`GridIndex.locate`)", "—"),
        Figure("geo_index_build_s", "building the index of 62,000 grids", "—"),
        Figure("geo_index_memory_mb", "memory the index of 62,000 grids holds", "—"),
    )),
    Bench("sweep", "bench_sweep.py", ("--repeat", "5"), "#3", (
        Figure("sweep_1000k_open_1pct_due_s", "supervision sweep, 10,000 due among 1,000,000 open tasks", "≤ 1 s"),
        Figure("sweep_cost_open_x10_same_due_ratio", "the same due rows among 10× the open tasks", "flat"),
    )),
    Bench("ingest", "bench_ingest.py", ("--devices-each", "10000", "--prefill", "100000000", "--seconds", "600"),
          "#4", (
        Figure("ingest_http_readings_per_s", "readings/s over HTTP with threshold evaluation, 200,000 series, "
               "10 % changing state, 10 minutes sustained over 100 M stored readings", "≥ 50,000/s"),
        Figure("ingest_http_vs_raw_copy_ratio", "… ÷ a parallel COPY of the same rows in the same run", "≥ 0.3"),
        Figure("ingest_http_cpu_us_per_reading", "CPU per reading: server + PostgreSQL", "—"),
    )),
    # after "ingest": it measures the readings that benchmark stored
    Bench("storage", "bench_storage.py", ("--events-per-day", "10000", "--days", "10"), "#25", (
        Figure("storage_bytes_per_event", "bytes on disk per stored event with its tasks, timeline and indexes, "
               "the city generator's mix (~98 % notify-only), PostgreSQL", "—"),
        Figure("storage_bytes_per_reading", "bytes on disk per stored reading with indexes, ≥ 100 M readings in "
               "daily partitions", "—"),
    )),
    Bench("mqtt", "bench_mqtt.py", ("--rate", "6000", "--seconds", "60"), "#4", (
        Figure("mqtt_readings_per_s", "MQTT ingest through the production subscriber", "≥ 5,000/s"),
        Figure("mqtt_readings_lost", "readings lost", "0"),
    )),
    # the offer is above what one process stores (~30,000/s on a quiet machine): the curve shows the processes
    Bench("mqtt_shared", "bench_mqtt.py", ("--processes", "1,2", "--rate", "60000", "--seconds", "60"), "#25", (
        Figure("mqtt_shared_readings_per_s_1p", "MQTT ingest, one process in a shared subscription (the base "
               "of the curve)", "—"),
        Figure("mqtt_shared_readings_per_s_2p", "MQTT ingest, two processes sharing the subscription, same "
               "stream", "—"),
        Figure("mqtt_shared_readings_lost_1p", "readings lost, one process", "0"),
        Figure("mqtt_shared_readings_lost_2p", "readings lost, two processes", "0"),
    ), quick_args=("--quick", "--processes", "1,2", "--rate", "20000")),
    Bench("warning_latency", "bench_warning_latency.py", ("--rate", "20000", "--probes", "1000"), "#4", (
        Figure("warning_latency_p99", "reading published on MQTT → warning → event visible through the API, "
               "p99 of ≥ 1,000 Poisson probes inside ≥ 20,000 readings/s", "≤ 1 s"),
    )),
    Bench("plan_activation", "bench_plan_activation.py", ("--repeat", "5", "--city-towns", "1031"), "#6", (
        Figure("plan_activation_500_tasks_s", "plan activation, cold (first in a fresh process), 500 tasks in "
               "27 towns and 40 departments", "≤ 2 s"),
        Figure("plan_activation_city_s", "city-wide plan: 1,031 towns, ~20,000 tasks, during an event storm",
               "≤ 20 s"),
    ), quick_args=("--quick", "--city-towns", "100")),
    Bench("evaluation", "bench_evaluation.py", ("--sizes", "1000000", "10000000"), "#7", (
        Figure("evaluation_cold_http_ms_1M", "the evaluation page's requests, each first on a fresh API process, "
               "over HTTP as the district's duty officer, 1 M events (slowest)", "≤ 500 ms"),
        Figure("evaluation_cold_http_ms_10M", "the same, 10 M events", "≤ 500 ms"),
        Figure("evaluation_27_towns_month_ms_1M", "slowest 27-towns × month query, 1 M events", "≤ 500 ms"),
        Figure("evaluation_27_towns_month_ms_10M", "the same, 10 M events", "≤ 500 ms"),
        Figure("evaluation_query_growth_10x_history", "10 M ÷ 1 M", "≤ 2×"),
        Figure("evaluation_monthly_report_s", "monthly review report", "≤ 30 s"),
    )),
    Bench("cockpit", "bench_cockpit.py", ("--runs", "5", "--grids", "2000", "--events", "500000", "--days", "1095"),
          "#8", (
        Figure("cockpit_interactive_ms", "cockpit in Chromium on PostgreSQL, a district with 2,000 grids and "
               "500,000 events over three years, network 20 Mbit/s + 40 ms, until every panel is filled; median of "
               "fresh browser contexts", "≤ 2 s"),
    )),
    Bench("services", "bench_services.py", ("--repeat", "30"), "#24", (
        Figure("services_bundle_8_matters_apply", "a bundle with 8 matters (8 departments, 6 tasks in stage 1) "
               "checked, split and dispatched with its clocks, one `window.cases.apply`; median", "≤ 200 ms"),
        Figure("services_matter_search_5000", "the window's matter search over 5,000 active matters; median",
               "≤ 100 ms"),
    )),
    Bench("write_scopes", "bench_write_scopes.py", ("--rounds", "4", "--calls", "200"), "#15", (
        Figure("write_scope_checks_intake_cpu_share", "the write-scope checks' share of intake's CPU per call "
               "(SQLite, in process)", "≤ 5 %"),
        Figure("write_scope_checks_dispatch_cpu_share", "the write-scope checks' share of dispatch's CPU per "
               "call (SQLite, in process)", "≤ 5 %"),
    )),
    Bench("views", "bench_views.py", ("--tasks", "5000", "--timeline", "500", "--events", "1000000",
                                      "--inbox", "10000", "--requests", "40"), "#16", (
        Figure("views_run_board_p95_ms",
               "run board of a plan with 5,000 tasks (counts over all, first page of 200), as a scoped person",
               "≤ 300 ms"),
        Figure("views_event_page_p95_ms", "an event with 500 timeline entries", "≤ 300 ms"),
        Figure("views_events_list_p95_ms", "events list, filtered and sorted, over 1 M events", "≤ 300 ms"),
        Figure("views_inbox_p95_ms", "a person's inbox with 10,000 items", "≤ 300 ms"),
        Figure("views_evaluation_page_p95_ms", "the evaluation of a district", "≤ 300 ms"),
        Figure("memory_api_worker_views_mb", "resident memory of the largest API worker after the views",
               "≤ 400 MB at city scale"),
    )),
    Bench("ledgers", "bench_ledgers.py", (), "#23", (
        Figure("ledger_open_filtered_ms", "a ledger of 10,000 items with 50 custom columns opens filtered (scope, "
               "filters, five-colour counts, first page of 50, its JSON), as a district dispatcher; worst filter's "
               "median", "≤ 300 ms"),
        Figure("ledger_bulletin_s", "a period's bulletin for a district: published (ranking, overdue and stalled "
               "lists, sent to the peers), then drawn as Word, Excel and HTML; median of 3", "≤ 5 s"),
    )),
    Bench("bulk_events", "bench_bulk_events.py", ("--rows", "100000"), "#9", (
        Figure("bulk_import_events_s", "bulk import of 100,000 events (CSV; XLSX beside it)", "≤ 60 s"),
    )),
    Bench("hotline", "bench_hotline.py", ("--per-class", "40", "--reclassify", "100000"), "#21", (
        Figure("hotline_top1", "class top-1 on the 1,007 hand-written evaluation texts (model trained on the phrase "
               "book only)", "≥ 85 %"),
        Figure("hotline_top3", "class top-3, same texts", "≥ 95 %"),
        Figure("hotline_unit_top1", "first suggested unit is the responsible department of the gold class", "—"),
        Figure("hotline_duplicate_f1", "duplicate F1 on 383 labelled pairs at the desk's threshold", "≥ 0.85"),
        Figure("hotline_suggest_p95_ms", "one desk suggestion in process (classes, reasons, duplicate scores "
               "against 400 recent events), p95", "≤ 100 ms"),
        Figure("hotline_model_memory_mb", "resident memory the loaded model adds to a process", "≤ 300 MB"),
        Figure("hotline_reclassify_100k_s", "re-classifying 100,000 texts in batches of 1,000",
               "≤ 1,800 s"),
    )),
    Bench("hotline_desk", "bench_hotline_desk.py", ("--history", "20000", "--open", "3000", "--requests", "300"),
          "#21", (
        Figure("hotline_desk_suggest_api_p95_ms", "the desk's suggestion over HTTP (POST /api/events/suggest: place, "
               "model, units from the rules, duplicates among the town's open events, repeats), PostgreSQL, as the "
               "district's duty officer; p95", "≤ 100 ms"),
    )),
    Bench("notices", "bench_notices.py", ("--units", "1000"), "#19", (
        Figure("notices_handover_1000_s", "1,000 SMS notices of a plan's activation handed to Kannel (sendsms "
               "accepted each) from the durable outbox, PostgreSQL", "≤ 5 s"),
        Figure("notices_lost_on_gateway_restart", "notices lost when the gateway is restarted while 1,000 are "
               "handed over (retried from the outbox)", "0"),
        Figure("notices_plan_chains_to_notices_s", "the escalation job turning 1,000 plan chains into notices", "—"),
    )),
)


BENCHES += (
    Bench("desk", "bench_desk.py", (), "#18", (
        Figure("desk_copy_notice_to_1031_towns_s", "one notice copied to 1,031 towns through a copy list (notify with "
               "read deadlines and clocks, to the commit), PostgreSQL; median", "≤ 1 s"),
        Figure("desk_inbox_100k_unread_copies_ms", "a district centre's inbox with 100,000 unread copies opens (first "
               "page of 50 + unread counts), PostgreSQL; median", "≤ 300 ms"),
        Figure("desk_inbox_page_100k_unread_copies_ms", "the desk's inbox page (/inbox): first page of unread items "
               "from below and the header's counts, 100,000 unread copies, PostgreSQL; median", "≤ 300 ms"),
    )),
    Bench("desk_sqlite", "bench_desk.py", ("--sqlite",), "#18", (
        Figure("desk_copy_notice_to_1031_towns_s_sqlite", "the same copy to 1,031 towns on SQLite", "≤ 1 s"),
        Figure("desk_inbox_100k_unread_copies_ms_sqlite", "the same inbox on SQLite", "≤ 300 ms"),
        Figure("desk_inbox_page_100k_unread_copies_ms_sqlite", "the same inbox page on SQLite", "≤ 300 ms"),
    ), quick_args=("--sqlite", "--quick")),
)


BENCHES += (
    Bench("vital_signs", "bench_vital_signs.py", (
        "--grids", "62000", "--indicators", "4700", "--series", "200000", "--stale-share", "0.02",
        "--warning-share", "0.01", "--risk-points", "20000", "--probes", "200", "--requests", "40", "--loads", "5",
        "--mbit", "20", "--latency-ms", "40"), "#22", (
        Figure("vital_signs_after_reading_ms", "a reading through the ingest service (HTTP) until the sector and "
               "runway states over HTTP show it, as the district's duty officer: 4,700 indicators, 62,000 grids, "
               "200,000 newest readings, PostgreSQL; p95 of 200 probes", "≤ 1 s"),
        Figure("vital_signs_get_p95_ms", "the whole tree (GET /api/vital-signs), same data and person; p95", "—"),
        Figure("vital_signs_sql_statements", "SQL statements of one vital-signs computation", "—"),
        Figure("risk_map_draw_ms", "the cockpit's risk-point layer of 20,000 points drawn in Chromium, from navigation "
               "start, network 20 Mbit/s + 40 ms, fresh browser contexts; p95", "≤ 2 s"),
    )),
)


BENCHES += (
    Bench("area_change", "bench_area_change.py", ("--grids", "62000", "--rounds", "3"), "#20", (
        Figure("area_reindex_s", "re-indexing 62,000 grids after a boundary change: the point → grid index rebuilt "
               "beside the one in use (what changed read, a new tree over every grid) and swapped in; the slowest "
               "of the rounds", "≤ 10 s"),
        Figure("area_reindex_lookup_max_ms", "lookups served throughout: the longest point → grid lookup of a loop "
               "running through the change and the rebuilds (none may fail)", "—"),
        Figure("area_index_full_build_s", "a process's first index of 62,000 grids, every boundary read and parsed",
               "—"),
    )),
)

#: Suffix of a benchmark, and of each of its figures, taken on the local Citus cluster (``benchmarks/_citus.py``).
CITUS = "_citus"


def on_citus(bench: Bench, args: tuple[str, ...] | None = None, quick_args: tuple[str, ...] | None = None) -> Bench:
    """The same benchmark with ``--citus``: the same measurement on the local Citus cluster (coordinator and
    two workers, 48 shards a table), each figure named with the ``_citus`` suffix and held to the same target,
    so that ``render_docs.py`` lists it beside the one-machine figure (issue #25)."""
    return Bench(bench.name + CITUS, bench.script, ("--citus", *(bench.args if args is None else args)),
                 bench.issue if "#25" in bench.issue else f"{bench.issue} #25",
                 tuple(Figure(f.name + CITUS, f"{f.goal} — on Citus, 2 workers", f.target) for f in bench.figures),
                 quick_args=("--citus", *(bench.quick_args if quick_args is None else quick_args)))


def citus_twin(bench: Bench) -> Bench | None:
    """The Citus benchmark of a one-machine one, if the catalogue has it."""
    return next((b for b in BENCHES if b.name == bench.name + CITUS), None)


_ONE_MACHINE = {b.name: b for b in BENCHES}
# side by side (issue #25): the same measurements on the local Citus cluster
BENCHES += (
    on_citus(_ONE_MACHINE["intake"]),
    # also above what one process stores on Citus, but half the one machine's offer: every reading offered
    # is waited for, and a Citus run stores fewer a second (a loaded run: ~1,000/s for one process)
    on_citus(_ONE_MACHINE["mqtt_shared"], args=("--processes", "1,2", "--rate", "30000", "--seconds", "60")),
    on_citus(_ONE_MACHINE["sweep"]),
)


def by_name(name: str) -> Bench:
    for bench in BENCHES:
        if bench.name == name:
            return bench
    known = ", ".join(b.name for b in BENCHES)
    raise KeyError(f"no benchmark named {name!r}; known: {known}")


def figure_names() -> list[str]:
    return [f.name for b in BENCHES for f in b.figures]
