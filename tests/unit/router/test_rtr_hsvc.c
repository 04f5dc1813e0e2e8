/*
 * test_rtr_hsvc.c: the history service on its own: a real ROUTER socket (inproc) over a real
 * history store and room table, driven by calling rtr_hsvc_serve() directly, so each call's
 * batch bound is visible. Checks the replies an edge's DEALER gets (ok pages cut at
 * history_page_max, epoch_changed, too_old, bad_request with the room's position, silence
 * without a request id) and the counters. The frames are built and read with wire_hist.h, whose
 * bytes test_wire_hist.c checks; the full router path is in test_rtr_server.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "rtr_hsvc.h"
#include "rtr_stats.h"
#include "rtr_test_util.h"
#include "wire_hist.h"

#define EPOCH 77        /* the router's epoch in these tests */
#define PAGE_MAX 3      /* history_page_max */
#define BATCH 2         /* history_batch */
#define MAX_EVENTS 5    /* history_max_events: older events are evicted */
#define WAIT_MS 5000    /* every wait is bounded by this */
#define REPLY_EVENTS 16 /* events one test reply can hold */

typedef struct fixture {
    void *ctx;              /* ZeroMQ context shared by both ends (inproc) */
    rtr_config_t conf;      /* defaults with the values above */
    rtr_rooms_t *rooms;     /* room table */
    rtr_history_t *history; /* history store */
    rtr_stats_t stats;      /* counters the service adds to */
    rtr_hsvc_t *hsvc;       /* the service under test */
    void *dealer;           /* the edge's side */
} fixture_t;

/* One reply as the DEALER reads it. */
typedef struct reply {
    uint64_t id;                /* echoed request id */
    wire_hist_block_t block;    /* status block */
    size_t n;                   /* events */
    uint64_t seq[REPLY_EVENTS]; /* their seqs, in order */
} reply_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256];
    assert_int_equal(rtr_config_defaults(&f->conf, err, sizeof err), 0);
    free(f->conf.history);
    f->conf.history = strdup("inproc://test-rtr-hsvc");
    f->conf.history_page_max = PAGE_MAX;
    f->conf.history_batch = BATCH;
    f->ctx = zmq_ctx_new();
    f->rooms = rtr_rooms_new();
    f->history = rtr_history_new(&(rtr_history_limits_t){
        .max_events = MAX_EVENTS, .max_age_ms = 3600 * 1000, .max_bytes = 1 << 24});
    assert_non_null(f->rooms);
    assert_non_null(f->history);
    f->hsvc = rtr_hsvc_new(f->ctx, &f->conf, NULL, EPOCH, f->history, f->rooms, &f->stats, NULL);
    assert_non_null(f->hsvc);
    assert_string_equal(rtr_hsvc_endpoint(f->hsvc), "inproc://test-rtr-hsvc");
    f->dealer = zmq_socket(f->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(f->dealer, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(f->dealer, rtr_hsvc_endpoint(f->hsvc)), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    zmq_close(f->dealer);
    rtr_hsvc_destroy(&f->hsvc);
    assert_null(f->hsvc);
    rtr_hsvc_destroy(&f->hsvc);
    rtr_history_destroy(&f->history);
    rtr_rooms_destroy(&f->rooms);
    zmq_ctx_term(f->ctx);
    rtr_config_free(&f->conf);
    free(f);
    return 0;
}

/* Publishes n events into room's history (seqs continue from the room's last). */
static void s_publish(fixture_t *f, const char *name, int n)
{
    rtr_room_t *room = rtr_rooms_ensure(f->rooms, name, strlen(name), 1);
    assert_non_null(room);
    for (int i = 0; i < n; i++) {
        uint64_t seq = rtr_rooms_stamp(f->rooms, room, 1);
        uint8_t hdr[WIRE_HEADER_MAX];
        size_t hlen = rtr_test_event_header(hdr, sizeof hdr, "agent-1", 1, seq, "t.x");
        assert_true(hlen > 0);
        wire_header_stamp(hdr, EPOCH, seq);
        assert_int_equal(rtr_history_append(f->history, room, seq, hdr, hlen, "{}", 2, 1), 0);
    }
}

/* Sends raw frames as one request. */
static void s_send_raw(fixture_t *f, size_t n, const void *const data[], const size_t len[])
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zmq_send(f->dealer, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0),
                         (int)len[i]);
}

