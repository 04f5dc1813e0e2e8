/*
 * test_edge_hist.c: the history client in a real lws loop against a ROUTER socket standing in
 * for weft-router: the request on the wire, a page decoded into event frames, coalescing of
 * identical asks, the in-flight cap with FIFO order, timeouts with retries (same id) and the
 * final UNAVAILABLE, cancelled asks, late and malformed replies. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "edge_zloop.h"

#include "base_clock.h"
#include "edge_hist.h"

#define S_WAIT_MS 10000

/* A request as the fake router saw it. */
typedef struct req {
    zmq_msg_t identity; /* the DEALER's routing id, to answer */
    uint64_t id;        /* request id */
    char room[160];     /* room */
    uint64_t epoch;     /* asked epoch */
    uint64_t after;     /* asked after_seq */
    uint32_t max;       /* asked max_events */
} req_t;

/* What one ask's callback saw. */
typedef struct got {
    int calls;             /* callback runs */
    edge_hstatus_t status; /* last status */
    uint64_t req_after;    /* last request's after_seq */
    size_t count;          /* events */
    char first[512];       /* first event's frame */
    uint64_t last_seq;     /* last event's seq */
    int order;             /* global order of the (last) call */
} got_t;

typedef struct fixture {
    void *zctx;
    void *router;
    char endpoint[128];
    struct lws_protocols protocols[3];
    struct lws_context *lws;
    lws_sorted_usec_list_t tick;
    edge_hist_t *hist;
    edge_hist_stats_t stats;
    int calls; /* callbacks so far, over all asks */
} fixture_t;

static fixture_t s_f;

static void s_tick(lws_sorted_usec_list_t *sul)
{
    fixture_t *f = lws_container_of(sul, fixture_t, tick);
    lws_sul_schedule(f->lws, 0, &f->tick, s_tick, 20 * LWS_US_PER_MS);
}

static void s_cb(void *arg, const edge_hist_result_t *r)
{
    got_t *g = arg;
    g->calls++;
    g->order = ++s_f.calls;
    g->status = r->st.status;
    g->req_after = r->req_after;
    g->count = r->count;
    g->first[0] = '\0';
    if (r->count) {
        snprintf(g->first, sizeof g->first, "%s",
                 (const char *)edge_frame_data(r->events[0].frame));
        g->last_seq = r->events[r->count - 1].seq;
    }
}

/* Opens the fixture with these limits. */
static void s_open(fixture_t *f, int timeout_ms, int retries, int inflight)
{
    memset(f, 0, sizeof *f);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    f->zctx = zmq_ctx_new();
    f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
    edge_hist_opts_t opts = {
        .endpoint = f->endpoint,
        .timeout_ms = timeout_ms,
        .retries = retries,
        .inflight = inflight,
        .page = 500,
        .stats = &f->stats,
    };
    f->hist = edge_hist_new(&opts);
    assert_non_null(f->hist);
    f->protocols[0] = (struct lws_protocols){.name = "http", .callback = lws_callback_http_dummy};
    f->protocols[1] = *edge_zloop_protocol();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = f->protocols;
    f->lws = lws_create_context(&info);
    assert_non_null(f->lws);
    assert_int_equal(edge_hist_attach(f->hist, lws_get_vhost_by_name(f->lws, "default")), 0);
    lws_sul_schedule(f->lws, 0, &f->tick, s_tick, 20 * LWS_US_PER_MS);
}

static void s_close(fixture_t *f)
{
    lws_sul_cancel(&f->tick);
    edge_hist_detach(f->hist);
    lws_context_destroy(f->lws);
    edge_hist_destroy(&f->hist);
    assert_null(f->hist);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
}

/* Services the loop for about ms. */
static void s_service(fixture_t *f, int ms)
{
    uint64_t end = base_clock_ms() + (uint64_t)ms;
    while (base_clock_ms() < end)
        lws_service(f->lws, 0);
}

/* Services the loop until *counter reaches want (bounded). */
static void s_until(fixture_t *f, const int *counter, int want)
{
    uint64_t end = base_clock_ms() + S_WAIT_MS;
    while (*counter < want && base_clock_ms() < end)
        lws_service(f->lws, 0);
    assert_true(*counter >= want);
}

/* Receives one request at the fake router, servicing the loop meanwhile. Returns 0, or -1 when
 * none came within ms. */
