#!/bin/sh
# bench/sqlite/tail-read.sh -- what the session index's tail (migrations/sqlite/0007) costs a
# read by session: N events (1,000 sessions, the pages bench's shape) in a file with every
# migration; the session index written up to N - TAIL, so the last TAIL events are the tail a
# read walks by seq range. Times the daemon's statement for a session's newest 100 events
# (GET /api/v1/events?session_id=, limit 100) and for its first 100 (after_seq=0), REPS times
# each, with TAIL = 0 and TAIL = the batch (50,000), and the same reads through the per-commit
# index of migration 0006 for comparison. Median of REPS reads, warm cache. Timings: a benchmark.
#
#   bench/sqlite/tail-read.sh [N] [TAIL] [REPS]     (default 500000 50000 200)
set -eu
N=${1:-500000}
TAIL=${2:-50000}
REPS=${3:-200}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cols="id, ts, received_at, type, source, session_id, name, status, duration_ms, bytes, value, error, attrs"
ecols="e.id, e.ts, e.received_at, e.type, e.source, e.session_id, e.name, e.status, e.duration_ms, e.bytes, e.value, e.error, e.attrs"
indexed="SELECT b.seq AS seq, $ecols FROM monitoring_events_by_session AS b CROSS JOIN monitoring_events AS e ON e.seq = b.seq WHERE b.seq <= (SELECT seq FROM session_index_through) AND b.session_id = 'sess-7'"
tail="SELECT seq, $cols FROM monitoring_events NOT INDEXED WHERE seq > (SELECT seq FROM session_index_through)"
make_db() { # file tail-events
    { cat "$REPO"/migrations/sqlite/*.sql
      echo "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1)
INSERT INTO monitoring_events (id, ts, received_at, type, source, session_id, name, status)
SELECT printf('%012x-%08x', i, i), 1793491200000 + i / 10, 1793491200000 + i / 10, 'request',
  'agent', 'sess-' || ((i * 2654435761 + 7) % 4294967296 % 1000), 'read_file', 'ok' FROM c;
INSERT INTO monitoring_events_by_session SELECT session_id, seq FROM monitoring_events
  WHERE seq <= $N - $2 ORDER BY session_id, seq;
UPDATE session_index_through SET seq = $N - $2;"
    } | sqlite3 "$1"
}
time_reads() { # file label sql-newest sql-first: the median of REPS runs of each (Python's
    # sqlite3 module, the same SQLite release as the shell here; every row fetched)
    python3 - "$@" "$REPS" <<'PY'
import sqlite3, statistics, sys, time
db, label, newest, first, reps = sys.argv[1:6]
con = sqlite3.connect(db)
for which, sql in (('newest', newest), ('first', first)):
    con.execute(sql).fetchall()  # warm
    t = []
    for _ in range(int(reps)):
        t0 = time.perf_counter()
        rows = con.execute(sql).fetchall()
        t.append(time.perf_counter() - t0)
    print(f'{label} {which}-100: {statistics.median(t) * 1e6:.0f} us per read ({len(rows)} rows)')
PY
}
make_db "$tmp/t0.db" 0
make_db "$tmp/t1.db" "$TAIL"
cp "$tmp/t0.db" "$tmp/p.db"
sqlite3 "$tmp/p.db" "CREATE INDEX monitoring_events_session ON monitoring_events (session_id)"
for f in t0 t1; do
    time_reads "$tmp/$f.db" "batched, tail $( [ $f = t0 ] && echo 0 || echo "$TAIL")" \
        "$indexed UNION ALL $tail AND session_id = 'sess-7' ORDER BY seq DESC LIMIT 100" \
        "$indexed AND b.seq > 0 UNION ALL $tail AND seq > 0 AND session_id = 'sess-7' ORDER BY seq ASC LIMIT 100"
done
time_reads "$tmp/p.db" "per-commit index (0006)" \
    "SELECT seq, $cols FROM monitoring_events INDEXED BY monitoring_events_session WHERE session_id = 'sess-7' ORDER BY seq DESC LIMIT 100" \
    "SELECT seq, $cols FROM monitoring_events INDEXED BY monitoring_events_session WHERE seq > 0 AND session_id = 'sess-7' ORDER BY seq ASC LIMIT 100"
