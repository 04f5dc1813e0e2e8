/*
 * test_rtr_presence.c: agent presence over the publisher table with injected clocks: connect,
 * timeout, reconnect with a new session, key identity, snapshot content and parts, and that
 * presence adds nothing to the table (its memory is the table's, bounded by publisher_ttl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtr_presence.h"
#include "rtr_pubs.h"

#define MAX_EVENTS 16
#define WALL 1700000000000ULL /* the injected Unix time of every tick, ms */

/* What the emit hook received. */
typedef struct {
    size_t n;
    char type[MAX_EVENTS][32];
    char *json[MAX_EVENTS];
    int fail;        /* the hook returns -1 while set */
    bool count_only; /* only count events in `counted` */
    size_t counted;
} sink_t;

/* The emit hook: records the event. */
static int s_emit(void *arg, const char *type, const char *json, size_t len)
{
    sink_t *sink = arg;
    if (sink->count_only) {
        sink->counted++;
        return 0;
    }
    assert_true(sink->n < MAX_EVENTS);
    assert_int_equal(strlen(json), len);
    snprintf(sink->type[sink->n], sizeof sink->type[0], "%s", type);
    sink->json[sink->n++] = strdup(json);
    return sink->fail ? -1 : 0;
}

/* Forgets the recorded events. */
static void s_clear(sink_t *sink)
{
    for (size_t i = 0; i < sink->n; i++)
        free(sink->json[i]);
    sink->n = 0;
}

/* A heartbeat of (id, session) at now. */
static void s_beat(rtr_pubs_t *pubs, const char *id, uint64_t session, uint64_t now)
{
    assert_int_equal(rtr_pubs_heartbeat(pubs, id, strlen(id), session, NULL, now), 0);
}

/* First traffic announces the session once, by event as well as by heartbeat. */
static void test_connect(void **state)
{
    (void)state;
    sink_t sink = {0};
    rtr_pubs_t *pubs = rtr_pubs_new(300000);
    rtr_presence_t *pr = rtr_presence_new(5000, 0, 0, s_emit, &sink);
    assert_non_null(pr);
    s_beat(pubs, "agent-a", 7, 1000);
    assert_int_equal(rtr_pubs_event(pubs, "agent-b", 7, 0x1234abcd5678ef00ULL, 1, 1200),
                     RTR_PUB_NEW);
    rtr_presence_tick(pr, pubs, 1500, WALL);
    assert_int_equal(sink.n, 2);
    assert_string_equal(sink.type[0], "agent.connected");
    assert_string_equal(sink.json[0], "{\"publisher_id\":\"agent-b\",\"key\":null,"
                                      "\"session\":\"1234abcd5678ef00\",\"at\":1700000000000}");
    assert_string_equal(sink.type[1], "agent.connected");
    assert_string_equal(sink.json[1], "{\"publisher_id\":\"agent-a\",\"key\":null,"
                                      "\"session\":\"0000000000000007\",\"at\":1700000000000}");
    assert_int_equal(rtr_presence_count(pr), 2);
    s_clear(&sink);
    /* More traffic of the same sessions announces nothing. */
    s_beat(pubs, "agent-a", 7, 2000);
    s_beat(pubs, "agent-b", 0x1234abcd5678ef00ULL, 2000);
    rtr_presence_tick(pr, pubs, 2500, WALL);
    assert_int_equal(sink.n, 0);
    assert_int_equal(rtr_presence_count(pr), 2);
    rtr_presence_destroy(&pr);
    assert_null(pr);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

/* More than timeout without traffic disconnects, once; exactly timeout does not. */
static void test_timeout(void **state)
{
    (void)state;
    sink_t sink = {0};
    rtr_pubs_t *pubs = rtr_pubs_new(300000);
    rtr_presence_t *pr = rtr_presence_new(5000, 0, 0, s_emit, &sink);
    s_beat(pubs, "a", 1, 1000);
    s_beat(pubs, "b", 2, 1000);
    rtr_presence_tick(pr, pubs, 1000, WALL);
    s_clear(&sink);
    s_beat(pubs, "b", 2, 5500); /* b stays */
    rtr_presence_tick(pr, pubs, 6000, WALL + 5000);
    assert_int_equal(sink.n, 0);
    rtr_presence_tick(pr, pubs, 6001, WALL + 5001);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.type[0], "agent.disconnected");
    assert_string_equal(sink.json[0], "{\"publisher_id\":\"a\",\"key\":null,\"session\":"
                                      "\"0000000000000001\",\"at\":1700000005001,"
                                      "\"reason\":\"timeout\"}");
    assert_int_equal(rtr_presence_count(pr), 1);
    s_clear(&sink);
    rtr_presence_tick(pr, pubs, 7000, WALL);
    assert_int_equal(sink.n, 0);
    /* b goes silent too; a tick long after still finds it (it went silent after the last
     * cutoff), then the table forgets both and nothing more is said. */
    rtr_presence_tick(pr, pubs, 60000, WALL);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.type[0], "agent.disconnected");
    assert_non_null(strstr(sink.json[0], "\"publisher_id\":\"b\""));
    assert_int_equal(rtr_presence_count(pr), 0);
    s_clear(&sink);
    assert_int_equal(rtr_pubs_expire(pubs, 400000), 2);
    rtr_presence_tick(pr, pubs, 400000, WALL);
    assert_int_equal(sink.n, 0);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

