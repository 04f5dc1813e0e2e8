# Delivery-engine tests (label "delivery"): batching and coalescing end to end, a stalled client
# closed with 4008 while a fast one keeps up, and the client limits (rate, subscriptions,
# connections). Included from tests/integration/CMakeLists.txt after the fabric tests, whose
# harness (weft_it_fabric) and environment (WEFT_IT_ENV) they use; delivery_util adds a bare
# WebSocket client and a checked stream log that understands batch frames.
if(NOT TARGET weft_it_fabric OR NOT DEFINED WEFT_IT_ENV)
    message(WARNING "delivery tests not registered: the fabric harness is missing")
    return()
endif()

add_library(weft_it_delivery STATIC ${CMAKE_CURRENT_LIST_DIR}/delivery_util.c)
target_include_directories(weft_it_delivery PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(weft_it_delivery PUBLIC weft_it_fabric)

foreach(name delivery_batching delivery_slow_consumer delivery_limits)
    add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.c)
    target_link_libraries(${name} PRIVATE weft_it_delivery PkgConfig::CMOCKA)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES
        LABELS delivery
        TIMEOUT 180
        ENVIRONMENT "${WEFT_IT_ENV}")
endforeach()
