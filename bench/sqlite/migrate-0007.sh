#!/bin/sh
# bench/sqlite/migrate-0007.sh -- how long migration 0007 (the session index as a table behind a
# watermark) takes on a file that already holds N events. Makes a file at schema version 6
# (migrations 0001-0006 through the sqlite3 shell, recorded in schema_migrations as the daemon
# records them), fills it with N events in one statement (1,000 sessions, ids time-ordered,
# the shape of bench/sqlite/pages.mjs and tail-read.sh), checkpoints it, then times
# `telltale migrate` on it: the daemon's own migration path (one transaction; what a `serve`
# start of a new binary on that file pays before it listens). Prints the wall time, the
# file's size before and after, and the WAL's size at the end. Timings: a benchmark.
#
#   bench/sqlite/migrate-0007.sh [N] [TELLTALE]     (default 1000000 build/telltale)
set -eu
N=${1:-1000000}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${2:-$REPO/build/telltale}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/events.db"
{
    echo "PRAGMA journal_mode=WAL; PRAGMA cache_size=-262144;"
    echo "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
  applied_at INTEGER NOT NULL);"
    for f in "$REPO"/migrations/sqlite/000[1-6]_*.sql; do
        name=$(basename "$f" .sql)
        echo "BEGIN;"
        cat "$f"
        echo "INSERT INTO schema_migrations VALUES (${name%%_*}, '${name#*_}', 0); COMMIT;"
    done
    echo "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1)
INSERT INTO monitoring_events (id, ts, received_at, type, source, session_id, name, status,
  duration_ms, attrs)
SELECT printf('0190%08x-7000-8000-%012x', i / 10, i), 1793491200000 + i / 10,
  1793491200000 + i / 10, CASE i % 4 WHEN 0 THEN 'request' ELSE 'tool_call' END, 'agent',
  printf('session-%08x', (i * 2654435761 + 7) % 4294967296 % 1000), 'read_file', 'ok', i % 97,
  '{\"path\":\"/src/main.c\"}' FROM c;
PRAGMA wal_checkpoint(TRUNCATE);"
} | sqlite3 "$db" >/dev/null
before=$(stat -c %s "$db")
t0=$(date +%s.%N)
"$BIN" migrate --store "sqlite:$db"
t1=$(date +%s.%N)
wal=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
echo "events $N: migration 0007 took $(echo "$t1 - $t0" | bc) s; file $before -> $(stat -c %s "$db") bytes, WAL at exit $wal bytes; entries $(sqlite3 "$db" 'SELECT count(*) FROM monitoring_events_by_session'), watermark $(sqlite3 "$db" 'SELECT seq FROM session_index_through')"
