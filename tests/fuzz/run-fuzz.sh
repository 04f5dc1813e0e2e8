#!/usr/bin/env bash
# tests/fuzz/run-fuzz.sh: runs one libFuzzer target for a bounded time on a copy of its seed
# corpus (ctest's fuzz tests, tests/fuzz/CMakeLists.txt; and run-long.sh).
#
#   run-fuzz.sh <fuzzer binary> <seed corpus dir> <work dir> <seconds> [dictionary]
#
# The seeds are copied into <work dir>/corpus, which libFuzzer grows; the repository is never
# written. A crash, leak, sanitizer report or timeout leaves its input in <work dir>/ as
# crash-*, leak-* or timeout-* and makes this script exit nonzero. The last lines of the log
# (libFuzzer's final stats: executions, cov, ft) are printed in every case.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 <fuzzer> <seed dir> <work dir> <seconds> [dict]" >&2
    exit 2
fi
fuzzer=$1 seeds=$2 work=$3 seconds=$4 dict=${5:-}

mkdir -p "$work"
rm -rf "$work/corpus"
cp -r "$seeds" "$work/corpus"

args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
      -artifact_prefix="$work/")
[ -z "$dict" ] || args+=(-dict="$dict")

# halt_on_error: a UBSan report ends the run (libFuzzer then saves the input) instead of
# scrolling by; detect_leaks: a leak is a failure too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rc=0
"$fuzzer" "${args[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
# The findings first (the report of a failure), then the final stats.
if [ "$rc" -ne 0 ]; then
    grep -n -m1 -A60 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|ALARM' \
        "$work/fuzz.log" || tail -n 80 "$work/fuzz.log"
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
fi
grep -E '^(#[0-9]+.*DONE|stat::)' "$work/fuzz.log" || tail -n 5 "$work/fuzz.log"
echo "corpus: $(find "$work/corpus" -type f | wc -l) inputs; exit $rc"
exit "$rc"
