/*
 * test_edge_pipeline.c: the room pipeline alone: router messages in (built with the wire codec),
 * over a real writer with a fake transport, a scripted history and an injected clock; what each
 * listener receives is compared token by token (fake_log()).
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
#include "edge_pipeline.h"

#define MS 1000 /* microseconds */
#define NCLIENTS 3

/* The batch timer as the pipeline arms it. */
typedef struct timer {
    bool armed;
    int64_t delay;
} timer_t_;

/* A pipeline over a writer, history, and three listeners. */
typedef struct fix {
    edge_stats_t stats;
    fake_loop_t loop;
    fake_hist_t hist;
    timer_t_ timer;
    char topics[512]; /* "+topic -topic ..." as the pipeline reported them */
    edge_writer_t *w;
    edge_pipeline_t *p;
    fake_conn_t conn[NCLIENTS];
    edge_client_t client[NCLIENTS];
    edge_member_t *member[NCLIENTS];
} fix_t;

/* on_topic hook: records. */
static void s_on_topic(void *arg, bool subscribe, const char *topic, size_t len)
{
    fix_t *f = arg;
    size_t used = strlen(f->topics);
    snprintf(f->topics + used, sizeof f->topics - used, "%s%c%.*s", used ? " " : "",
             subscribe ? '+' : '-', (int)len, topic);
}

/* arm hook: records. */
static int s_arm(void *arg, int64_t delay_us)
{
    fix_t *f = arg;
    f->timer.armed = true;
    f->timer.delay = delay_us;
    return 0;
}

/* A pipeline with classes; every listener open, none in a room. */
static fix_t *s_fix(const char *classes)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fake_now = 1000000;
    f->w = fake_writer(&f->loop, &f->stats, 1000);
    assert_non_null(f->w);
    edge_pipeline_opts_t po = {
        .writer = f->w,
        .history = fake_history(&f->hist),
        .classes = classes,
        .max_batch = 100,
        .max_batch_bytes = 1 << 16,
        .max_held = 100,
        .on_topic = s_on_topic,
        .arm = s_arm,
        .arg = f,
        .now = fake_clock,
        .stats = &f->stats,
    };
    f->p = edge_pipeline_new(&po);
    assert_non_null(f->p);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_int_equal(edge_writer_open(f->w, &f->client[i].out, &f->conn[i]), 0);
        f->member[i] = edge_member_new(edge_pipeline_rooms(f->p), &f->client[i]);
        assert_non_null(f->member[i]);
    }
    return f;
}

/* Closes every listener (as the server does) and frees everything. */
static void s_free(fix_t *f)
{
    for (int i = 0; i < NCLIENTS; i++) {
        edge_writer_closed(f->w, &f->client[i].out);
        edge_pipeline_forget(f->p, &f->client[i]);
        edge_member_destroy(&f->member[i]);
        fake_conn_reset(&f->conn[i]);
    }
    assert_int_equal(f->stats.room_streams, 0);
    assert_int_equal(f->stats.syncs, 0);
    edge_pipeline_destroy(&f->p);
    assert_null(f->p);
    assert_int_equal(fake_hist_live(&f->hist), 0);
    edge_writer_destroy(&f->w);
    free(f);
}

/* Listener i joins room (flags: EDGE_ROOMS_F_UNBATCHED or 0). */
static void s_join(fix_t *f, int i, const char *room, unsigned flags)
{
    assert_int_equal(edge_rooms_join_flags(f->member[i], room, strlen(room), flags),
                     EDGE_ROOMS_ADDED);
}

/* Routes a router message: a room's event of type at (epoch, seq), or a head (kind HEAD). */
static void s_route_kind(fix_t *f, uint8_t kind, const char *room, uint64_t epoch, uint64_t seq,
                         const char *type, uint8_t flags, const char *payload)
{
    char topic[WIRE_TOPIC_MAX + 1];
    size_t tlen = wire_topic_for_room(room, strlen(room), topic);
    wire_header_t h;
    fake_header(&h, kind, epoch, seq, type, flags);
    unsigned char hdr[WIRE_HEADER_MAX];
    size_t hlen = wire_header_encode(&h, hdr, sizeof hdr);
    assert_true(hlen > 0);
    edge_zmq_msg_t msg = {
        .part = {topic, hdr, payload},
        .len = {tlen, hlen, strlen(payload)},
        .nparts = 3,
    };
    edge_pipeline_route(f->p, &msg);
}

