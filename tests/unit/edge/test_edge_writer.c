/*
 * test_edge_writer.c: the connection writer alone, over a fake transport: the exact bytes of
 * gathered writes, header sizes at their boundaries, one frame from its own headroom, the first
 * frame through the writable callback, slow-consumer closes (4008), close frames and their
 * reasons, broken and partial writes, the drained report, pacing with an injected clock, stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "edge_fakes.h"
#include "edge_writer.h"

/* A writer, its counters, its loop and one connection. */
typedef struct fix {
    edge_stats_t stats;
    fake_loop_t loop;
    edge_writer_t *w;
    fake_conn_t conn;
    edge_wconn_t wc;
    unsigned drained; /* drained hook calls */
} fix_t;

/* Drained hook: counts. */
static void s_drained(void *arg, edge_wconn_t *wc)
{
    fix_t *f = arg;
    assert_ptr_equal(wc, &f->wc);
    f->drained++;
}

/* A writer with queue bounds and pacing, and one open connection. */
static fix_t *s_fix(size_t max_bytes, size_t max_frames, int pace_above, int pace_ms)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fake_now = 1000000;
    edge_writer_opts_t o = {
        .ops = &fake_transport,
        .arg = &f->loop,
        .max_queue_bytes = max_bytes,
        .max_queue_frames = max_frames,
        .pace_above = pace_above,
        .pace_interval_ms = pace_ms,
        .hold_reads = true,
        .now = fake_clock,
        .stats = &f->stats,
    };
    f->w = edge_writer_new(&o);
    assert_non_null(f->w);
    edge_writer_set_drained(f->w, s_drained, f);
    assert_int_equal(edge_writer_open(f->w, &f->wc, &f->conn), 0);
    assert_true(edge_wconn_live(&f->wc));
    return f;
}

/* Closes the connection and frees everything. */
static void s_free(fix_t *f)
{
    assert_true(edge_writer_closed(f->w, &f->wc));
    assert_false(edge_writer_closed(f->w, &f->wc)); /* twice: nothing */
    edge_writer_destroy(&f->w);
    assert_null(f->w);
    edge_writer_destroy(&f->w);
    fake_conn_reset(&f->conn);
    free(f);
}

/* A frame of len bytes of c. */
static edge_frame_t *s_frame(size_t len, char c)
{
    edge_frame_t *fr = edge_frame_new(len);
    assert_non_null(fr);
    memset(edge_frame_data(fr), c, len);
    return fr;
}

/* Makes the connection direct (a writable callback ran), with nothing written. */
static void s_direct(fix_t *f)
{
    f->conn.want_writable = 1;
    assert_int_equal(fake_serve(f->w, &f->wc, 1), 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT] + f->conn.writes[EDGE_WRITE_RAW], 0);
}

