#!/usr/bin/env bash
# tests/run.sh: the one test command (README, CI). Installs what is missing, builds Weft twice
# (build/: normal, build-asan/: AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# test in both with ctest, then builds the libFuzzer targets with clang (build-fuzz/,
# WEFT_FUZZ=ON) and runs each for WEFT_FUZZ_SECONDS (default 60) under ctest's label "fuzz".
# The browser test (label "browser") runs in the normal build only: Chromium under ASan's
# preload rules would test Chromium, not Weft. Exits nonzero on any failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
started=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf '\n=== %s (%ds)\n' "$*" "$(($(date +%s) - started))"; }

# --- 1. Debian packages ------------------------------------------------------------------------
# Checked by what they provide, so a node from elsewhere is not replaced by Debian's.
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing+=("$1"); }
need_cmd cc build-essential
need_cmd make build-essential
need_cmd cmake cmake
need_cmd pkg-config pkg-config
need_cmd haproxy haproxy
need_cmd promtool prometheus # promtool checks the metrics exposition (ops tests)
need_cmd node nodejs
need_cmd clang clang
need_cmd npm npm
[ -x /usr/bin/chromium ] || missing+=(chromium)
for p in libzmq3-dev libczmq-dev libwebsockets-dev libuv1-dev libjansson-dev libcmocka-dev libssl-dev libjwt-dev \
         libclang-rt-14-dev; do
    need_pkg "$p"
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
        $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# --- 2. Node dependencies of the browser test ----------------------------------------------------
say "npm ci (tests/browser)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

# --- 3. Build and test, twice ------------------------------------------------------------------
status=0
summary=()

# run_suite <dir> <label> <ctest args...>: configure, build, test; records the outcome.
run_suite() {
    local dir=$1 label=$2
    shift 2
    local flags=(-DWEFT_BUILD_TESTS=ON) cc=() only=()
    [ "$label" = asan ] && flags+=(-DWEFT_SANITIZE=ON) || flags+=(-DWEFT_SANITIZE=OFF)
    if [ "$label" = fuzz ]; then
        # Only the fuzz targets, with clang's libFuzzer (tests/fuzz/CMakeLists.txt).
        flags=(-DWEFT_BUILD_TESTS=OFF -DWEFT_SANITIZE=OFF -DWEFT_FUZZ=ON
               -DWEFT_FUZZ_SECONDS="${WEFT_FUZZ_SECONDS:-60}")
        cc=(CC=clang)
        only=(--target weft_fuzz)
    fi
    say "configure $dir"
    mkdir -p "$dir"
    if ! env "${cc[@]}" cmake -S "$root" -B "$dir" "${flags[@]}" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log"
        summary+=("$label: configure FAILED")
        status=1
        return
    fi
    say "build $dir"
    if ! cmake --build "$dir" -j"$jobs" "${only[@]}"; then
        summary+=("$label: build FAILED")
        status=1
        return
    fi
    say "ctest $dir"
    local rc=0
    (cd "$dir" && ctest --output-on-failure --timeout 300 "$@") || rc=$?
    if [ "$rc" -ne 0 ]; then
        summary+=("$label: tests FAILED")
        status=1
    else
        summary+=("$label: tests passed")
    fi
    # Figures worth seeing on every run (ctest only shows output of failures): the browser
    # test's publish -> page latency, and how long resume_through_lb's reconnect storm took.
    local lat storm
    lat=$(grep -h '^latency:' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null || true)
    [ -z "$lat" ] || summary+=("$label: browser $lat")
    storm=$(grep -h '^resume_through_lb: reconnect storm' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null || true)
    [ -z "$storm" ] || summary+=("$label: ${storm#resume_through_lb: }")
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_suite "$root/build" normal -j"$jobs"
run_suite "$root/build-asan" asan -j"$jobs" -LE browser
# Two fuzzers at a time: each is one busy process for WEFT_FUZZ_SECONDS.
run_suite "$root/build-fuzz" fuzz -j2 -L fuzz

say "summary"
printf '%s\n' "${summary[@]}"
printf 'wall time: %ds\n' "$(($(date +%s) - started))"
exit "$status"
