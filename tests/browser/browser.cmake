# The browser test: edge/www's live page in Debian's headless Chromium via playwright-core
# (tests/browser/demo_page.mjs). Included from tests/integration/CMakeLists.txt, which defines
# WEFT_IT_ENV. Registered only when node and /usr/bin/chromium exist at configure time;
# tests/run.sh installs both (and runs "npm ci" here) so CI always runs it.
find_program(WEFT_NODE node)
if(WEFT_NODE AND EXISTS /usr/bin/chromium)
    add_test(NAME browser_demo_page
        COMMAND ${WEFT_NODE} ${CMAKE_CURRENT_LIST_DIR}/demo_page.mjs
        WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(browser_demo_page PROPERTIES
        LABELS browser
        TIMEOUT 180
        ENVIRONMENT "${WEFT_IT_ENV}")
else()
    message(STATUS "browser test not registered: needs node and /usr/bin/chromium")
endif()