static void test_header_sizes(void **state)
{
    (void)state;
    unsigned char h[10];
    static const struct {
        size_t len, size;
        unsigned char bytes[10];
    } cases[] = {
        {0, 2, {0x81, 0}},
        {125, 2, {0x81, 125}},
        {126, 4, {0x81, 126, 0, 126}},
        {65535, 4, {0x81, 126, 0xff, 0xff}},
        {65536, 10, {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
        {0x0102030405ull, 10, {0x81, 127, 0, 0, 0, 1, 2, 3, 4, 5}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(edge_writer_header(h, cases[i].len), cases[i].size);
        assert_memory_equal(h, cases[i].bytes, cases[i].size);
    }
}

static void test_first_frame_through_writable(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    edge_frame_t *a = s_frame(5, 'a');
    edge_writer_send(f->w, &f->wc, a);
    /* Not direct yet: the writable callback, not a round. */
    assert_int_equal(f->conn.want_writable, 1);
    assert_false(f->loop.armed);
    assert_int_equal(edge_frame_refcnt(a), 2); /* the queue's reference */
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 1);
    assert_int_equal(f->conn.nframes, 1);
    assert_string_equal(f->conn.frames[0], "aaaaa");
    assert_int_equal(edge_frame_refcnt(a), 1);
    assert_int_equal(f->stats.frames_out, 1);
    assert_int_equal(f->stats.bytes_out, 5);
    assert_int_equal(f->stats.writes, 1);
    /* Direct now: the next frame goes to a round at the end of the pass. */
    edge_writer_send(f->w, &f->wc, a);
    assert_int_equal(f->conn.want_writable, 0);
    assert_true(f->loop.armed);
    assert_int_equal(f->loop.delay, 0);
    edge_writer_pass_end(f->w); /* not paced: the round runs now and disarms the timer */
    assert_false(f->loop.armed);
    assert_int_equal(f->loop.cancels, 1);
    assert_int_equal(f->conn.nframes, 2);
    assert_int_equal(f->stats.write_rounds, 1);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_one_frame_from_its_headroom(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    edge_frame_t *a = s_frame(300, 'x');
    edge_writer_send(f->w, &f->wc, a);
    assert_true(fake_fire(f->w, &f->loop));
    /* The frame's own buffer, not a copy: the transport wrote the header in its headroom. */
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_RAW], 0);
    assert_ptr_equal(f->conn.last_data, edge_frame_data(a));
    assert_int_equal(f->conn.last_len, 300);
    assert_int_equal(f->conn.wire_len, 4 + 300);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_gathered_bytes(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    size_t lens[] = {1, 125, 126, 1000};
    edge_frame_t *fr[4];
    unsigned char *want = malloc(70000);
    assert_non_null(want);
    size_t used = 0;
    for (int i = 0; i < 4; i++) {
        fr[i] = s_frame(lens[i], (char)('a' + i));
        edge_writer_send(f->w, &f->wc, fr[i]);
        used = fake_ws_frame(want, used, edge_frame_data(fr[i]), lens[i]);
    }
    assert_int_equal(f->loop.schedules, 1); /* one round for the four */
    assert_true(fake_fire(f->w, &f->loop));
    /* One RAW write: the four frames back to back, exactly as four writes would put them. */
    assert_int_equal(f->conn.writes[EDGE_WRITE_RAW], 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 0);
    assert_int_equal(f->conn.last_kind, EDGE_WRITE_RAW);
    assert_int_equal(f->conn.last_len, used);
    assert_int_equal(used, (2 + 1) + (2 + 125) + (4 + 126) + (4 + 1000));
    assert_memory_equal(f->conn.last_data, want, used);
    assert_int_equal(f->conn.nframes, 4);
    assert_int_equal(f->stats.frames_out, 4);
    assert_int_equal(f->stats.bytes_out, 1 + 125 + 126 + 1000);
    assert_int_equal(f->stats.writes, 1);
    assert_int_equal(f->conn.want_writable, 0); /* nothing left */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(edge_frame_refcnt(fr[i]), 1);
        edge_frame_unref(&fr[i]);
    }
    free(want);
    s_free(f);
}

static void test_gather_bound(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    /* 4 + 65532 fills one write exactly; the next frame waits for the writable callback. A frame
     * too big to gather (65536: ten-byte header) goes alone, from its headroom. */
    edge_frame_t *big = s_frame(65532, 'b'), *one = s_frame(1, 'o'), *huge = s_frame(65536, 'h');
    edge_writer_send(f->w, &f->wc, big);
    edge_writer_send(f->w, &f->wc, one);
    edge_writer_send(f->w, &f->wc, huge);
    edge_writer_send(f->w, &f->wc, one);
    assert_true(fake_fire(f->w, &f->loop));
    assert_int_equal(f->conn.writes[EDGE_WRITE_RAW], 1);
    assert_int_equal(f->conn.last_len, 65536);
    static const unsigned char hdr[4] = {0x81, 126, 0xff, 0xfc};
    assert_memory_equal(f->conn.last_data, hdr, 4);
    assert_int_equal(f->conn.want_writable, 1); /* frames remain */
    /* The callback: "o" gathered alone (the huge one does not fit after it), then the huge one
     * on its own from its headroom, then the last "o" on its own. */
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 3);
    assert_int_equal(f->conn.nframes, 4);
    assert_int_equal(strlen(f->conn.frames[0]), 65532);
    assert_string_equal(f->conn.frames[1], "o");
    assert_int_equal(strlen(f->conn.frames[2]), 65536);
    assert_string_equal(f->conn.frames[3], "o");
    assert_int_equal(f->conn.writes[EDGE_WRITE_RAW], 2);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 2);
    edge_frame_unref(&big);
    edge_frame_unref(&one);
    edge_frame_unref(&huge);
    s_free(f);
}