/* Sends a well-formed request. */
static void s_ask(fixture_t *f, uint64_t id, const char *room, uint64_t epoch, uint64_t after,
                  uint32_t max)
{
    uint8_t idb[WIRE_HIST_ID_LEN], cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_id(idb, id);
    wire_hist_put_cursor(cur, epoch, after, max);
    const void *data[] = {idb, room, cur};
    size_t len[] = {sizeof idb, strlen(room), sizeof cur};
    s_send_raw(f, 3, data, len);
}

/* Serves until the service has read want more requests (each call reads at most BATCH). */
static void s_serve(fixture_t *f, uint64_t want)
{
    uint64_t before = f->stats.history_requests;
    for (int spins = 0; f->stats.history_requests - before < want && spins < WAIT_MS; spins++) {
        zmq_pollitem_t it = {rtr_hsvc_socket(f->hsvc), 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&it, 1, 1) >= 0);
        assert_true(rtr_hsvc_serve(f->hsvc, 1) <= BATCH);
    }
    assert_int_equal(f->stats.history_requests - before, want);
}

/* Receives one reply (false when none came within WAIT_MS); checks every event's header. */
static bool s_recv(fixture_t *f, reply_t *r)
{
    zmq_pollitem_t it = {f->dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, WAIT_MS) != 1)
        return false;
    memset(r, 0, sizeof *r);
    zmq_msg_t parts[2 + 2 * REPLY_EVENTS];
    size_t n = 0;
    for (int more = 1; more;) {
        assert_true(n < sizeof parts / sizeof parts[0]);
        zmq_msg_init(&parts[n]);
        assert_true(zmq_msg_recv(&parts[n], f->dealer, 0) >= 0);
        more = zmq_msg_more(&parts[n++]);
    }
    assert_int_equal(wire_hist_get_id(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &r->id), 0);
    assert_true(n >= 2);
    assert_int_equal(
        wire_hist_get_status(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), &r->block), 0);
    assert_int_equal(wire_hist_reply_events(n, &r->block, &r->n), 0);
    uint64_t prev = 0;
    for (size_t i = 0; i < r->n; i++) {
        wire_header_t h;
        const char *why = NULL;
        zmq_msg_t *hdr = &parts[2 + 2 * i], *pay = &parts[3 + 2 * i];
        assert_int_equal(
            wire_hist_check_event(zmq_msg_data(hdr), zmq_msg_size(hdr), EPOCH, prev, &h, &why), 0);
        assert_int_equal(zmq_msg_size(pay), 2);
        assert_memory_equal(zmq_msg_data(pay), "{}", 2);
        r->seq[i] = prev = h.seq;
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return true;
}

/* Nothing waiting: serve reads nothing. Five requests: read two per call (the batch), answered
 * in order. */
static void test_batch(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(rtr_hsvc_serve(f->hsvc, 1), 0);
    s_publish(f, "room", 1);
    for (uint64_t id = 1; id <= 5; id++)
        s_ask(f, id, "room", EPOCH, 0, 0);
    /* inproc: all five are queued once the socket is readable. */
    zmq_pollitem_t it = {rtr_hsvc_socket(f->hsvc), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, WAIT_MS), 1);
    assert_int_equal(rtr_hsvc_serve(f->hsvc, 1), 2);
    assert_int_equal(rtr_hsvc_serve(f->hsvc, 1), 2);
    assert_int_equal(rtr_hsvc_serve(f->hsvc, 1), 1);
    assert_int_equal(rtr_hsvc_serve(f->hsvc, 1), 0);
    assert_int_equal(f->stats.history_requests, 5);
    for (uint64_t id = 1; id <= 5; id++) {
        reply_t r;
        assert_true(s_recv(f, &r));
        assert_int_equal(r.id, id);
        assert_int_equal(r.block.status, WIRE_HIST_OK);
        assert_int_equal(r.n, 1);
    }
    assert_int_equal(f->stats.history_replies[WIRE_HIST_OK], 5);
    assert_int_equal(f->stats.history_served, 5);
}

/* Pages: cut at history_page_max (or the asked max), `more` until the head; the other statuses
 * carry the room's position and no events. */