/* Routes an event with data {"n":seq}. */
static void s_route(fix_t *f, const char *room, uint64_t epoch, uint64_t seq, const char *type,
                    uint8_t flags)
{
    char data[32];
    snprintf(data, sizeof data, "{\"n\":%llu}", (unsigned long long)seq);
    s_route_kind(f, WIRE_KIND_EVENT, room, epoch, seq, type, flags, data);
}

/* What listener i received, from frame first on (after letting the writer write it all). */
static const char *s_got(fix_t *f, int i, size_t first)
{
    f->conn[i].want_writable = f->conn[i].want_writable ? f->conn[i].want_writable : 1;
    fake_serve(f->w, &f->client[i].out, 100);
    return fake_log(&f->conn[i], first);
}

static void test_events_in_order(void **state)
{
    (void)state;
    fix_t *f = s_fix("");
    s_join(f, 0, "r", 0);
    s_join(f, 1, "r", 0);
    s_join(f, 2, "other", 0);
    assert_string_equal(f->topics, "+r  +other ");
    for (uint64_t s = 1; s <= 3; s++)
        s_route(f, "r", 1, s, "t", 0);
    assert_string_equal(s_got(f, 0, 0), "E1.1 E1.2 E1.3");
    assert_string_equal(s_got(f, 1, 0), "E1.1 E1.2 E1.3");
    assert_string_equal(s_got(f, 2, 0), "");
    assert_int_equal(f->stats.events_in, 3);
    assert_int_equal(f->stats.deliveries, 6);
    assert_int_equal(f->stats.room_streams, 1);
    /* A jump: the stream asks history and holds what follows until the reply. */
    s_route(f, "r", 1, 6, "t", 0);
    assert_int_equal(f->hist.nasks, 1);
    assert_string_equal(f->hist.asks[0].room, "r");
    assert_int_equal(f->hist.asks[0].epoch, 1);
    assert_int_equal(f->hist.asks[0].after, 3);
    s_route(f, "r", 1, 7, "t", 0);
    assert_string_equal(s_got(f, 0, 3), "");
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 7, 4, 5, false);
    assert_string_equal(s_got(f, 0, 3), "E1.4 E1.5 E1.6 E1.7");
    assert_string_equal(s_got(f, 1, 3), "E1.4 E1.5 E1.6 E1.7");
    /* What the edge cannot use is counted and dropped. */
    s_route(f, "nobody", 1, 1, "t", 0);
    assert_int_equal(f->stats.events_unrouted, 1);
    s_route_kind(f, WIRE_KIND_EVENT, "r", 0, 0, "t", 0, "{}");
    assert_int_equal(f->stats.events_dropped[EDGE_DROP_UNSTAMPED], 1);
    s_route_kind(f, WIRE_KIND_EVENT, "r", 1, 8, "t", 0, "[1]");
    assert_int_equal(f->stats.events_dropped[EDGE_DROP_PAYLOAD], 1);
    edge_zmq_msg_t two = {.part = {"r ", "x"}, .len = {2, 1}, .nparts = 2};
    edge_pipeline_route(f->p, &two);
    assert_int_equal(f->stats.events_bad[WIRE_ERR_FRAMES], 1);
    assert_string_equal(s_got(f, 0, 7), "");
    /* The last listener leaving unsubscribes and frees the room's state. */
    assert_int_equal(edge_rooms_leave(f->member[0], "r", 1), EDGE_ROOMS_REMOVED);
    assert_int_equal(edge_rooms_leave(f->member[1], "r", 1), EDGE_ROOMS_REMOVED);
    assert_string_equal(f->topics, "+r  +other  -r ");
    assert_int_equal(f->stats.room_streams, 0);
    s_free(f);
}

