/*
 * test_edge_classes.c: the delivery-class list: the default list parses as documented, globs
 * match the way patterns are described, the first matching class wins, and every malformed
 * list is refused with a message that names the class and the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge_classes.h"

#define DEFAULTS                                                                                   \
    "status=*.status_changed,agent.status.*:200::agent_id; metrics=metrics.*:500::agent_id; "      \
    "logs=log.*:1000"

/* The class name an event type maps to, or "immediate". */
static const char *s_class_of(const edge_classes_t *c, const char *type)
{
    int i = edge_classes_match(c, type, strlen(type));
    return i < 0 ? "immediate" : edge_classes_get(c, (size_t)i)->name;
}

static void test_defaults(void **state)
{
    (void)state;
    char err[256] = "";
    edge_classes_t *c = edge_classes_parse(DEFAULTS, 100, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(edge_classes_count(c), 3);
    const edge_class_t *status = edge_classes_get(c, 0);
    assert_string_equal(status->name, "status");
    assert_int_equal(status->window_ms, 200);
    assert_int_equal(status->max, 100); /* empty max: the default */
    assert_string_equal(status->key, "agent_id");
    const edge_class_t *logs = edge_classes_get(c, 2);
    assert_int_equal(logs->window_ms, 1000);
    assert_int_equal(logs->key_len, 0);
    assert_null(edge_classes_get(c, 3));

    assert_string_equal(s_class_of(c, "agent.status_changed"), "status");
    assert_string_equal(s_class_of(c, "task.status_changed"), "status");
    assert_string_equal(s_class_of(c, "agent.status.idle"), "status");
    assert_string_equal(s_class_of(c, "metrics.cpu"), "metrics");
    assert_string_equal(s_class_of(c, "metrics.disk.io"), "metrics");
    assert_string_equal(s_class_of(c, "log.line"), "logs");
    /* Everything else is immediate, including near misses. */
    assert_string_equal(s_class_of(c, "task.progress"), "immediate");
    assert_string_equal(s_class_of(c, "status_changed"), "immediate"); /* needs the dot */
    assert_string_equal(s_class_of(c, "agent.status"), "immediate");
    assert_string_equal(s_class_of(c, "metrics"), "immediate");
    assert_string_equal(s_class_of(c, "logs.x"), "immediate");
    assert_string_equal(s_class_of(c, "test.cursor"), "immediate");
    edge_classes_destroy(&c);
    assert_null(c);
    edge_classes_destroy(&c); /* NULL-safe */
}

static void test_glob(void **state)
{
    (void)state;
    struct {
        const char *pattern, *text;
        bool match;
    } cases[] = {
        {"a.b", "a.b", true},     {"a.b", "a.bc", false},     {"*", "", true},
        {"*", "any.thing", true}, {"a*", "a", true},          {"*b", "ab", true},
        {"*b", "ba", false},      {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
        {"*.x", "a.b.x", true},   {"*.x", "a.b.xx", false},   {"**", "abc", true},
        {"a*a*a", "aaa", true},   {"a*a*a", "aa", false},     {"", "", true},
        {"", "a", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = edge_class_glob(cases[i].pattern, strlen(cases[i].pattern), cases[i].text,
                                   strlen(cases[i].text));
        if (got != cases[i].match)
            fail_msg("glob '%s' on '%s': got %d", cases[i].pattern, cases[i].text, got);
    }
}

static void test_first_match_and_fields(void **state)
{
    (void)state;
    char err[256];
    /* Blanks around everything, a trailing ';', explicit max, a class with window 0. */
    edge_classes_t *c = edge_classes_parse(
        "  hot = metrics.cpu : 0 ; warm=metrics.* ,x.*:250: 7 :host-id ;", 50, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(edge_classes_count(c), 2);
    assert_string_equal(s_class_of(c, "metrics.cpu"), "hot"); /* listed first */
    assert_string_equal(s_class_of(c, "metrics.mem"), "warm");
    assert_string_equal(s_class_of(c, "x.y"), "warm");
    const edge_class_t *warm = edge_classes_get(c, 1);
    assert_int_equal(warm->window_ms, 250);
    assert_int_equal(warm->max, 7);
    assert_string_equal(warm->key, "host-id");
    assert_int_equal(warm->key_len, 7);
    assert_int_equal(edge_classes_get(c, 0)->window_ms, 0);
    edge_classes_destroy(&c);

    /* Empty and blank lists: everything immediate. */
    c = edge_classes_parse("", 100, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(edge_classes_count(c), 0);
    assert_string_equal(s_class_of(c, "log.line"), "immediate");
    edge_classes_destroy(&c);
    c = edge_classes_parse(" ; ;", 100, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(edge_classes_count(c), 0);
    edge_classes_destroy(&c);
    assert_int_equal(edge_classes_match(NULL, "a", 1), -1);
}

static void test_errors(void **state)
{
    (void)state;
    struct {
        const char *spec, *want;
    } cases[] = {
        {"logs", "class 1 ('logs'): expected name=patterns:window_ms"},
        {"logs=log.*", "class 1 ('logs'): missing window_ms"},
        {"logs=log.*:", "class 1 ('logs'): missing window_ms"},
        {"Logs=log.*:5", "class 1: name 'Logs' must match [a-z0-9_]{1,32}"},
        {"=log.*:5", "class 1: name '' must match"},
        {"a=b:5; logs=Log.*:5", "class 2 ('logs'): pattern 'Log.*' must be"},
        {"logs=log.*,:5", "class 1 ('logs'): pattern '' must be"},
        {"logs=log.*:5x", "class 1 ('logs'): window '5x' must be milliseconds in 0..60000"},
        {"logs=log.*:-1", "window '-1' must be"},
        {"logs=log.*:60001", "window '60001' must be"},
        {"logs=log.*:5:0", "class 1 ('logs'): max '0' must be an integer in 1..10000"},
        {"logs=log.*:5:10001", "max '10001' must be"},
        {"logs=log.*:5:1:a b", "class 1 ('logs'): key 'a b' must match"},
        {"logs=log.*:5:1:k:extra", "class 1 ('logs'): too many ':' fields"},
        {"a=x:1; a=y:2", "class 2: name 'a' is used twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        edge_classes_t *c = edge_classes_parse(cases[i].spec, 100, err, sizeof err);
        if (c)
            fail_msg("'%s' was accepted", cases[i].spec);
        if (!strstr(err, cases[i].want))
            fail_msg("'%s': error '%s' does not contain '%s'", cases[i].spec, err, cases[i].want);
    }
    /* Limits on counts. */
    char spec[4096] = "";
    for (int i = 0; i <= EDGE_CLASS_MAX; i++) {
        char one[32];
        snprintf(one, sizeof one, "c%d=t%d:1;", i, i);
        strcat(spec, one);
    }
    char err[256] = "";
    assert_null(edge_classes_parse(spec, 100, err, sizeof err));
    assert_non_null(strstr(err, "more than 32 classes"));
    strcpy(spec, "c=");
    for (int i = 0; i <= EDGE_CLASS_PATTERNS_MAX; i++)
        strcat(spec, i ? ",p" : "p");
    strcat(spec, ":1");
    assert_null(edge_classes_parse(spec, 100, err, sizeof err));
    assert_non_null(strstr(err, "more than 16 patterns"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_first_match_and_fields),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
