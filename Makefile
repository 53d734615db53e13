# shuzhi — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@localhost/test

.PHONY: demo test test-sqlite test-postgres test-citus lint bench bench-one bench-quick bench-docs bench-list soak fuzz setup clean citus-up citus-down

VENDOR := src/shuzhi/entrypoints/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed

setup: $(STAMP) $(VENDOR_STAMP)

# Front-end libraries from npm at the versions pinned in package-lock.json, built next to the pages
# so that they load with no internet and no CDN. ECharts is bundled by esbuild (also pinned) from
# echarts/core with only the charts the pages draw (web/bundle/echarts.js): a third less to parse
# than the full build before the cockpit can draw (docs/web.md).
ECHARTS_ENTRY := src/shuzhi/entrypoints/web/bundle/echarts.js
$(VENDOR_STAMP): package.json package-lock.json $(ECHARTS_ENTRY)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	node_modules/.bin/esbuild $(ECHARTS_ENTRY) --bundle --minify --format=iife --global-name=echarts \
		--legal-comments=eof --log-level=warning --outfile=$(VENDOR)/echarts.min.js
	touch $(VENDOR_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/shuzhi demo --host 127.0.0.1 --port 8000

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test-sqlite: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# PostgreSQL: runs when reachable; skipped with a notice on a laptop without it, a failure in CI
# (SHUZHI_REQUIRE_SERVICES=1).
test-postgres: setup
	@if $(BIN)/python scripts/pg_available.py "$(PG_TEST_URL)"; then \
		SHUZHI_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest -q -n 2 --dist loadfile; \
	elif [ "$$SHUZHI_REQUIRE_SERVICES" = "1" ]; then \
		echo "PostgreSQL is required (SHUZHI_REQUIRE_SERVICES=1) but not reachable at $(PG_TEST_URL)"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL run skipped"; fi

test: lint test-sqlite test-postgres test-citus

# The Citus suite (#25): the sensor stream (by series) and the cases (by district) distributed over a local
# cluster of two workers, the organisation, classes, rules and calendars as reference tables, and the tests
# of readings, MQTT, warnings, the closed loop, write scopes, the sweep, evaluation's roll-ups, the screens a
# centre reads (cockpit, levels, desk and inbox, duty desk, event list) and area changes run against it with
# the same answers as on one PostgreSQL: a query that cannot run distributed fails here.
# Runs where the cluster can be started (Citus installed); skipped with a notice elsewhere, a failure in CI.
CITUS_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:9700/test_citus
CITUS_TESTS = tests/integration/test_citus_layout.py tests/integration/test_readings_ingest.py \
	tests/integration/test_readings_partitions.py tests/integration/test_mqtt_ingest.py \
	tests/integration/test_warnings.py tests/integration/test_citus_cases.py tests/integration/test_event_loop.py \
	tests/integration/test_write_scopes.py tests/integration/test_supervision_sweep.py \
	tests/integration/test_evaluation_rollups.py tests/integration/test_cockpit_api.py \
	tests/integration/test_cockpit_warnings.py tests/integration/test_levels.py \
	tests/integration/test_desk_actions_and_inbox.py tests/integration/test_desk_copies.py \
	tests/integration/test_urge_escalate_inbox.py tests/integration/test_duty_desk.py \
	tests/integration/test_event_lists.py tests/integration/test_area_changes.py
test-citus: setup
	@if scripts/citus_cluster.sh up; then \
		SHUZHI_TEST_CITUS=1 SHUZHI_TEST_DATABASE_URL="$(CITUS_TEST_URL)" $(BIN)/python -m pytest -q $(CITUS_TESTS); \
	elif [ "$$SHUZHI_REQUIRE_SERVICES" = "1" ]; then \
		echo "Citus is required (SHUZHI_REQUIRE_SERVICES=1) but the local cluster could not be started"; exit 1; \
	else echo "Citus not available here: Citus suite skipped"; fi

# Every published figure with its published flags (benchmarks/catalogue.py), written with its provenance
# to benchmarks/results.json, then the tables of docs/benchmarks.md regenerated. Exits non-zero when a
# script fails or a figure misses its target. Run it on a quiet machine.
bench: setup
	$(BIN)/python benchmarks/run_all.py

# One benchmark: make bench-one NAME=intake (make bench-list shows the names).
bench-one: setup
	@test -n "$(NAME)" || { echo "usage: make bench-one NAME=<name>  (make bench-list)"; exit 2; }
	$(BIN)/python benchmarks/run_all.py $(NAME)

# Every script's smoke run at small volume: benchmarks/results-quick.json only, never results.json.
bench-quick: setup
	$(BIN)/python benchmarks/run_all.py --quick $(NAME)

bench-docs: setup
	$(BIN)/python benchmarks/render_docs.py

bench-list:
	@$(PY) -c "import sys; sys.path.insert(0, 'benchmarks'); from catalogue import BENCHES; \
	[print(f'{b.name:<16} benchmarks/{b.script} {\" \".join(b.args)}') for b in BENCHES]"

# 200 events/s over HTTP + 20,000 readings/s (half HTTP batches, half MQTT) for 10 minutes on a private
# PostgreSQL cluster (port 5440) and Mosquitto (port 1890) that the script creates and removes: an API
# worker and the MQTT ingest SIGKILLed, PostgreSQL and Mosquitto restarted; every item counted.
# SOAK_ARGS=--reuse restores the database prepared by an earlier run instead of rebuilding it.
soak: setup
	$(BIN)/python benchmarks/soak.py --private-cluster --rate 200 --readings-rate 20000 --duration 600 \
		--fault kill-worker@120 --fault kill-ingest@180 --fault restart-postgres@240 \
		--fault restart-mosquitto@360 --fault kill-scheduler@420 $(SOAK_ARGS)

# schemathesis over the whole OpenAPI document: no 5xx for any generated request.
fuzz: setup
	SHUZHI_FUZZ=1 SHUZHI_FUZZ_EXAMPLES=$${SHUZHI_FUZZ_EXAMPLES:-25} $(BIN)/python -m pytest -q tests/e2e/test_fuzz.py

# A local Citus cluster (coordinator :9700, workers :9701 :9702) for the Citus suite and benchmarks (#25).
citus-up:
	scripts/citus_cluster.sh up

citus-down:
	scripts/citus_cluster.sh down

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
