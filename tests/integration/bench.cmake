# weft-bench smoke test (label "bench"). Included from tests/integration/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/bench.cmake)
# It runs `weft-bench --spawn --clients 200 --rooms 4 --rate 500 --duration 5 --critical-every 10`
# against a private router and edge and checks the JSON result with bench_smoke.cmake: every
# client subscribed, no event lost or duplicated, every event arrived, critical events counted.
# bench_paced_smoke repeats the fabric run with the edge's write pacing on from 1 frame/s per
# connection, so paced rounds and reads held until round time are covered in CI.
# bench_floor_smoke does the same with `--mode floor` (the bench's own floor server instead of the
# fabric; no critical events there). Nothing is timed: p99 and the held flag are not asserted, so
# a busy machine cannot fail it. It loads both cores for a few seconds (PROCESSORS 2 keeps
# ctest -j2 from running another test beside it).

if(TARGET weft-bench AND TARGET weft-router AND TARGET weft-edge)
    add_test(NAME bench_smoke
        COMMAND ${CMAKE_COMMAND}
            -DWEFT_BENCH=$<TARGET_FILE:weft-bench>
            -DWEFT_ROUTER_BIN=$<TARGET_FILE:weft-router>
            -DWEFT_EDGE_BIN=$<TARGET_FILE:weft-edge>
            -DOUT=${PROJECT_BINARY_DIR}/bench_smoke.json
            -P ${PROJECT_SOURCE_DIR}/tests/integration/bench_smoke.cmake)
    set_tests_properties(bench_smoke PROPERTIES LABELS bench TIMEOUT 300 PROCESSORS 2)
    # The same with the edge's write pacing on from 1 frame/s per connection (--pace-above 1):
    # paced rounds and reads held until round time must lose, repeat or reorder nothing.
    add_test(NAME bench_paced_smoke
        COMMAND ${CMAKE_COMMAND}
            -DWEFT_BENCH=$<TARGET_FILE:weft-bench>
            -DWEFT_ROUTER_BIN=$<TARGET_FILE:weft-router>
            -DWEFT_EDGE_BIN=$<TARGET_FILE:weft-edge>
            -DMODE=paced
            -DOUT=${PROJECT_BINARY_DIR}/bench_paced_smoke.json
            -P ${PROJECT_SOURCE_DIR}/tests/integration/bench_smoke.cmake)
    set_tests_properties(bench_paced_smoke PROPERTIES LABELS bench TIMEOUT 300 PROCESSORS 2)
    # The same with authenticated clients (--auth-secret): the edge on --auth jwt, each client
    # sends a token in an Authorization header; a wrong secret must refuse every client.
    add_test(NAME bench_auth_smoke
        COMMAND ${CMAKE_COMMAND}
            -DWEFT_BENCH=$<TARGET_FILE:weft-bench>
            -DWEFT_ROUTER_BIN=$<TARGET_FILE:weft-router>
            -DWEFT_EDGE_BIN=$<TARGET_FILE:weft-edge>
            -DMODE=auth
            -DOUT=${PROJECT_BINARY_DIR}/bench_auth_smoke.json
            -P ${PROJECT_SOURCE_DIR}/tests/integration/bench_smoke.cmake)
    set_tests_properties(bench_auth_smoke PROPERTIES LABELS "bench;security" TIMEOUT 300
                         PROCESSORS 2)
    # --mode soak for 20 s (bench_soak_smoke.cmake): churn, resumes, subscription changes, slow
    # clients and edge kills; nothing lost, at least one kill, the summary line present.
    add_test(NAME bench_soak_smoke
        COMMAND ${CMAKE_COMMAND}
            -DWEFT_BENCH=$<TARGET_FILE:weft-bench>
            -DWEFT_ROUTER_BIN=$<TARGET_FILE:weft-router>
            -DWEFT_EDGE_BIN=$<TARGET_FILE:weft-edge>
            -DOUT=${PROJECT_BINARY_DIR}/bench_soak_smoke.json
            -P ${PROJECT_SOURCE_DIR}/tests/integration/bench_soak_smoke.cmake)
    set_tests_properties(bench_soak_smoke PROPERTIES LABELS bench TIMEOUT 300 PROCESSORS 2)
else()
    message(WARNING "bench_smoke not registered: weft-bench, weft-router or weft-edge missing")
endif()

# The same checks against weft-bench's own floor server (--mode floor): no daemon involved, so it
# also tells a broken bench from a broken fabric.
if(TARGET weft-bench)
    add_test(NAME bench_floor_smoke
        COMMAND ${CMAKE_COMMAND}
            -DWEFT_BENCH=$<TARGET_FILE:weft-bench>
            -DMODE=floor
            -DOUT=${PROJECT_BINARY_DIR}/bench_floor_smoke.json
            -P ${PROJECT_SOURCE_DIR}/tests/integration/bench_smoke.cmake)
    set_tests_properties(bench_floor_smoke PROPERTIES LABELS bench TIMEOUT 300 PROCESSORS 2)
endif()
