/*
 * test_edge_rooms.c: memberships, first/last subscription callbacks, pattern matching, the
 * once-per-connection delivery rule, removal on close, and the per-room data slot
 * (where the edge keeps each room's stream state).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_rooms.h"

/* Records on_topic calls as "+topic" / "-topic" lines. */
typedef struct topics {
    char log[4096];
    int calls;
} topics_t;

static void s_on_topic(void *arg, bool subscribe, const char *topic, size_t len)
{
    topics_t *t = arg;
    size_t used = strlen(t->log);
    snprintf(t->log + used, sizeof t->log - used, "%c%.*s|", subscribe ? '+' : '-', (int)len,
             topic);
    t->calls++;
}

/* Collects visited connections (ints) in order. */
typedef struct visits {
    int conn[64];
    int n;
} visits_t;

static void s_visit(void *arg, void *conn)
{
    visits_t *v = arg;
    if (v->n < 64)
        v->conn[v->n++] = *(int *)conn;
}

/* Visits a room and returns the visits. */
static visits_t s_who(edge_rooms_t *rooms, const char *room)
{
    visits_t v = {.n = 0};
    size_t n = edge_rooms_visit(rooms, room, strlen(room), s_visit, &v);
    assert_int_equal(n, (size_t)v.n);
    return v;
}

/* True when visits contain conn. */
static bool s_has(const visits_t *v, int conn)
{
    for (int i = 0; i < v->n; i++)
        if (v->conn[i] == conn)
            return true;
    return false;
}

#define JOIN(m, name) edge_rooms_join((m), (name), strlen(name))
#define LEAVE(m, name) edge_rooms_leave((m), (name), strlen(name))

static void test_first_last_callbacks(void **state)
{
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c1 = 1, c2 = 2;
    edge_member_t *m1 = edge_member_new(rooms, &c1), *m2 = edge_member_new(rooms, &c2);
    assert_int_equal(JOIN(m1, "project:1"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m2, "project:1"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m1, "agent:*"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m1, "*"), EDGE_ROOMS_ADDED);
    /* Only first members subscribe: exact rooms end with a space, patterns drop the '*'. */
    assert_string_equal(t.log, "+project:1 |+agent:|+|");
    assert_int_equal(edge_rooms_count(rooms), 1);
    assert_int_equal(edge_rooms_pattern_count(rooms), 2);
    assert_int_equal(edge_rooms_membership_count(rooms), 4);
    t.log[0] = '\0';
    assert_int_equal(LEAVE(m1, "project:1"), EDGE_ROOMS_REMOVED);
    assert_string_equal(t.log, ""); /* m2 is still there */
    assert_int_equal(LEAVE(m2, "project:1"), EDGE_ROOMS_REMOVED);
    assert_string_equal(t.log, "-project:1 |");
    assert_int_equal(edge_rooms_count(rooms), 0);
    assert_int_equal(edge_rooms_entry_count(rooms), 1); /* kept for its seq: "*" covers it */
    edge_member_destroy(&m1);
    assert_int_equal(edge_rooms_entry_count(rooms), 0);
    edge_member_destroy(&m2);
    edge_rooms_destroy(&rooms);
    assert_null(rooms);
}

static void test_join_twice_and_leave_errors(void **state)
{
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    assert_int_equal(JOIN(m, "global"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m, "global"), EDGE_ROOMS_ALREADY);
    assert_int_equal(edge_member_count(m), 1);
    assert_int_equal(t.calls, 1);
    assert_int_equal(LEAVE(m, "other"), EDGE_ROOMS_NOT_MEMBER);
    assert_int_equal(LEAVE(m, "global*"), EDGE_ROOMS_NOT_MEMBER); /* a pattern is not the room */
    assert_int_equal(JOIN(m, "bad room"), EDGE_ROOMS_INVALID);
    assert_int_equal(JOIN(m, ""), EDGE_ROOMS_INVALID);
    assert_int_equal(LEAVE(m, "a*b"), EDGE_ROOMS_INVALID);
    assert_int_equal(LEAVE(m, "global"), EDGE_ROOMS_REMOVED);
    assert_int_equal(LEAVE(m, "global"), EDGE_ROOMS_NOT_MEMBER);
    assert_int_equal(t.calls, 2);
    edge_member_destroy(&m);
    edge_member_destroy(&m); /* NULL-safe */
    edge_rooms_destroy(&rooms);
}

