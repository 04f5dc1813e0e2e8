/*
 * test_rtr_rooms.c: per-room sequence numbers and the recency list history will evict by.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtr_rooms.h"

/* Stamps the named room once at now and returns the seq. */
static uint64_t s_stamp(rtr_rooms_t *rooms, const char *name, uint64_t now)
{
    rtr_room_t *room = rtr_rooms_ensure(rooms, name, strlen(name), now);
    assert_non_null(room);
    return rtr_rooms_stamp(rooms, room, now);
}

/* Each room counts 1, 2, 3 ... independently of the others. */
static void test_seq_per_room(void **state)
{
    (void)state;
    rtr_rooms_t *rooms = rtr_rooms_new();
    assert_non_null(rooms);
    assert_int_equal(s_stamp(rooms, "project:1", 1), 1);
    assert_int_equal(s_stamp(rooms, "project:1", 2), 2);
    assert_int_equal(s_stamp(rooms, "project:12", 3), 1);
    assert_int_equal(s_stamp(rooms, "project:1", 4), 3);
    assert_int_equal(s_stamp(rooms, "agent:7", 5), 1);
    assert_int_equal(s_stamp(rooms, "project:12", 6), 2);
    assert_int_equal(rtr_rooms_size(rooms), 3);

    rtr_room_t *room = rtr_rooms_lookup(rooms, "project:1", 9);
    assert_non_null(room);
    size_t len = 0;
    assert_string_equal(rtr_room_name(room, &len), "project:1");
    assert_int_equal(len, 9);
    assert_int_equal(rtr_room_last_seq(room), 3);
    assert_int_equal(rtr_room_last_used(room), 4);
    /* Prefixes and extensions are different rooms. */
    assert_null(rtr_rooms_lookup(rooms, "project:", 8));
    assert_null(rtr_rooms_lookup(rooms, "project:123", 11));
    /* The name is compared by length, not up to a NUL. */
    assert_non_null(rtr_rooms_lookup(rooms, "project:12xyz", 10));

    rtr_rooms_destroy(&rooms);
    assert_null(rooms);
    rtr_rooms_destroy(&rooms); /* NULL-safe */
}

/* ensure() without a stamp creates the room at seq 0 and does not issue a seq. */
static void test_ensure_no_stamp(void **state)
{
    (void)state;
    rtr_rooms_t *rooms = rtr_rooms_new();
    rtr_room_t *a = rtr_rooms_ensure(rooms, "a", 1, 10);
    assert_int_equal(rtr_room_last_seq(a), 0);
    assert_ptr_equal(rtr_rooms_ensure(rooms, "a", 1, 20), a);
    assert_int_equal(rtr_room_last_used(a), 10);
    assert_int_equal(rtr_rooms_stamp(rooms, a, 30), 1);
    rtr_rooms_destroy(&rooms);
}

/* The recency list runs from the idlest room to the busiest, updated on every stamp. */
static void test_recency(void **state)
{
    (void)state;
    rtr_rooms_t *rooms = rtr_rooms_new();
    assert_null(rtr_rooms_idlest(rooms));
    s_stamp(rooms, "a", 1);
    s_stamp(rooms, "b", 2);
    s_stamp(rooms, "c", 3);
    s_stamp(rooms, "a", 4);
    s_stamp(rooms, "b", 5);
    const char *want[] = {"c", "a", "b"};
    size_t i = 0;
    for (rtr_room_t *r = rtr_rooms_idlest(rooms); r; r = rtr_room_busier(r), i++) {
        assert_true(i < 3);
        assert_string_equal(rtr_room_name(r, NULL), want[i]);
    }
    assert_int_equal(i, 3);
    /* Stamping the busiest room again keeps the order. */
    s_stamp(rooms, "b", 6);
    assert_string_equal(rtr_room_name(rtr_rooms_idlest(rooms), NULL), "c");
    rtr_rooms_destroy(&rooms);
}

/* Many rooms (the map grows many times) keep their own sequences. */
static void test_many_rooms(void **state)
{
    (void)state;
    rtr_rooms_t *rooms = rtr_rooms_new();
    enum { N = 20000 };
    char name[32];
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof name, "room:%d", i);
            assert_int_equal(s_stamp(rooms, name, (uint64_t)round), (uint64_t)round);
        }
    }
    assert_int_equal(rtr_rooms_size(rooms), N);
    size_t count = 0;
    for (rtr_room_t *r = rtr_rooms_idlest(rooms); r; r = rtr_room_busier(r))
        count++;
    assert_int_equal(count, N);
    /* The longest room name works like any other. */
    char longest[129];
    memset(longest, 'z', 128);
    longest[128] = '\0';
    assert_int_equal(s_stamp(rooms, longest, 9), 1);
    assert_int_equal(s_stamp(rooms, longest, 9), 2);
    rtr_rooms_destroy(&rooms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_per_room),
        cmocka_unit_test(test_ensure_no_stamp),
        cmocka_unit_test(test_recency),
        cmocka_unit_test(test_many_rooms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