static void test_batched_and_unbatched(void **state)
{
    (void)state;
    fix_t *f = s_fix("ticks=tick.*:50");
    s_join(f, 0, "r", 0);                      /* batched */
    s_join(f, 1, "r", EDGE_ROOMS_F_UNBATCHED); /* every event at once */
    for (uint64_t s = 1; s <= 3; s++)
        s_route(f, "r", 1, s, "tick.a", 0);
    assert_true(f->timer.armed);
    assert_int_equal(f->timer.delay, 50 * MS);
    assert_string_equal(s_got(f, 0, 0), "");
    assert_string_equal(s_got(f, 1, 0), "E1.1 E1.2 E1.3");
    /* The window passes: the batched listener gets one batch frame. */
    f->timer.armed = false;
    fake_now += 50 * MS;
    edge_pipeline_timer(f->p);
    assert_false(f->timer.armed); /* nothing pending */
    assert_string_equal(s_got(f, 0, 0), "B1.1-3");
    assert_string_equal(s_got(f, 1, 3), "");
    assert_int_equal(f->stats.batch_deliveries, 1);
    assert_int_equal(f->stats.deliveries, 3);
    /* A held event, then an immediate one: the batch first, then the event, to everyone. */
    s_route(f, "r", 1, 4, "tick.a", 0);
    s_route(f, "r", 1, 5, "other", 0);
    assert_string_equal(s_got(f, 0, 1), "E1.4 E1.5"); /* a batch of one seq: its own frame */
    assert_string_equal(s_got(f, 1, 3), "E1.4 E1.5");
    /* A critical event of a batching class is not held. */
    s_route(f, "r", 1, 6, "tick.a", WIRE_FLAG_CRITICAL);
    assert_string_equal(s_got(f, 0, 3), "E1.6");
    assert_string_equal(s_got(f, 1, 5), "E1.6");
    s_free(f);
}

static void test_resuming_member(void **state)
{
    (void)state;
    fix_t *f = s_fix("");
    s_join(f, 0, "r", 0);
    for (uint64_t s = 1; s <= 3; s++)
        s_route(f, "r", 1, s, "t", 0);
    /* Listener 1 comes back with cursor 1.1: its sync asks history; live events go to it. */
    s_join(f, 1, "r", 0);
    void *id = json_string("q");
    assert_int_equal(edge_pipeline_resume(f->p, &f->client[1], "r", 1, &id, 1, 1), 0);
    assert_null(id);
    assert_int_equal(f->stats.syncs, 1);
    assert_int_equal(f->hist.nasks, 1);
    assert_int_equal(f->hist.asks[0].after, 1);
    s_route(f, "r", 1, 4, "t", 0);
    assert_string_equal(s_got(f, 0, 0), "E1.1 E1.2 E1.3 E1.4");
    assert_string_equal(s_got(f, 1, 0), "");
    /* History fills 2..3, the held 4 follows; caught up with the room, the sync ends. */
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 3, 2, 3, false);
    assert_string_equal(s_got(f, 1, 0), "A+1.1 E1.2 E1.3 E1.4");
    assert_int_equal(f->stats.syncs, 0);
    assert_null(f->client[1].syncs);
    s_route(f, "r", 1, 5, "t", 0);
    assert_string_equal(s_got(f, 1, 4), "E1.5");
    /* Unsubscribing ends a resume under way. */
    id = NULL;
    assert_int_equal(edge_pipeline_resume(f->p, &f->client[1], "r", 1, &id, 1, 2), 0);
    assert_int_equal(f->stats.syncs, 1);
    edge_pipeline_unresume(f->p, &f->client[1], "r", 1);
    assert_int_equal(f->stats.syncs, 0);
    assert_int_equal(fake_hist_live(&f->hist), 0);
    s_free(f);
}

static void test_resume_with_a_pending_batch(void **state)
{
    (void)state;
    fix_t *f = s_fix("ticks=tick.*:50");
    s_join(f, 0, "r", 0);
    s_route(f, "r", 1, 1, "tick.a", 0); /* held in the room's batch */
    s_join(f, 1, "r", 0);
    void *id = json_string("q");
    assert_int_equal(edge_pipeline_resume(f->p, &f->client[1], "r", 1, &id, 1, 0), 0);
    /* The held event while resuming goes to the sync too (every event, in order). */
    s_route(f, "r", 1, 2, "tick.a", 0);
    fake_hist_reply(&f->hist, 0, EDGE_HIST_OK, 1, 1, 1, 1, false);
    assert_string_equal(s_got(f, 1, 0), "A+1.0 E1.1 E1.2");
    /* Caught up, but the room's batch still holds 1..2 that this client already has: the sync
     * stays until the batch went out, so the client does not get those events twice. */
    assert_int_equal(f->stats.syncs, 1);
    fake_now += 50 * MS;
    edge_pipeline_timer(f->p);
    assert_string_equal(s_got(f, 0, 0), "B1.1-2");
    assert_string_equal(s_got(f, 1, 3), "");
    /* The check made while the batch goes out still sees it pending (edge_batch resets after
     * emitting), so the sync ends with the next event, which it delivers itself. */
    assert_int_equal(f->stats.syncs, 1);
    s_route(f, "r", 1, 3, "other", 0);
    assert_int_equal(f->stats.syncs, 0);
    assert_string_equal(s_got(f, 1, 3), "E1.3");
    s_route(f, "r", 1, 4, "other", 0);
    assert_string_equal(s_got(f, 0, 1), "E1.3 E1.4");
    assert_string_equal(s_got(f, 1, 4), "E1.4");
    s_free(f);
}

