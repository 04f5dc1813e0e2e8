/*
 * test_wire_hist.c: the history protocol codec (docs/protocol.md §2), byte for byte: the id and
 * cursor frames, the status block, round trips, the request parser's reason for every malformed
 * request (in order, at the boundary lengths), reply framing, the checks on a reply's events,
 * and the stable names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire_hist.h"

/* The id frame is the id big-endian; any other length is refused. */
static void test_id(void **state)
{
    (void)state;
    uint8_t buf[WIRE_HIST_ID_LEN + 1] = {0};
    wire_hist_put_id(buf, 0x0102030405060708ULL);
    static const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(buf, want, 8);
    uint64_t id = 0;
    assert_int_equal(wire_hist_get_id(buf, 8, &id), 0);
    assert_true(id == 0x0102030405060708ULL);
    id = 42;
    assert_int_equal(wire_hist_get_id(buf, 7, &id), -1);
    assert_int_equal(wire_hist_get_id(buf, 9, &id), -1);
    assert_int_equal(wire_hist_get_id(buf, 0, &id), -1);
    assert_int_equal(id, 42);
}

/* The cursor frame: epoch, after_seq, max_events, big-endian; only 20 bytes are a cursor. */
static void test_cursor(void **state)
{
    (void)state;
    uint8_t buf[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_cursor(buf, 0x1122334455667788ULL, 42, 500);
    static const uint8_t want[20] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0,
                                     0,    0,    0,    0,    0,    42,   0,    0,    1, 0xf4};
    assert_memory_equal(buf, want, 20);
    uint64_t epoch = 0, after = 0;
    uint32_t max = 0;
    assert_int_equal(wire_hist_get_cursor(buf, 20, &epoch, &after, &max), 0);
    assert_true(epoch == 0x1122334455667788ULL);
    assert_int_equal(after, 42);
    assert_int_equal(max, 500);
    /* Extremes survive the round trip. */
    wire_hist_put_cursor(buf, UINT64_MAX, 0x8000000000000001ULL, UINT32_MAX);
    assert_int_equal(wire_hist_get_cursor(buf, 20, &epoch, &after, &max), 0);
    assert_true(epoch == UINT64_MAX);
    assert_true(after == 0x8000000000000001ULL);
    assert_true(max == UINT32_MAX);
    assert_int_equal(wire_hist_get_cursor(buf, 19, &epoch, &after, &max), -1);
    assert_int_equal(wire_hist_get_cursor(buf, 21, &epoch, &after, &max), -1);
}

/* The status block layout, its round trip, and the blocks no router sends. */
static void test_status_block(void **state)
{
    (void)state;
    wire_hist_block_t st = {.status = WIRE_HIST_TOO_OLD,
                            .more = true,
                            .epoch = 0x0102030405060708ULL,
                            .head = 9,
                            .first = 0x100};
    uint8_t buf[WIRE_HIST_STATUS_LEN];
    wire_hist_put_status(buf, &st);
    static const uint8_t want[26] = {2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0,
                                     0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(buf, want, sizeof want);
    wire_hist_block_t back;
    memset(&back, 0xee, sizeof back);
    assert_int_equal(wire_hist_get_status(buf, 26, &back), 0);
    assert_int_equal(back.status, WIRE_HIST_TOO_OLD);
    assert_true(back.more);
    assert_true(back.epoch == 0x0102030405060708ULL);
    assert_int_equal(back.head, 9);
    assert_int_equal(back.first, 0x100);
    /* Every status and both values of more round-trip. */
    for (int s = 0; s < WIRE_HIST_STATUS__COUNT; s++) {
        for (int m = 0; m < 2; m++) {
            st.status = (wire_hist_status_t)s;
            st.more = m == 1;
            wire_hist_put_status(buf, &st);
            assert_int_equal(buf[0], s);
            assert_int_equal(buf[1], m);
            assert_int_equal(wire_hist_get_status(buf, 26, &back), 0);
            assert_int_equal(back.status, s);
            assert_int_equal(back.more, m == 1);
        }
    }
    /* Wrong lengths, an unknown status (4 and up are never on the wire), a bad `more`. */
    wire_hist_put_status(buf, &st);
    assert_int_equal(wire_hist_get_status(buf, 25, &back), -1);
    assert_int_equal(wire_hist_get_status(buf, 27, &back), -1);
    buf[0] = WIRE_HIST_STATUS__COUNT;
    assert_int_equal(wire_hist_get_status(buf, 26, &back), -1);
    buf[0] = 0xff;
    assert_int_equal(wire_hist_get_status(buf, 26, &back), -1);
    buf[0] = WIRE_HIST_OK;
    buf[1] = 2;
    assert_int_equal(wire_hist_get_status(buf, 26, &back), -1);
    buf[1] = 0;
    assert_int_equal(wire_hist_get_status(buf, 26, &back), 0);
}

/* A well-formed request decodes field by field; the room points into its frame. */
static void test_parse_ok(void **state)
{
    (void)state;
    uint8_t cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_cursor(cur, 0x0011223344556677ULL, 0x8000000000000001ULL, 0x01020304);
    const char *room = "project:1";
    const void *data[] = {"ABCDEFGH", room, cur};
    size_t len[] = {8, 9, sizeof cur};
    wire_hist_request_t req;
    assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_NONE);
    assert_true(req.has_id);
    assert_memory_equal(req.id, "ABCDEFGH", 8);
    assert_ptr_equal(req.room, room);
    assert_int_equal(req.room_len, 9);
    assert_true(req.epoch == 0x0011223344556677ULL);
    assert_true(req.after_seq == 0x8000000000000001ULL);
    assert_int_equal(req.max_events, 0x01020304);
}

