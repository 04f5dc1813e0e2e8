/*
 * test_edge_rxbuf.c: reassembly of client messages from pieces (edge_rxbuf.h): a whole message
 * passes without a copy, fragments are gathered in order, max_message is enforced at the first
 * piece that shows it will be exceeded, and the buffer is given back after a large message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edge_rxbuf.h"

/* A piece of text. */
static edge_rxpiece_t s_piece(const char *text, bool first, bool final, size_t remaining)
{
    edge_rxpiece_t p = {
        .data = text, .len = strlen(text), .first = first, .final = final, .remaining = remaining};
    return p;
}

/* A message in one piece is handed back as the piece itself: no buffer, no copy. */
static void test_whole_message_no_copy(void **state)
{
    (void)state;
    edge_rxbuf_t rx = {0};
    const char *text = "{\"op\":\"ping\"}";
    edge_rxpiece_t p = s_piece(text, true, true, 0);
    const char *msg = NULL;
    size_t len = 0;
    assert_int_equal(edge_rxbuf_add(&rx, &p, 1024, 64, &msg, &len), EDGE_RX_MESSAGE);
    assert_ptr_equal(msg, text);
    assert_int_equal(len, strlen(text));
    assert_null(rx.buf);
    edge_rxbuf_done(&rx, 16384);
    edge_rxbuf_free(&rx);
}

/* Fragments are gathered in order into one message; the next message starts empty. */
static void test_fragments_in_order(void **state)
{
    (void)state;
    edge_rxbuf_t rx = {0};
    const char *msg = NULL;
    size_t len = 0;
    edge_rxpiece_t a = s_piece("{\"op\":", true, false, 0);
    edge_rxpiece_t b = s_piece("\"subscribe\",", false, false, 0);
    edge_rxpiece_t c = s_piece("\"room\":\"r\"}", false, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &a, 1024, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &b, 1024, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &c, 1024, 64, &msg, &len), EDGE_RX_MESSAGE);
    assert_int_equal(len, strlen("{\"op\":\"subscribe\",\"room\":\"r\"}"));
    assert_memory_equal(msg, "{\"op\":\"subscribe\",\"room\":\"r\"}", len);
    edge_rxbuf_done(&rx, 16384);
    assert_int_equal(rx.len, 0);
    assert_non_null(rx.buf); /* small: kept for the next fragmented message */
    edge_rxpiece_t d = s_piece("x", true, false, 0);
    edge_rxpiece_t e = s_piece("y", false, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &d, 1024, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &e, 1024, 64, &msg, &len), EDGE_RX_MESSAGE);
    assert_int_equal(len, 2);
    assert_memory_equal(msg, "xy", 2);
    edge_rxbuf_free(&rx);
    assert_null(rx.buf);
}

/* A first piece that restarts a message drops what an unfinished one had gathered. */
static void test_first_piece_restarts(void **state)
{
    (void)state;
    edge_rxbuf_t rx = {0};
    const char *msg = NULL;
    size_t len = 0;
    edge_rxpiece_t a = s_piece("stale", true, false, 0);
    edge_rxpiece_t b = s_piece("fre", true, false, 0);
    edge_rxpiece_t c = s_piece("sh", false, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &a, 1024, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &b, 1024, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &c, 1024, 64, &msg, &len), EDGE_RX_MESSAGE);
    assert_int_equal(len, 5);
    assert_memory_equal(msg, "fresh", 5);
    edge_rxbuf_free(&rx);
}

/* The limit: exactly max passes; one byte more is refused, also when only the announced rest of
 * the current frame would exceed it (refused at the first piece, nothing buffered). */
