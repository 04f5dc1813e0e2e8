/*
 * test_edge_zloop.c: a ZeroMQ PULL socket inside a real lws loop through edge_zloop: messages
 * queued before the attach are drained (the edge of ZMQ_FD may have fired before lws listened),
 * a burst larger than the budget is received completely through the zero-delay timer, the pass
 * hook runs before the messages and the done hook after them, a holdoff leaves input unread
 * until it ends, a kick after a send finds waiting input, two zloops share the
 * one raw-file protocol, and a zloop destroyed before its lws context is not called back. Every
 * wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "edge_zloop.h"

#include "base_clock.h"

#define S_WAIT_MS 10000

/* One PUSH -> PULL pipe and what its zloop's handler saw. */
typedef struct pipe {
    void *push;           /* the sender */
    void *pull;           /* the socket under the zloop */
    edge_zloop_t *loop;   /* the zloop */
    int received;         /* messages handed to recv_one */
    int passes;           /* pass hook calls */
    int received_at_pass; /* received when the last pass began */
    int dones;            /* end-of-pass hook calls */
    int received_at_done; /* received when the last pass ended */
    int most_per_pass;    /* most messages one pass (pass hook to done hook) handled */
    int64_t hold_us;      /* what the holdoff hook answers */
    int holds;            /* holdoff answers that were > 0 */
} pipe_t;

/* The test fixture: an lws context without listener and two pipes. */
typedef struct fixture {
    void *zctx;                        /* ZeroMQ context */
    struct lws_protocols protocols[3]; /* http, zloop, end */
    struct lws_context *lws;           /* the loop */
    lws_sorted_usec_list_t tick;       /* wakes lws_service regularly so that waits stay bounded */
    pipe_t a, b;                       /* the pipes */
} fixture_t;

static void s_tick(lws_sorted_usec_list_t *sul)
{
    fixture_t *f = lws_container_of(sul, fixture_t, tick);
    lws_sul_schedule(f->lws, 0, &f->tick, s_tick, 50 * LWS_US_PER_MS);
}