static void test_pages_and_statuses(void **state)
{
    fixture_t *f = *state;
    s_publish(f, "room", 7); /* seqs 1..7; history keeps 3..7 */
    reply_t r;

    s_ask(f, 1, "room", EPOCH, 2, 0); /* the router's page: 3 */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_OK);
    assert_true(r.block.more);
    assert_int_equal(r.block.epoch, EPOCH);
    assert_int_equal(r.block.head, 7);
    assert_int_equal(r.block.first, 3);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.seq[0], 3);
    assert_int_equal(r.seq[2], 5);

    s_ask(f, 2, "room", EPOCH, 5, 100); /* above page_max: capped; the rest fits */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_OK);
    assert_false(r.block.more);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[1], 7);

    s_ask(f, 3, "room", EPOCH, 2, 1); /* the asked max */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.n, 1);
    assert_true(r.block.more);

    s_ask(f, 4, "room", EPOCH, 7, 0); /* at the head: nothing to send */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_OK);
    assert_int_equal(r.n, 0);
    assert_false(r.block.more);

    s_ask(f, 5, "room", EPOCH, 1, 0); /* seq 2 was evicted */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_TOO_OLD);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.block.head, 7);
    assert_int_equal(r.block.first, 3);

    s_ask(f, 6, "room", EPOCH - 1, 7, 0); /* another epoch: the current position */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.id, 6);
    assert_int_equal(r.block.status, WIRE_HIST_EPOCH_CHANGED);
    assert_int_equal(r.block.epoch, EPOCH);
    assert_int_equal(r.block.head, 7);
    assert_int_equal(r.n, 0);

    s_ask(f, 7, "nobody", EPOCH, 0, 0); /* a room never published */
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_OK);
    assert_int_equal(r.block.head, 0);
    assert_int_equal(r.block.first, 1);
    assert_int_equal(r.n, 0);

    assert_int_equal(f->stats.history_replies[WIRE_HIST_OK], 5);
    assert_int_equal(f->stats.history_replies[WIRE_HIST_TOO_OLD], 1);
    assert_int_equal(f->stats.history_replies[WIRE_HIST_EPOCH_CHANGED], 1);
    assert_int_equal(f->stats.history_served, 6);
    assert_int_equal(f->stats.history_bad, 0);
}

/* Malformed requests are counted by reason; bad_request goes back whenever the id was readable,
 * with the room's position when the room was; without an id nothing can be answered. */
