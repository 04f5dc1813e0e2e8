# bench_smoke: run with cmake -P (see bench.cmake). Inputs: WEFT_BENCH, WEFT_ROUTER_BIN,
# WEFT_EDGE_BIN, OUT (where weft-bench writes its JSON), and MODE: "fabric" (the default: a
# private router and edge), "paced" (the same with the edge's write pacing always on), "auth" (the
# same with the edge on --auth jwt and every client presenting a token, --auth-secret) or "floor"
# (weft-bench's own floor server, no daemon needed; then WEFT_ROUTER_BIN and WEFT_EDGE_BIN are
# not needed either).
#
# The fabric run publishes every 10th event of each room with priority critical
# (--critical-every 10): the clients must count them (the edge flags them "critical":true), and
# they are ordinary seqs of their rooms, so the loss and duplicate checks cover them too.
#
# weft-bench exits 1 when a run did not "hold" (p99 over 100 ms is enough on a busy machine), so
# only its exit codes 0 and 1 are accepted and the verdict comes from the JSON: the exact counts
# a user relies on, never a latency.

if(NOT DEFINED MODE)
    set(MODE fabric)
endif()
set(required WEFT_BENCH OUT)
if(MODE STREQUAL "fabric" OR MODE STREQUAL "paced" OR MODE STREQUAL "auth")
    list(APPEND required WEFT_ROUTER_BIN WEFT_EDGE_BIN)
    set(target --spawn --router-bin ${WEFT_ROUTER_BIN} --edge-bin ${WEFT_EDGE_BIN}
               --critical-every 10)
    if(MODE STREQUAL "auth")
        # The edge refuses every upgrade without a valid token (auth = jwt): 200 subscribed
        # clients below means 200 tokens accepted. The secret is a test's, never a real one.
        set(secret ${OUT}.secret)
        file(WRITE ${secret} "bench-smoke-secret-0123456789abcdefghij\n")
        list(APPEND target --auth-secret ${secret})
    endif()
    if(MODE STREQUAL "paced")
        # Pacing from 1 frame/s per connection: every write round after the first is paced and
        # the edge reads the router feed only at round time (pace_hold_reads), critical events
        # included, so the counts below cover that path too.
        list(APPEND target --edge-arg "--pace-above 1")
    endif()
elseif(MODE STREQUAL "floor")
    # --floor-pack 2: every event still arrives once and in order when a client gets two per
    # send(), which also covers the one-per-send path for the last, partial pack of a run.
    set(target --mode floor --floor-pack 2)
else()
    message(FATAL_ERROR "bench_smoke: MODE must be fabric, paced, auth or floor, not '${MODE}'")
endif()
foreach(var ${required})
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "bench_smoke: -D${var}=... is required")
    endif()
endforeach()

set(clients 200)
set(rooms 4)
file(REMOVE ${OUT})
execute_process(
    COMMAND ${WEFT_BENCH} ${target}
            --clients ${clients} --rooms ${rooms} --rate 500 --duration 5 --warmup 1
            --json ${OUT}
    RESULT_VARIABLE rc
    TIMEOUT 240)
if(NOT (rc STREQUAL "0" OR rc STREQUAL "1"))
    message(FATAL_ERROR "bench_smoke: weft-bench failed (exit ${rc}); its output is above")
endif()
if(NOT EXISTS ${OUT})
    message(FATAL_ERROR "bench_smoke: weft-bench wrote no JSON to ${OUT}")
endif()
file(READ ${OUT} doc)
string(JSON mode_run ERROR_VARIABLE err GET "${doc}" config mode)
set(mode_want ${MODE})
if(MODE STREQUAL "paced" OR MODE STREQUAL "auth")
    set(mode_want fabric)
endif()
if(NOT mode_run STREQUAL mode_want)
    message(FATAL_ERROR "bench_smoke: config.mode is '${mode_run}', expected '${mode_want}'")
endif()
string(JSON auth_run ERROR_VARIABLE err GET "${doc}" config auth)
if(MODE STREQUAL "auth" AND NOT auth_run)
    message(FATAL_ERROR "bench_smoke: config.auth is '${auth_run}', expected true")
endif()

# Reads result.runs[0].<key> into var, failing when it is absent or null.
function(bench_get var key)
    string(JSON value ERROR_VARIABLE err GET "${doc}" result runs 0 ${key})
    if(err OR value STREQUAL "null" OR value STREQUAL "")
        message(FATAL_ERROR "bench_smoke: result.runs[0].${key} is missing (${err})")
    endif()
    set(${var} ${value} PARENT_SCOPE)
endfunction()

set(failures "")
# Exact counts: each must be what it is for a correct fabric.
foreach(check "clients=${clients}" "lost=0" "duplicates=0" "notices=0" "closed=0" "stray=0"
              "bad_frames=0" "error_frames=0" "refused=0" "epoch_changes=0" "drained=1")
    string(REPLACE "=" ";" kv ${check})
    list(GET kv 0 key)
    list(GET kv 1 want)
    bench_get(got ${key})
    if(NOT got EQUAL want)
        list(APPEND failures "${key} is ${got}, expected ${want}")
    endif()
endforeach()

# Every client received every event of its room published during the run (and maybe a few fence
# events more), so at least published / rooms * clients deliveries were counted.
bench_get(published published)
bench_get(delivered delivered)
math(EXPR least "${published} * ${clients} / ${rooms}")
if(published LESS 1000 OR delivered LESS least)
    list(APPEND failures "published ${published} events, delivered ${delivered} (want >= ${least})")
endif()

# Critical events (fabric, paced, auth): published, and received flagged as critical.
if(NOT MODE STREQUAL "floor")
    bench_get(crit_published critical_published)
    bench_get(crit_events critical_events)
    if(crit_published LESS 1 OR crit_events LESS 1 OR crit_events GREATER delivered)
        list(APPEND failures "critical events: ${crit_published} published, ${crit_events} "
                             "delivered (want > 0 and <= ${delivered})")
    endif()
endif()

# auth: the tokens are really checked. With the edges verifying against another secret (a later
# --jwt_secret_file wins), every upgrade is refused and the run fails without a client.
if(MODE STREQUAL "auth")
    set(other ${OUT}.other-secret)
    file(WRITE ${other} "another-secret-0123456789abcdefghijklmnop\n")
    execute_process(
        COMMAND ${WEFT_BENCH} ${target} --edge-arg "--jwt_secret_file ${other}"
                --clients 20 --rooms 2 --rate 100 --duration 1 --warmup 0 --connect-timeout 5
        RESULT_VARIABLE wrong_rc
        OUTPUT_VARIABLE wrong_out
        ERROR_VARIABLE wrong_out
        TIMEOUT 120)
    if(NOT wrong_rc STREQUAL "1" OR NOT wrong_out MATCHES "handshake refused"
       OR NOT wrong_out MATCHES "20 of 20 clients could not connect")
        list(APPEND failures "a token signed with another secret was not refused (exit "
                             "${wrong_rc}):\n${wrong_out}")
    endif()
endif()

if(failures)
    list(JOIN failures "\n  " text)
    message(FATAL_ERROR "bench_smoke (${MODE}) failed:\n  ${text}\nJSON:\n${doc}")
endif()
message(STATUS "bench_smoke (${MODE}): ${clients} clients, ${published} events published, ${delivered} "
               "deliveries, nothing lost or duplicated")