static void test_slow_consumer(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 4, 0, 0);
    edge_frame_t *a = s_frame(10, 'a');
    for (int i = 0; i < 4; i++)
        edge_writer_send(f->w, &f->wc, a);
    assert_false(edge_wconn_closing(&f->wc));
    assert_int_equal(edge_frame_refcnt(a), 5);
    edge_writer_send(f->w, &f->wc, a); /* the fifth overflows */
    assert_true(edge_wconn_closing(&f->wc));
    assert_false(edge_wconn_live(&f->wc));
    assert_int_equal(f->stats.slow_closes, 1);
    assert_int_equal(edge_frame_refcnt(a), 1); /* the queue gave its frames back */
    assert_int_equal(f->conn.expires[EDGE_EXPIRE_GRACE], 1);
    edge_writer_send(f->w, &f->wc, a); /* closing: taken no more */
    assert_int_equal(edge_frame_refcnt(a), 1);
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_CLOSE], 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 0);
    assert_int_equal(f->conn.close_code, 4008);
    assert_string_equal(f->conn.close_reason, "slow consumer");
    assert_int_equal(f->stats.closes[EDGE_CLOSE_SLOW], 1);
    assert_int_equal(f->conn.expires[EDGE_EXPIRE_ACK], 1);
    /* The peer's echo ends it; it is not counted as the peer's own close. */
    assert_true(edge_writer_peer_close(f->w, &f->wc));
    assert_int_equal(f->stats.peer_closes, 0);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_close_reason_cut(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    static char reason[201];
    for (int i = 0; i < 200; i++)
        reason[i] = (char)('a' + i % 26);
    edge_writer_close(f->w, &f->wc, EDGE_CLOSE_TOO_BIG, reason);
    edge_writer_close(f->w, &f->wc, EDGE_CLOSE_POLICY, "second"); /* one close only */
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.close_code, 1009);
    assert_int_equal(f->conn.close_len, 125); /* a control frame's payload at most */
    assert_int_equal(strlen(f->conn.close_reason), 123);
    assert_memory_equal(f->conn.close_reason, reason, 123);
    assert_int_equal(f->stats.closes[EDGE_CLOSE_TOO_BIG], 1);
    assert_int_equal(f->stats.closes[EDGE_CLOSE_POLICY], 0);
    /* A later writable callback writes nothing more while the echo is awaited. */
    f->conn.want_writable = 1;
    fake_serve(f->w, &f->wc, 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_CLOSE], 1);
    s_free(f);
}

/* close_after: the queued frames (an error saying why) go out before the close frame; with a
 * full socket they are dropped as by any close. */
static void test_close_after(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    edge_frame_t *a = s_frame(3, 'a'), *b = s_frame(4, 'b');
    edge_writer_send(f->w, &f->wc, a);
    edge_writer_send(f->w, &f->wc, b);
    edge_writer_close_after(f->w, &f->wc, EDGE_CLOSE_AUTH, "token expired");
    assert_int_equal(f->conn.nframes, 2);
    assert_string_equal(f->conn.frames[0], "aaa");
    assert_string_equal(f->conn.frames[1], "bbbb");
    assert_true(edge_wconn_closing(&f->wc));
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.close_code, 4001);
    assert_string_equal(f->conn.close_reason, "token expired");
    assert_int_equal(f->conn.nframes, 2);
    s_free(f);
    f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    f->conn.partial = true;
    edge_writer_send(f->w, &f->wc, a);
    edge_writer_close_after(f->w, &f->wc, EDGE_CLOSE_AUTH, "subject changed");
    assert_int_equal(f->conn.nframes, 0);
    assert_int_equal(edge_frame_refcnt(a), 1); /* dropped from the queue */
    edge_frame_unref(&a);
    edge_frame_unref(&b);
    s_free(f);
}