static int s_recv_req(fixture_t *f, req_t *r, int ms)
{
    uint64_t end = base_clock_ms() + (uint64_t)ms;
    for (;;) {
        zmq_msg_init(&r->identity);
        if (zmq_msg_recv(&r->identity, f->router, ZMQ_DONTWAIT) >= 0)
            break;
        zmq_msg_close(&r->identity);
        if (base_clock_ms() >= end)
            return -1;
        lws_service(f->lws, 0);
    }
    uint8_t id[16], block[32];
    int n = zmq_recv(f->router, id, sizeof id, 0);
    assert_int_equal(n, 8);
    assert_int_equal(wire_hist_get_id(id, (size_t)n, &r->id), 0);
    n = zmq_recv(f->router, r->room, sizeof r->room - 1, 0);
    assert_true(n > 0);
    r->room[n] = '\0';
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz);
    assert_true(more);
    n = zmq_recv(f->router, block, sizeof block, 0);
    assert_int_equal(n, 20);
    zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz);
    assert_false(more); /* exactly three frames after the routing id */
    assert_int_equal(wire_hist_get_cursor(block, (size_t)n, &r->epoch, &r->after, &r->max), 0);
    return 0;
}

/* Answers r with status and events from..to of epoch (none when from > to). Consumes r's
 * identity. */
static void s_answer(fixture_t *f, req_t *r, edge_hstatus_t status, bool more, uint64_t epoch,
                     uint64_t head, uint64_t from, uint64_t to)
{
    assert_true(zmq_msg_send(&r->identity, f->router, ZMQ_SNDMORE) >= 0);
    uint8_t id[WIRE_HIST_ID_LEN], st[WIRE_HIST_STATUS_LEN];
    wire_hist_put_id(id, r->id);
    wire_hist_block_t s = {.status = (wire_hist_status_t)status,
                           .more = more,
                           .epoch = epoch,
                           .head = head,
                           .first = 1};
    wire_hist_put_status(st, &s);
    zmq_send(f->router, id, sizeof id, ZMQ_SNDMORE);
    zmq_send(f->router, st, sizeof st, from <= to ? ZMQ_SNDMORE : 0);
    for (uint64_t q = from; q <= to; q++) {
        wire_header_t h = {.kind = WIRE_KIND_EVENT,
                           .session = 1,
                           .pub_seq = q,
                           .ts_ns = 99,
                           .epoch = epoch,
                           .seq = q,
                           .pub_id = "pub",
                           .pub_id_len = 3,
                           .type = "t.x",
                           .type_len = 3};
        uint8_t hdr[WIRE_HEADER_MAX];
        size_t n = wire_header_encode(&h, hdr, sizeof hdr);
        char payload[64];
        int plen = snprintf(payload, sizeof payload, "{\"n\":%llu}", (unsigned long long)q);
        zmq_send(f->router, hdr, n, ZMQ_SNDMORE);
        zmq_send(f->router, payload, (size_t)plen, q < to ? ZMQ_SNDMORE : 0);
    }
    zmq_msg_close(&r->identity);
}

static void test_request_and_page(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, 8);
    got_t g = {0};
    assert_null(edge_hist_get(f->hist, "bad room", 8, 7, 10, s_cb, &g)); /* never sent */
    assert_non_null(edge_hist_get(f->hist, "project:1", 9, 7, 10, s_cb, &g));
    assert_int_equal(g.calls, 0); /* never from inside get */
    req_t r;
    assert_int_equal(s_recv_req(f, &r, S_WAIT_MS), 0);
    assert_string_equal(r.room, "project:1");
    assert_int_equal(r.epoch, 7);
    assert_int_equal(r.after, 10);
    assert_int_equal(r.max, 500);
    assert_int_equal(edge_hist_inflight(f->hist), 1);
    s_answer(f, &r, EDGE_HIST_OK, true, 7, 20, 11, 13);
    s_until(f, &g.calls, 1);
    assert_int_equal(g.status, EDGE_HIST_OK);
    assert_int_equal(g.count, 3);
    assert_int_equal(g.last_seq, 13);
    assert_string_equal(g.first, "{\"op\":\"event\",\"room\":\"project:1\",\"epoch\":7,\"seq\":11,"
                                 "\"type\":\"t.x\",\"ts\":99,\"data\":{\"n\":11}}");
    assert_int_equal(edge_hist_inflight(f->hist), 0);
    assert_int_equal(f->stats.replies[EDGE_HIST_OK], 1);
    assert_int_equal(f->stats.events, 3);
    assert_int_equal(f->stats.sent, 1);
    s_close(f);
}

