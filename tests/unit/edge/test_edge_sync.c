/*
 * test_edge_sync.c: resumes alone: a sync over a real writer with a fake transport and a
 * scripted history. What the client receives is compared token by token (fake_log()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edge_fakes.h"
#include "edge_sync.h"

/* A writer, a set of syncs, history and one client. */
typedef struct fix {
    edge_stats_t stats;
    fake_loop_t loop;
    fake_hist_t hist;
    edge_writer_t *w;
    edge_syncs_t *set;
    fake_conn_t conn;
    edge_client_t client;
    unsigned checks;      /* check hook calls */
    edge_sync_t *checked; /* the last sync it was called for */
    bool end_on_check;    /* the hook destroys the sync */
} fix_t;

/* The owner's check hook: records, and ends the sync when asked to. */
static void s_check(void *arg, edge_sync_t *sync)
{
    fix_t *f = arg;
    f->checks++;
    f->checked = sync;
    if (f->end_on_check)
        edge_sync_destroy(&sync);
}

/* A fixture with a queue bound (frames) and a bound on held events. */
static fix_t *s_fix(size_t max_frames, size_t max_held)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = fake_writer(&f->loop, &f->stats, max_frames);
    assert_non_null(f->w);
    edge_syncs_opts_t so = {
        .writer = f->w,
        .history = fake_history(&f->hist),
        .max_held = max_held,
        .stats = &f->stats,
        .check = s_check,
        .arg = f,
    };
    f->set = edge_syncs_new(&so);
    assert_non_null(f->set);
    assert_int_equal(edge_writer_open(f->w, &f->client.out, &f->conn), 0);
    return f;
}

/* Frees everything (syncs still alive included). */
static void s_free(fix_t *f)
{
    edge_writer_closed(f->w, &f->client.out);
    edge_syncs_destroy(&f->set);
    assert_null(f->set);
    assert_null(f->client.syncs);
    assert_int_equal(f->stats.syncs, 0);
    assert_int_equal(fake_hist_live(&f->hist), 0);
    edge_writer_destroy(&f->w);
    fake_conn_reset(&f->conn);
    free(f);
}

/* Starts a resume of room after (epoch, seq) with id "q". */
static edge_sync_t *s_resume(fix_t *f, const char *room, uint64_t epoch, uint64_t seq)
{
    void *id = json_string("q");
    edge_sync_t *y = edge_sync_new(f->set, &f->client, room, strlen(room), &id, epoch, seq);
    assert_non_null(y);
    assert_null(id); /* taken */
    return y;
}

/* A live event of room for the sync. */
static void s_live(edge_sync_t *y, const char *room, uint64_t epoch, uint64_t seq)
{
    edge_event_t ev = {.epoch = epoch, .seq = seq, .frame = fake_event(room, epoch, seq, "t", 0)};
    edge_sync_live(y, &ev);
    edge_frame_unref(&ev.frame);
}

static void test_resume_from_history(void **state)
{
    (void)state;
    fix_t *f = s_fix(100, 10);
    edge_sync_t *y = s_resume(f, "r", 1, 5);
    assert_int_equal(f->stats.syncs, 1);
    assert_int_equal(f->stats.resume.resumes, 1);
    assert_ptr_equal(edge_sync_find(&f->client, "r", 1), y);
    assert_ptr_equal(edge_sync_client(y), &f->client);
    size_t len;
    assert_string_equal(edge_sync_room(y, &len), "r");
    assert_int_equal(len, 1);
    /* It asked history at once, and is not settled. */
    assert_int_equal(f->hist.nasks, 1);
    assert_string_equal(f->hist.asks[0].room, "r");
    assert_int_equal(f->hist.asks[0].epoch, 1);
    assert_int_equal(f->hist.asks[0].after, 5);
    uint64_t e, l;
    assert_false(edge_sync_position(y, &e, &l));
    /* A live event meanwhile is held, not sent. */
    s_live(y, "r", 1, 9);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 0), "");
    /* The page 6..8, then the held 9; the owner is asked to check. */
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 8, 6, 8, false);
    assert_int_equal(f->checks, 1);
    assert_ptr_equal(f->checked, y);
    assert_true(edge_sync_position(y, &e, &l));
    assert_int_equal(e, 1);
    assert_int_equal(l, 9);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 0), "A+1.5 E1.6 E1.7 E1.8 E1.9");
    assert_int_equal(f->stats.deliveries, 4);
    assert_int_equal(f->stats.notices, 0);
    /* Duplicates are dropped; the next event goes straight through. */
    s_live(y, "r", 1, 9);
    s_live(y, "r", 1, 10);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 5), "E1.10");
    edge_sync_destroy(&y);
    assert_null(y);
    assert_null(edge_sync_find(&f->client, "r", 1));
    s_free(f);
}

