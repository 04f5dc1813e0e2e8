# bench_soak_smoke: run with cmake -P (see bench.cmake). Inputs: WEFT_BENCH, WEFT_ROUTER_BIN,
# WEFT_EDGE_BIN, OUT (where weft-bench writes its JSON).
#
# A 20 s `weft-bench --mode soak` with three edges, an edge killed every 5 s and a sample every
# 2 s. Large events (2 KB) fill a slow client's kernel buffers within seconds, so the edge's
# slow-consumer limit is reached in a run this short. The verdict comes from the exact counts a
# user relies on, never from a rate or a slope (those depend on the machine): the
# "soak-summary" line is printed, the steady and resuming clients lost nothing, saw no
# duplicate and reached the last event of their room, every event was acknowledged, at least one
# edge was killed and restarted, clients resumed, and every process was sampled.

foreach(var WEFT_BENCH WEFT_ROUTER_BIN WEFT_EDGE_BIN OUT)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "bench_soak_smoke: -D${var}=... is required")
    endif()
endforeach()

file(REMOVE ${OUT})
execute_process(
    COMMAND ${WEFT_BENCH} --spawn --mode soak --router-bin ${WEFT_ROUTER_BIN}
            --edge-bin ${WEFT_EDGE_BIN} --edges 3 --clients 40 --rooms 4 --rate 300
            --payload 2000 --duration 20 --soak-sample 2 --soak-kill-every 5 --json ${OUT}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    TIMEOUT 240)
message("${out}")
if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "bench_soak_smoke: weft-bench exited ${rc}:\n${err}")
endif()
if(NOT out MATCHES "\nsoak-summary {[^\n]*\"losses\":0")
    message(FATAL_ERROR "bench_soak_smoke: no soak-summary line with losses 0 in the output")
endif()
if(NOT EXISTS ${OUT})
    message(FATAL_ERROR "bench_soak_smoke: weft-bench wrote no JSON to ${OUT}")
endif()
file(READ ${OUT} doc)

# Reads soak.totals.<key> into var, failing when it is absent.
function(soak_get var key)
    string(JSON value ERROR_VARIABLE jerr GET "${doc}" soak totals ${key})
    if(jerr OR value STREQUAL "")
        message(FATAL_ERROR "bench_soak_smoke: soak.totals.${key} is missing (${jerr})")
    endif()
    set(${var} ${value} PARENT_SCOPE)
endfunction()

set(failures "")
foreach(check "losses=0" "duplicates=0" "notices=0" "unreached=0" "bad_frames=0"
              "error_frames=0" "refused=0")
    string(REPLACE "=" ";" kv ${check})
    list(GET kv 0 key)
    list(GET kv 1 want)
    soak_get(got ${key})
    if(NOT got EQUAL want)
        list(APPEND failures "${key} is ${got}, expected ${want}")
    endif()
endforeach()
soak_get(published published)
soak_get(acked acked)
soak_get(kills kills)
soak_get(resumes resumes)
soak_get(deliveries deliveries)
if(published LESS 3000 OR NOT acked EQUAL published)
    list(APPEND failures "published ${published}, acked ${acked} (want >= 3000, all acked)")
endif()
if(kills LESS 1)
    list(APPEND failures "no edge was killed")
endif()
if(resumes LESS 1 OR deliveries LESS published)
    list(APPEND failures "resumes ${resumes}, deliveries ${deliveries} (want > 0, >= published)")
endif()
# router, edges 0-2 and weft-bench, each sampled about every 2 s.
string(JSON nproc LENGTH "${doc}" soak processes)
if(NOT nproc EQUAL 5)
    list(APPEND failures "${nproc} processes sampled, expected 5")
endif()
math(EXPR last "${nproc} - 1")
foreach(i RANGE ${last})
    string(JSON name GET "${doc}" soak processes ${i} name)
    string(JSON nsamples LENGTH "${doc}" soak processes ${i} samples)
    if(nsamples LESS 8)
        list(APPEND failures "${name}: ${nsamples} samples, expected >= 8")
    endif()
endforeach()

if(failures)
    list(JOIN failures "\n  " text)
    message(FATAL_ERROR "bench_soak_smoke failed:\n  ${text}")
endif()
message(STATUS "bench_soak_smoke: ${published} events, ${deliveries} deliveries, ${kills} kills, "
               "${resumes} resumes, nothing lost")