/* Each malformation has its reason, checked in order; the id is kept whenever it is readable. */
static void test_parse_bad(void **state)
{
    (void)state;
    uint8_t cur[WIRE_HIST_CURSOR_LEN] = {0};
    wire_hist_request_t req;
    {
        /* The id frame comes first: 7 or 9 bytes, or no frame at all, allow no reply. */
        const void *data[] = {"ABCDEFGHI", "room", cur};
        size_t len[] = {7, 4, sizeof cur};
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_REQUEST_ID);
        assert_false(req.has_id);
        len[0] = 9;
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_REQUEST_ID);
        assert_false(req.has_id);
        assert_int_equal(wire_hist_parse_request(0, data, len, &req), WIRE_HIST_BAD_REQUEST_ID);
        /* ... even when the frame count is wrong too. */
        assert_int_equal(wire_hist_parse_request(2, data, len, &req), WIRE_HIST_BAD_REQUEST_ID);
    }
    {
        const void *data[] = {"ABCDEFGH", "room", cur};
        size_t len[] = {8, 4, sizeof cur};
        assert_int_equal(wire_hist_parse_request(1, data, len, &req), WIRE_HIST_BAD_FRAMES);
        assert_true(req.has_id);
        assert_memory_equal(req.id, "ABCDEFGH", 8);
        assert_null(req.room);
        assert_int_equal(wire_hist_parse_request(2, data, len, &req), WIRE_HIST_BAD_FRAMES);
        assert_int_equal(wire_hist_parse_request(4, data, len, &req), WIRE_HIST_BAD_FRAMES);
        /* A bad room is reported before a bad cursor. */
        len[1] = 0;
        len[2] = 19;
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_ROOM);
        len[1] = 4;
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_CURSOR);
        assert_true(req.has_id);
        assert_non_null(req.room); /* the room was readable: the router answers its position */
        assert_int_equal(req.room_len, 4);
        len[2] = 21;
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_CURSOR);
        len[2] = 0;
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_CURSOR);
    }
    static const char *const rooms[] = {"", "bad room", "agent:*", "a\xff", "room\n"};
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        const void *data[] = {"ABCDEFGH", rooms[i], cur};
        size_t len[] = {8, strlen(rooms[i]), sizeof cur};
        assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_ROOM);
        assert_true(req.has_id);
        assert_null(req.room);
    }
    /* The room name at its limit and one past it. */
    char longroom[WIRE_ROOM_MAX + 1];
    memset(longroom, 'r', sizeof longroom);
    const void *data[] = {"ABCDEFGH", longroom, cur};
    size_t len[] = {8, sizeof longroom, sizeof cur};
    assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_ROOM);
    len[1] = WIRE_ROOM_MAX;
    assert_int_equal(wire_hist_parse_request(3, data, len, &req), WIRE_HIST_BAD_NONE);
    assert_int_equal(req.room_len, WIRE_ROOM_MAX);
}