static void test_coalescing(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, 8);
    got_t a = {0}, b = {0}, c = {0};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &a));
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &b));
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 11, s_cb, &c)); /* another key */
    req_t r1, r2, extra;
    assert_int_equal(s_recv_req(f, &r1, S_WAIT_MS), 0);
    assert_int_equal(s_recv_req(f, &r2, S_WAIT_MS), 0);
    assert_int_equal(s_recv_req(f, &extra, 300), -1); /* only two requests went out */
    assert_int_equal(f->stats.coalesced, 1);
    assert_int_equal(r1.after, 10);
    assert_int_equal(r2.after, 11);
    s_answer(f, &r2, EDGE_HIST_TOO_OLD, false, 7, 99, 1, 0);
    s_answer(f, &r1, EDGE_HIST_OK, false, 7, 12, 11, 12);
    s_until(f, &f->calls, 3);
    /* Both coalesced asks got the same page, in the order they asked. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.count, 2);
    assert_int_equal(b.count, 2);
    assert_true(a.order < b.order);
    assert_int_equal(c.status, EDGE_HIST_TOO_OLD);
    assert_int_equal(c.req_after, 11);
    s_close(f);
}

static void test_inflight_cap_fifo(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, 2);
    got_t g[5] = {{0}};
    for (int i = 0; i < 5; i++)
        assert_non_null(edge_hist_get(f->hist, "room", 4, 7, (uint64_t)i, s_cb, &g[i]));
    assert_int_equal(edge_hist_inflight(f->hist), 2);
    assert_int_equal(edge_hist_queued(f->hist), 3);
    req_t r[5];
    assert_int_equal(s_recv_req(f, &r[0], S_WAIT_MS), 0);
    assert_int_equal(s_recv_req(f, &r[1], S_WAIT_MS), 0);
    req_t extra;
    assert_int_equal(s_recv_req(f, &extra, 300), -1);
    /* Each answer frees a slot for the oldest queued request. */
    for (int i = 0; i < 5; i++) {
        s_answer(f, &r[i], EDGE_HIST_OK, false, 7, 0, 1, 0);
        if (i + 2 < 5)
            assert_int_equal(s_recv_req(f, &r[i + 2], S_WAIT_MS), 0);
    }
    s_until(f, &f->calls, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].after, (uint64_t)i); /* sent in the order asked */
        assert_int_equal(g[i].calls, 1);
    }
    assert_int_equal(f->stats.queued, 3);
    s_close(f);
}

static void test_timeout_retry_give_up(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 150, 2, 8);
    got_t g = {0};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &g));
    req_t r[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_recv_req(f, &r[i], S_WAIT_MS), 0);
    /* Every attempt carries the same id, so a late answer to any of them counts. */
    assert_int_equal(r[0].id, r[1].id);
    assert_int_equal(r[1].id, r[2].id);
    s_until(f, &g.calls, 1);
    assert_int_equal(g.status, EDGE_HIST_UNAVAILABLE);
    assert_int_equal(g.req_after, 10);
    assert_int_equal(f->stats.timeouts, 3);
    assert_int_equal(f->stats.retries, 2);
    assert_int_equal(f->stats.given_up, 1);
    /* The late answers are dropped as unknown; the callback does not run again. */
    zmq_msg_close(&r[1].identity);
    zmq_msg_close(&r[2].identity);
    s_answer(f, &r[0], EDGE_HIST_OK, false, 7, 10, 1, 0);
    uint64_t end = base_clock_ms() + S_WAIT_MS;
    while (f->stats.replies_unknown < 1 && base_clock_ms() < end)
        lws_service(f->lws, 0);
    assert_int_equal(f->stats.replies_unknown, 1);
    assert_int_equal(g.calls, 1);
    s_close(f);
}

/* A busy reply (the router's per-edge rate cap) is not an answer: it is counted, the callback
 * does not run, and the request goes again (same id) when the attempt times out; the answer to
 * the retry completes it. */
static void test_busy_retries(void **state)
{
    (void)state;
    fixture_t *f = &s_f;
    s_open(f, 150, 2, 8);
    got_t g = {0};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &g));
    req_t r1, r2;
    assert_int_equal(s_recv_req(f, &r1, S_WAIT_MS), 0);
    uint64_t t0 = base_clock_ms();
    s_answer(f, &r1, (edge_hstatus_t)WIRE_HIST_BUSY, false, 7, 10, 1, 0);
    assert_int_equal(s_recv_req(f, &r2, S_WAIT_MS), 0); /* the retry, after the timeout */
    assert_true(base_clock_ms() - t0 >= 100);
    assert_int_equal(r2.id, r1.id);
    assert_int_equal(f->stats.busy, 1);
    assert_int_equal(g.calls, 0);
    s_answer(f, &r2, EDGE_HIST_OK, false, 7, 11, 11, 11);
    s_until(f, &g.calls, 1);
    assert_int_equal(g.status, EDGE_HIST_OK);
    assert_int_equal(g.count, 1);
    assert_int_equal(f->stats.replies_bad, 0);
    assert_int_equal(f->stats.retries, 1);
    s_close(f);
}

