/*
 * test_edge_frame.c: refcounted frames and the exact event JSON the edge sends to clients.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libwebsockets.h>
#include <string.h>

#include "edge_frame.h"

/* A header with the fields the event frame uses. */
static wire_header_t s_header(uint8_t flags)
{
    wire_header_t h = {
        .kind = WIRE_KIND_EVENT,
        .flags = flags,
        .session = 1,
        .pub_seq = 1,
        .ts_ns = 1790000000123456789ull,
        .epoch = 4518532211ull,
        .seq = 17,
        .pub_id = "agent-1",
        .pub_id_len = 7,
        .type = "task.progress",
        .type_len = 13,
    };
    return h;
}

static void test_event_exact_text(void **state)
{
    wire_header_t h = s_header(0);
    const char *payload = "{\"pct\":40}";
    edge_frame_t *f = edge_frame_event("project:1", 9, &h, payload, strlen(payload));
    assert_non_null(f);
    const char *want =
        "{\"op\":\"event\",\"room\":\"project:1\",\"epoch\":4518532211,\"seq\":17,"
        "\"type\":\"task.progress\",\"ts\":1790000000123456789,\"data\":{\"pct\":40}}";
    assert_int_equal(edge_frame_len(f), strlen(want));
    assert_memory_equal(edge_frame_data(f), want, strlen(want));
    assert_int_equal(edge_frame_data(f)[edge_frame_len(f)], '\0');
    edge_frame_unref(&f);
    assert_null(f);
}

static void test_event_critical(void **state)
{
    wire_header_t h = s_header(WIRE_FLAG_CRITICAL);
    h.epoch = 1;
    h.seq = 18446744073709551615ull; /* u64 max prints in full */
    h.ts_ns = 0;
    edge_frame_t *f = edge_frame_event("a", 1, &h, "{}", 2);
    assert_non_null(f);
    assert_string_equal((char *)edge_frame_data(f),
                        "{\"op\":\"event\",\"room\":\"a\",\"epoch\":1,\"seq\":18446744073709551615,"
                        "\"type\":\"task.progress\",\"ts\":0,\"data\":{},\"critical\":true}");
    edge_frame_unref(&f);
}

static void test_event_payload_verbatim(void **state)
{
    wire_header_t h = s_header(0);
    /* Whitespace and key order are the publisher's: the edge copies bytes, it never re-encodes. */
    const char *payload = " { \"b\" : [1, 2],\n \"a\":\"\\u00e9\" } ";
    edge_frame_t *f = edge_frame_event("r", 1, &h, payload, strlen(payload));
    assert_non_null(f);
    assert_non_null(strstr((char *)edge_frame_data(f), "\"data\": { \"b\" : [1, 2],\n"));
    edge_frame_unref(&f);
}

static void test_event_rejects_bad_names(void **state)
{
    wire_header_t h = s_header(0);
    assert_null(edge_frame_event("bad room", 8, &h, "{}", 2));
    assert_null(edge_frame_event("", 0, &h, "{}", 2));
    h.type = "Bad\"Type";
    h.type_len = 8;
    assert_null(edge_frame_event("r", 1, &h, "{}", 2));
}

static void test_refcount(void **state)
{
    edge_frame_t *f = edge_frame_from("hello", 5);
    assert_non_null(f);
    assert_int_equal(edge_frame_refcnt(f), 1);
    edge_frame_t *a = edge_frame_ref(f);
    edge_frame_t *b = edge_frame_ref(f);
    assert_ptr_equal(a, f);
    assert_int_equal(edge_frame_refcnt(f), 3);
    edge_frame_unref(&a);
    assert_null(a);
    assert_int_equal(edge_frame_refcnt(f), 2);
    edge_frame_unref(&b);
    assert_int_equal(edge_frame_refcnt(f), 1);
    assert_string_equal((char *)edge_frame_data(f), "hello");
    edge_frame_unref(&f);
    edge_frame_unref(&f); /* NULL-safe, twice */
    edge_frame_unref(NULL);
    assert_null(edge_frame_ref(NULL));
}

