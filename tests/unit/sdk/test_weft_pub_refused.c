/*
 * test_weft_pub_refused.c: what libweft does with the router's refusal frames. The test thread
 * plays the router on a raw XSUB: it reads the events, answers with ack and refusal frames, and
 * checks on_refused (final refusals: reason, text, seq, counters) and the rate-cap push-back
 * (rate_limited: the events stay buffered, are resent from the oldest after a pause, and at most
 * a send window of them is out until acks reopen it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "base_clock.h"
#include "weft.h"
#include "wire_envelope.h"

#define PUB_ID "refused-test"

/* The fake router: a bound XSUB and the publisher's session once seen. */
typedef struct {
    void *ctx;
    void *sock;
    char ep[64];
    uint64_t session; /* learnt from the first event */
} router_t;

/* What on_refused reported. */
typedef struct {
    pthread_mutex_t mu;
    int n;
    uint64_t seq[8];
    int reason[8];
    char text[8][128];
} refusals_t;

/* on_refused: records the call. */
static void s_on_refused(weft_pub_t *pub, uint64_t seq, int reason, const char *text, void *arg)
{
    (void)pub;
    refusals_t *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->n < 8) {
        r->seq[r->n] = seq;
        r->reason[r->n] = reason;
        snprintf(r->text[r->n], sizeof r->text[r->n], "%s", text);
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
}

/* Binds the fake router on a free port and subscribes to everything. */
static void s_router_open(router_t *r)
{
    memset(r, 0, sizeof *r);
    r->ctx = zmq_ctx_new();
    r->sock = zmq_socket(r->ctx, ZMQ_XSUB);
    int zero = 0;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(r->sock, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof r->ep;
    assert_int_equal(zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, r->ep, &len), 0);
    assert_int_equal(zmq_send(r->sock, "\x01", 1, 0), 1);
}

/* Closes the fake router. */
static void s_router_close(router_t *r)
{
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
}

/* Receives events for up to ms (heartbeats skipped); returns how many, their seqs in seqs. */
static size_t s_recv_events(router_t *r, int ms, uint64_t *seqs, size_t max)
{
    size_t n = 0;
    uint64_t deadline = base_clock_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t now = base_clock_ms();
        if (now >= deadline)
            return n;
        zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)(deadline - now)) <= 0)
            continue;
        zmq_msg_t f[3];
        int nf = 0;
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            assert_true(zmq_msg_recv(&m, r->sock, 0) >= 0);
            more = zmq_msg_more(&m);
            if (nf < 3)
                f[nf++] = m;
            else
                zmq_msg_close(&m);
        }
        assert_int_equal(nf, 3);
        wire_header_t h;
        assert_int_equal(wire_header_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &h), WIRE_OK);
        if (h.kind == WIRE_KIND_EVENT) {
            r->session = h.session;
            if (n < max)
                seqs[n] = h.pub_seq;
            n++;
        }
        for (int i = 0; i < nf; i++)
            zmq_msg_close(&f[i]);
    }
}

/* Sends an ack for our publisher up to seq. */
static void s_ack(router_t *r, uint64_t seq)
{
    uint8_t buf[128];
    wire_ack_entry_t e = {PUB_ID, (uint8_t)strlen(PUB_ID), r->session, seq};
    size_t len = wire_ack_append(buf, sizeof buf, wire_ack_begin(buf, sizeof buf), &e);
    assert_true(len > 0);
    assert_int_equal(zmq_send(r->sock, buf, len, 0), (int)len);
}

/* Sends one refusal frame of n entries (id, session given; session 0 = ours). */
static void s_refuse(router_t *r, const wire_refusal_entry_t *entries, size_t n)
{
    uint8_t buf[512];
    size_t len = wire_refusal_begin(buf, sizeof buf);
    for (size_t i = 0; i < n; i++) {
        wire_refusal_entry_t e = entries[i];
        if (e.at.session == 0)
            e.at.session = r->session;
        len = wire_refusal_append(buf, sizeof buf, len, &e);
        assert_true(len > 0);
    }
    assert_int_equal(zmq_send(r->sock, buf, len, 0), (int)len);
}

/* A publisher on the fake router with on_refused recording into rec. */
static weft_pub_t *s_pub(router_t *r, refusals_t *rec)
{
    weft_pub_opts_t o;
    weft_pub_opts_init(&o);
    o.publisher_id = PUB_ID;
    o.heartbeat_ms = 10000; /* no heartbeats in the way */
    o.linger_ms = 0;
    o.on_refused = s_on_refused;
    o.callback_arg = rec;
    weft_pub_t *pub = weft_pub_new(r->ep, &o);
    assert_non_null(pub);
    return pub;
}

/* Final refusals: on_refused gets seq, reason and text per event, others' entries are skipped,
 * the ack frees the events as usual, and the counters say how many. */
