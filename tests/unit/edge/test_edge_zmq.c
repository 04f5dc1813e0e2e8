/*
 * test_edge_zmq.c: the SUB socket inside a real lws loop, fed by a local XPUB standing in for
 * the router: subscriptions reach the XPUB, a burst larger than the drain budget is received
 * completely (the budget continuation through the zero-delay timer), multipart messages of
 * the wrong shape are reported with their frame count, and after the "router" restarts the
 * monitor reports the reconnection and all 5000 subscriptions reach the new XPUB (sub_sndhwm 0
 * keeps the SUB from dropping any). Every wait is bounded.
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
#include "edge_zmq.h"

#define S_WAIT_MS 10000

/* What the handler saw. */
typedef struct seen {
    int messages;          /* messages handed over */
    int well_formed;       /* with 3 frames and the expected topic and payload */
    int last_nparts;       /* frame count of the last message */
    char topic[64];        /* topic of the last message */
    uint64_t last_connect; /* n of the last on_connect call */
} seen_t;

static void s_on_connect(void *arg, uint64_t n)
{
    seen_t *s = arg;
    s->last_connect = n;
}

static void s_on_msg(void *arg, const edge_zmq_msg_t *msg)
{
    seen_t *s = arg;
    s->messages++;
    s->last_nparts = msg->nparts;
    snprintf(s->topic, sizeof s->topic, "%.*s", (int)msg->len[0], (const char *)msg->part[0]);
    if (msg->nparts == 3 && msg->len[1] == 3 && memcmp(msg->part[1], "hdr", 3) == 0 &&
        msg->len[2] == 2 && memcmp(msg->part[2], "{}", 2) == 0)
        s->well_formed++;
}

/* The test fixture: an XPUB, an lws context without listener, the SUB under test. */
typedef struct fixture {
    void *zctx;
    void *xpub;
    char endpoint[128];
    struct lws_protocols protocols[3];
    struct lws_context *lws;
    lws_sorted_usec_list_t tick; /* wakes lws_service regularly so that waits stay bounded */
    edge_zmq_t *sub;
    seen_t seen;
} fixture_t;

static void s_tick(lws_sorted_usec_list_t *sul)
{
    fixture_t *f = lws_container_of(sul, fixture_t, tick);
    lws_sul_schedule(f->lws, 0, &f->tick, s_tick, 50 * LWS_US_PER_MS);
}

/* Runs the lws loop until the handler has seen `want` messages or the deadline passes. */
static void s_service_until(fixture_t *f, int want)
{
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (f->seen.messages < want && base_clock_ms() < deadline)
        lws_service(f->lws, 0);
}

/* Waits for one (un)subscription message on the XPUB; returns its text ("+topic"/"-topic"). */
static void s_expect_subscription(fixture_t *f, const char *want)
{
    zmq_pollitem_t item = {f->xpub, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, S_WAIT_MS), 1);
    char buf[256];
    int n = zmq_recv(f->xpub, buf, sizeof buf - 1, 0);
    assert_true(n >= 1);
    char text[260];
    snprintf(text, sizeof text, "%c%.*s", buf[0] ? '+' : '-', n - 1, buf + 1);
    assert_string_equal(text, want);
}

/* Sends a message of nparts frames on topic. */
static void s_publish(fixture_t *f, const char *topic, int nparts)
{
    const char *parts[5] = {topic, "hdr", "{}", "x", "y"};
    for (int i = 0; i < nparts; i++)
        assert_true(
            zmq_send(f->xpub, parts[i], strlen(parts[i]), i + 1 < nparts ? ZMQ_SNDMORE : 0) >= 0);
}

