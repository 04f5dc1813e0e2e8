/*
 * test_weft_err.c: error names and texts come from one table, are distinct and never NULL; the
 * version string and number match the generated header; the log callback is installed and
 * removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft.h"
#include "sdk_log.h"

static const int s_codes[] = {
#define CODE(name, code, text) WEFT_##name,
    WEFT_ERRNO_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof s_codes / sizeof s_codes[0])

/* Every code of the table has its own name and text. */
static void test_names_and_texts(void **state)
{
    (void)state;
    assert_int_equal(NCODES, 16);
    for (size_t i = 0; i < NCODES; i++) {
        const char *name = weft_err_name(s_codes[i]);
        const char *text = weft_strerror(s_codes[i]);
        assert_non_null(name);
        assert_non_null(text);
        assert_true(strncmp(name, "WEFT_E", 6) == 0);
        assert_string_not_equal(text, "unknown error");
        assert_true(s_codes[i] < 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(s_codes[i], s_codes[j]);
            assert_string_not_equal(name, weft_err_name(s_codes[j]));
            assert_string_not_equal(text, weft_strerror(s_codes[j]));
        }
    }
    assert_string_equal(weft_err_name(WEFT_EFULL), "WEFT_EFULL");
    assert_string_equal(weft_err_name(WEFT_ETIMEDOUT), "WEFT_ETIMEDOUT");
    assert_string_equal(weft_strerror(WEFT_ECLOSED), "publisher is shutting down");
    assert_string_equal(weft_err_name(WEFT_OK), "WEFT_OK");
    assert_string_equal(weft_strerror(WEFT_OK), "success");
}

/* Codes outside the table get fixed fallbacks, never NULL. */
static void test_unknown_codes(void **state)
{
    (void)state;
    const int unknown[] = {1, -17, -1000, 42, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(weft_strerror(unknown[i]), "unknown error");
        assert_string_equal(weft_err_name(unknown[i]), "unknown");
    }
}

/* weft_version() and weft_version_number() match the generated header and each other. */
static void test_version(void **state)
{
    (void)state;
    assert_string_equal(weft_version(), WEFT_VERSION_STRING);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
             WEFT_VERSION_PATCH);
    assert_string_equal(weft_version(), expect);
    assert_int_equal(weft_version_number(), WEFT_VERSION_NUMBER);
    assert_int_equal(WEFT_VERSION_NUMBER,
                     WEFT_VERSION_MAJOR * 10000 + WEFT_VERSION_MINOR * 100 + WEFT_VERSION_PATCH);
    /* The number orders like the string: "0.2.0" is 200, "1.2.3" would be 10203. */
    int major, minor, patch;
    assert_int_equal(sscanf(weft_version(), "%d.%d.%d", &major, &minor, &patch), 3);
    assert_int_equal(weft_version_number(), major * 10000 + minor * 100 + patch);
#if WEFT_VERSION_NUMBER < 100
#error "WEFT_VERSION_NUMBER must be usable in #if"
#endif
}

/* What the test's log callback saw. */
typedef struct seen {
    int calls;         /* callback invocations */
    int level;         /* level of the last call */
    char message[256]; /* text of the last call */
} seen_t;

/* Records the last message in the seen_t passed as arg. */
static void s_log(int level, const char *message, void *arg)
{
    seen_t *seen = arg;
    seen->calls++;
    seen->level = level;
    snprintf(seen->message, sizeof seen->message, "%s", message);
}

/* The callback sees messages only while set; the limiter works through it. */
static void test_log_callback(void **state)
{
    (void)state;
    seen_t seen = {0};
    sdk_log(WEFT_LOG_ERROR, "nobody listens %d", 1); /* silent by default */
    assert_false(sdk_log_enabled());
    weft_log_set(s_log, &seen);
    assert_true(sdk_log_enabled());
    sdk_log(WEFT_LOG_WARN, "lost %d events", 3);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.level, WEFT_LOG_WARN);
    assert_string_equal(seen.message, "lost 3 events");

    /* The limiter passes `burst` lines a window, then one summary line when it opens again. */
    base_limit_t limit = {.burst = 2};
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "bad %d", 1), 1);
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "bad %d", 2), 1);
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "bad %d", 3), 0);
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "bad %d", 4), 0);
    assert_int_equal(seen.calls, 3);
    assert_string_equal(seen.message, "bad 2");
    limit.window_start_ms -= 1000; /* pretend a second passed */
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "bad %d", 5), 1);
    assert_int_equal(seen.calls, 5);
    assert_string_equal(seen.message, "bad 5");

    weft_log_set(NULL, &seen);
    sdk_log(WEFT_LOG_ERROR, "silent again");
    assert_int_equal(seen.calls, 5);
    assert_int_equal(sdk_log_limited(&limit, WEFT_LOG_WARN, "x"), 0);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_texts),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_log_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
