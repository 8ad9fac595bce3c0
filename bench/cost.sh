#!/bin/sh
# bench/cost.sh -- cost per ingested event (issue 13 item 6): CPU instructions per event
# counted by callgrind (valgrind) over the whole daemon, every thread, and the daemon's peak
# resident memory, on a fixed workload: bench_ingest's events (the demo mix, daemon-assigned
# ids) in batches of 1,000 over 2 connections into a fresh SQLite file, or with STORE=URL into
# that PostgreSQL database (emptied first; the daemon's side only: its spool, shipper and
# summaries, not the server's work).
#
#   bench/cost.sh [BIN ...]        (default: build/telltale; N=20000 events; BUILD=build;
#                                   STORE=postgres://... for the PostgreSQL path, empty or
#                                   unset for SQLite; bench/cost.sh --help)
#
# Instructions: two runs under callgrind, N and 2N events; (Ir(2N) - Ir(N)) / N is the cost of
# one more event, without start-up, migrations and shutdown. Counts, not times: the same
# binary gives figures a few per cent apart on a busy machine (±6 % at N=2000: use N=5000 or
# more to compare binaries). Peak RSS: the daemon's VmHWM
# (/proc/PID/status) when it is told to stop, after a run of 10N events without valgrind. Several binaries (e.g. before and after
# a change) are measured one after the other and printed side by side. KEEP=DIR keeps each
# binary's 2N callgrind output there (DIR/callgrind.<n>.out, for callgrind_annotate: the profile).
set -eu
usage() {
    cat <<'USAGE'
usage: [N=EVENTS] [STORE=postgres://...] [BUILD=DIR] [KEEP=DIR] bench/cost.sh [BIN ...]
  BIN    daemon binaries to measure side by side (default: $BUILD/telltale)
  N      events of the first callgrind run, an integer from 1 to 10000000 (default 20000)
  STORE  a postgres:// URL: the PostgreSQL path (emptied first); empty or unset: SQLite
  BUILD  where bench_ingest is (default build)
  KEEP   a directory to keep each binary's callgrind output in
USAGE
}
usage_error() {
    echo "cost.sh: $*" >&2
    usage >&2
    exit 2
}
check_bin() {
    case "$1" in -*) usage_error "unknown option $1" ;; esac
    [ -f "$1" ] && [ -x "$1" ] || usage_error "$1: not an executable file (build one: make build)"
}
case "${1:-}" in --help | -h) usage; exit 0 ;; esac
N=${N:-20000}
case "$N" in
    *[!0-9]* | "" | 0*) usage_error "N is an integer from 1 to 10000000, not '$N'" ;;
esac
[ "$N" -le 10000000 ] || usage_error "N is an integer from 1 to 10000000, not '$N'"
case "${STORE:-}" in
    "" | postgres://* | postgresql://*) ;;
    *) usage_error "STORE is a postgres:// URL (empty or unset: SQLite), not '$STORE'" ;;
esac
# Binaries as given (relative to where it was run), then everything from the repository's root.
for bin in "$@"; do
    check_bin "$bin"
    set -- "$@" "$(realpath "$bin")"
    shift
done
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ $# -gt 0 ] || { check_bin "$BUILD/telltale" && set -- "$(realpath "$BUILD/telltale")"; }
[ -x "$BUILD/bench_ingest" ] || { echo "cost.sh: no $BUILD/bench_ingest (make build)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs bench_ingest with 'events' events against a wrapper that starts BIN under 'how'.
run() { # bin events how tag ('how' rss: no valgrind, VmHWM read at SIGTERM)
    if [ "$3" = rss ]; then
        start="\"$1\" \"\$@\" & pid=\$!
trap 'grep VmHWM /proc/\$pid/status > $tmp/rss; kill -TERM \$pid' TERM
wait \$pid; wait \$pid"
    else
        start="exec $3 \"$1\" \"\$@\""
    fi
    cat > "$tmp/wrap" <<WRAP
#!/bin/sh
case "\$1" in serve) ;; *) exec "$1" "\$@" ;; esac
$start
WRAP
    chmod +x "$tmp/wrap"
    "$BUILD/bench_ingest" --events "$2" --batch 1000 --connections 2 --rounds 1 \
        ${STORE:+--store "$STORE"} --bin "$tmp/wrap" > "$tmp/$4.log" 2>&1 ||
        { cat "$tmp/$4.log"; exit 1; }
}

ir() { # the total instructions of a callgrind output file
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$1" | head -1
}

printf '%-40s %18s %14s\n' binary instructions/event 'peak RSS MiB'
for bin in "$@"; do
    run "$bin" "$N" "valgrind --tool=callgrind --callgrind-out-file=$tmp/n.out" n
    run "$bin" $((2 * N)) "valgrind --tool=callgrind --callgrind-out-file=$tmp/2n.out" 2n
    run "$bin" $((10 * N)) rss rss
    per=$(( ($(ir "$tmp/2n.out") - $(ir "$tmp/n.out")) / N ))
    printf '%-40s %18s %14s\n' "$bin" "$per" "$(( $(tr -dc 0-9 < "$tmp/rss") / 1024 ))"
    i=$((${i:-0} + 1))
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$tmp/2n.out" "$KEEP/callgrind.$i.out"; fi
done