/* A restarted agent (new session) connects anew; a silent session that speaks again does too. */
static void test_reconnect(void **state)
{
    (void)state;
    sink_t sink = {0};
    rtr_pubs_t *pubs = rtr_pubs_new(300000);
    rtr_presence_t *pr = rtr_presence_new(5000, 0, 0, s_emit, &sink);
    s_beat(pubs, "a", 1, 1000);
    rtr_presence_tick(pr, pubs, 1000, WALL);
    rtr_presence_tick(pr, pubs, 7000, WALL);
    assert_int_equal(sink.n, 2);
    assert_string_equal(sink.type[1], "agent.disconnected");
    s_clear(&sink);
    s_beat(pubs, "a", 2, 8000);
    rtr_presence_tick(pr, pubs, 8000, WALL);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.type[0], "agent.connected");
    assert_non_null(strstr(sink.json[0], "\"session\":\"0000000000000002\""));
    s_clear(&sink);
    s_beat(pubs, "a", 1, 9000); /* the old session was only cut off for a while */
    rtr_presence_tick(pr, pubs, 9000, WALL);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.type[0], "agent.connected");
    assert_non_null(strstr(sink.json[0], "\"session\":\"0000000000000001\""));
    assert_int_equal(rtr_presence_count(pr), 2);
    s_clear(&sink);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

