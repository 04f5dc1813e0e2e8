#!/usr/bin/env bash
# deploy/demo.sh: the README's demo. Builds Weft and runs a whole fabric on this machine:
#   weft-router (127.0.0.1:5555 intake, 127.0.0.1:5556 fan-out, 127.0.0.1:5557 history)
#   two weft-edges (127.0.0.1:8081 and :8082)
#   HAProxy on 127.0.0.1:8080, round robin over the edges (deploy/haproxy.cfg)
#   weft-sim, simulated agents publishing at a modest rate
# then prints the dashboard address and runs until Ctrl-C, when it stops everything.
# The edges require a JWT (auth = jwt, docs/security.md): the demo makes a random HS256 secret in
# its temporary directory, starts the edges with it, mints a one-hour development token with
# weft-token (sub "demo", rooms project:* and agent:*, the rooms weft-sim publishes to; global
# and user:demo come with every token) and prints it beside the dashboard address, in the
# URL's #fragment, which browsers never send to a server.
#
# Usage: bash deploy/demo.sh [--duration SECONDS] [--no-build]
#   --duration S  run S seconds, check everything is still up, stop and exit 0 (non-interactive)
#   --no-build    use the existing build/ as it is
# Ports can be moved with WEFT_DEMO_HTTP, WEFT_DEMO_EDGE1, WEFT_DEMO_EDGE2, WEFT_DEMO_INTAKE,
# WEFT_DEMO_FANOUT and WEFT_DEMO_HISTORY (defaults 8080, 8081, 8082, 5555, 5556, 5557).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

