/*
 * test_edge_histmsg.c: the history request/reply codec: exact bytes of the request block and
 * of a status block (docs/protocol.md §2), round trips, and the rejection of malformed blocks
 * and events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "edge_histmsg.h"

static void test_id(void **state)
{
    uint8_t buf[EDGE_HISTMSG_ID_LEN];
    edge_histmsg_put_id(buf, 0x0102030405060708ull);
    const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(buf, want, 8);
    uint64_t id = 0;
    assert_int_equal(edge_histmsg_get_id(buf, 8, &id), 0);
    assert_true(id == 0x0102030405060708ull);
    assert_int_equal(edge_histmsg_get_id(buf, 7, &id), -1);
    assert_int_equal(edge_histmsg_get_id(buf, 9, &id), -1);
}

static void test_request_block(void **state)
{
    uint8_t buf[EDGE_HISTMSG_REQ_LEN];
    edge_histmsg_put_request(buf, 0x1122334455667788ull, 42, 500);
    const uint8_t want[20] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0,
                              0,    0,    0,    0,    0,    42,   0,    0,    1, 0xf4};
    assert_memory_equal(buf, want, 20);
    uint64_t epoch = 0, after = 0;
    uint32_t max = 0;
    assert_int_equal(edge_histmsg_get_request(buf, 20, &epoch, &after, &max), 0);
    assert_true(epoch == 0x1122334455667788ull);
    assert_int_equal(after, 42);
    assert_int_equal(max, 500);
    assert_int_equal(edge_histmsg_get_request(buf, 19, &epoch, &after, &max), -1);
}

static void test_status_block(void **state)
{
    edge_hist_status_t st = {
        .status = EDGE_HIST_TOO_OLD, .more = true, .epoch = 7, .head = 0x100, .first = 3};
    uint8_t buf[EDGE_HISTMSG_STATUS_LEN];
    edge_histmsg_put_status(buf, &st);
    const uint8_t want[26] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0,
                              0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3};
    assert_memory_equal(buf, want, 26);
    edge_hist_status_t back;
    assert_int_equal(edge_histmsg_get_status(buf, 26, &back), 0);
    assert_int_equal(back.status, EDGE_HIST_TOO_OLD);
    assert_true(back.more);
    assert_int_equal(back.epoch, 7);
    assert_int_equal(back.head, 0x100);
    assert_int_equal(back.first, 3);
    /* Wrong length, unknown status (4 is the edge's own, never on the wire), bad "more". */
    assert_int_equal(edge_histmsg_get_status(buf, 25, &back), -1);
    buf[0] = 4;
    assert_int_equal(edge_histmsg_get_status(buf, 26, &back), -1);
    buf[0] = 0;
    buf[1] = 2;
    assert_int_equal(edge_histmsg_get_status(buf, 26, &back), -1);
    assert_string_equal(edge_hstatus_name(EDGE_HIST_OK), "ok");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_EPOCH_CHANGED), "epoch_changed");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_BAD_REQUEST), "bad_request");
    assert_string_equal(edge_hstatus_name(EDGE_HIST__COUNT), "unknown");
}

/* Encodes a stamped event header. */
static size_t s_header(uint8_t *buf, uint8_t kind, uint64_t epoch, uint64_t seq)
{
    wire_header_t h = {
        .kind = kind,
        .session = 1,
        .pub_seq = 1,
        .ts_ns = 5,
        .epoch = epoch,
        .seq = seq,
        .pub_id = "p",
        .pub_id_len = 1,
        .type = kind == WIRE_KIND_EVENT ? "t" : "",
        .type_len = kind == WIRE_KIND_EVENT ? 1 : 0,
    };
    return wire_header_encode(&h, buf, WIRE_HEADER_MAX);
}

static void test_check_event(void **state)
{
    uint8_t hdr[WIRE_HEADER_MAX];
    wire_header_t h;
    const char *why = NULL;
    size_t n = s_header(hdr, WIRE_KIND_EVENT, 9, 5);
    assert_true(n > 0);
    assert_int_equal(edge_histmsg_check_event(hdr, n, "{}", 2, 9, 4, &h, &why), 0);
    assert_int_equal(h.seq, 5);
    /* Wrong epoch, seq not after after_seq, payload not an object, truncated header. */
    assert_int_equal(edge_histmsg_check_event(hdr, n, "{}", 2, 8, 4, &h, &why), -1);
    assert_string_equal(why, "epoch");
    assert_int_equal(edge_histmsg_check_event(hdr, n, "{}", 2, 9, 5, &h, &why), -1);
    assert_string_equal(why, "seq");
    assert_int_equal(edge_histmsg_check_event(hdr, n, "[]", 2, 9, 4, &h, &why), -1);
    assert_string_equal(why, "payload");
    assert_int_equal(edge_histmsg_check_event(hdr, n - 1, "{}", 2, 9, 4, &h, &why), -1);
    /* A heartbeat is no event. */
    n = s_header(hdr, WIRE_KIND_HEARTBEAT, 9, 5);
    assert_int_equal(edge_histmsg_check_event(hdr, n, "{}", 2, 9, 4, &h, &why), -1);
    assert_string_equal(why, "kind");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_request_block),
        cmocka_unit_test(test_status_block),
        cmocka_unit_test(test_check_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