static void test_max_message(void **state)
{
    (void)state;
    edge_rxbuf_t rx = {0};
    const char *msg = NULL;
    size_t len = 0;
    edge_rxpiece_t exact = s_piece("12345678", true, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &exact, 8, 64, &msg, &len), EDGE_RX_MESSAGE);
    edge_rxbuf_done(&rx, 16384);
    edge_rxpiece_t over = s_piece("123456789", true, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &over, 8, 64, &msg, &len), EDGE_RX_TOO_BIG);
    edge_rxpiece_t announced = s_piece("1234", true, false, 5); /* 4 now + 5 to come > 8 */
    assert_int_equal(edge_rxbuf_add(&rx, &announced, 8, 64, &msg, &len), EDGE_RX_TOO_BIG);
    assert_null(rx.buf);
    edge_rxpiece_t a = s_piece("12345", true, false, 0);
    edge_rxpiece_t b = s_piece("6789", false, true, 0); /* 9 in all */
    assert_int_equal(edge_rxbuf_add(&rx, &a, 8, 64, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &b, 8, 64, &msg, &len), EDGE_RX_TOO_BIG);
    edge_rxbuf_free(&rx);
}

/* A buffer grown past keep goes back after its message; the buffer never exceeds max. */
static void test_large_buffer_released(void **state)
{
    (void)state;
    enum { MAX = 65536, KEEP = 16384 };
    static char big[MAX];
    memset(big, 'a', sizeof big);
    edge_rxbuf_t rx = {0};
    const char *msg = NULL;
    size_t len = 0;
    size_t sent = 0;
    for (int i = 0; i < 16; i++) {
        edge_rxpiece_t p = {
            .data = big + sent, .len = MAX / 16, .first = i == 0, .final = i == 15};
        sent += p.len;
        edge_rx_rc_t rc = edge_rxbuf_add(&rx, &p, MAX, 64, &msg, &len);
        assert_int_equal(rc, i == 15 ? EDGE_RX_MESSAGE : EDGE_RX_MORE);
        assert_true(rx.cap <= MAX);
    }
    assert_int_equal(len, MAX);
    assert_memory_equal(msg, big, MAX);
    edge_rxbuf_done(&rx, KEEP);
    assert_null(rx.buf);
    assert_int_equal(rx.cap, 0);
}

/* max_frames: a message of exactly max_frames fragments passes, one more is refused (also
 * empty ones); pieces of one frame (remaining > 0) are one fragment; the count restarts with
 * each message. */
static void test_fragment_cap(void **state)
{
    (void)state;
    edge_rxbuf_t rx = {0};
    const char *msg = NULL;
    size_t len = 0;
    edge_rxpiece_t part = s_piece("ab", true, false, 2); /* a frame in two pieces: one */
    edge_rxpiece_t rest = s_piece("cd", false, false, 0);
    edge_rxpiece_t mid = s_piece("e", false, false, 0);
    edge_rxpiece_t last = s_piece("f", false, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &part, 1024, 4, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &rest, 1024, 4, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &mid, 1024, 4, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &mid, 1024, 4, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &last, 1024, 4, &msg, &len), EDGE_RX_MESSAGE);
    assert_int_equal(len, 7);
    assert_memory_equal(msg, "abcdeef", 7);
    edge_rxbuf_done(&rx, 16384);
    edge_rxpiece_t first = s_piece("", true, false, 0);
    edge_rxpiece_t empty = s_piece("", false, false, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &first, 1024, 4, &msg, &len), EDGE_RX_MORE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(edge_rxbuf_add(&rx, &empty, 1024, 4, &msg, &len), EDGE_RX_MORE);
    assert_int_equal(edge_rxbuf_add(&rx, &empty, 1024, 4, &msg, &len), EDGE_RX_TOO_MANY);
    edge_rxpiece_t whole = s_piece("x", true, true, 0);
    assert_int_equal(edge_rxbuf_add(&rx, &whole, 1024, 4, &msg, &len), EDGE_RX_MESSAGE);
    edge_rxbuf_free(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_message_no_copy), cmocka_unit_test(test_fragments_in_order),
        cmocka_unit_test(test_first_piece_restarts),  cmocka_unit_test(test_max_message),
        cmocka_unit_test(test_fragment_cap),          cmocka_unit_test(test_large_buffer_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
