# telltale -- the two commands of the quick start, and the pieces they are made of.
#
#   make run     set up, build, and start the daemon with demo traffic on SQLite
#   make test    set up, build (gcc; clang with ASan+UBSan; clang with TSan; clang with libFuzzer;
#                gcc Release and Debug), check the layering, run every suite
#   make check   the quick loop while developing: build, layering, unit tests, one integration
#                pass on SQLite, the docs' runnable examples (a few minutes)
#
# `make test` stops at the first failing suite and exits non-zero.

JOBS      ?= $(shell nproc)
BUILD     := build
ASAN      := build-asan
TSAN      := build-tsan
FUZZ      := build-fuzz
FUZZ_SECS ?= 3
# --test-force-exit: a test file's process ends when its tests have, instead of waiting out timers
# its clients left behind -- supabase-js (realtime-js 2.119) leaves a 10 s timer of its own with
# every disconnect, which held each file that used it 10 s longer.
NODE_TEST := node --test --test-force-exit --test-concurrency=1

.PHONY: run test check setup setup-test build build-asan build-fuzz build-kinds build-tsan layers \
        unit unit-asan integration tsan docs \
        integration-asan postgres postgres-asan supabase supabase-asan otlp otlp-sqlite chaos e2e \
        fuzz setup-bench bench bench-peers bench-pg bench-fanout bench-cost clean

run: setup build
	./$(BUILD)/telltale serve --demo

# Each integration suite runs once per store in `make test`, under ASan+UBSan (integration-asan,
# postgres-asan): the same assertions as the plain build's run, plus the sanitizers', so running
# it plain as well doubled the time (129 + 162 s on SQLite, 120 + 87 s on PostgreSQL, 2 cores)
# and added no check the sanitized run lacks. The plain gcc build -- the one that ships --
# runs the docs' examples, the unit tests, the OpenTelemetry, supabase-js, chaos and browser
# suites; `make integration` and `make postgres` run it on the integration suites too.
test: setup-test build build-asan build-fuzz build-kinds layers unit unit-asan integration-asan \
      tsan docs postgres-asan supabase supabase-asan otlp chaos e2e fuzz
	@echo "make test: every suite passed"

check: setup-test build layers unit integration docs otlp-sqlite
	@echo "make check: passed"

setup:
	scripts/setup

setup-test:
	scripts/setup --test

# The benchmarks' peers and tools (InfluxDB, valgrind) besides the tests'; before the build, so
# that a fresh clone's first 'make bench-*' has what the build needs too.
setup-bench:
	scripts/setup --bench

# Developer and CI builds treat warnings as errors (TT_WERROR); a packager's plain cmake does not.
build:
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=gcc -DTT_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-asan:
	cmake -S . -B $(ASAN) -DCMAKE_C_COMPILER=clang -DTT_SANITIZE=ON -DTT_WERROR=ON >/dev/null
	cmake --build $(ASAN) -j$(JOBS)

build-fuzz:
	cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang -DTT_FUZZ=ON -DTT_WERROR=ON >/dev/null
	cmake --build $(FUZZ) -j$(JOBS)

build-tsan:
	cmake -S . -B $(TSAN) -DCMAKE_C_COMPILER=clang -DTT_TSAN=ON -DTT_WERROR=ON >/dev/null
	cmake --build $(TSAN) -j$(JOBS)

# The build types a packager or a debugger uses, warning-free: Release and Debug with gcc
# (RelWithDebInfo is the default tree above). The daemon only: the tests and benches are built
# with -Werror by gcc (build) and clang (asan, fuzz, tsan) already, and leaving them out here
# halves each of these builds (44 s -> 23 s, gcc Release, 2 cores). No clang Release: clang's
# warnings come from its front end, the same at every -O, and three clang trees already build
# warning-free; gcc's depend on the optimizer (-Wstringop-overflow, -Wmaybe-uninitialized), so
# gcc is built at each level.
KINDS = gcc:Release gcc:Debug

