/*
 * test_edge_jdepth.c: the JSON nesting pre-scan: exact boundaries, strings and escapes, and
 * text that is not JSON at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "edge_jdepth.h"

/* True when text is nested deeper than max. */
static bool s_over(const char *text, unsigned max)
{
    return edge_jdepth_over(text, strlen(text), max);
}

/* Exactly max levels pass, max + 1 do not, whether objects or arrays or both. */
static void test_boundary(void **state)
{
    (void)state;
    assert_false(s_over("{}", 1));
    assert_true(s_over("{\"a\":[]}", 1));
    assert_false(s_over("{\"a\":[1,{\"b\":2}]}", 3));
    assert_true(s_over("{\"a\":[1,{\"b\":[]}]}", 3));
    /* Depth goes back down: many siblings are not deep. */
    assert_false(s_over("[[],[],[],[],[],[],[],[]]", 2));
    char deep[2 * EDGE_JDEPTH_MAX + 3];
    for (int i = 0; i < EDGE_JDEPTH_MAX; i++) {
        deep[i] = '[';
        deep[EDGE_JDEPTH_MAX + i] = ']';
    }
    deep[2 * EDGE_JDEPTH_MAX] = '\0';
    assert_false(s_over(deep, EDGE_JDEPTH_MAX));
    assert_true(s_over(deep, EDGE_JDEPTH_MAX - 1));
}

/* Brackets in strings do not count, escaped quotes do not end a string, and the scan stops at
 * len (the text need not be NUL-terminated). */
static void test_strings(void **state)
{
    (void)state;
    assert_false(s_over("{\"room\":\"[[[[{{{{\"}", 1));
    assert_false(s_over("{\"a\":\"x\\\"[[[[\"}", 1));
    assert_true(s_over("{\"a\":\"x\\\\\",\"b\":[]}", 1)); /* \\ ends, the array counts */
    assert_false(edge_jdepth_over("[[[[", 2, 2));
    assert_true(edge_jdepth_over("[[[[", 3, 2));
}

/* Not JSON: stray closers never go below zero (they cannot hide an opener), an unterminated
 * string hides what follows, empty text is fine. */
static void test_not_json(void **state)
{
    (void)state;
    assert_true(s_over("]]]]]]]]][[[", 2));
    assert_false(s_over("\"[[[[[[", 2));
    assert_false(s_over("", 0));
    assert_false(s_over("42", 0));
    assert_true(s_over("{", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_not_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
