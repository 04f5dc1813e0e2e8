# The browser tests: edge/www's live page (tests/browser/demo_page.mjs), signed in with a token
# (auth_page.mjs), and weft.js resuming across a killed edge (resume_page.mjs), in Debian's headless Chromium via playwright-core.
# Included from tests/integration/CMakeLists.txt, which defines WEFT_IT_ENV and WEFT_HAPROXY.
# Registered only when node and /usr/bin/chromium exist at configure time; tests/run.sh installs
# both (and runs "npm ci" here) so CI always runs them.
find_program(WEFT_NODE node)
# weft.js's cursor rules with a fake WebSocket: needs node only (label unit as well).
if(WEFT_NODE)
    add_test(NAME weft_client_js
        COMMAND ${WEFT_NODE} ${CMAKE_CURRENT_LIST_DIR}/weft_client.mjs
        WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(weft_client_js PROPERTIES LABELS "browser;unit" TIMEOUT 60)
endif()
if(WEFT_NODE AND EXISTS /usr/bin/chromium)
    add_test(NAME browser_demo_page
        COMMAND ${WEFT_NODE} ${CMAKE_CURRENT_LIST_DIR}/demo_page.mjs
        WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(browser_demo_page PROPERTIES
        LABELS browser
        TIMEOUT 180
        ENVIRONMENT "${WEFT_IT_ENV}")
    # The live page signed in with a token from weft-token (label security as well): its user
    # room and permitted rooms arrive, other users' rooms never do.
    add_test(NAME browser_auth_page
        COMMAND ${WEFT_NODE} ${CMAKE_CURRENT_LIST_DIR}/auth_page.mjs
        WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(browser_auth_page PROPERTIES
        LABELS "browser;security"
        TIMEOUT 180
        ENVIRONMENT "${WEFT_IT_ENV};WEFT_TOKEN_BIN=$<TARGET_FILE:weft-token>")
    # weft.js resuming through HAProxy after its edge is SIGKILLed (label resume as well).
    if(WEFT_HAPROXY)
        add_test(NAME browser_resume_page
            COMMAND ${WEFT_NODE} ${CMAKE_CURRENT_LIST_DIR}/resume_page.mjs
            WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
        set_tests_properties(browser_resume_page PROPERTIES
            LABELS "browser;resume"
            TIMEOUT 180
            ENVIRONMENT "${WEFT_IT_ENV};WEFT_HAPROXY_BIN=${WEFT_HAPROXY};WEFT_HAPROXY_CFG=${PROJECT_SOURCE_DIR}/deploy/haproxy.cfg")
    endif()
else()
    message(STATUS "browser tests not registered: need node and /usr/bin/chromium")
endif()