static void test_peer_close(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    assert_false(edge_writer_peer_close(f->w, &f->wc)); /* the client's own close */
    assert_int_equal(f->stats.peer_closes, 1);
    assert_true(edge_wconn_closing(&f->wc));
    edge_frame_t *a = s_frame(3, 'a');
    edge_writer_send(f->w, &f->wc, a);
    assert_int_equal(edge_frame_refcnt(a), 1);
    assert_int_equal(f->conn.want_writable, 0);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_broken_and_partial(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    edge_frame_t *a = s_frame(3, 'a');
    /* Partial: the round leaves the connection to the writable callback. */
    f->conn.partial = true;
    edge_writer_send(f->w, &f->wc, a);
    assert_true(fake_fire(f->w, &f->loop));
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 0);
    assert_int_equal(f->conn.want_writable, 1);
    assert_int_equal(f->stats.write_rounds, 0); /* it wrote to nobody */
    f->conn.partial = false;
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.nframes, 1);
    /* Broken: the queue goes, the connection is dropped at once, nothing more is written. */
    f->conn.fail_writes = 1;
    edge_writer_send(f->w, &f->wc, a);
    edge_writer_send(f->w, &f->wc, a);
    assert_true(fake_fire(f->w, &f->loop));
    assert_true(edge_wconn_closing(&f->wc));
    assert_int_equal(f->conn.expires[EDGE_EXPIRE_NOW], 1);
    assert_int_equal(edge_frame_refcnt(a), 1);
    f->conn.want_writable = 1;
    fake_serve(f->w, &f->wc, 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_CLOSE], 0);
    /* From the writable callback, a failed write tells the transport to hang up. */
    fake_conn_t c2 = {0};
    edge_wconn_t wc2;
    assert_int_equal(edge_writer_open(f->w, &wc2, &c2), 0);
    edge_writer_send(f->w, &wc2, a);
    c2.fail_writes = 1;
    assert_int_equal(edge_writer_writeable(f->w, &wc2), -1);
    assert_true(edge_writer_closed(f->w, &wc2));
    fake_conn_reset(&c2);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_drained_report(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 4, 0, 0);
    edge_frame_t *a = s_frame(3, 'a');
    for (int i = 0; i < 3; i++)
        edge_writer_send(f->w, &f->wc, a);
    assert_true(edge_writer_busy(f->w, &f->wc)); /* 3 of 4: more than half */
    edge_writer_want_drain(&f->wc);
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_false(edge_writer_busy(f->w, &f->wc));
    assert_int_equal(f->drained, 1);
    edge_writer_send(f->w, &f->wc, a);
    assert_true(fake_fire(f->w, &f->loop));
    assert_int_equal(f->drained, 1); /* once per request */
    /* Busy in bytes too. */
    edge_frame_t *b = s_frame(600, 'b');
    fix_t *g = s_fix(1000, 100, 0, 0);
    edge_writer_send(g->w, &g->wc, b);
    assert_true(edge_writer_busy(g->w, &g->wc));
    edge_frame_unref(&b);
    s_free(g);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_pacing(void **state)
{
    (void)state;
    /* Paced above 100 frames/s per connection, rounds at least 20 ms apart. */
    fix_t *f = s_fix(1 << 20, 1000, 100, 20);
    s_direct(f);
    edge_frame_t *a = s_frame(3, 'a');
    edge_writer_send(f->w, &f->wc, a);
    edge_writer_pass_end(f->w); /* the first round: no rate yet */
    assert_int_equal(f->stats.write_rounds, 1);
    assert_int_equal(f->stats.paced_rounds, 0);
    assert_int_equal(edge_writer_holdoff(f->w), 0);
    /* 5 frames 1 ms later: 5000 frames/s: the next round waits 20 ms from this one. */
    fake_now += 1000;
    for (int i = 0; i < 5; i++)
        edge_writer_send(f->w, &f->wc, a);
    edge_writer_pass_end(f->w);
    assert_int_equal(f->stats.write_rounds, 2);
    assert_int_equal(f->stats.paced_rounds, 1);
    assert_int_equal(f->conn.nframes, 6);
    assert_int_equal(edge_writer_holdoff(f->w), 20000); /* the feed waits for the round */
    fake_now += 5000;
    edge_writer_send(f->w, &f->wc, a);
    assert_true(f->loop.armed);
    assert_int_equal(f->loop.delay, 15000);
    edge_writer_pass_end(f->w); /* not due */
    assert_int_equal(f->stats.write_rounds, 2);
    assert_int_equal(edge_writer_holdoff(f->w), 15000);
    /* A critical event does not wait. */
    edge_writer_urgent(f->w);
    edge_writer_pass_end(f->w);
    assert_int_equal(f->stats.write_rounds, 3);
    assert_int_equal(f->conn.nframes, 7);
    /* The timer at the due time runs the round; slow traffic unpaces. */
    fake_now += 100000;
    edge_writer_send(f->w, &f->wc, a);
    assert_int_equal(f->loop.delay, 0);
    assert_true(fake_fire(f->w, &f->loop));
    assert_int_equal(f->stats.write_rounds, 4);
    assert_int_equal(edge_writer_holdoff(f->w), 0);
    edge_frame_unref(&a);
    s_free(f);
}

