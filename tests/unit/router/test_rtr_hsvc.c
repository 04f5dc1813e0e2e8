/*
 * test_rtr_hsvc.c: the history service's request parser and status block, byte for byte
 * (docs/protocol.md §2). The socket side is exercised end to end in test_rtr_server.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rtr_hsvc.h"
#include "wire_envelope.h"

/* Builds a 20-byte cursor. */
static void s_cursor(uint8_t out[RTR_HSVC_CURSOR_LEN], uint64_t epoch, uint64_t after, uint32_t max)
{
    wire_put_u64(out, epoch);
    wire_put_u64(out + 8, after);
    out[16] = (uint8_t)(max >> 24);
    out[17] = (uint8_t)(max >> 16);
    out[18] = (uint8_t)(max >> 8);
    out[19] = (uint8_t)max;
}

/* A well-formed request decodes field by field. */
static void test_parse_ok(void **state)
{
    (void)state;
    uint8_t cur[RTR_HSVC_CURSOR_LEN];
    s_cursor(cur, 0x0011223344556677ULL, 0x8000000000000001ULL, 0x01020304);
    const void *data[] = {"ABCDEFGH", "project:1", cur};
    size_t len[] = {8, 9, sizeof cur};
    rtr_hsvc_request_t req;
    assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_NONE);
    assert_true(req.has_id);
    assert_memory_equal(req.id, "ABCDEFGH", 8);
    assert_int_equal(req.room_len, 9);
    assert_memory_equal(req.room, "project:1", 9);
    assert_int_equal(req.epoch, 0x0011223344556677ULL);
    assert_int_equal(req.after_seq, 0x8000000000000001ULL);
    assert_int_equal(req.max_events, 0x01020304);
}

/* Each malformation has its reason, in order; the id is kept whenever it is readable. */
static void test_parse_bad(void **state)
{
    (void)state;
    uint8_t cur[RTR_HSVC_CURSOR_LEN] = {0};
    rtr_hsvc_request_t req;
    {
        const void *data[] = {"short", "room", cur};
        size_t len[] = {5, 4, sizeof cur};
        assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_REQUEST_ID);
        assert_false(req.has_id);
        assert_int_equal(rtr_hsvc_parse(0, data, len, &req), RTR_HSVC_BAD_REQUEST_ID);
    }
    {
        const void *data[] = {"ABCDEFGH", "room", cur};
        size_t len[] = {8, 4, sizeof cur};
        assert_int_equal(rtr_hsvc_parse(2, data, len, &req), RTR_HSVC_BAD_FRAMES);
        assert_true(req.has_id);
        assert_int_equal(rtr_hsvc_parse(1, data, len, &req), RTR_HSVC_BAD_FRAMES);
        assert_int_equal(rtr_hsvc_parse(4, data, len, &req), RTR_HSVC_BAD_FRAMES);
        len[2] = 19;
        assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_CURSOR);
        assert_true(req.has_id);
        assert_non_null(req.room);
        len[2] = 21;
        assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_CURSOR);
    }
    static const char *const rooms[] = {"", "bad room", "agent:*", "a\xff"};
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        const void *data[] = {"ABCDEFGH", rooms[i], cur};
        size_t len[] = {8, strlen(rooms[i]), sizeof cur};
        assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_ROOM);
        assert_true(req.has_id);
        assert_null(req.room);
    }
    char longroom[WIRE_ROOM_MAX + 1];
    memset(longroom, 'r', sizeof longroom);
    const void *data[] = {"ABCDEFGH", longroom, cur};
    size_t len[] = {8, sizeof longroom, sizeof cur};
    assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_ROOM);
    len[1] = WIRE_ROOM_MAX;
    assert_int_equal(rtr_hsvc_parse(3, data, len, &req), RTR_HSVC_BAD_NONE);
}

/* The status block layout and the stable names. */
static void test_status(void **state)
{
    (void)state;
    uint8_t b[RTR_HSVC_STATUS_LEN];
    rtr_hsvc_status_encode(b, RTR_HSVC_TOO_OLD, true, 0x0102030405060708ULL, 9, 0x100);
    static const uint8_t want[RTR_HSVC_STATUS_LEN] = {2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0,
                                                      0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(b, want, sizeof want);
    assert_string_equal(rtr_hsvc_status_name(RTR_HSVC_OK), "ok");
    assert_string_equal(rtr_hsvc_status_name(RTR_HSVC_EPOCH_CHANGED), "epoch_changed");
    assert_string_equal(rtr_hsvc_status_name(RTR_HSVC_TOO_OLD), "too_old");
    assert_string_equal(rtr_hsvc_status_name(RTR_HSVC_BAD_REQUEST), "bad_request");
    assert_string_equal(rtr_hsvc_bad_name(RTR_HSVC_BAD_CURSOR), "cursor");
    assert_string_equal(rtr_hsvc_bad_name(RTR_HSVC_BAD_REQUEST_ID), "request_id");
    assert_string_equal(rtr_hsvc_bad_name((rtr_hsvc_bad_t)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