static void test_headroom(void **state)
{
    /* lws_write() needs LWS_PRE writable bytes before the body. */
    edge_frame_t *f = edge_frame_from("xyz", 3);
    unsigned char *body = edge_frame_data(f);
    memset(body - LWS_PRE, 0xAB, LWS_PRE); /* ASan checks this stays inside the allocation */
    assert_memory_equal(body, "xyz", 3);
    edge_frame_unref(&f);
    edge_frame_t *empty = edge_frame_from(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(edge_frame_len(empty), 0);
    edge_frame_unref(&empty);
}

static void test_payload_is_object(void **state)
{
    assert_true(edge_frame_payload_is_object("{}", 2));
    assert_true(edge_frame_payload_is_object(" \n{\"a\":1}\t", 10));
    assert_false(edge_frame_payload_is_object("[]", 2));
    assert_false(edge_frame_payload_is_object("{", 1));
    assert_false(edge_frame_payload_is_object("", 0));
    assert_false(edge_frame_payload_is_object("   ", 3));
    assert_false(edge_frame_payload_is_object("{} x", 4));
}

static void test_event_info(void **state)
{
    wire_header_t h = s_header(0);
    h.key = "agent-7";
    h.key_len = 7;
    const char *payload = "{\"pct\":40}";
    edge_frame_t *f = edge_frame_event("project:1", 9, &h, payload, strlen(payload));
    assert_non_null(f);
    edge_frame_info_t info;
    assert_true(edge_frame_info(f, &info));
    assert_int_equal(info.type_len, 13);
    assert_memory_equal(info.type, "task.progress", 13);
    assert_int_equal(info.key_len, 7);
    assert_memory_equal(info.key, "agent-7", 7);
    assert_int_equal(info.data_len, strlen(payload));
    assert_memory_equal(info.data, payload, strlen(payload));
    assert_false(info.critical);
    const char *item = "\"seq\":17,\"type\":\"task.progress\",\"ts\":1790000000123456789,"
                       "\"data\":{\"pct\":40}}";
    assert_int_equal(info.item_len, strlen(item));
    assert_memory_equal(info.item, item, strlen(item));
    /* The key is kept out of the body that goes on the wire. */
    assert_null(strstr((char *)edge_frame_data(f), "agent-7"));
    edge_frame_unref(&f);

    h = s_header(WIRE_FLAG_CRITICAL);
    f = edge_frame_event("r", 1, &h, "{}", 2);
    assert_true(edge_frame_info(f, &info));
    assert_true(info.critical);
    assert_null(info.key);
    assert_int_equal(info.key_len, 0);
    edge_frame_unref(&f);
    /* Other frames have no event info. */
    f = edge_frame_from("{}", 2);
    assert_false(edge_frame_info(f, &info));
    edge_frame_unref(&f);
    assert_false(edge_frame_info(NULL, &info));
}

static void test_batch_exact_text(void **state)
{
    wire_header_t h = s_header(0);
    edge_frame_t *ev[3];
    const char *payloads[] = {"{\"a\":1}", "{ \"b\" : [2] }", "{}"};
    for (int i = 0; i < 3; i++) {
        h.seq = 20 + (uint64_t)i * 2; /* 20, 22, 24: 21 and 23 were coalesced */
        h.ts_ns = 100 + (uint64_t)i;
        h.type = i == 1 ? "metrics.cpu" : "log.line";
        h.type_len = i == 1 ? 11 : 8;
        ev[i] = edge_frame_event("project:1", 9, &h, payloads[i], strlen(payloads[i]));
        assert_non_null(ev[i]);
    }
    edge_frame_t *b = edge_frame_batch("project:1", 9, 4518532211ull, 19, 24, ev, 3);
    assert_non_null(b);
    const char *want =
        "{\"op\":\"batch\",\"room\":\"project:1\",\"epoch\":4518532211,\"from_seq\":19,"
        "\"to_seq\":24,\"events\":["
        "{\"seq\":20,\"type\":\"log.line\",\"ts\":100,\"data\":{\"a\":1}},"
        "{\"seq\":22,\"type\":\"metrics.cpu\",\"ts\":101,\"data\":{ \"b\" : [2] }},"
        "{\"seq\":24,\"type\":\"log.line\",\"ts\":102,\"data\":{}}]}";
    assert_string_equal((char *)edge_frame_data(b), want);
    assert_int_equal(edge_frame_len(b), strlen(want));
    /* Built from the event frames, which it does not keep. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(edge_frame_refcnt(ev[i]), 1);
    assert_false(edge_frame_info(b, &(edge_frame_info_t){0}));
    edge_frame_unref(&b);
    /* One event; refusals. */
    b = edge_frame_batch("r", 1, 1, 24, 24, &ev[2], 1);
    assert_non_null(b);
    assert_non_null(strstr((char *)edge_frame_data(b), "\"events\":[{\"seq\":24,"));
    edge_frame_unref(&b);
    assert_null(edge_frame_batch("r", 1, 1, 1, 1, ev, 0));
    assert_null(edge_frame_batch("bad room", 8, 1, 1, 1, ev, 1));
    edge_frame_t *plain = edge_frame_from("{}", 2);
    edge_frame_t *mixed[] = {ev[0], plain};
    assert_null(edge_frame_batch("r", 1, 1, 1, 2, mixed, 2));
    edge_frame_unref(&plain);
    for (int i = 0; i < 3; i++)
        edge_frame_unref(&ev[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_exact_text),
        cmocka_unit_test(test_event_critical),
        cmocka_unit_test(test_event_payload_verbatim),
        cmocka_unit_test(test_event_rejects_bad_names),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_headroom),
        cmocka_unit_test(test_payload_is_object),
        cmocka_unit_test(test_event_info),
        cmocka_unit_test(test_batch_exact_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
