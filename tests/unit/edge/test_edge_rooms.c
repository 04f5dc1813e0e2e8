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

static void s_visit(void *arg, void *conn, unsigned flags)
{
    (void)flags;
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

/* edge_rooms_leave_if(): drops names starting with 't' (asked with the name as joined). */
static bool s_drop_t(void *arg, const char *name, size_t len)
{
    char *asked = arg;
    strncat(asked, name, len);
    strcat(asked, "|");
    return name[0] == 't';
}

static void test_leave_if(void **state)
{
    (void)state;
    topics_t t = {.calls = 0};
    edge_rooms_t *rooms = edge_rooms_new(s_on_topic, &t);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    assert_int_equal(JOIN(m, "team:1"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m, "global"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m, "team:*"), EDGE_ROOMS_ADDED);
    t.log[0] = '\0';
    char asked[128] = "";
    assert_int_equal(edge_rooms_leave_if(m, s_drop_t, asked), 2);
    assert_non_null(strstr(asked, "team:1|"));
    assert_non_null(strstr(asked, "global|"));
    assert_non_null(strstr(asked, "team:*|"));
    assert_int_equal(strlen(asked), strlen("team:1|global|team:*|"));
    assert_int_equal(edge_member_count(m), 1);
    assert_int_equal(LEAVE(m, "global"), EDGE_ROOMS_REMOVED);
    assert_string_equal(t.log, "-team:|-team:1 |-global |"); /* newest membership first */
    edge_member_destroy(&m);
    edge_rooms_destroy(&rooms);
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

/* 64-bit FNV-1a, the unseeded hash the index used before: a client knowing it could pick room
 * names that all land in one chain. */
static uint64_t s_fnv1a(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Names sharing their low 12 FNV-1a bits: one chain of any table of up to 4096 buckets. */
#define COLLIDING 600

/* Fills names with COLLIDING room names "c<i>" whose FNV-1a hashes agree in their low 12 bits. */
static void s_colliding_names(char names[COLLIDING][16])
{
    uint64_t want = s_fnv1a("c0", 2) & 0xfff;
    int n = 0;
    for (unsigned i = 0; n < COLLIDING; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "c%u", i);
        if ((s_fnv1a(name, (size_t)len) & 0xfff) == want)
            memcpy(names[n++], name, (size_t)len + 1);
    }
}

/* Counts visits per connection. */
static void s_count(void *arg, void *conn, unsigned flags)
{
    (void)flags;
    ((int *)arg)[*(int *)conn]++;
}

/* Hundreds of names chosen to collide under FNV-1a: joins (growing the map), visits, room data,
 * a pattern, leaves and the sweep all give exact results. */
static void test_colliding_names(void **state)
{
    (void)state;
    static char names[COLLIDING][16];
    s_colliding_names(names);
    assert_int_equal(s_fnv1a(names[1], strlen(names[1])) & 0xfff,
                     s_fnv1a(names[COLLIDING - 1], strlen(names[COLLIDING - 1])) & 0xfff);
    freed_t f = {0};
    edge_rooms_t *rooms = edge_rooms_new(NULL, &f);
    edge_rooms_set_free(rooms, s_free_data);
    int c0 = 0, c1 = 1, c2 = 2;
    edge_member_t *all = edge_member_new(rooms, &c0);   /* every room */
    edge_member_t *third = edge_member_new(rooms, &c1); /* every third room */
    edge_member_t *pat = edge_member_new(rooms, &c2);   /* the pattern "c1*" */
    for (int i = 0; i < COLLIDING; i++) {
        assert_int_equal(JOIN(all, names[i]), EDGE_ROOMS_ADDED);
        if (i % 3 == 0)
            assert_int_equal(JOIN(third, names[i]), EDGE_ROOMS_ADDED);
        assert_int_equal(JOIN(all, names[i]), EDGE_ROOMS_ALREADY);
    }
    assert_int_equal(JOIN(pat, "c1*"), EDGE_ROOMS_ADDED);
    assert_int_equal(edge_rooms_count(rooms), COLLIDING);
    assert_int_equal(edge_rooms_entry_count(rooms), COLLIDING);
    int covered = 0; /* rooms the pattern matches */
    for (int i = 0; i < COLLIDING; i++) {
        int *v = malloc(sizeof *v);
        assert_non_null(v);
        *v = i;
        void **slot = edge_rooms_data(rooms, names[i], strlen(names[i]));
        assert_non_null(slot);
        assert_null(*slot);
        *slot = v;
        covered += names[i][1] == '1';
    }
    assert_true(covered > 0 && covered < COLLIDING);
    for (int i = 0; i < COLLIDING; i++) {
        int seen[3] = {0, 0, 0};
        size_t n = edge_rooms_visit(rooms, names[i], strlen(names[i]), s_count, seen);
        int want_third = i % 3 == 0, want_pat = names[i][1] == '1';
        assert_int_equal(n, 1 + want_third + want_pat);
        assert_int_equal(seen[0], 1);
        assert_int_equal(seen[1], want_third);
        assert_int_equal(seen[2], want_pat);
        assert_int_equal(*(int *)*edge_rooms_data(rooms, names[i], strlen(names[i])), i);
    }
    int sum = 0;
    edge_rooms_each(rooms, s_sum, &sum);
    assert_int_equal(sum, COLLIDING * (COLLIDING - 1) / 2);
    /* `all` leaves every room: those `third` is in stay, so do those the pattern covers (for
     * their data); the others go, with their data. */
    int stay = 0;
    for (int i = 0; i < COLLIDING; i++) {
        assert_int_equal(LEAVE(all, names[i]), EDGE_ROOMS_REMOVED);
        stay += i % 3 == 0 || names[i][1] == '1';
    }
    assert_int_equal(edge_rooms_entry_count(rooms), stay);
    assert_int_equal(f.count, COLLIDING - stay);
    assert_int_equal(edge_rooms_count(rooms), (COLLIDING + 2) / 3);
    /* The pattern leaves: the rooms it alone kept are swept. */
    assert_int_equal(LEAVE(pat, "c1*"), EDGE_ROOMS_REMOVED);
    assert_int_equal(edge_rooms_entry_count(rooms), (COLLIDING + 2) / 3);
    assert_int_equal(f.count, COLLIDING - (COLLIDING + 2) / 3);
    for (int i = 0; i < COLLIDING; i++) {
        int seen[3] = {0, 0, 0};
        assert_int_equal(edge_rooms_visit(rooms, names[i], strlen(names[i]), s_count, seen),
                         i % 3 == 0 ? 1 : 0);
        assert_int_equal(seen[1], i % 3 == 0);
    }
    edge_member_destroy(&third);
    assert_int_equal(edge_rooms_entry_count(rooms), 0);
    assert_int_equal(f.count, COLLIDING);
    edge_member_destroy(&all);
    edge_member_destroy(&pat);
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

/* Records (conn, flags) pairs of a visit, as "conn:flags " text. */
static void s_visit_flags(void *arg, void *conn, unsigned flags)
{
    char *log = arg;
    size_t used = strlen(log);
    snprintf(log + used, 512 - used, "%d:%u ", *(int *)conn, flags);
}

/* Sorted words of text (visit order is not part of the contract). */
static const char *s_sorted(const char *text)
{
    static char out[512];
    char words[32][16];
    int n = 0;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *w = strtok(copy, " "); w && n < 32; w = strtok(NULL, " "))
        snprintf(words[n++], sizeof words[0], "%s", w);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(words[j - 1], words[j]) > 0; j--) {
            char tmp[16];
            memcpy(tmp, words[j], sizeof tmp);
            memcpy(words[j], words[j - 1], sizeof tmp);
            memcpy(words[j - 1], tmp, sizeof tmp);
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, words[i]);
        strcat(out, " ");
    }
    return out;
}