static void test_positions_and_notices(void **state)
{
    (void)state;
    fix_t *f = s_fix("");
    s_join(f, 0, "r", 0);
    s_join(f, 1, "r*", 0);
    uint64_t e = 0, l = 0;
    assert_false(edge_pipeline_position(f->p, "r*", 2, &e, &l)); /* a pattern has none */
    /* A room new to the edge: its stream asks history for the head. */
    assert_false(edge_pipeline_position(f->p, "r", 1, &e, &l));
    assert_int_equal(f->hist.nasks, 1);
    assert_int_equal(f->hist.asks[0].epoch, 0);
    fake_hist_reply(&f->hist, 0, EDGE_HIST_EPOCH_CHANGED, 3, 7, 1, 0, false);
    assert_string_equal(s_got(f, 0, 0), "P3.7");
    assert_string_equal(s_got(f, 1, 0), "P3.7"); /* the pattern's listener too */
    assert_true(edge_pipeline_position(f->p, "r", 1, &e, &l));
    assert_int_equal(e, 3);
    assert_int_equal(l, 7);
    s_route(f, "r", 3, 8, "t", 0);
    /* The router restarted: a new epoch is announced before its first event. */
    s_route(f, "r", 4, 1, "t", 0);
    assert_string_equal(s_got(f, 0, 1), "E3.8 N-4.0:epoch_changed E4.1");
    assert_string_equal(s_got(f, 1, 1), "E3.8 N-4.0:epoch_changed E4.1");
    assert_int_equal(f->stats.notices, 2);
    /* A head beyond what the edge has seen asks history; one that is not does nothing. */
    s_route_kind(f, WIRE_KIND_HEAD, "r", 4, 1, "", 0, "{}");
    assert_int_equal(f->stats.heads_in, 1);
    assert_int_equal(f->hist.nasks, 1);
    s_route_kind(f, WIRE_KIND_HEAD, "r", 4, 3, "", 0, "{}");
    assert_int_equal(f->stats.head_probes, 1);
    assert_int_equal(f->hist.nasks, 2);
    assert_int_equal(f->hist.asks[1].after, 1);
    fake_hist_reply(&f->hist, 1, EDGE_HIST_OK, 4, 3, 2, 3, false);
    assert_string_equal(s_got(f, 0, 4), "E4.2 E4.3");
    /* A router reconnect probes every room with a position (not the first connect). */
    edge_pipeline_reconnected(f->p, 1);
    assert_int_equal(f->hist.nasks, 2);
    edge_pipeline_reconnected(f->p, 2);
    assert_int_equal(f->stats.probes, 1);
    assert_int_equal(f->hist.nasks, 3);
    assert_int_equal(f->hist.asks[2].after, 3);
    fake_hist_reply(&f->hist, 2, EDGE_HIST_OK, 4, 3, 1, 0, false);
    assert_string_equal(s_got(f, 0, 6), "");
    s_free(f);
}

static void test_bad_classes(void **state)
{
    (void)state;
    edge_stats_t stats = {0};
    fake_hist_t hist = {0};
    fake_loop_t loop = {0};
    edge_writer_opts_t wo = {.ops = &fake_transport,
                             .arg = &loop,
                             .max_queue_bytes = 100,
                             .max_queue_frames = 10,
                             .stats = &stats};
    edge_writer_t *w = edge_writer_new(&wo);
    edge_pipeline_opts_t po = {
        .writer = w,
        .history = fake_history(&hist),
        .classes = "bad",
        .max_batch = 100,
        .max_batch_bytes = 100,
        .max_held = 10,
        .arm = s_arm,
        .stats = &stats,
    };
    assert_null(edge_pipeline_new(&po));
    edge_writer_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_in_order),
        cmocka_unit_test(test_batched_and_unbatched),
        cmocka_unit_test(test_resuming_member),
        cmocka_unit_test(test_resume_with_a_pending_batch),
        cmocka_unit_test(test_positions_and_notices),
        cmocka_unit_test(test_bad_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