static void test_late_answer_wins(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 1000, 3, 8);
    got_t g = {0};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &g));
    req_t r1, r2;
    assert_int_equal(s_recv_req(f, &r1, S_WAIT_MS), 0);
    assert_int_equal(s_recv_req(f, &r2, S_WAIT_MS), 0);   /* the retry */
    s_answer(f, &r1, EDGE_HIST_OK, false, 7, 11, 11, 11); /* the first attempt's answer */
    s_until(f, &g.calls, 1);
    assert_int_equal(g.count, 1);
    s_answer(f, &r2, EDGE_HIST_OK, false, 7, 11, 11, 11);
    s_service(f, 200);
    assert_int_equal(g.calls, 1);
    assert_int_equal(f->stats.replies_unknown, 1);
    s_close(f);
}

static void test_cancel(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, 1);
    got_t a = {0}, b = {0}, c = {0};
    edge_hist_wait_t *wa = edge_hist_get(f->hist, "room", 4, 7, 1, s_cb, &a);
    edge_hist_wait_t *wb = edge_hist_get(f->hist, "room", 4, 7, 2, s_cb, &b); /* queued */
    edge_hist_wait_t *wc = edge_hist_get(f->hist, "room", 4, 7, 3, s_cb, &c); /* queued */
    assert_non_null(wa);
    assert_non_null(wb);
    assert_non_null(wc);
    edge_hist_cancel(f->hist, &wb);
    assert_null(wb);
    edge_hist_cancel(f->hist, &wb);                 /* NULL-safe */
    assert_int_equal(edge_hist_queued(f->hist), 1); /* a cancelled queued request is gone */
    edge_hist_cancel(f->hist, &wa);                 /* in flight: its answer is ignored */
    req_t r1, r3;
    assert_int_equal(s_recv_req(f, &r1, S_WAIT_MS), 0);
    s_answer(f, &r1, EDGE_HIST_OK, false, 7, 1, 1, 0);
    assert_int_equal(s_recv_req(f, &r3, S_WAIT_MS), 0);
    assert_int_equal(r3.after, 3); /* 2 was never sent */
    s_answer(f, &r3, EDGE_HIST_OK, false, 7, 3, 1, 0);
    s_until(f, &c.calls, 1);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    s_close(f);
}

static void test_malformed_replies(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 1000, 1, 8);
    got_t g = {0};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 10, s_cb, &g));
    req_t r;
    assert_int_equal(s_recv_req(f, &r, S_WAIT_MS), 0);
    /* A status block of the wrong size. */
    zmq_msg_t id_copy;
    zmq_msg_init(&id_copy);
    zmq_msg_copy(&id_copy, &r.identity);
    zmq_msg_send(&id_copy, f->router, ZMQ_SNDMORE);
    uint8_t id[8];
    wire_hist_put_id(id, r.id);
    zmq_send(f->router, id, 8, ZMQ_SNDMORE);
    zmq_send(f->router, "short", 5, 0);
    /* An event out of order (seq not above after_seq) spoils the whole page. */
    req_t bad = {.id = r.id};
    zmq_msg_init(&bad.identity);
    zmq_msg_copy(&bad.identity, &r.identity);
    s_answer(f, &bad, EDGE_HIST_OK, false, 7, 10, 5, 6);
    uint64_t end = base_clock_ms() + S_WAIT_MS;
    while (f->stats.replies_bad < 2 && base_clock_ms() < end)
        lws_service(f->lws, 0);
    assert_int_equal(f->stats.replies_bad, 2);
    assert_int_equal(g.calls, 0);
    /* The request is still open and is retried; a good answer then completes it. */
    zmq_msg_close(&r.identity);
    req_t again;
    assert_int_equal(s_recv_req(f, &again, S_WAIT_MS), 0);
    assert_int_equal(again.id, r.id);
    s_answer(f, &again, EDGE_HIST_OK, false, 7, 11, 11, 11);
    s_until(f, &g.calls, 1);
    assert_int_equal(g.status, EDGE_HIST_OK);
    s_close(f);
}

/* Hundreds of requests pending at once (the id and key maps grow past their first size), each
 * asked twice: one request per key, and every reply, answered in reverse order, reaches the asks
 * of its own key. */