/* Reply framing: id and status block, then a (header, payload) pair per event, only with ok. */
static void test_reply_events(void **state)
{
    (void)state;
    wire_hist_block_t ok = {.status = WIRE_HIST_OK};
    wire_hist_block_t old = {.status = WIRE_HIST_TOO_OLD};
    size_t n = 99;
    assert_int_equal(wire_hist_reply_events(2, &ok, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wire_hist_reply_events(8, &ok, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(wire_hist_reply_events(WIRE_HIST_REPLY_FRAMES_MAX, &ok, &n), 0);
    assert_int_equal(n, WIRE_HIST_PAGE_MAX);
    assert_int_equal(wire_hist_reply_events(2, &old, &n), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(wire_hist_reply_events(0, &ok, &n), -1);
    assert_int_equal(wire_hist_reply_events(1, &ok, &n), -1);
    assert_int_equal(wire_hist_reply_events(3, &ok, &n), -1); /* a header without payload */
    assert_int_equal(wire_hist_reply_events(7, &ok, &n), -1);
    assert_int_equal(wire_hist_reply_events(4, &old, &n), -1); /* events with too_old */
    assert_int_equal(wire_hist_reply_events(WIRE_HIST_REPLY_FRAMES_MAX + 2, &ok, &n), -1);
    assert_int_equal(n, 99);
}

/* Encodes a stamped header of kind into buf. */
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
    size_t n = wire_header_encode(&h, buf, WIRE_HEADER_MAX);
    assert_true(n > 0);
    return n;
}

/* An event of an ok reply must be a stamped event of the epoch, above the previous seq. */
static void test_check_event(void **state)
{
    (void)state;
    uint8_t hdr[WIRE_HEADER_MAX];
    wire_header_t h;
    const char *why = NULL;
    size_t n = s_header(hdr, WIRE_KIND_EVENT, 9, 5);
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 4, &h, &why), 0);
    assert_null(why);
    assert_int_equal(h.seq, 5);
    assert_int_equal(h.epoch, 9);
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 0, &h, &why), 0);
    /* Wrong epoch; seq equal to or below after_seq. */
    assert_int_equal(wire_hist_check_event(hdr, n, 8, 4, &h, &why), -1);
    assert_string_equal(why, "epoch");
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 5, &h, &why), -1);
    assert_string_equal(why, "seq");
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 6, &h, &why), -1);
    assert_string_equal(why, "seq");
    /* A truncated header and one with trailing bytes give the envelope's reasons. */
    assert_int_equal(wire_hist_check_event(hdr, n - 1, 9, 4, &h, &why), -1);
    assert_string_equal(why, "short");
    assert_int_equal(wire_hist_check_event(hdr, 10, 9, 4, &h, &why), -1);
    assert_string_equal(why, "short");
    hdr[n] = 0;
    assert_int_equal(wire_hist_check_event(hdr, n + 1, 9, 4, &h, &why), -1);
    assert_string_equal(why, "reserved");
    /* An unstamped event (seq 0) is not history. */
    n = s_header(hdr, WIRE_KIND_EVENT, 9, 0);
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 0, &h, &why), -1);
    assert_string_equal(why, "seq");
    /* A heartbeat is no event. */
    n = s_header(hdr, WIRE_KIND_HEARTBEAT, 9, 5);
    assert_int_equal(wire_hist_check_event(hdr, n, 9, 4, &h, &why), -1);
    assert_string_equal(why, "kind");
}

/* The names are counter labels and log words: stable. */
static void test_names(void **state)
{
    (void)state;
    assert_string_equal(wire_hist_status_name(WIRE_HIST_OK), "ok");
    assert_string_equal(wire_hist_status_name(WIRE_HIST_EPOCH_CHANGED), "epoch_changed");
    assert_string_equal(wire_hist_status_name(WIRE_HIST_TOO_OLD), "too_old");
    assert_string_equal(wire_hist_status_name(WIRE_HIST_BAD_REQUEST), "bad_request");
    assert_string_equal(wire_hist_status_name(WIRE_HIST_STATUS__COUNT), "unknown");
    assert_string_equal(wire_hist_status_name((wire_hist_status_t)-1), "unknown");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD_NONE), "none");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD_REQUEST_ID), "request_id");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD_FRAMES), "frames");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD_ROOM), "room");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD_CURSOR), "cursor");
    assert_string_equal(wire_hist_bad_name(WIRE_HIST_BAD__COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id),           cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_status_block), cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),    cmocka_unit_test(test_reply_events),
        cmocka_unit_test(test_check_event),  cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