static void test_on_refused(void **state)
{
    (void)state;
    router_t r;
    s_router_open(&r);
    refusals_t rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
    weft_pub_t *pub = s_pub(&r, &rec);
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_publish(pub, "room", "t.x", "{}", 0), 0);
    uint64_t seqs[8];
    assert_int_equal(s_recv_events(&r, 1000, seqs, 8), 4);
    s_ack(&r, 4);
    const wire_refusal_entry_t e[] = {
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 1}, WIRE_REFUSE_INVALID},
        {{"someone-else", 12, 0, 2}, WIRE_REFUSE_ROOM},
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 2}, WIRE_REFUSE_ROOM},
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 1, 3}, WIRE_REFUSE_ROOM}, /* another session */
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 3}, WIRE_REFUSE_TYPE},
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 4}, 77}, /* a reason from a newer router */
    };
    s_refuse(&r, e, 6);
    assert_int_equal(weft_pub_flush(pub, 2000), 0);
    uint64_t give_up = base_clock_ms() + 2000;
    weft_pub_stats_t st;
    do {
        weft_pub_stats(pub, &st);
    } while (st.refused_by_router < 4 && base_clock_ms() < give_up);
    assert_int_equal(st.refused_by_router, 4);
    assert_int_equal(st.throttled_by_router, 0);
    assert_int_equal(st.acked, 4);
    assert_int_equal(st.buffered, 0);
    pthread_mutex_lock(&rec.mu);
    assert_int_equal(rec.n, 4);
    const uint64_t want_seq[] = {1, 2, 3, 4};
    const int want_reason[] = {WEFT_EREFUSED, WEFT_EDENIEDROOM, WEFT_EDENIEDTYPE, WEFT_EREFUSED};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rec.seq[i], want_seq[i]);
        assert_int_equal(rec.reason[i], want_reason[i]);
        assert_string_equal(rec.text[i], weft_strerror(want_reason[i]));
    }
    pthread_mutex_unlock(&rec.mu);
    assert_string_equal(weft_err_name(WEFT_EDENIEDROOM), "WEFT_EDENIEDROOM");
    assert_string_equal(weft_err_name(WEFT_ERATE), "WEFT_ERATE");
    weft_pub_destroy(&pub);
    s_router_close(&r);
}

/* rate_limited: nothing is freed or reported to on_refused; after a pause the events from the
 * oldest unacked one are sent again, at most a window (64) of them until acks reopen it
 * (doubling); a stale report for an acked seq changes nothing. */
static void test_rate_limited_push_back(void **state)
{
    (void)state;
    router_t r;
    s_router_open(&r);
    refusals_t rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
    weft_pub_t *pub = s_pub(&r, &rec);
    for (int i = 0; i < 300; i++)
        assert_int_equal(weft_publish(pub, "room", "t.x", "{}", 0), 0);
    uint64_t seqs[400];
    assert_int_equal(s_recv_events(&r, 500, seqs, 400), 300);
    /* The router took 1..10 and was over the cap from 11 on. */
    s_ack(&r, 10);
    const wire_refusal_entry_t rate[] = {
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 11}, WIRE_REFUSE_RATE}};
    uint64_t t0 = base_clock_ms();
    s_refuse(&r, rate, 1);
    /* Resent from 11 after the pause, and only a window of 64. */
    size_t n = s_recv_events(&r, 400, seqs, 400);
    assert_int_equal(n, 64);
    assert_int_equal(seqs[0], 11);
    assert_int_equal(seqs[63], 74);
    assert_true(base_clock_ms() - t0 >= 15);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.buffered, 290);
    assert_int_equal(st.throttled_by_router, 1);
    assert_int_equal(st.refused_by_router, 0);
    /* An ack reopens the window to 128: 75..202 go. */
    s_ack(&r, 74);
    n = s_recv_events(&r, 400, seqs, 400);
    assert_int_equal(n, 128);
    assert_int_equal(seqs[0], 75);
    assert_int_equal(seqs[127], 202);
    /* A stale report (seq already acked) is ignored. */
    const wire_refusal_entry_t stale[] = {
        {{PUB_ID, (uint8_t)strlen(PUB_ID), 0, 5}, WIRE_REFUSE_RATE}};
    s_refuse(&r, stale, 1);
    s_ack(&r, 202);
    n = s_recv_events(&r, 400, seqs, 400);
    assert_int_equal(n, 98); /* the window (256) covers the rest: 203..300 */
    assert_int_equal(seqs[0], 203);
    s_ack(&r, 300);
    assert_int_equal(weft_pub_flush(pub, 2000), 0);
    weft_pub_stats(pub, &st);
    assert_int_equal(st.throttled_by_router, 1);
    assert_int_equal(st.acked, 300);
    pthread_mutex_lock(&rec.mu);
    assert_int_equal(rec.n, 0);
    pthread_mutex_unlock(&rec.mu);
    weft_pub_destroy(&pub);
    s_router_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_refused),
        cmocka_unit_test(test_rate_limited_push_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