/* Visits room (all members, or flagged ones with mask) and returns the sorted "conn:flags". */
static const char *s_flags_of(edge_rooms_t *rooms, const char *room, unsigned mask)
{
    static char log[512];
    log[0] = '\0';
    size_t n = mask ? edge_rooms_visit_flagged(rooms, room, strlen(room), mask, s_visit_flags, log)
                    : edge_rooms_visit(rooms, room, strlen(room), s_visit_flags, log);
    size_t words = 0;
    for (const char *p = log; *p; p++)
        words += *p == ' ';
    assert_int_equal(n, words);
    return s_sorted(log);
}

#define F EDGE_ROOMS_F_UNBATCHED

static void test_flags(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int c1 = 1, c2 = 2, c3 = 3, c4 = 4;
    edge_member_t *m1 = edge_member_new(rooms, &c1), *m2 = edge_member_new(rooms, &c2);
    edge_member_t *m3 = edge_member_new(rooms, &c3), *m4 = edge_member_new(rooms, &c4);
    /* 1: unbatched on the room; 2: batched room, unbatched pattern; 3: batched only;
     * 4: unbatched pattern only. */
    assert_int_equal(edge_rooms_join_flags(m1, "agent:7", 7, F), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m2, "agent:7"), EDGE_ROOMS_ADDED);
    assert_int_equal(edge_rooms_join_flags(m2, "agent:*", 7, F), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m3, "agent:7"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m3, "*"), EDGE_ROOMS_ADDED);
    assert_int_equal(edge_rooms_join_flags(m4, "agent*", 6, F), EDGE_ROOMS_ADDED);
    /* Each member once, with the OR of its matching memberships' flags. */
    assert_string_equal(s_flags_of(rooms, "agent:7", 0), "1:1 2:1 3:0 4:1 ");
    assert_string_equal(s_flags_of(rooms, "agent:7", F), "1:1 2:1 4:1 ");
    assert_string_equal(s_flags_of(rooms, "agent:8", 0), "2:1 3:0 4:1 ");
    assert_string_equal(s_flags_of(rooms, "agent:8", F), "2:1 4:1 ");
    assert_string_equal(s_flags_of(rooms, "other", 0), "3:0 ");
    assert_string_equal(s_flags_of(rooms, "other", F), "");
    assert_string_equal(s_flags_of(rooms, "nothing:here", 0), "3:0 ");
    assert_int_equal(edge_rooms_visit_flagged(rooms, "agent:7", 7, 0, s_visit_flags, NULL), 0);
    /* Joining again replaces the flags. */
    assert_int_equal(JOIN(m1, "agent:7"), EDGE_ROOMS_ALREADY);
    assert_int_equal(edge_rooms_join_flags(m2, "agent:*", 7, 0), EDGE_ROOMS_ALREADY);
    assert_string_equal(s_flags_of(rooms, "agent:7", 0), "1:0 2:0 3:0 4:1 ");
    assert_string_equal(s_flags_of(rooms, "agent:7", F), "4:1 ");
    edge_member_destroy(&m4);
    assert_string_equal(s_flags_of(rooms, "agent:7", F), "");
    assert_int_equal(edge_rooms_join_flags(m3, "agent:7", 7, F), EDGE_ROOMS_ALREADY);
    assert_string_equal(s_flags_of(rooms, "agent:7", F), "3:1 ");
    assert_int_equal(LEAVE(m3, "agent:7"), EDGE_ROOMS_REMOVED);
    assert_string_equal(s_flags_of(rooms, "agent:7", F), "");
    assert_string_equal(s_flags_of(rooms, "agent:7", 0), "1:0 2:0 3:0 ");
    edge_member_destroy(&m1);
    edge_member_destroy(&m2);
    edge_member_destroy(&m3);
    edge_rooms_destroy(&rooms);
}