static int s_setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    f.zctx = zmq_ctx_new();
    f.xpub = zmq_socket(f.zctx, ZMQ_XPUB);
    int zero = 0, one = 1;
    zmq_setsockopt(f.xpub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(f.xpub, ZMQ_XPUB_VERBOSER, &one, sizeof one);
    zmq_setsockopt(f.xpub, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(f.xpub, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f.endpoint;
    assert_int_equal(zmq_getsockopt(f.xpub, ZMQ_LAST_ENDPOINT, f.endpoint, &len), 0);

    edge_zmq_opts_t opts = {
        .endpoint = f.endpoint,
        .rcvhwm = 0,
        .sndhwm = 0,
        .budget = 16,
        .on_msg = s_on_msg,
        .on_connect = s_on_connect,
        .arg = &f.seen,
    };
    f.sub = edge_zmq_new(&opts);
    assert_non_null(f.sub);

    f.protocols[0] = (struct lws_protocols){.name = "http", .callback = lws_callback_http_dummy};
    f.protocols[1] = *edge_zloop_protocol();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = f.protocols;
    f.lws = lws_create_context(&info);
    assert_non_null(f.lws);
    struct lws_vhost *vh = lws_get_vhost_by_name(f.lws, "default");
    assert_non_null(vh);
    assert_int_equal(edge_zmq_attach(f.sub, vh), 0);
    lws_sul_schedule(f.lws, 0, &f.tick, s_tick, 50 * LWS_US_PER_MS);
    *state = &f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    lws_sul_cancel(&f->tick);
    edge_zmq_detach(f->sub);
    lws_context_destroy(f->lws);
    edge_zmq_destroy(&f->sub);
    assert_null(f->sub);
    zmq_close(f->xpub);
    zmq_ctx_term(f->zctx);
    return 0;
}

static void test_subscribe_reaches_xpub(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(edge_zmq_subscribe(f->sub, "room:1 ", 7), 0);
    s_expect_subscription(f, "+room:1 ");
    assert_int_equal(edge_zmq_subscribe(f->sub, "agent:", 6), 0);
    s_expect_subscription(f, "+agent:");
    assert_int_equal(edge_zmq_unsubscribe(f->sub, "agent:", 6), 0);
    s_expect_subscription(f, "-agent:");
}

static void test_burst_beyond_budget(void **state)
{
    fixture_t *f = *state;
    memset(&f->seen, 0, sizeof f->seen);
    /* Not subscribed: filtered out by the XPUB, never delivered. */
    for (int i = 0; i < 50; i++)
        s_publish(f, "room:2 ", 3);
    for (int i = 0; i < 1000; i++)
        s_publish(f, "room:1 ", 3);
    s_service_until(f, 1000);
    assert_int_equal(f->seen.messages, 1000);
    assert_int_equal(f->seen.well_formed, 1000);
    assert_string_equal(f->seen.topic, "room:1 ");
    assert_int_equal(edge_zmq_received(f->sub), 1000);
    /* 1000 messages with a budget of 16 cannot all come from fd wake-ups alone. */
    assert_true(edge_zmq_budget_exhausted(f->sub) > 0);
}

static void test_wrong_shapes(void **state)
{
    fixture_t *f = *state;
    memset(&f->seen, 0, sizeof f->seen);
    s_publish(f, "room:1 ", 2);
    s_service_until(f, 1);
    assert_int_equal(f->seen.messages, 1);
    assert_int_equal(f->seen.last_nparts, 2);
    s_publish(f, "room:1 ", 5);
    s_service_until(f, 2);
    assert_int_equal(f->seen.messages, 2);
    assert_int_equal(f->seen.last_nparts, 5);
    assert_int_equal(f->seen.well_formed, 0);
    s_publish(f, "room:1 ", 3);
    s_service_until(f, 3);
    assert_int_equal(f->seen.well_formed, 1);
}

/* Binds an XPUB at endpoint (retrying while the old port is being released). */
static void *s_xpub_at(void *zctx, const char *endpoint)
{
    void *xpub = zmq_socket(zctx, ZMQ_XPUB);
    int zero = 0;
    zmq_setsockopt(xpub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(xpub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(xpub, ZMQ_LINGER, &zero, sizeof zero);
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (zmq_bind(xpub, endpoint) < 0) {
        assert_true(base_clock_ms() < deadline);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return xpub;
}

#define S_MANY 5000

/* Reads subscription messages from xpub (servicing the loop) until S_MANY distinct "room:N "
 * subscriptions arrived; fails after S_WAIT_MS. */
static void s_expect_many(fixture_t *f, void *xpub)
{
    static unsigned char got[S_MANY];
    memset(got, 0, sizeof got);
    int distinct = 0;
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (distinct < S_MANY && base_clock_ms() < deadline) {
        lws_service(f->lws, 0);
        char buf[64];
        int n;
        while ((n = zmq_recv(xpub, buf, sizeof buf - 1, ZMQ_DONTWAIT)) > 0) {
            buf[n] = '\0';
            int i = -1;
            if (buf[0] == 1 && sscanf(buf + 1, "room:%d ", &i) == 1 && i >= 0 && i < S_MANY &&
                !got[i]) {
                got[i] = 1;
                distinct++;
            }
        }
    }
    assert_int_equal(distinct, S_MANY);
}

static void test_subscriptions_survive_restart(void **state)
{
    fixture_t *f = *state;
    /* The group's XPUB plays the router; it restarts on the same port. */
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (edge_zmq_connects(f->sub) < 1 && base_clock_ms() < deadline)
        lws_service(f->lws, 0);
    assert_int_equal(edge_zmq_connects(f->sub), 1);
    for (int i = 0; i < S_MANY; i++) {
        char topic[32];
        int n = snprintf(topic, sizeof topic, "room:%d ", i);
        assert_int_equal(edge_zmq_subscribe(f->sub, topic, (size_t)n), 0);
    }
    s_expect_many(f, f->xpub);
    zmq_close(f->xpub);
    deadline = base_clock_ms() + S_WAIT_MS;
    while (edge_zmq_disconnects(f->sub) < 1 && base_clock_ms() < deadline)
        lws_service(f->lws, 0);
    assert_int_equal(edge_zmq_disconnects(f->sub), 1);
    f->xpub = s_xpub_at(f->zctx, f->endpoint);
    /* The SUB resends every subscription by itself; the monitor reports the reconnect. */
    s_expect_many(f, f->xpub);
    assert_int_equal(edge_zmq_connects(f->sub), 2);
    assert_int_equal(f->seen.last_connect, 2);
    /* And they work: an event of the last room arrives. */
    int before = f->seen.messages;
    deadline = base_clock_ms() + S_WAIT_MS;
    while (f->seen.messages == before && base_clock_ms() < deadline) {
        s_publish(f, "room:4999 ", 3);
        uint64_t until = base_clock_ms() + 50;
        while (base_clock_ms() < until)
            lws_service(f->lws, 0);
    }
    assert_true(f->seen.messages > before);
    assert_string_equal(f->seen.topic, "room:4999 ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_reaches_xpub),
        cmocka_unit_test(test_burst_beyond_budget),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_subscriptions_survive_restart),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