static void test_bad_requests(void **state)
{
    fixture_t *f = *state;
    s_publish(f, "room", 4);
    uint8_t id[WIRE_HIST_ID_LEN], cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_cursor(cur, EPOCH, 0, 0);
    reply_t r;
    {
        const void *data[] = {"1234567", "room", cur}; /* 7-byte id: no reply */
        size_t len[] = {7, 4, sizeof cur};
        s_send_raw(f, 3, data, len);
    }
    wire_hist_put_id(id, 11);
    {
        const void *data[] = {id, "room"};
        size_t len[] = {sizeof id, 4};
        s_send_raw(f, 2, data, len);
    }
    wire_hist_put_id(id, 12);
    {
        const void *data[] = {id, "bad room", cur};
        size_t len[] = {sizeof id, 8, sizeof cur};
        s_send_raw(f, 3, data, len);
    }
    wire_hist_put_id(id, 13);
    {
        const void *data[] = {id, "room", cur};
        size_t len[] = {sizeof id, 4, sizeof cur - 1};
        s_send_raw(f, 3, data, len);
    }
    wire_hist_put_id(id, 14);
    {
        const void *data[] = {id, "room", cur, cur, cur, cur, cur}; /* excess frames */
        size_t len[] = {sizeof id, 4, sizeof cur, sizeof cur, sizeof cur, sizeof cur, sizeof cur};
        s_send_raw(f, 7, data, len);
    }
    s_ask(f, 15, "room", EPOCH, 3, 0); /* still served after all that */
    s_serve(f, 6);

    static const struct {
        uint64_t id;
        uint64_t head;
    } want[] = {{11, 0}, {12, 0}, {13, 4}, {14, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(s_recv(f, &r));
        assert_int_equal(r.id, want[i].id);
        assert_int_equal(r.block.status, WIRE_HIST_BAD_REQUEST);
        assert_int_equal(r.block.epoch, EPOCH);
        assert_int_equal(r.block.head, want[i].head);
        assert_int_equal(r.n, 0);
    }
    assert_true(s_recv(f, &r));
    assert_int_equal(r.id, 15);
    assert_int_equal(r.block.status, WIRE_HIST_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seq[0], 4);

    assert_int_equal(f->stats.history_requests, 6);
    assert_int_equal(f->stats.history_bad, 5);
    assert_int_equal(f->stats.history_bad_by[WIRE_HIST_BAD_REQUEST_ID], 1);
    assert_int_equal(f->stats.history_bad_by[WIRE_HIST_BAD_FRAMES], 2);
    assert_int_equal(f->stats.history_bad_by[WIRE_HIST_BAD_ROOM], 1);
    assert_int_equal(f->stats.history_bad_by[WIRE_HIST_BAD_CURSOR], 1);
    assert_int_equal(f->stats.history_replies[WIRE_HIST_BAD_REQUEST], 4);
    assert_int_equal(f->stats.history_replies[WIRE_HIST_OK], 1);
}

/* Binding a second service at the same endpoint fails cleanly. */
static void test_bind_conflict(void **state)
{
    fixture_t *f = *state;
    assert_null(rtr_hsvc_new(f->ctx, &f->conf, NULL, EPOCH, f->history, f->rooms, &f->stats, NULL));
}

/* history_rate: an edge over its cap gets busy (no events; malformed requests count too), other
 * edges keep their own budget, and the bucket refills with time. */
static void test_rate_cap(void **state)
{
    fixture_t *f = *state;
    zmq_close(f->dealer);
    rtr_hsvc_destroy(&f->hsvc);
    f->conf.history_rate = 1;
    f->conf.history_burst = 3;
    free(f->conf.history);
    f->conf.history = strdup("inproc://test-rtr-hsvc-rate"); /* the old name may still be bound */
    f->hsvc = rtr_hsvc_new(f->ctx, &f->conf, NULL, EPOCH, f->history, f->rooms, &f->stats, NULL);
    assert_non_null(f->hsvc);
    f->dealer = zmq_socket(f->ctx, ZMQ_DEALER);
    void *other = zmq_socket(f->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(f->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(other, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(f->dealer, rtr_hsvc_endpoint(f->hsvc)), 0);
    assert_int_equal(zmq_connect(other, rtr_hsvc_endpoint(f->hsvc)), 0);
    s_publish(f, "room", 2);
    for (uint64_t id = 1; id <= 5; id++)
        s_ask(f, id, "room", EPOCH, 0, 0);
    s_serve(f, 5);
    reply_t r;
    for (uint64_t id = 1; id <= 5; id++) {
        assert_true(s_recv(f, &r));
        assert_int_equal(r.id, id);
        assert_int_equal(r.block.status, id <= 3 ? WIRE_HIST_OK : WIRE_HIST_BUSY);
        assert_int_equal(r.n, id <= 3 ? 2 : 0);
    }
    assert_int_equal(f->stats.history_throttled, 2);
    assert_int_equal(f->stats.history_replies[WIRE_HIST_BUSY], 2);
    /* A malformed request over the cap is busy too (it has an id to answer). */
    uint8_t idb[WIRE_HIST_ID_LEN];
    wire_hist_put_id(idb, 6);
    const void *data[] = {idb, "room"};
    size_t len[] = {sizeof idb, 4};
    s_send_raw(f, 2, data, len);
    s_serve(f, 1);
    assert_true(s_recv(f, &r));
    assert_int_equal(r.block.status, WIRE_HIST_BUSY);
    assert_int_equal(f->stats.history_bad, 0);
    /* Another edge has its own bucket. */
    uint8_t cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_id(idb, 7);
    wire_hist_put_cursor(cur, EPOCH, 0, 0);
    assert_int_equal(zmq_send(other, idb, sizeof idb, ZMQ_SNDMORE), (int)sizeof idb);
    assert_int_equal(zmq_send(other, "room", 4, ZMQ_SNDMORE), 4);
    assert_int_equal(zmq_send(other, cur, sizeof cur, 0), (int)sizeof cur);
    s_serve(f, 1);
    zmq_pollitem_t it = {other, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, WAIT_MS), 1);
    uint8_t frame[64];
    assert_int_equal(zmq_recv(other, frame, sizeof frame, 0), WIRE_HIST_ID_LEN);
    int n = zmq_recv(other, frame, sizeof frame, 0);
    wire_hist_block_t block;
    assert_int_equal(wire_hist_get_status(frame, (size_t)n, &block), 0);
    assert_int_equal(block.status, WIRE_HIST_OK);
    zmq_close(other);
    /* Two seconds later (the service's clock), two more pass. */
    for (uint64_t id = 8; id <= 10; id++)
        s_ask(f, id, "room", EPOCH, 0, 0);
    uint64_t before = f->stats.history_requests;
    for (int spins = 0; f->stats.history_requests - before < 3 && spins < WAIT_MS; spins++) {
        zmq_pollitem_t in = {rtr_hsvc_socket(f->hsvc), 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&in, 1, 1) >= 0);
        rtr_hsvc_serve(f->hsvc, 2001);
    }
    for (uint64_t id = 8; id <= 10; id++) {
        assert_true(s_recv(f, &r));
        assert_int_equal(r.block.status, id <= 9 ? WIRE_HIST_OK : WIRE_HIST_BUSY);
    }
    assert_int_equal(f->stats.history_throttled, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pages_and_statuses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bind_conflict, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rate_cap, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