/* More matching patterns than the visit remembers: still once each, with all flags. */
static void test_flags_many_patterns(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int c1 = 1, c2 = 2;
    edge_member_t *m1 = edge_member_new(rooms, &c1), *m2 = edge_member_new(rooms, &c2);
    const char *pats[] = {"*",      "a*",      "ab*",      "abc*",      "abcd*",
                          "abcde*", "abcdef*", "abcdefg*", "abcdefgh*", "abcdefghi*"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        JOIN(m1, pats[i]);
        JOIN(m2, pats[i]);
    }
    edge_rooms_join_flags(m2, "abcdefghi*", 10, F);
    edge_rooms_join_flags(m1, "abcdefghij", 10, F);
    assert_string_equal(s_flags_of(rooms, "abcdefghij", 0), "1:1 2:1 ");
    assert_string_equal(s_flags_of(rooms, "abcdefghij", F), "1:1 2:1 ");
    assert_string_equal(s_flags_of(rooms, "abcdefghix", 0), "1:0 2:1 ");
    assert_string_equal(s_flags_of(rooms, "abcdefghix", F), "2:1 ");
    edge_member_destroy(&m1);
    edge_member_destroy(&m2);
    edge_rooms_destroy(&rooms);
}

static void test_member_max(void **state)
{
    edge_rooms_t *rooms = edge_rooms_new(NULL, NULL);
    int c = 1;
    edge_member_t *m = edge_member_new(rooms, &c);
    edge_member_set_max(m, 2);
    assert_int_equal(JOIN(m, "a"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m, "b*"), EDGE_ROOMS_ADDED);
    assert_int_equal(JOIN(m, "c"), EDGE_ROOMS_LIMIT);
    assert_int_equal(edge_member_count(m), 2);
    assert_int_equal(edge_rooms_count(rooms), 1);
    assert_int_equal(JOIN(m, "a"), EDGE_ROOMS_ALREADY); /* what it has stays fine */
    assert_int_equal(LEAVE(m, "a"), EDGE_ROOMS_REMOVED);
    assert_int_equal(JOIN(m, "c"), EDGE_ROOMS_ADDED);
    edge_member_set_max(m, 0);
    assert_int_equal(JOIN(m, "d"), EDGE_ROOMS_ADDED);
    edge_member_destroy(&m);
    edge_rooms_destroy(&rooms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_last_callbacks),
        cmocka_unit_test(test_leave_if),
        cmocka_unit_test(test_join_twice_and_leave_errors),
        cmocka_unit_test(test_exact_room_boundaries),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_once_per_connection),
        cmocka_unit_test(test_close_removes_everything),
        cmocka_unit_test(test_many_rooms),
        cmocka_unit_test(test_colliding_names),
        cmocka_unit_test(test_room_data),
        cmocka_unit_test(test_room_data_through_patterns),
        cmocka_unit_test(test_destroy_with_live_members),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_flags_many_patterns),
        cmocka_unit_test(test_member_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