static void test_deferred_while_busy(void **state)
{
    (void)state;
    fix_t *f = s_fix(4, 10);
    edge_frame_t *fr = edge_frame_from("{\"op\":\"x\"}", 10);
    for (int i = 0; i < 3; i++) /* 3 of 4 queued: more than half */
        edge_writer_send(f->w, &f->client.out, fr);
    edge_sync_t *y = s_resume(f, "r", 1, 5);
    assert_int_equal(f->hist.nasks, 0); /* deferred */
    uint64_t e, l;
    assert_false(edge_sync_position(y, &e, &l));
    /* The queue drains: the writer reports it, and the request goes out. */
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_int_equal(f->hist.nasks, 1);
    assert_int_equal(f->hist.asks[0].epoch, 1);
    assert_int_equal(f->hist.asks[0].after, 5);
    /* A page that is cut short asks again, once the page itself has been written (its three
     * frames made the queue busy again). */
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 9, 6, 7, true);
    assert_int_equal(f->hist.nasks, 1);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_int_equal(f->hist.nasks, 2);
    assert_int_equal(f->hist.asks[1].after, 7);
    fake_hist_reply(&f->hist, 1, EDGE_HIST_OK, 1, 9, 8, 9, false);
    assert_int_equal(f->checks, 2);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 3), "A+1.5 E1.6 E1.7 E1.8 E1.9");
    edge_sync_destroy(&y);
    edge_frame_unref(&fr);
    s_free(f);
}

static void test_deferred_then_refused(void **state)
{
    (void)state;
    fix_t *f = s_fix(4, 10);
    edge_frame_t *fr = edge_frame_from("{\"op\":\"x\"}", 10);
    for (int i = 0; i < 3; i++)
        edge_writer_send(f->w, &f->client.out, fr);
    s_resume(f, "r", 1, 5);
    /* History refuses the deferred ask (out of memory): answered as unavailable, and the owner
     * may end the sync from its hook, inside the writer's report. */
    f->hist.fail_next = 1;
    f->end_on_check = true;
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_int_equal(f->checks, 1);
    assert_null(f->client.syncs);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 3), "A-1.5:history_unavailable");
    edge_frame_unref(&fr);
    s_free(f);
}

static void test_no_call_after_cancel(void **state)
{
    (void)state;
    fix_t *f = s_fix(4, 10);
    edge_sync_t *y = s_resume(f, "r", 1, 5);
    assert_int_equal(fake_hist_live(&f->hist), 1);
    edge_sync_destroy(&y);
    assert_int_equal(f->hist.cancels, 1);
    assert_int_equal(fake_hist_live(&f->hist), 0); /* its callback can never run */
    assert_int_equal(f->stats.syncs, 0);
    /* A sync destroyed while deferred: the drain report finds nothing to send. */
    edge_frame_t *fr = edge_frame_from("{\"op\":\"x\"}", 10);
    for (int i = 0; i < 3; i++)
        edge_writer_send(f->w, &f->client.out, fr);
    y = s_resume(f, "r", 1, 5);
    assert_int_equal(f->hist.nasks, 1);
    edge_sync_destroy(&y);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_int_equal(f->hist.nasks, 1);
    assert_int_equal(f->checks, 0);
    assert_string_equal(fake_log(&f->conn, 0), "x x x");
    edge_frame_unref(&fr);
    s_free(f);
}

static void test_overflow_closes(void **state)
{
    (void)state;
    fix_t *f = s_fix(100, 2);
    s_resume(f, "r", 1, 5);
    s_live(f->client.syncs, "r", 1, 9);
    s_live(f->client.syncs, "r", 1, 10);
    assert_false(edge_wconn_closing(&f->client.out));
    s_live(f->client.syncs, "r", 1, 11); /* a third held event: over max_held */
    assert_true(edge_wconn_closing(&f->client.out));
    assert_int_equal(f->stats.resume.overflows, 1);
    assert_int_equal(f->stats.slow_closes, 1);
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_int_equal(f->conn.close_code, 4008);
    assert_string_equal(f->conn.close_reason, "slow consumer");
    s_free(f); /* the set frees the sync still alive */
}

static void test_probe_and_jump(void **state)
{
    (void)state;
    fix_t *f = s_fix(100, 10);
    edge_sync_t *a = s_resume(f, "a", 1, 5);
    edge_sync_t *b = s_resume(f, "b", 1, 5);
    assert_ptr_equal(edge_sync_find(&f->client, "a", 1), a);
    assert_ptr_equal(edge_sync_find(&f->client, "b", 1), b);
    assert_null(edge_sync_find(&f->client, "c", 1));
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 7, 6, 7, false); /* a settles at 1.7 */
    /* A reconnect probes the settled one only. */
    edge_syncs_probe(f->set);
    assert_int_equal(f->stats.probes, 1);
    assert_int_equal(f->hist.nasks, 3);
    assert_string_equal(f->hist.asks[2].room, "a");
    assert_int_equal(f->hist.asks[2].after, 7);
    fake_hist_reply(&f->hist, 2, EDGE_HIST_OK, 1, 7, 1, 0, false);
    /* The room's stream moved to a new epoch: the client hears it once. */
    edge_notice_t n = {
        .recovered = false, .epoch = 2, .seq = 0, .reason = EDGE_REASON_EPOCH_CHANGED};
    edge_sync_jump(a, &n);
    edge_sync_jump(a, &n); /* not forward any more: nothing */
    fake_pump(f->w, &f->loop, &f->client.out);
    assert_string_equal(fake_log(&f->conn, 0), "A+1.5 E1.6 E1.7 N-2.0:epoch_changed");
    assert_int_equal(f->stats.notices, 1);
    edge_sync_destroy(&a);
    assert_ptr_equal(f->client.syncs, b);
    s_free(f); /* b's ask is cancelled */
    (void)b;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_from_history),   cmocka_unit_test(test_deferred_while_busy),
        cmocka_unit_test(test_deferred_then_refused), cmocka_unit_test(test_no_call_after_cancel),
        cmocka_unit_test(test_overflow_closes),       cmocka_unit_test(test_probe_and_jump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