/* recv_one: one message from the pipe's PULL. */
static int s_recv_one(void *arg)
{
    pipe_t *p = arg;
    char buf[64];
    int n = zmq_recv(p->pull, buf, sizeof buf, ZMQ_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    p->received++;
    return 1;
}

/* The pass hook. */
static void s_pass(void *arg)
{
    pipe_t *p = arg;
    p->passes++;
    p->received_at_pass = p->received;
}

/* The end-of-pass hook: a pass handled received - received_at_pass messages. */
static void s_done(void *arg)
{
    pipe_t *p = arg;
    p->dones++;
    p->received_at_done = p->received;
    if (p->received - p->received_at_pass > p->most_per_pass)
        p->most_per_pass = p->received - p->received_at_pass;
}

/* The holdoff hook: the pause the test set. */
static int64_t s_holdoff(void *arg)
{
    pipe_t *p = arg;
    if (p->hold_us > 0)
        p->holds++;
    return p->hold_us;
}

/* Creates a pipe on a fresh inproc endpoint with a zloop of the given budget. */
static void s_pipe_open(fixture_t *f, pipe_t *p, const char *endpoint, unsigned budget)
{
    memset(p, 0, sizeof *p);
    p->pull = zmq_socket(f->zctx, ZMQ_PULL);
    p->push = zmq_socket(f->zctx, ZMQ_PUSH);
    int zero = 0;
    zmq_setsockopt(p->pull, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(p->push, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(p->pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->push, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(p->pull, endpoint), 0);
    assert_int_equal(zmq_connect(p->push, endpoint), 0);
    p->loop = edge_zloop_new(&(edge_zloop_opts_t){
        .zsock = p->pull,
        .what = "test",
        .budget = budget,
        .recv_one = s_recv_one,
        .pass = s_pass,
        .done = s_done,
        .holdoff = s_holdoff,
        .arg = p,
    });
    assert_non_null(p->loop);
}

static void s_pipe_close(pipe_t *p)
{
    edge_zloop_destroy(&p->loop);
    assert_null(p->loop);
    zmq_close(p->push);
    zmq_close(p->pull);
}

/* Sends n one-frame messages. */
static void s_send(pipe_t *p, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(zmq_send(p->push, "m", 1, 0), 1);
}

/* Runs the loop until *counter reaches want or the deadline passes. */
static void s_service_until(fixture_t *f, const int *counter, int want)
{
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (*counter < want && base_clock_ms() < deadline)
        lws_service(f->lws, 0);
}

static int s_setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    f.zctx = zmq_ctx_new();
    assert_non_null(f.zctx);
    s_pipe_open(&f, &f.a, "inproc://zloop-a", 8);
    s_pipe_open(&f, &f.b, "inproc://zloop-b", 0);
    f.protocols[0] = (struct lws_protocols){.name = "http", .callback = lws_callback_http_dummy};
    f.protocols[1] = *edge_zloop_protocol();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = f.protocols;
    f.lws = lws_create_context(&info);
    assert_non_null(f.lws);
    lws_sul_schedule(f.lws, 0, &f.tick, s_tick, 50 * LWS_US_PER_MS);
    *state = &f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    lws_sul_cancel(&f->tick);
    /* Pipe a's zloop goes first, while lws still holds its wsi: closing the context must not
     * call back into freed memory (ASan checks). */
    s_pipe_close(&f->a);
    lws_context_destroy(f->lws);
    s_pipe_close(&f->b);
    zmq_ctx_term(f->zctx);
    return 0;
}

static void test_drains_what_came_before_attach(void **state)
{
    fixture_t *f = *state;
    struct lws_vhost *vh = lws_get_vhost_by_name(f->lws, "default");
    assert_non_null(vh);
    /* Queued before lws watches the fd: only the pass the attach schedules can find them. */
    s_send(&f->a, 5);
    s_send(&f->b, 3);
    assert_int_equal(edge_zloop_attach(f->a.loop, vh), 0);
    assert_int_equal(edge_zloop_attach(f->b.loop, vh), 0);
    assert_ptr_equal(edge_zloop_context(f->a.loop), f->lws);
    s_service_until(f, &f->a.received, 5);
    s_service_until(f, &f->b.received, 3);
    assert_int_equal(f->a.received, 5);
    assert_int_equal(f->b.received, 3);
    assert_true(f->a.passes >= 1);
    assert_int_equal(edge_zloop_received(f->a.loop), 5);
}

static void test_burst_beyond_budget(void **state)
{
    fixture_t *f = *state;
    int before = f->a.received;
    uint64_t exhausted = edge_zloop_exhausted(f->a.loop);
    s_send(&f->a, 1000);
    s_service_until(f, &f->a.received, before + 1000);
    assert_int_equal(f->a.received, before + 1000);
    /* 1000 messages with a budget of 8 cannot all come from fd wake-ups alone. */
    assert_true(edge_zloop_exhausted(f->a.loop) > exhausted);
    /* The hook ran at the start of the pass, before that pass's messages. */
    assert_true(f->a.received_at_pass <= f->a.received);
    assert_false(edge_zloop_has_input(f->a.loop));
    /* Every pass that handled messages ended with the done hook, after its last message, and
     * no pass went beyond the budget: 1000 messages need at least 125 of them. */
    assert_int_equal(f->a.received_at_done, f->a.received);
    assert_true(f->a.dones >= 1000 / 8);
    assert_true(f->a.most_per_pass <= 8);
}

static void test_kick_finds_input(void **state)
{
    fixture_t *f = *state;
    int before = f->b.received;
    s_send(&f->b, 2);
    /* Wait until the messages are visible on the socket without servicing lws, as a send on
     * the socket could have consumed the fd's edge; the kick must then schedule a pass. */
    uint64_t deadline = base_clock_ms() + S_WAIT_MS;
    while (!edge_zloop_has_input(f->b.loop) && base_clock_ms() < deadline)
        ;
    assert_true(edge_zloop_has_input(f->b.loop));
    edge_zloop_kick(f->b.loop);
    s_service_until(f, &f->b.received, before + 2);
    assert_int_equal(f->b.received, before + 2);
}

/* A holdoff after a pass: input that comes meanwhile wakes nobody, not even a kick, and is
 * read when the pause is over. */
static void test_holdoff(void **state)
{
    fixture_t *f = *state;
    int before = f->b.received;
    f->b.hold_us = 300 * 1000;
    s_send(&f->b, 1);
    s_service_until(f, &f->b.received, before + 1);
    assert_int_equal(f->b.received, before + 1);
    assert_int_equal(f->b.holds, 1);
    uint64_t held_at = base_clock_ms();
    f->b.hold_us = 0; /* the next pass does not pause again */
    s_send(&f->b, 3);
    edge_zloop_kick(f->b.loop);
    uint64_t until = held_at + 100;
    while (base_clock_ms() < until)
        lws_service(f->lws, 0);
    assert_int_equal(f->b.received, before + 1);
    s_service_until(f, &f->b.received, before + 4);
    assert_int_equal(f->b.received, before + 4);
    assert_true(base_clock_ms() - held_at >= 250);
    assert_int_equal(f->b.holds, 1);
}

static void test_detach_stops_service(void **state)
{
    fixture_t *f = *state;
    edge_zloop_detach(f->b.loop);
    assert_null(edge_zloop_context(f->b.loop));
    int before = f->b.received;
    s_send(&f->b, 4);
    uint64_t until = base_clock_ms() + 300;
    while (base_clock_ms() < until)
        lws_service(f->lws, 0);
    assert_int_equal(f->b.received, before);
    /* Still usable by hand. */
    edge_zloop_drain(f->b.loop);
    assert_int_equal(f->b.received, before + 4);
    edge_zloop_detach(f->b.loop); /* twice is fine */
    edge_zloop_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drains_what_came_before_attach),
        cmocka_unit_test(test_burst_beyond_budget),
        cmocka_unit_test(test_kick_finds_input),
        cmocka_unit_test(test_holdoff),
        cmocka_unit_test(test_detach_stops_service),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
