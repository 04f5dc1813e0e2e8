/*
 * test_base_log.c: the daemons' logger: line format, level threshold, level names, one line per
 * call even when truncated, and the per-call-site rate limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base_log.h"

/* Reads everything written to f so far into buf and empties f. */
static void s_read(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
}

/* Counts the lines in text. */
static int s_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        if (*p == '\n')
            n++;
    return n;
}

/* Line format and the level threshold; a NULL logger is silent. */
static void test_format_and_levels(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    base_log_t *log = base_log_new("router", WEFT_LOG_INFO, f);
    assert_non_null(log);
    assert_int_equal(base_log_level(log), WEFT_LOG_INFO);

    base_log(log, WEFT_LOG_WARN, "bad message from %s: %d", "agent-1", 42);
    char buf[4096];
    s_read(f, buf, sizeof buf);
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ router warn: ...\n" */
    assert_int_equal(strlen(buf), 24 + strlen(" router warn: bad message from agent-1: 42\n"));
    assert_string_equal(buf + 24, " router warn: bad message from agent-1: 42\n");
    assert_true(buf[4] == '-' && buf[7] == '-' && buf[10] == 'T' && buf[13] == ':' &&
                buf[16] == ':' && buf[19] == '.' && buf[23] == 'Z');

    /* The threshold: debug is skipped at info, then allowed after set_level. */
    base_log(log, WEFT_LOG_DEBUG, "hidden");
    base_log(log, WEFT_LOG_ERROR, "shown");
    base_log(log, WEFT_LOG_NOTICE, "shown too");
    base_log(log, WEFT_LOG_INFO, "and this");
    s_read(f, buf, sizeof buf);
    assert_int_equal(s_lines(buf), 3);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, " router error: shown\n"));
    assert_non_null(strstr(buf, " router notice: shown too\n"));
    assert_non_null(strstr(buf, " router info: and this\n"));
    base_log_set_level(log, WEFT_LOG_DEBUG);
    base_log(log, WEFT_LOG_DEBUG, "now visible");
    s_read(f, buf, sizeof buf);
    assert_non_null(strstr(buf, " router debug: now visible\n"));
    base_log_set_level(log, WEFT_LOG_ERROR);
    base_log(log, WEFT_LOG_WARN, "quiet");
    s_read(f, buf, sizeof buf);
    assert_string_equal(buf, "");

    base_log_destroy(&log);
    assert_null(log);
    base_log_destroy(&log);
    base_log_destroy(NULL);
    fclose(f);

    /* A NULL logger is silent and reports the error level. */
    base_log(NULL, WEFT_LOG_ERROR, "nowhere");
    assert_int_equal(base_log_level(NULL), WEFT_LOG_ERROR);
    base_limit_t limit = {0};
    assert_int_equal(base_log_limited(NULL, &limit, WEFT_LOG_ERROR, "nowhere"), 0);
}

/* Level names parse case-insensitively. */
static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(base_log_level_parse("error"), WEFT_LOG_ERROR);
    assert_int_equal(base_log_level_parse("warn"), WEFT_LOG_WARN);
    assert_int_equal(base_log_level_parse("notice"), WEFT_LOG_NOTICE);
    assert_int_equal(base_log_level_parse("info"), WEFT_LOG_INFO);
    assert_int_equal(base_log_level_parse("debug"), WEFT_LOG_DEBUG);
    assert_int_equal(base_log_level_parse("INFO"), WEFT_LOG_INFO);
    assert_int_equal(base_log_level_parse("warning"), -1);
    assert_int_equal(base_log_level_parse(""), -1);
    assert_int_equal(base_log_level_parse(NULL), -1);
}

/* A truncated message still ends its line; long names are cut. */
static void test_long_lines(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    base_log_t *log = base_log_new("edge", WEFT_LOG_DEBUG, f);
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    base_log(log, WEFT_LOG_INFO, "%s", big);
    base_log(log, WEFT_LOG_INFO, "next");
    char buf[8192];
    s_read(f, buf, sizeof buf);
    /* Truncated, but still one whole line: the next message starts on its own line. */
    assert_int_equal(s_lines(buf), 2);
    char *second = strchr(buf, '\n') + 1;
    assert_non_null(strstr(second, " edge info: next\n"));
    assert_true(strlen(buf) - strlen(second) <= 1024);
    free(big);
    base_log_destroy(&log);
    fclose(f);

    /* A long name is cut, not overflowed. */
    f = tmpfile();
    log = base_log_new("a-very-long-component-name-that-goes-on-and-on", WEFT_LOG_INFO, f);
    base_log(log, WEFT_LOG_INFO, "ok");
    s_read(f, buf, sizeof buf);
    assert_non_null(strstr(buf, " a-very-long-component-name-that info: ok\n"));
    base_log_destroy(&log);
    fclose(f);
}

/* The limiter: a burst per window, then a summary of what it dropped. */
static void test_rate_limit(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    base_log_t *log = base_log_new("router", WEFT_LOG_INFO, f);
    base_limit_t limit = {.burst = 3};
    int written = 0;
    for (int i = 0; i < 10; i++)
        written += base_log_limited(log, &limit, WEFT_LOG_WARN, "bad frame %d", i);
    assert_int_equal(written, 3);
    assert_int_equal(limit.suppressed, 7);
    char buf[4096];
    s_read(f, buf, sizeof buf);
    assert_int_equal(s_lines(buf), 3);
    assert_non_null(strstr(buf, "warn: bad frame 0\n"));
    assert_non_null(strstr(buf, "warn: bad frame 2\n"));
    assert_null(strstr(buf, "bad frame 3"));

    /* A new window: first the count of what was dropped, then the line. */
    limit.window_start_ms -= 1000;
    assert_int_equal(base_log_limited(log, &limit, WEFT_LOG_WARN, "bad frame %d", 10), 1);
    s_read(f, buf, sizeof buf);
    assert_int_equal(s_lines(buf), 2);
    char *first_end = strchr(buf, '\n');
    assert_non_null(first_end);
    assert_non_null(strstr(buf, "warn: (7 similar lines suppressed)\n"));
    assert_true(strstr(buf, "(7 similar") < first_end);
    assert_non_null(strstr(first_end, "warn: bad frame 10\n"));
    assert_int_equal(limit.suppressed, 0);

    /* Lines below the threshold are not counted as suppressed. */
    base_limit_t quiet = {0};
    assert_int_equal(base_log_limited(log, &quiet, WEFT_LOG_DEBUG, "debug"), 0);
    assert_int_equal(quiet.suppressed, 0);

    /* burst 0 means the default of 5 a second. */
    base_limit_t dflt = {0};
    written = 0;
    for (int i = 0; i < 20; i++)
        written += base_log_limited(log, &dflt, WEFT_LOG_ERROR, "x");
    assert_int_equal(written, 5);
    base_log_destroy(&log);
    fclose(f);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
