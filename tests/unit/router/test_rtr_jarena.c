/*
 * test_rtr_jarena.c: the jansson arena: parses inside it are freed by leaving, parses that do not
 * fit fall back to malloc, values from outside (other threads, before the arena, kept heartbeat
 * payloads) are untouched, and the verdicts of rtr_validate_payload() do not depend on it.
 * Run under ASan, any block freed the wrong way or leaked fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtr_jarena.h"
#include "rtr_validate.h"

static const char s_payload[] = "{\"task\":\"build\",\"pct\":40,\"msg\":\"compiling module 17 of "
                                "42\",\"ok\":true,\"n\":123456,\"tags\":[\"a\",\"b\"]}";

/* Installs the hooks before every test (idempotent). */
static int s_setup(void **state)
{
    (void)state;
    rtr_jarena_install();
    return 0;
}

/* new/destroy: destroy nulls the pointer and is NULL-safe; enter/leave accept NULL. */
static void test_lifecycle(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(1000);
    assert_non_null(a);
    assert_int_equal(rtr_jarena_used(a), 0);
    assert_int_equal(rtr_jarena_peak(a), 0);
    assert_int_equal(rtr_jarena_overflows(a), 0);
    rtr_jarena_destroy(&a);
    assert_null(a);
    rtr_jarena_destroy(&a);
    rtr_jarena_destroy(NULL);
    rtr_jarena_enter(NULL);
    rtr_jarena_leave(NULL);
}

/* A parse inside the arena takes arena memory, and leaving makes all of it free again. */
static void test_parse_inside(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(64 * 1024);
    assert_non_null(a);
    for (int round = 0; round < 3; round++) {
        rtr_jarena_enter(a);
        json_t *j = json_loads(s_payload, 0, NULL);
        assert_true(json_is_object(j));
        assert_int_equal(json_integer_value(json_object_get(j, "n")), 123456);
        assert_string_equal(json_string_value(json_object_get(j, "msg")),
                            "compiling module 17 of 42");
        size_t used = rtr_jarena_used(a);
        assert_true(used > 0);
        assert_int_equal(used % 16, 0);
        json_decref(j);
        rtr_jarena_leave(a);
        assert_int_equal(rtr_jarena_used(a), 0);
        assert_int_equal(rtr_jarena_peak(a), used); /* the same parse takes the same room */
    }
    assert_int_equal(rtr_jarena_overflows(a), 0);
    rtr_jarena_destroy(&a);
}

/* A parse bigger than the arena spills into malloc and still parses right; the spilled blocks
 * are freed with free() (ASan would report them otherwise). */
static void test_overflow(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(208);
    assert_non_null(a);
    /* An object of 200 members needs far more than 208 bytes. */
    size_t cap = 200 * 32 + 16;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t off = 0;
    big[off++] = '{';
    for (int i = 0; i < 200; i++)
        off +=
            (size_t)snprintf(big + off, cap - off, "%s\"k%d\":[%d,\"v%d\"]", i ? "," : "", i, i, i);
    big[off++] = '}';
    rtr_jarena_enter(a);
    json_t *j = json_loadb(big, off, 0, NULL);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "k199"), 1)), "v199");
    json_decref(j);
    rtr_jarena_leave(a);
    assert_true(rtr_jarena_overflows(a) > 0);
    assert_true(rtr_jarena_peak(a) <= 208);
    free(big);
    rtr_jarena_destroy(&a);
}

/* A value made outside the arena (as a kept heartbeat payload is) survives arena rounds and can
 * be freed inside or outside one. */
static void test_outside_values(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(4096);
    assert_non_null(a);
    json_t *kept = json_loads("{\"published\":12}", 0, NULL);
    json_t *dropped_inside = json_loads("{\"published\":13}", 0, NULL);
    assert_non_null(kept);
    assert_non_null(dropped_inside);
    for (int round = 0; round < 3; round++) {
        rtr_jarena_enter(a);
        json_t *j = json_loads(s_payload, 0, NULL);
        assert_non_null(j);
        json_decref(j);
        if (round == 1)
            json_decref(dropped_inside); /* a malloc'd block freed while the arena is in use */
        rtr_jarena_leave(a);
    }
    assert_int_equal(json_integer_value(json_object_get(kept, "published")), 12);
    json_decref(kept);
    rtr_jarena_destroy(&a);
}

/* Parses on another thread, while this one is inside its arena. */
static void *s_other_thread(void *arg)
{
    json_t **out = arg;
    for (int i = 0; i < 100; i++) {
        json_t *j = json_loads(s_payload, 0, NULL);
        if (i < 99)
            json_decref(j);
        else
            *out = j; /* kept after the arena's owner left it */
    }
    return NULL;
}

/* The arena is per thread: another thread's jansson use goes to malloc, untouched by leave. */
static void test_other_thread(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(4096);
    assert_non_null(a);
    rtr_jarena_enter(a);
    json_t *from_other = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_other_thread, &from_other), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(rtr_jarena_used(a), 0);
    rtr_jarena_leave(a);
    assert_non_null(from_other);
    /* Reusing the arena must not disturb the other thread's value. */
    rtr_jarena_enter(a);
    json_t *j = json_loads("{\"other\":[1,2,3,4,5,6,7,8]}", 0, NULL);
    json_decref(j);
    rtr_jarena_leave(a);
    assert_int_equal(json_integer_value(json_object_get(from_other, "n")), 123456);
    json_decref(from_other);
    rtr_jarena_destroy(&a);
}

/* rtr_validate_payload gives the same verdict with and without an arena, leaves the arena
 * empty, and never parses a kept payload (heartbeats) inside it. */
static void test_validate_with_arena(void **state)
{
    (void)state;
    rtr_jarena_t *a = rtr_jarena_new(256);
    assert_non_null(a);
    const char *cases[] = {"{}",
                           s_payload,
                           "{\"a\":[1,2,{\"b\":[{\"c\":{}}]}],\"d\":\"\xe2\x82\xac\"}",
                           "[1]",
                           "1",
                           "{",
                           "{}{}",
                           "{\"a\":\"\xff\"}",
                           "{\"a\":\"\\u0000\"}",
                           "{\"a\":1,}",
                           "null"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i]);
        wire_err_t plain = rtr_validate_payload(cases[i], len, 65536, NULL, NULL);
        wire_err_t arena = rtr_validate_payload(cases[i], len, 65536, a, NULL);
        if (plain != arena)
            fail_msg("case %zu: %d without the arena, %d with it", i, plain, arena);
        assert_int_equal(rtr_jarena_used(a), 0);
    }
    assert_int_equal(rtr_validate_payload("{}", 2, 1, a, NULL), WIRE_ERR_SIZE);
    /* A kept parse comes from the default allocator and outlives arena rounds. */
    json_t *kept = NULL;
    assert_int_equal(rtr_validate_payload("{\"published\":12}", 16, 65536, a, &kept), WIRE_OK);
    assert_non_null(kept);
    assert_int_equal(rtr_jarena_peak(a) > 0, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rtr_validate_payload(s_payload, strlen(s_payload), 65536, a, NULL),
                         WIRE_OK);
    assert_int_equal(json_integer_value(json_object_get(kept, "published")), 12);
    json_decref(kept);
    rtr_jarena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lifecycle, s_setup),
        cmocka_unit_test_setup(test_parse_inside, s_setup),
        cmocka_unit_test_setup(test_overflow, s_setup),
        cmocka_unit_test_setup(test_outside_values, s_setup),
        cmocka_unit_test_setup(test_other_thread, s_setup),
        cmocka_unit_test_setup(test_validate_with_arena, s_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
