#!/usr/bin/env bash
# install_smoke.sh BUILD_DIR SOURCE_DIR: the installed SDK is usable by an agent's build.
#
# Stages "cmake --install" into a scratch directory (DESTDIR, so the configured prefix and the
# absolute paths in weft.pc stay as a real install would have them), then builds
# sdk/examples/publish.c against the staged copy, the two ways the README documents:
#   1. cc publish.c $(pkg-config --cflags --libs weft)   (PKG_CONFIG_SYSROOT_DIR maps the paths)
#   2. a CMake project doing find_package(weft) and linking weft::weft
#   3. the same project linking the static weft::weft_static, next to a file that defines
#      functions named like libweft's internals (sdk_log, wire_room_valid, ...): libweft.a must
#      keep those local, or the link fails with multiple definitions
# and runs them against an endpoint where no router listens: they must start, fail to get an ack
# within the example's 5 s and say "timed out" (exit 1). That proves they link and load.
set -euo pipefail

build=${1:?usage: install_smoke.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install_smoke.sh BUILD_DIR SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-install-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage

step() { printf '[ install_smoke ] %s\n' "$*"; }
fail() { printf '[ install_smoke ] FAILED: %s\n' "$*" >&2; exit 1; }

step "cmake --install $build (DESTDIR=$stage)"
DESTDIR=$stage cmake --install "$build" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "install"; }

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root=$stage$prefix
for f in include/weft.h include/weft/version.h bin/weft-router bin/weft-edge bin/weft-pub bin/weft-sim \
    share/weft/www/index.html; do
    [ -e "$root/$f" ] || fail "$prefix/$f was not installed"
done
pcdir=$(dirname "$(find "$root" -name weft.pc -print -quit)")
[ -f "$pcdir/weft.pc" ] || fail "weft.pc was not installed"
libdir=$(dirname "$(find "$root" -name 'libweft.so.*' -print -quit)")
[ -n "$libdir" ] || fail "libweft.so was not installed"
# The public header must stand alone: no zmq, czmq or jansson types leak to agents.
if grep -E '^#include' "$root/include/weft.h" | grep -vE '<(stddef|stdint)\.h>|"weft/version\.h"'; then
    fail "weft.h includes more than the C standard headers and weft/version.h"
fi

# An ASan build installs an instrumented library; its users must be instrumented too.
extra=()
grep -q '^WEFT_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && extra=(-fsanitize=address,undefined)

step "cc publish.c \$(pkg-config --cflags --libs weft)"
flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs weft) ||
    fail "pkg-config cannot read weft.pc"
step "  pkg-config says: $flags"
cc -Wall -Wextra -Werror "${extra[@]}" -o "$tmp/publish" "$src/sdk/examples/publish.c" $flags ||
    fail "publish.c does not build against the installed SDK with pkg-config"

step "CMake find_package(weft) + weft::weft"
mkdir -p "$tmp/consumer"
cp "$src/sdk/examples/publish.c" "$tmp/consumer/"
cat >"$tmp/consumer/collide.c" <<'EOF'
/* Names that libweft uses internally: an application may define them too. */
int sdk_log(void);
int sdk_outq_new(void);
int wire_room_valid(void);
int wire_header_encode(void);
int sdk_log(void) { return 1; }
int sdk_outq_new(void) { return 2; }
int wire_room_valid(void) { return 3; }
int wire_header_encode(void) { return 4; }
EOF
cat >"$tmp/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(weft_consumer C)
find_package(weft 0.1 REQUIRED)
add_executable(publish_cmake publish.c)
target_compile_options(publish_cmake PRIVATE ${extra[*]})
target_link_options(publish_cmake PRIVATE ${extra[*]})
target_link_libraries(publish_cmake PRIVATE weft::weft)
add_executable(publish_static publish.c collide.c)
target_compile_options(publish_static PRIVATE ${extra[*]})
target_link_options(publish_static PRIVATE ${extra[*]})
target_link_libraries(publish_static PRIVATE weft::weft_static)
EOF
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$root" >"$tmp/consumer.log" 2>&1 &&
    cmake --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1 ||
    { cat "$tmp/consumer.log"; fail "publish.c does not build with find_package(weft)"; }

# Run them with no router: each must load libweft, time out after 5 s and exit 1.
for exe in "$tmp/publish" "$tmp/consumer/build/publish_cmake" "$tmp/consumer/build/publish_static"; do
    step "run $(basename "$exe") against an endpoint with no router"
    rc=0
    LD_LIBRARY_PATH=$libdir timeout 60 "$exe" tcp://127.0.0.1:9 >"$tmp/run.log" 2>&1 || rc=$?
    cat "$tmp/run.log"
    [ "$rc" -eq 1 ] || fail "$(basename "$exe") exited $rc, want 1 (no router to ack)"
    grep -q 'timed out' "$tmp/run.log" || fail "$(basename "$exe") did not report 'timed out'"
    [ "$(basename "$exe")" = publish_static ] && continue # libweft is inside it
    # It really used the staged library, not some other copy.
    # Capture first: with pipefail, `ldd | grep -q` fails at random when grep exits early and
    # ldd dies of SIGPIPE.
    deps=$(LD_LIBRARY_PATH=$libdir ldd "$exe")
    grep -q "$libdir/libweft.so" <<<"$deps" ||
        fail "$(basename "$exe") did not resolve libweft from the staged install"
done
step "passed"