static void test_stop(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    s_direct(f);
    edge_frame_t *a = s_frame(3, 'a');
    edge_writer_stop(f->w);
    edge_writer_send(f->w, &f->wc, a); /* stopping: no rounds, the callback closes */
    assert_false(f->loop.armed);
    assert_int_equal(f->conn.want_writable, 1);
    assert_int_equal(fake_serve(f->w, &f->wc, 10), 1);
    assert_int_equal(f->conn.writes[EDGE_WRITE_TEXT], 0);
    assert_int_equal(f->conn.close_code, 1001);
    assert_string_equal(f->conn.close_reason, "edge shutting down");
    assert_int_equal(f->stats.closes[EDGE_CLOSE_GOING_AWAY], 1);
    edge_frame_unref(&a);
    s_free(f);
}

/* A connection's duration is observed once, when it closes, in ms on the writer's clock. */
static void test_connection_duration(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20, 100, 0, 0);
    fake_now += 2500000; /* 2.5 s: the (1 s, 10 s] bucket */
    assert_true(edge_writer_closed(f->w, &f->wc));
    assert_int_equal(f->stats.conn_life.counts[0], 0);
    assert_int_equal(f->stats.conn_life.counts[1], 1);
    assert_int_equal(f->stats.conn_life.sum, 2500);
    assert_false(edge_writer_closed(f->w, &f->wc)); /* a second close observes nothing */
    assert_int_equal(f->stats.conn_life.counts[1], 1);
    assert_int_equal(edge_writer_open(f->w, &f->wc, &f->conn), 0); /* s_free() closes it again */
    assert_true(edge_writer_closed(f->w, &f->wc));                 /* after 0 s */
    assert_int_equal(f->stats.conn_life.counts[0], 1);
    assert_int_equal(edge_writer_open(f->w, &f->wc, &f->conn), 0);
    s_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_sizes),
        cmocka_unit_test(test_first_frame_through_writable),
        cmocka_unit_test(test_one_frame_from_its_headroom),
        cmocka_unit_test(test_gathered_bytes),
        cmocka_unit_test(test_gather_bound),
        cmocka_unit_test(test_slow_consumer),
        cmocka_unit_test(test_close_reason_cut),
        cmocka_unit_test(test_peer_close),
        cmocka_unit_test(test_close_after),
        cmocka_unit_test(test_broken_and_partial),
        cmocka_unit_test(test_drained_report),
        cmocka_unit_test(test_pacing),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_connection_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
