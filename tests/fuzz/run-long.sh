#!/usr/bin/env bash
# tests/fuzz/run-long.sh: a long local fuzzing run of one target (docs/security.md "Fuzzing").
#
#   tests/fuzz/run-long.sh <target> <seconds> [jobs]
#       target: proto, envelope, hist, conf or jwt
#
# Configures and builds build-fuzz/ (CC=clang, WEFT_FUZZ=ON) when needed, then runs the target
# on a copy of its seed corpus in build-fuzz/long/<target>/ (kept between runs, so a later run
# goes on from the grown corpus: delete the directory to start from the seeds again). With jobs
# > 1, that many fuzzer processes share the corpus (libFuzzer -jobs/-workers). A finding is saved
# as build-fuzz/long/<target>/crash-* (leak-*, timeout-*): reproduce it with
#   build-fuzz/tests/fuzz/fuzz_<target> <that file>
# then fix it, add a regression unit test, and copy the input to
# tests/fuzz/corpus/<target>/regress-<what>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

if [ $# -lt 2 ]; then
    echo "usage: $0 <proto|envelope|hist|conf|jwt> <seconds> [jobs]" >&2
    exit 2
fi
target=$1 seconds=$2 jobs=${3:-1}
[ -f "tests/fuzz/fuzz_$target.c" ] || { echo "$0: no fuzz target '$target'" >&2; exit 2; }

build=$root/build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S "$root" -B "$build" -DWEFT_BUILD_TESTS=OFF -DWEFT_FUZZ=ON
fi
cmake --build "$build" -j2 --target "fuzz_$target"

work=$build/long/$target
mkdir -p "$work/corpus"
# Seeds (and committed regressions) join whatever the earlier runs found.
cp -n tests/fuzz/corpus/"$target"/* "$work/corpus/" 2>/dev/null || true
args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
      -artifact_prefix="$work/")
[ ! -f "tests/fuzz/$target.dict" ] || args+=(-dict="tests/fuzz/$target.dict")
[ "$jobs" -le 1 ] || args+=(-jobs="$jobs" -workers="$jobs")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "$build/tests/fuzz/fuzz_$target" "${args[@]}" "$work/corpus"