duration=0
build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --duration=*) duration=${1#--duration=}; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$duration" in '' | *[!0-9]*) echo "demo.sh: --duration wants whole seconds" >&2; exit 2 ;; esac

http_port=${WEFT_DEMO_HTTP:-8080}
edge1_port=${WEFT_DEMO_EDGE1:-8081}
edge2_port=${WEFT_DEMO_EDGE2:-8082}
intake_port=${WEFT_DEMO_INTAKE:-5555}
fanout_port=${WEFT_DEMO_FANOUT:-5556}
history_port=${WEFT_DEMO_HISTORY:-5557}

log() { printf 'demo: %s\n' "$*"; }

# --- packages (what building and running needs; no test-only packages) -----------------------
missing=()
for cmd in cc:build-essential make:build-essential cmake:cmake pkg-config:pkg-config haproxy:haproxy; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
done
for p in libzmq3-dev libczmq-dev libwebsockets-dev libuv1-dev libjansson-dev libssl-dev libjwt-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
        $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# --- build -------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
    log "building into build/"
    cmake -S "$root" -B "$root/build" -DWEFT_BUILD_TESTS=OFF >/dev/null
    cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
bin_router=$root/build/router/weft-router
bin_edge=$root/build/edge/weft-edge
bin_sim=$root/build/sdk/weft-sim
bin_token=$root/build/sdk/weft-token
for b in "$bin_router" "$bin_edge" "$bin_sim" "$bin_token"; do
    [ -x "$b" ] || { echo "demo.sh: $b is missing; run without --no-build" >&2; exit 1; }
done

# --- ports must be free --------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$http_port" "$edge1_port" "$edge2_port" "$intake_port" "$fanout_port" "$history_port"; do
    if port_busy "$p"; then
        echo "demo.sh: port $p on 127.0.0.1 is in use; stop what uses it or set WEFT_DEMO_* (see --help)" >&2
        exit 1
    fi
done

# --- run -------------------------------------------------------------------------------------
logs=$(mktemp -d "${TMPDIR:-/tmp}/weft-demo.XXXXXX")
pids=()
names=()

# stop_all: SIGTERM to every child, newest first, then wait for them.
stop_all() {
    trap - INT TERM EXIT
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        wait "${pids[$i]}" 2>/dev/null || true
    done
    log "stopped; logs in $logs"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME CMD...: runs CMD in the background with its output in $logs/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$logs/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
}

# wait_ready NAME PORT: waits up to 20 s for the child's "ready:" log line or TCP port.
wait_ready() {
    local name=$1 port=$2 i
    for ((i = 0; i < 200; i++)); do
        if grep -q 'ready:' "$logs/$name.log" 2>/dev/null || { [ -n "$port" ] && port_busy "$port"; }; then
            return 0
        fi
        sleep 0.1
    done
    echo "demo.sh: $name did not start; its log:" >&2
    cat "$logs/$name.log" >&2
    exit 1
}

# The edges' HS256 secret: 48 random bytes, readable by this user only, gone with the demo's
# directory. A real deployment keeps it (or an RSA/EC key pair) where its login service can sign.
secret=$logs/jwt.secret
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$secret")
token=$("$bin_token" --secret-file "$secret" --sub demo --rooms 'project:*,agent:*' --ttl 3600)

start router "$bin_router" --intake "tcp://127.0.0.1:$intake_port" --fanout "tcp://127.0.0.1:$fanout_port" \
    --history "tcp://127.0.0.1:$history_port"
wait_ready router ""
start edge1 "$bin_edge" --port "$edge1_port" --bind 127.0.0.1 --router "tcp://127.0.0.1:$fanout_port" \
    --history "tcp://127.0.0.1:$history_port" --www "$root/edge/www" --edge-id edge1 \
    --jwt-secret-file "$secret"
start edge2 "$bin_edge" --port "$edge2_port" --bind 127.0.0.1 --router "tcp://127.0.0.1:$fanout_port" \
    --history "tcp://127.0.0.1:$history_port" --www "$root/edge/www" --edge-id edge2 \
    --jwt-secret-file "$secret"
wait_ready edge1 "$edge1_port"
wait_ready edge2 "$edge2_port"
export WEFT_HTTP_BIND="127.0.0.1:$http_port" WEFT_EDGE1="127.0.0.1:$edge1_port" WEFT_EDGE2="127.0.0.1:$edge2_port"
haproxy -c -q -f "$root/deploy/haproxy.cfg"
start haproxy haproxy -db -f "$root/deploy/haproxy.cfg"
wait_ready haproxy "$http_port"
start sim "$bin_sim" --endpoint "tcp://127.0.0.1:$intake_port" --agents 6 --projects 3 --rate 10

# The page must come through HAProxy.
page_ok() {
    { exec 3<>"/dev/tcp/127.0.0.1/$http_port"; } 2>/dev/null || return 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    local status
    IFS= read -r -t 5 status <&3 || status=
    exec 3<&- 3>&-
    [[ "$status" == *" 200 "* ]]
}
for ((i = 0; i < 50; i++)); do
    page_ok && break
    sleep 0.2
done
page_ok || { echo "demo.sh: http://127.0.0.1:$http_port/ does not answer 200" >&2; exit 1; }

echo
echo "Dashboard: http://127.0.0.1:$http_port/#token=$token"
echo "  token    $token"
echo "           (sub demo, rooms project:* agent:* + global user:demo, valid 1 h; another one:"
echo "           build/sdk/weft-token --secret-file $secret --sub demo --rooms 'project:*,agent:*')"
echo "  router   tcp://127.0.0.1:$intake_port (agents), tcp://127.0.0.1:$fanout_port and :$history_port (edges)"
echo "  edges    127.0.0.1:$edge1_port, 127.0.0.1:$edge2_port behind HAProxy (round robin)"
echo "  publish  build/sdk/weft-pub --endpoint tcp://127.0.0.1:$intake_port global demo.hello '{\"hi\":1}'"
echo "  logs     $logs"
if [ "$duration" -gt 0 ]; then
    echo "Running for $duration s."
else
    echo "Press Ctrl-C to stop."
fi

# Runs until Ctrl-C (or --duration), and stops if any component dies.
elapsed=0
while [ "$duration" -eq 0 ] || [ "$elapsed" -lt "$duration" ]; do
    sleep 1
    elapsed=$((elapsed + 1))
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "demo.sh: ${names[$i]} exited; its log:" >&2
            cat "$logs/${names[$i]}.log" >&2
            exit 1
        fi
    done
done
page_ok || { echo "demo.sh: the dashboard stopped answering" >&2; exit 1; }
log "ran $duration s; stopping"
exit 0