static void test_exact_room_boundaries(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int c1 = 1, c12 = 12;
    edge_member_t *m1 = edge_member_new(rooms, &c1), *m12 = edge_member_new(rooms, &c12);
    JOIN(m1, "project:1");
    JOIN(m12, "project:12");
    visits_t v = s_who(rooms, "project:1");
    assert_int_equal(v.n, 1);
    assert_int_equal(v.conn[0], 1);
    v = s_who(rooms, "project:12");
    assert_int_equal(v.n, 1);
    assert_int_equal(v.conn[0], 12);
    assert_int_equal(s_who(rooms, "project:123").n, 0);
    assert_int_equal(s_who(rooms, "project:").n, 0);
    edge_member_destroy(&m1);
    edge_member_destroy(&m12);
    edge_rooms_destroy(&rooms);
}

static void test_patterns(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int a = 1, b = 2, all = 3;
    edge_member_t *ma = edge_member_new(rooms, &a), *mb = edge_member_new(rooms, &b),
                  *mall = edge_member_new(rooms, &all);
    JOIN(ma, "project:1*"); /* project:1, project:12, project:1x ... */
    JOIN(mb, "agent:*");
    JOIN(mall, "*");
    visits_t v = s_who(rooms, "project:12");
    assert_int_equal(v.n, 2);
    assert_true(s_has(&v, 1) && s_has(&v, 3));
    v = s_who(rooms, "project:2");
    assert_int_equal(v.n, 1);
    assert_true(s_has(&v, 3));
    v = s_who(rooms, "agent:");
    assert_int_equal(v.n, 2); /* "agent:*" matches the empty suffix too */
    assert_true(s_has(&v, 2) && s_has(&v, 3));
    v = s_who(rooms, "agentX");
    assert_int_equal(v.n, 1);
    edge_member_destroy(&ma);
    edge_member_destroy(&mb);
    edge_member_destroy(&mall);
    edge_rooms_destroy(&rooms);
}

static void test_once_per_connection(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int c7 = 7, other = 8;
    edge_member_t *m = edge_member_new(rooms, &c7), *o = edge_member_new(rooms, &other);
    JOIN(m, "agent:7");
    JOIN(m, "agent:*");
    JOIN(m, "agent*");
    JOIN(m, "*");
    JOIN(o, "agent:*");
    for (int round = 0; round < 3; round++) { /* every visit starts afresh */
        visits_t v = s_who(rooms, "agent:7");
        assert_int_equal(v.n, 2);
        assert_true(s_has(&v, 7) && s_has(&v, 8));
    }
    visits_t v = s_who(rooms, "agent:8");
    assert_int_equal(v.n, 2);
    edge_member_destroy(&m);
    edge_member_destroy(&o);
    edge_rooms_destroy(&rooms);
}

static void test_close_removes_everything(void **state)
{
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c1 = 1, c2 = 2;
    edge_member_t *m1 = edge_member_new(rooms, &c1), *m2 = edge_member_new(rooms, &c2);
    JOIN(m1, "a");
    JOIN(m1, "b");
    JOIN(m1, "x:*");
    JOIN(m2, "b");
    t.log[0] = '\0';
    edge_member_destroy(&m1); /* a connection closing */
    assert_null(m1);
    assert_non_null(strstr(t.log, "-a |"));
    assert_non_null(strstr(t.log, "-x:|"));
    assert_null(strstr(t.log, "-b |")); /* m2 keeps b */
    assert_int_equal(t.calls, 3 + 2);
    assert_int_equal(edge_rooms_membership_count(rooms), 1);
    assert_int_equal(s_who(rooms, "a").n, 0);
    assert_int_equal(s_who(rooms, "x:1").n, 0);
    visits_t v = s_who(rooms, "b");
    assert_int_equal(v.n, 1);
    assert_int_equal(v.conn[0], 2);
    edge_rooms_leave_all(m2);
    assert_int_equal(edge_member_count(m2), 0);
    assert_int_equal(edge_rooms_membership_count(rooms), 0);
    assert_int_equal(edge_rooms_entry_count(rooms), 0);
    edge_member_destroy(&m2);
    edge_rooms_destroy(&rooms);
}

static void test_many_rooms(void **state)
{
    /* Enough rooms to grow the hash table several times. */
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "room:%d", i);
        assert_int_equal(JOIN(m, name), EDGE_ROOMS_ADDED);
    }
    assert_int_equal(edge_rooms_count(rooms), 5000);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "room:%d", i);
        assert_int_equal(s_who(rooms, name).n, 1);
    }
    assert_int_equal(s_who(rooms, "room:5000").n, 0);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(name, sizeof name, "room:%d", i);
        assert_int_equal(LEAVE(m, name), EDGE_ROOMS_REMOVED);
    }
    assert_int_equal(edge_rooms_count(rooms), 2500);
    assert_int_equal(s_who(rooms, "room:2").n, 0);
    assert_int_equal(s_who(rooms, "room:3").n, 1);
    edge_member_destroy(&m);
    assert_int_equal(edge_rooms_entry_count(rooms), 0);
    assert_int_equal(t.calls, 10000);
    edge_rooms_destroy(&rooms);
}