build-kinds:
	@for k in $(KINDS); do cc=$${k%%:*}; type=$${k#*:}; dir=build-$$cc-$$type; \
	  echo "build-kinds: $$cc $$type"; \
	  cmake -S . -B $$dir -DCMAKE_C_COMPILER=$$cc -DCMAKE_BUILD_TYPE=$$type -DTT_WERROR=ON \
	      >/dev/null && cmake --build $$dir -j$(JOBS) --target telltale >/dev/null || exit 1; \
	done

# Includes point one way between areas and layers, with no cycle (docs/ARCHITECTURE.md).
layers:
	node scripts/check-layers.mjs src

unit:
	cd $(BUILD) && ctest --output-on-failure
	$(NODE_TEST) tests/unit/web/ tests/unit/scripts/

unit-asan:
	cd $(ASAN) && ctest --output-on-failure

integration:
	$(NODE_TEST) tests/integration/

integration-asan:
	TELLTALE_BIN=$(CURDIR)/$(ASAN)/telltale $(NODE_TEST) tests/integration/

# ThreadSanitizer: the canary's deliberate race must be reported (exit 66, so a report fails a
# run), then the unit tests and the SQLite integration suites that load the threads (overload,
# kill -9, shutdown, many clients, the persister's rollups, the DLQ and flag pushes) must run
# without one -- a daemon that reported exits 66 and its test fails. The suites left out
# (access, answers, cli, hostile-http, http11, ingest-query, messages, ofrep, tls) exercise the
# HTTP edge and the command line, which run on the loop thread alone.
TSAN_ENV = TSAN_OPTIONS='exitcode=66 second_deadlock_stack=1'
TSAN_SUITES = $(addprefix tests/integration/,$(addsuffix .test.mjs,breaker dlq durability flags \
              hostile-limits hostile-ws idempotency ingest-query prototype resume send state \
              summaries ws))

tsan: build-tsan
	@$(TSAN_ENV) ./$(TSAN)/tsan_canary >/dev/null 2>&1; rc=$$?; if [ $$rc -ne 66 ]; then \
	  echo "tsan: the canary's race was not reported (exit $$rc)"; exit 1; fi; \
	  echo "tsan: the canary's race is reported"
	cd $(TSAN) && $(TSAN_ENV) ctest --output-on-failure
	$(TSAN_ENV) TELLTALE_BIN=$(CURDIR)/$(TSAN)/telltale $(NODE_TEST) $(TSAN_SUITES)

# The examples of README.md and docs/OPERATIONS.md marked <!-- run -->, run against a real daemon.
docs:
	$(NODE_TEST) tests/docs/

# Against a throwaway PostgreSQL: the integration suite again, then the PostgreSQL-only suites
# (schema, row-level security, dead letter queue functions, several instances). Left out of the
# PostgreSQL pass: the suites of the HTTP edge alone (request framing, limits, TLS, I-JSON, the
# hostile clients, the error shapes), whose code does not depend on the store and which run on
# SQLite (integration, integration-asan); and query-plans, which reads SQLite's query plans. The route × role
# matrix (access) runs on both stores.
NOT_ON_PG = $(addprefix tests/integration/,$(addsuffix .test.mjs,answers credentials \
              hostile-http hostile-limits hostile-ws http11 ijson limits query-plans tls))
PG_INTEGRATION = $(filter-out $(NOT_ON_PG),$(wildcard tests/integration/*.test.mjs))
PG_SUITES = TELLTALE_TEST_STORE=postgres $(NODE_TEST) $(PG_INTEGRATION) && $(NODE_TEST) tests/pg/

postgres:
	scripts/with-pg sh -c '$(PG_SUITES)'

# Under ASan on PostgreSQL: the same suites as 'postgres' (the integration suite, then the
# PostgreSQL-only ones), with the sanitizers' checks besides the assertions. (Running the suites
# of the edge and the CLI there with the plain build instead was tried: 158 s against 144, the
# suites wait on timers more than on the binary.)
postgres-asan:
	TELLTALE_BIN=$(CURDIR)/$(ASAN)/telltale scripts/with-pg sh -c '$(PG_SUITES)'

# The official supabase-js client against telltale's Realtime and REST endpoints, on SQLite and
# on a throwaway PostgreSQL (two-instance cases are in tests/pg). The idle-minute heartbeat test
# does not depend on the store: it runs once, in the background while the others run (it mostly
# waits: 76 s, where the others take about 45), its output printed after theirs.
SUPABASE_IDLE   = tests/supabase/idle.test.mjs
SUPABASE_SUITES = $(filter-out $(SUPABASE_IDLE),$(wildcard tests/supabase/*.test.mjs))

supabase:
	@mkdir -p $(BUILD); $(NODE_TEST) $(SUPABASE_IDLE) > $(BUILD)/supabase-idle.log 2>&1 & idle=$$!; \
	  $(NODE_TEST) $(SUPABASE_SUITES) && \
	  scripts/with-pg sh -c 'TELLTALE_TEST_STORE=postgres $(NODE_TEST) $(SUPABASE_SUITES)'; rc=$$?; \
	  wait $$idle || { rc=1; echo "supabase: the idle channel test failed"; }; \
	  cat $(BUILD)/supabase-idle.log; exit $$rc

supabase-asan:
	TELLTALE_BIN=$(CURDIR)/$(ASAN)/telltale $(NODE_TEST) $(SUPABASE_SUITES)

# OpenTelemetry's official exporters (sdk-node; protobuf and JSON; traces, logs, metrics) and an
# MCP server built with the official SDK, against telltale's OTLP/HTTP receiver: on SQLite, then
# on a throwaway PostgreSQL (where a stopped store is absorbed by the spool).
otlp: otlp-sqlite
	scripts/with-pg sh -c 'TELLTALE_TEST_STORE=postgres $(NODE_TEST) tests/otlp/'

otlp-sqlite:
	$(NODE_TEST) tests/otlp/

# The resilience guarantees under real faults (PostgreSQL stopped, a black-hole proxy, resets,
# kill -9, SIGTERM, poison events, overload), against a throwaway PostgreSQL that the suite stops
# and starts itself; a few minutes. CHAOS_SEED=n replays the random cases of a run.
chaos:
	scripts/with-pg $(NODE_TEST) tests/chaos/

# The dashboard in Chromium on SQLite, then the migration console again on a throwaway
# PostgreSQL (Realtime fed by LISTEN/NOTIFY there).
e2e:
	$(NODE_TEST) tests/e2e/
	scripts/with-pg sh -c 'TELLTALE_TEST_STORE=postgres TELLTALE_SHOTS_DIR=$(CURDIR)/$(BUILD)/e2e-shots/console-pg $(NODE_TEST) tests/e2e/console.test.mjs && \
	  TELLTALE_TEST_STORE=postgres TELLTALE_SHOTS_DIR=$(CURDIR)/$(BUILD)/e2e-shots/console-instances $(NODE_TEST) tests/e2e/console-instances.test.mjs'

# Each fuzz target runs briefly from its seed corpus, one per core at a time (scripts/fuzz-run);
# new inputs go to a scratch copy so the tree is never written. A crash fails the run and leaves
# the input in $(FUZZ)/.
fuzz:
	scripts/fuzz-run $(FUZZ) $(FUZZ_SECS) $(JOBS)

bench: setup-bench build
	./$(BUILD)/bench_ingest
	./$(BUILD)/bench_sessions

# telltale against InfluxDB 1.6 and raw SQLite with the same events (bench/peers/ingest.mjs; its
# header lists the options: PEERS_ARGS='--sessions 100 --connections 8').
bench-peers: setup-bench build
	node bench/peers/ingest.mjs $(PEERS_ARGS)

# telltale on PostgreSQL (the spool in the path, the clock stopped when the spool is empty: every
# event committed there) against raw COPY of the same rows, on a throwaway server with fsync on
# (bench/ingest.c; PG_BENCH_ARGS='--batch 1000 --connections 4 --rounds 5').
bench-pg: setup-bench build
	TT_PG_DURABLE=1 scripts/with-pg sh -c 'psql -q "$$TT_PG_URL" -c "CREATE DATABASE bench" && \
	  ./$(BUILD)/bench_ingest --store "$${TT_PG_URL%/postgres}/bench" --ts live $(PG_BENCH_ARGS)'

# telltale's /ws and Realtime against a Node ws broadcast peer, same events and subscribers
# (bench/fanout/run.mjs; its header lists the options: FANOUT_ARGS='--rates 500,1000').
bench-fanout: setup-bench build
	node bench/fanout/run.mjs $(FANOUT_ARGS)

# Instructions per ingested event (bench/cost.sh) and per delivered live message, /ws and
# Realtime (bench/fanout/cost.mjs), counted by callgrind: a regression shows as a higher count.
bench-cost: setup-bench build
	bench/cost.sh
	node bench/fanout/cost.mjs --path ws
	node bench/fanout/cost.mjs --path rt

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) $(FUZZ) build-*-*