/* The CURVE key identity recorded on the session is reported; a too long one is not kept. */
static void test_key(void **state)
{
    (void)state;
    sink_t sink = {0};
    const char *z85 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    rtr_pubs_t *pubs = rtr_pubs_new(300000);
    rtr_presence_t *pr = rtr_presence_new(5000, 0, 0, s_emit, &sink);
    s_beat(pubs, "a", 1, 1000);
    s_beat(pubs, "b", 2, 1000);
    rtr_pub_set_key(rtr_pubs_find(pubs, "a", 1, 1), z85);
    rtr_pub_set_key(rtr_pubs_find(pubs, "b", 1, 2), "x12345678901234567890123456789012345678901");
    assert_string_equal(rtr_pub_key(rtr_pubs_find(pubs, "b", 1, 2)), "");
    rtr_presence_tick(pr, pubs, 1000, WALL);
    assert_int_equal(sink.n, 2);
    char want[256];
    snprintf(want, sizeof want,
             "{\"publisher_id\":\"a\",\"key\":\"%s\",\"session\":\"0000000000000001\","
             "\"at\":1700000000000}",
             z85);
    assert_string_equal(sink.json[1], want);
    assert_non_null(strstr(sink.json[0], "\"key\":null"));
    s_clear(&sink);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

/* agent.present lists the sessions present, newest first, every snapshot period, in parts. */
static void test_snapshot(void **state)
{
    (void)state;
    sink_t sink = {0};
    rtr_pubs_t *pubs = rtr_pubs_new(300000);
    rtr_presence_t *pr = rtr_presence_new(5000, 30000, 0, s_emit, &sink);
    s_beat(pubs, "old", 9, 1000); /* silent by the snapshot: not listed */
    rtr_presence_tick(pr, pubs, 1000, WALL);
    s_clear(&sink);
    s_beat(pubs, "a", 1, 29000);
    s_beat(pubs, "b", 2, 29500);
    rtr_presence_tick(pr, pubs, 29999, WALL);
    assert_int_equal(sink.n, 3); /* old gone, b and a connected, no snapshot yet */
    s_clear(&sink);
    rtr_presence_tick(pr, pubs, 30000, WALL);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.type[0], "agent.present");
    assert_string_equal(
        sink.json[0], "{\"at\":1700000000000,\"count\":2,\"part\":0,\"more\":false,\"publishers\":["
                      "{\"publisher_id\":\"b\",\"key\":null,\"session\":\"0000000000000002\"},"
                      "{\"publisher_id\":\"a\",\"key\":null,\"session\":\"0000000000000001\"}]}");
    s_clear(&sink);
    rtr_presence_tick(pr, pubs, 31000, WALL); /* next one 30 s later */
    assert_int_equal(sink.n, 0);
    /* RTR_PRESENCE_PART + 2 sessions: two parts. */
    char id[16];
    for (int i = 0; i < RTR_PRESENCE_PART + 2; i++) {
        snprintf(id, sizeof id, "p%d", i);
        s_beat(pubs, id, 1, 58000);
    }
    sink.count_only = true; /* more connects than the sink records */
    rtr_presence_tick(pr, pubs, 58000, WALL);
    assert_int_equal(sink.counted, RTR_PRESENCE_PART + 2 + 2); /* and a, b disconnected */
    sink.count_only = false;
    rtr_presence_tick(pr, pubs, 61000, WALL);
    assert_int_equal(sink.n, 2);
    json_t *p0 = json_loads(sink.json[0], 0, NULL), *p1 = json_loads(sink.json[1], 0, NULL);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_int_equal(json_integer_value(json_object_get(p0, "count")), RTR_PRESENCE_PART + 2);
    assert_int_equal(json_integer_value(json_object_get(p0, "part")), 0);
    assert_true(json_is_true(json_object_get(p0, "more")));
    assert_int_equal(json_array_size(json_object_get(p0, "publishers")), RTR_PRESENCE_PART);
    assert_int_equal(json_integer_value(json_object_get(p1, "part")), 1);
    assert_true(json_is_false(json_object_get(p1, "more")));
    assert_int_equal(json_array_size(json_object_get(p1, "publishers")), 2);
    json_decref(p0);
    json_decref(p1);
    s_clear(&sink);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

/* Presence keeps no table: ticks add no session, the table's expiry frees everything, and a
 * hook failure is counted, not retried. */
static void test_bounded(void **state)
{
    (void)state;
    sink_t sink = {0};
    rtr_pubs_t *pubs = rtr_pubs_new(10000);
    rtr_presence_t *pr = rtr_presence_new(5000, 0, 0, s_emit, &sink);
    s_beat(pubs, "a", 1, 1000);
    s_beat(pubs, "b", 1, 1000);
    sink.fail = 1;
    rtr_presence_tick(pr, pubs, 1000, WALL);
    assert_int_equal(sink.n, 2);
    assert_int_equal(rtr_presence_failed(pr), 2);
    assert_int_equal(rtr_pubs_size(pubs), 2);
    s_clear(&sink);
    sink.fail = 0;
    rtr_presence_tick(pr, pubs, 2000, WALL); /* announced (if lost): not said again */
    assert_int_equal(sink.n, 0);
    rtr_presence_tick(pr, pubs, 7000, WALL);
    assert_int_equal(sink.n, 2);
    s_clear(&sink);
    assert_int_equal(rtr_pubs_size(pubs), 2);
    assert_int_equal(rtr_pubs_expire(pubs, 12000), 2);
    assert_int_equal(rtr_pubs_size(pubs), 0);
    rtr_presence_tick(pr, pubs, 12000, WALL);
    assert_int_equal(sink.n, 0);
    assert_int_equal(rtr_presence_count(pr), 0);
    rtr_presence_destroy(&pr);
    rtr_pubs_destroy(&pubs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect),   cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_reconnect), cmocka_unit_test(test_key),
        cmocka_unit_test(test_snapshot),  cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
