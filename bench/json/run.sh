#!/bin/sh
# run.sh -- build and run telltale's JSON library benchmark and strictness probes.
#
#   bench/json/run.sh [--no-callgrind] [bench_json options: --rounds N --reps N --events N]
#
# Builds into a temporary directory (never into the source tree), prints the machine,
# the strictness tables, the timed benchmark and, when valgrind is installed, the
# instruction count of one pass of each variant (repeatable where seconds are not).
# Exits non-zero if anything fails to build, check or run.
set -eu

case "${1:-}" in
-h | --help) # the header above is the usage
    sed -n '2,9s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
callgrind=1
if [ "${1:-}" = "--no-callgrind" ]; then
    callgrind=0
    shift
fi

build=$(mktemp -d "${TMPDIR:-/tmp}/telltale-bench-json.XXXXXX")
trap 'rm -rf "$build"' EXIT INT TERM

CC=${CC:-cc}
CFLAGS="-std=c11 -O2 -Wall -Wextra -Wpedantic -Wshadow -Werror"
cflags=$(pkg-config --cflags libcjson jansson json-c)
# jansson must come before json-c: both export json_object_get and json_object_iter_next
# (see bench.h).
libs="$(pkg-config --libs libcjson) $(pkg-config --libs jansson) $(pkg-config --libs json-c)"
adapters="$here/lib_cjson.c $here/lib_jansson.c $here/lib_jsonc.c $here/prescan.c"

# shellcheck disable=SC2086 # word splitting of flag lists is intended
$CC $CFLAGS $cflags -o "$build/bench_json" "$here/bench_json.c" $adapters $libs
# shellcheck disable=SC2086
$CC $CFLAGS $cflags -o "$build/strictness" "$here/strictness.c" $adapters $libs

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p')
echo "machine: $(nproc) CPUs, $model; $($CC --version | head -n 1); $(uname -sr)"
echo "command: $0 $*"
echo

"$build/strictness"
echo
"$build/bench_json" "$@"

if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    echo
    echo "## Instructions per pass (valgrind --tool=callgrind, one pass, $(valgrind --version))"
    echo
    echo "| variant | instructions | x cJSON |"
    echo "|---|---:|---:|"
    ref_parse=""
    ref_print=""
    for key in $("$build/bench_json" --list); do
        out="$build/callgrind.$key"
        valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
            --toggle-collect=run_variant_once "$build/bench_json" --only "$key" \
            >"$out.log" 2>&1 || {
            cat "$out.log" >&2
            exit 1
        }
        ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
        [ -n "$ir" ] || {
            echo "run.sh: no instruction total for $key" >&2
            exit 1
        }
        case $key in
        cjson | nd-cjson) ref_parse=$ir ;;
        print-cjson) ref_print=$ir ;;
        esac
        case $key in
        print-*) ref=$ref_print ;;
        *) ref=$ref_parse ;;
        esac
        # cJSON time / variant time, as in the timed tables: > 1 is cheaper than cJSON.
        ratio=$(awk -v r="$ref" -v i="$ir" 'BEGIN { printf "%.2f", r / i }')
        echo "| $key | $ir | $ratio |"
    done
fi