/* Counts room data freed (the data is a heap int holding its room's number). */
typedef struct freed {
    int count; /* data freed */
    int last;  /* value of the last one */
} freed_t;

static void s_free_data(void *arg, void *data)
{
    freed_t *f = arg;
    f->count++;
    f->last = *(int *)data;
    free(data);
}

/* Stores a heap int in a room's slot. */
static void s_put(edge_rooms_t *rooms, const char *room, int value)
{
    void **slot = edge_rooms_data(rooms, room, strlen(room));
    assert_non_null(slot);
    assert_null(*slot);
    int *v = malloc(sizeof *v);
    assert_non_null(v);
    *v = value;
    *slot = v;
}

/* Sums the values of every room with data. */
static void s_sum(void *arg, const char *room, size_t len, void *data)
{
    *(int *)arg += *(int *)data;
}

static void test_room_data(void **state)
{
    freed_t f = {0};
    edge_rooms_t *rooms = edge_rooms_new(NULL, &f);
    edge_rooms_set_free(rooms, s_free_data);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    /* Nobody listens: no slot. */
    assert_null(edge_rooms_data(rooms, "r", 1));
    JOIN(m, "r");
    s_put(rooms, "r", 5);
    void **slot = edge_rooms_data(rooms, "r", 1);
    assert_int_equal(*(int *)*slot, 5); /* the same slot every time */
    assert_null(edge_rooms_data(rooms, "bad room", 8));
    int sum = 0;
    edge_rooms_each(rooms, s_sum, &sum);
    assert_int_equal(sum, 5);
    /* Leaving frees the data: the next join starts afresh. */
    LEAVE(m, "r");
    assert_int_equal(f.count, 1);
    assert_int_equal(f.last, 5);
    assert_null(edge_rooms_data(rooms, "r", 1));
    JOIN(m, "r");
    assert_null(*edge_rooms_data(rooms, "r", 1));
    s_put(rooms, "r", 6);
    /* Destroying the index frees what is left. */
    edge_rooms_destroy(&rooms);
    assert_int_equal(f.count, 2);
    assert_int_equal(f.last, 6);
    edge_member_destroy(&m);
}

static void test_room_data_through_patterns(void **state)
{
    freed_t f = {0};
    edge_rooms_t *rooms = edge_rooms_new(NULL, &f);
    edge_rooms_set_free(rooms, s_free_data);
    int c1 = 1, c2 = 2;
    edge_member_t *p = edge_member_new(rooms, &c1), *e = edge_member_new(rooms, &c2);
    JOIN(p, "agent:*");
    /* Rooms reached only through a pattern get a slot too. */
    s_put(rooms, "agent:1", 1);
    s_put(rooms, "agent:2", 2);
    assert_null(edge_rooms_data(rooms, "other", 5));
    assert_int_equal(edge_rooms_entry_count(rooms), 2);
    assert_int_equal(edge_rooms_count(rooms), 0); /* kept for their data, not subscribed rooms */
    /* An exact member joining and leaving keeps the data while the pattern covers it. */
    JOIN(e, "agent:1");
    LEAVE(e, "agent:1");
    assert_int_equal(edge_rooms_entry_count(rooms), 2);
    assert_int_equal(f.count, 0);
    int sum = 0;
    edge_rooms_each(rooms, s_sum, &sum);
    assert_int_equal(sum, 3);
    /* The last pattern member leaving sweeps rooms it alone kept, freeing their data. */
    LEAVE(p, "agent:*");
    assert_int_equal(edge_rooms_entry_count(rooms), 0);
    assert_int_equal(f.count, 2);
    assert_null(edge_rooms_data(rooms, "agent:1", 7));
    edge_member_destroy(&p);
    edge_member_destroy(&e);
    edge_rooms_destroy(&rooms);
}

static void test_destroy_with_live_members(void **state)
{
    /* The index may go first (server shutdown); members are then only freed. */
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    JOIN(m, "a");
    JOIN(m, "b:*");
    int calls = t.calls;
    edge_rooms_destroy(&rooms);
    assert_int_equal(edge_member_count(m), 0);
    assert_int_equal(JOIN(m, "a"), EDGE_ROOMS_INVALID);
    edge_member_destroy(&m);
    assert_int_equal(t.calls, calls); /* destroy calls no callback */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_last_callbacks),
        cmocka_unit_test(test_join_twice_and_leave_errors),
        cmocka_unit_test(test_exact_room_boundaries),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_once_per_connection),
        cmocka_unit_test(test_close_removes_everything),
        cmocka_unit_test(test_many_rooms),
        cmocka_unit_test(test_room_data),
        cmocka_unit_test(test_room_data_through_patterns),
        cmocka_unit_test(test_destroy_with_live_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