#define S_MANY 300
static void test_many_pending(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, S_MANY);
    static got_t g[S_MANY][2];
    static req_t r[S_MANY];
    memset(g, 0, sizeof g);
    char room[32];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < S_MANY; i++) {
            int len = snprintf(room, sizeof room, "room:%d", i);
            assert_non_null(
                edge_hist_get(f->hist, room, (size_t)len, 7, (uint64_t)i, s_cb, &g[i][k]));
        }
    }
    assert_int_equal(f->stats.coalesced, S_MANY);
    assert_int_equal(edge_hist_inflight(f->hist), S_MANY);
    for (int i = 0; i < S_MANY; i++) {
        assert_int_equal(s_recv_req(f, &r[i], S_WAIT_MS), 0);
        snprintf(room, sizeof room, "room:%d", i);
        assert_string_equal(r[i].room, room); /* sent in the order asked */
        assert_int_equal(r[i].after, (uint64_t)i);
    }
    req_t extra;
    assert_int_equal(s_recv_req(f, &extra, 300), -1);
    for (int i = S_MANY - 1; i >= 0; i--)
        s_answer(f, &r[i], EDGE_HIST_OK, false, 7, (uint64_t)i + 1, (uint64_t)i + 1,
                 (uint64_t)i + 1);
    s_until(f, &f->calls, 2 * S_MANY);
    for (int i = 0; i < S_MANY; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"room\":\"room:%d\",\"epoch\":7,\"seq\":%d,", i, i + 1);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(g[i][k].calls, 1);
            assert_int_equal(g[i][k].status, EDGE_HIST_OK);
            assert_int_equal(g[i][k].req_after, (uint64_t)i);
            assert_int_equal(g[i][k].count, 1);
            assert_non_null(strstr(g[i][k].first, want));
        }
        assert_true(g[i][0].order < g[i][1].order);
    }
    assert_int_equal(f->stats.asks, 2 * S_MANY);
    assert_int_equal(f->stats.sent, S_MANY);
    assert_int_equal(f->stats.replies[EDGE_HIST_OK], S_MANY);
    assert_int_equal(f->stats.replies_unknown, 0);
    assert_int_equal(f->stats.replies_bad, 0);
    assert_int_equal(edge_hist_inflight(f->hist), 0);
    s_close(f);
}

/* The names of the statuses: the router's come from wire_hist, the edge's own is added. */
static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(edge_hstatus_name(EDGE_HIST_OK), "ok");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_EPOCH_CHANGED), "epoch_changed");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_TOO_OLD), "too_old");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_BAD_REQUEST), "bad_request");
    assert_string_equal(edge_hstatus_name(EDGE_HIST_UNAVAILABLE), "unavailable");
    assert_string_equal(edge_hstatus_name(EDGE_HIST__COUNT), "unknown");
}

/* An ask from inside a callback (the next page) works. */
typedef struct pager {
    edge_hist_t *hist;
    int pages;
    uint64_t last;
} pager_t;

static void s_page_cb(void *arg, const edge_hist_result_t *r)
{
    pager_t *p = arg;
    p->pages++;
    if (r->count)
        p->last = r->events[r->count - 1].seq;
    if (r->st.more)
        assert_non_null(edge_hist_get(p->hist, "room", 4, 7, p->last, s_page_cb, p));
}

static void test_ask_from_callback(void **state)
{
    fixture_t *f = &s_f;
    s_open(f, 5000, 0, 8);
    pager_t p = {.hist = f->hist};
    assert_non_null(edge_hist_get(f->hist, "room", 4, 7, 0, s_page_cb, &p));
    req_t r;
    assert_int_equal(s_recv_req(f, &r, S_WAIT_MS), 0);
    s_answer(f, &r, EDGE_HIST_OK, true, 7, 6, 1, 3);
    assert_int_equal(s_recv_req(f, &r, S_WAIT_MS), 0);
    assert_int_equal(r.after, 3);
    s_answer(f, &r, EDGE_HIST_OK, false, 7, 6, 4, 6);
    s_until(f, &p.pages, 2);
    assert_int_equal(p.last, 6);
    s_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_and_page),  cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_inflight_cap_fifo), cmocka_unit_test(test_timeout_retry_give_up),
        cmocka_unit_test(test_busy_retries),
        cmocka_unit_test(test_late_answer_wins),  cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_malformed_replies), cmocka_unit_test(test_ask_from_callback),
        cmocka_unit_test(test_many_pending),      cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
