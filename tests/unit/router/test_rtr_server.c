/*
 * test_rtr_server.c: the router core end to end, in process. The loop runs in a thread on
 * 127.0.0.1 with ZeroMQ-chosen free ports; a raw XPUB plays the agent (NODROP + VERBOSER, as
 * libweft does) and a raw SUB plays an edge. The test checks exact stamped seqs per room, topic
 * prefix isolation, rejection counters, dedup, acks and a clean stop without signals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "rtr_server.h"
#include "rtr_test_util.h"

#define WAIT_MS 5000 /* every wait in this test is bounded by this */
#define PUB_ID "agent-1"
#define SESSION 0x1122334455667788ULL

/* Test fixture: a running server and the sockets talking to it. */
typedef struct {
    rtr_config_t conf;    /* configuration given to the server */
    wire_log_t *log;      /* the server's logger (stderr, warnings and up) */
    rtr_server_t *server; /* the router core under test */
    pthread_t thread;     /* runs rtr_server_run() */
    int run_rc;           /* rtr_server_run()'s return value */
    void *ctx;            /* the test's own ZeroMQ context */
    void *agent;          /* XPUB connected to intake */
    void *edge;           /* SUB connected to fan-out */
    uint64_t next_seq;    /* next publisher seq the agent uses */
} fixture_t;

/* Monotonic milliseconds, for bounded waits only. */
static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Thread body: the router loop without a signalfd. */
static void *s_run(void *arg)
{
    fixture_t *f = arg;
    f->run_rc = rtr_server_run(f->server, -1);
    return NULL;
}

/* Starts a server with test settings on free loopback ports and its loop thread. */
static void s_start(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    char err[256];
    assert_int_equal(rtr_config_defaults(&f->conf, err, sizeof err), 0);
    const wire_conf_entry_t *t = rtr_config_table();
    assert_int_equal(wire_conf_set(t, &f->conf, "intake", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(wire_conf_set(t, &f->conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(wire_conf_set(t, &f->conf, "max_payload", "1000", err, sizeof err), 0);
    assert_int_equal(wire_conf_set(t, &f->conf, "stats_interval", "0", err, sizeof err), 0);
    f->log = wire_log_new("test-router", WIRE_LOG_WARN, stderr);
    f->server = rtr_server_new(&f->conf, f->log);
    assert_non_null(f->server);
    assert_true(rtr_server_epoch(f->server) >= 1);
    assert_true(rtr_server_epoch(f->server) < (1ULL << 53));
    assert_int_equal(pthread_create(&f->thread, NULL, s_run, f), 0);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->next_seq = 1;
}

/* Stops the loop through the API (no signals), joins it and checks it ended cleanly. */
static void s_stop(fixture_t *f)
{
    assert_int_equal(rtr_server_stop(f->server), 0);
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    assert_int_equal(f->run_rc, 0);
}

/* Closes the test sockets and frees everything. */
static void s_teardown(fixture_t *f)
{
    int zero = 0;
    if (f->agent) {
        zmq_setsockopt(f->agent, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(f->agent);
    }
    if (f->edge) {
        zmq_setsockopt(f->edge, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(f->edge);
    }
    zmq_ctx_term(f->ctx);
    rtr_server_destroy(&f->server);
    assert_null(f->server);
    wire_log_destroy(&f->log);
    rtr_config_free(&f->conf);
}

/* Waits up to WAIT_MS for sock to be readable. */
static bool s_readable(void *sock, long timeout_ms)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, timeout_ms) == 1;
}

/* Connects the agent XPUB and waits for the router's subscription (\x01, empty topic). */
static void s_connect_agent(fixture_t *f)
{
    f->agent = zmq_socket(f->ctx, ZMQ_XPUB);
    int one = 1, timeout = WAIT_MS;
    assert_int_equal(zmq_setsockopt(f->agent, ZMQ_XPUB_NODROP, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(f->agent, ZMQ_XPUB_VERBOSER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(f->agent, ZMQ_SNDTIMEO, &timeout, sizeof timeout), 0);
    assert_int_equal(zmq_connect(f->agent, rtr_server_intake_endpoint(f->server)), 0);
    assert_true(s_readable(f->agent, WAIT_MS));
    uint8_t buf[8];
    assert_int_equal(zmq_recv(f->agent, buf, sizeof buf, 0), 1);
    assert_int_equal(buf[0], 1);
}

/* Sends nframes frames as one message from the agent. */
static void s_send_frames(fixture_t *f, size_t nframes, const void *const data[],
                          const size_t len[])
{
    for (size_t i = 0; i < nframes; i++)
        assert_int_equal(zmq_send(f->agent, data[i], len[i], i + 1 < nframes ? ZMQ_SNDMORE : 0),
                         (int)len[i]);
}

/* Sends one event on room with payload, using pub_seq (0: the next seq). Returns the seq. */
static uint64_t s_send_event(fixture_t *f, const char *room, const char *payload, uint64_t pub_seq)
{
    if (pub_seq == 0)
        pub_seq = f->next_seq++;
    char topic[WIRE_TOPIC_MAX];
    size_t tlen = wire_topic_for_room(room, strlen(room), topic);
    assert_true(tlen > 0);
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hlen = rtr_test_event_header(hdr, sizeof hdr, PUB_ID, SESSION, pub_seq, "task.progress");
    const void *data[] = {topic, hdr, payload};
    size_t len[] = {tlen, hlen, strlen(payload)};
    s_send_frames(f, 3, data, len);
    return pub_seq;
}

/* One event as the edge received it. */
typedef struct {
    char room[WIRE_ROOM_MAX + 1];
    uint64_t epoch, seq, pub_seq;
    char payload[1100];
} got_t;

/* Receives one 3-frame event on the edge within timeout_ms; false when none came. */
static bool s_edge_recv(fixture_t *f, got_t *g, long timeout_ms)
{
    if (!s_readable(f->edge, timeout_ms))
        return false;
    char topic[WIRE_TOPIC_MAX + 8];
    uint8_t hdr[WIRE_HEADER_MAX + 8];
    int more = 0;
    size_t more_len = sizeof more;
    int tlen = zmq_recv(f->edge, topic, sizeof topic, 0);
    assert_true(tlen > 1 && tlen <= WIRE_TOPIC_MAX);
    zmq_getsockopt(f->edge, ZMQ_RCVMORE, &more, &more_len);
    assert_true(more);
    int hlen = zmq_recv(f->edge, hdr, sizeof hdr, 0);
    assert_true(hlen > 0 && hlen <= WIRE_HEADER_MAX);
    zmq_getsockopt(f->edge, ZMQ_RCVMORE, &more, &more_len);
    assert_true(more);
    int plen = zmq_recv(f->edge, g->payload, sizeof g->payload - 1, 0);
    assert_true(plen >= 0 && plen < (int)sizeof g->payload);
    g->payload[plen] = '\0';
    zmq_getsockopt(f->edge, ZMQ_RCVMORE, &more, &more_len);
    assert_false(more);

    const char *room;
    size_t room_len;
    assert_int_equal(wire_topic_room(topic, (size_t)tlen, &room, &room_len), WIRE_OK);
    memcpy(g->room, room, room_len);
    g->room[room_len] = '\0';
    wire_header_t h;
    assert_int_equal(wire_header_decode(hdr, (size_t)hlen, &h), WIRE_OK);
    assert_int_equal(h.pub_id_len, strlen(PUB_ID));
    assert_memory_equal(h.pub_id, PUB_ID, h.pub_id_len);
    assert_int_equal(h.session, SESSION);
    g->epoch = h.epoch;
    g->seq = h.seq;
    g->pub_seq = h.pub_seq;
    return true;
}

/* Receives the next event that is not a probe. */
static bool s_edge_recv_real(fixture_t *f, got_t *g, long timeout_ms)
{
    uint64_t deadline = s_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = s_now_ms();
        long left = now >= deadline ? 0 : (long)(deadline - now);
        if (!s_edge_recv(f, g, left))
            return false;
        if (strcmp(g->room, "agent:probe") != 0)
            return true;
    }
}

/* Connects the edge SUB with its subscriptions and probes until the router delivers to it
 * (subscriptions propagate asynchronously). Returns the number of probe events sent. */
static uint64_t s_connect_edge(fixture_t *f, const char *const subs[], size_t nsubs)
{
    f->edge = zmq_socket(f->ctx, ZMQ_SUB);
    for (size_t i = 0; i < nsubs; i++)
        assert_int_equal(zmq_setsockopt(f->edge, ZMQ_SUBSCRIBE, subs[i], strlen(subs[i])), 0);
    assert_int_equal(zmq_connect(f->edge, rtr_server_fanout_endpoint(f->server)), 0);
    uint64_t probes = 0;
    uint64_t deadline = s_now_ms() + WAIT_MS;
    got_t g;
    while (s_now_ms() < deadline) {
        s_send_event(f, "agent:probe", "{}", 0);
        probes++;
        if (s_edge_recv(f, &g, 50)) {
            assert_string_equal(g.room, "agent:probe");
            return probes;
        }
    }
    fail_msg("the edge never received a probe");
    return 0;
}

/* Reads acks on the agent until (PUB_ID, SESSION) is acked up to want; checks acks only grow. */
static void s_wait_ack(fixture_t *f, uint64_t want)
{
    uint64_t deadline = s_now_ms() + WAIT_MS;
    uint64_t best = 0;
    uint8_t buf[65536];
    while (best < want) {
        uint64_t now = s_now_ms();
        if (now >= deadline)
            fail_msg("acked up to %llu, want %llu", (unsigned long long)best,
                     (unsigned long long)want);
        if (!s_readable(f->agent, (long)(deadline - now)))
            continue;
        int n = zmq_recv(f->agent, buf, sizeof buf, 0);
        assert_true(n > 0);
        if (buf[0] == 0 || buf[0] == 1)
            continue; /* a (re)subscription, not an ack */
        size_t off = 0;
        wire_ack_entry_t e;
        bool malformed = false;
        while (wire_ack_next(buf, (size_t)n, &off, &e, &malformed)) {
            if (e.pub_id_len == strlen(PUB_ID) && memcmp(e.pub_id, PUB_ID, e.pub_id_len) == 0 &&
                e.session == SESSION) {
                assert_true(e.pub_seq >= best);
                assert_true(e.pub_seq <= want);
                best = e.pub_seq;
            }
        }
        assert_false(malformed);
    }
}

/* The full path: stamping, isolation, rejections, dedup, heartbeats, acks, clean stop. */
static void test_loop(void **state)
{
    (void)state;
    fixture_t f;
    s_start(&f);
    s_connect_agent(&f);
    const char *subs[] = {"project:1 ", "agent:"};
    uint64_t probes = s_connect_edge(&f, subs, 2);
    uint64_t epoch = rtr_server_epoch(f.server);

    /* Valid events: the edge must see exactly these, with these room seqs. */
    s_send_event(&f, "project:1", "{\"n\":1}", 0);
    s_send_event(&f, "project:12", "{\"n\":2}", 0); /* not matched by "project:1 " */
    uint64_t e3 = s_send_event(&f, "project:1", "{\"n\":3}", 0);
    s_send_event(&f, "agent:7", "{\"n\":4}", 0);

    /* Invalid events, each with a decodable header except where noted. */
    s_send_event(&f, "project:1", "[1]", 0); /* json */
    s_send_event(&f, "project:1", "{", 0);   /* json */
    char big[1002];
    big[0] = '{';
    big[1] = '}';
    memset(big + 2, ' ', sizeof big - 3);
    big[sizeof big - 1] = '\0';            /* 1001 bytes: a valid object over max_payload */
    s_send_event(&f, "project:1", big, 0); /* size */
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hlen = rtr_test_event_header(hdr, sizeof hdr, PUB_ID, SESSION, f.next_seq++, "x");
    {
        const void *data[] = {"bad room ", hdr, "{}"};
        size_t len[] = {9, hlen, 2};
        s_send_frames(&f, 3, data, len); /* topic */
    }
    uint64_t kind_seq = f.next_seq++;
    hlen = rtr_test_event_header(hdr, sizeof hdr, PUB_ID, SESSION, kind_seq, "x");
    {
        const void *data[] = {"$hb", hdr, "{}"};
        size_t len[] = {3, hlen, 2};
        s_send_frames(&f, 3, data, len); /* kind: event header on $hb */
    }
    /* Rejected events with a decodable header are acked too, or the agent would keep them. */
    s_wait_ack(&f, kind_seq);
    hlen = rtr_test_event_header(hdr, sizeof hdr, PUB_ID, SESSION, f.next_seq++, "x");
    hdr[0] = 9;
    {
        const void *data[] = {"project:1 ", hdr, "{}"};
        size_t len[] = {10, hlen, 2};
        s_send_frames(&f, 3, data, len); /* version: not decodable */
        s_send_frames(&f, 2, data, len); /* frames */
        const void *four[] = {"project:1 ", hdr, "{}", "{}"};
        size_t len4[] = {10, hlen, 2, 2};
        s_send_frames(&f, 4, four, len4); /* frames */
        const void *one[] = {""};
        size_t len1[] = {0};
        s_send_frames(&f, 1, one, len1); /* frames */
    }
    /* A resend of e3 is a duplicate; a heartbeat is counted and not forwarded. */
    s_send_event(&f, "project:1", "{\"n\":3}", e3);
    hlen = rtr_test_heartbeat_header(hdr, sizeof hdr, PUB_ID, SESSION, f.next_seq - 1);
    {
        const void *data[] = {"$hb", hdr, "{\"published\":42}"};
        size_t len[] = {3, hlen, 16};
        s_send_frames(&f, 3, data, len);
    }
    uint64_t last = s_send_event(&f, "project:1", "{\"n\":5}", 0);

    /* The edge sees the four valid matching events, stamped per room, in order. */
    static const struct {
        const char *room;
        uint64_t seq;
        const char *payload;
    } want[] = {
        {"project:1", 1, "{\"n\":1}"},
        {"project:1", 2, "{\"n\":3}"},
        {"agent:7", 1, "{\"n\":4}"},
        {"project:1", 3, "{\"n\":5}"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        got_t g;
        if (!s_edge_recv_real(&f, &g, WAIT_MS))
            fail_msg("event %zu (%s #%llu) never arrived", i, want[i].room,
                     (unsigned long long)want[i].seq);
        assert_string_equal(g.room, want[i].room);
        assert_int_equal(g.seq, want[i].seq);
        assert_int_equal(g.epoch, epoch);
        assert_string_equal(g.payload, want[i].payload);
    }
    got_t extra;
    assert_false(s_edge_recv_real(&f, &extra, 300));

    /* Acks cover everything with a decodable header, the rejected ones included. */
    s_wait_ack(&f, last);

    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_int_equal(st.accepted, probes + 5);
    assert_int_equal(st.invalid_by[WIRE_ERR_JSON], 2);
    assert_int_equal(st.invalid_by[WIRE_ERR_SIZE], 1);
    assert_int_equal(st.invalid_by[WIRE_ERR_TOPIC], 1);
    assert_int_equal(st.invalid_by[WIRE_ERR_KIND], 1);
    assert_int_equal(st.invalid_by[WIRE_ERR_VERSION], 1);
    assert_int_equal(st.invalid_by[WIRE_ERR_FRAMES], 3);
    assert_int_equal(st.invalid, 9);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.heartbeats, 1);
    assert_int_equal(st.received, probes + 5 + 9 + 1 + 1);
    assert_int_equal(st.rooms, 4); /* agent:probe, project:1, project:12, agent:7 */
    assert_int_equal(st.publishers, 1);
    assert_int_equal(st.subscriptions, 2);
    assert_true(st.acks_sent >= 1);
    assert_int_equal(st.send_errors, 0);

    const rtr_room_t *room = rtr_rooms_lookup(rtr_server_rooms(f.server), "project:12", 10);
    assert_non_null(room);
    assert_int_equal(rtr_room_last_seq(room), 1);
    rtr_pub_t *pub = rtr_pubs_find(rtr_server_pubs(f.server), PUB_ID, strlen(PUB_ID), SESSION);
    assert_non_null(pub);
    assert_int_equal(rtr_pub_highest_seq(pub), last);
    assert_int_equal(json_integer_value(json_object_get(rtr_pub_heartbeat(pub), "published")), 42);
    s_teardown(&f);
}

/* A stop requested with no traffic, or before the loop even runs, ends the loop promptly. */
static void test_stop_idle(void **state)
{
    (void)state;
    fixture_t f;
    s_start(&f);
    s_stop(&f);
    s_teardown(&f);

    /* Stop first, then run: the loop sees the pending stop at once. */
    rtr_config_t conf;
    char err[256];
    assert_int_equal(rtr_config_defaults(&conf, err, sizeof err), 0);
    wire_conf_set(rtr_config_table(), &conf, "intake", "tcp://127.0.0.1:*", err, sizeof err);
    wire_conf_set(rtr_config_table(), &conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err);
    rtr_server_t *server = rtr_server_new(&conf, NULL);
    assert_non_null(server);
    assert_int_equal(rtr_server_stop(server), 0);
    assert_int_equal(rtr_server_run(server, -1), 0);
    rtr_server_destroy(&server);
    rtr_server_destroy(&server);
    rtr_config_free(&conf);
}

/* Binding an endpoint in use fails cleanly (NULL, nothing leaked); so does a bad endpoint. */
static void test_bind_failure(void **state)
{
    (void)state;
    rtr_config_t conf;
    char err[256];
    assert_int_equal(rtr_config_defaults(&conf, err, sizeof err), 0);
    const wire_conf_entry_t *t = rtr_config_table();
    wire_conf_set(t, &conf, "intake", "tcp://127.0.0.1:*", err, sizeof err);
    wire_conf_set(t, &conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err);
    rtr_server_t *first = rtr_server_new(&conf, NULL);
    assert_non_null(first);

    wire_conf_set(t, &conf, "intake", rtr_server_intake_endpoint(first), err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    wire_conf_set(t, &conf, "intake", "tcp://127.0.0.1:*", err, sizeof err);
    wire_conf_set(t, &conf, "fanout", rtr_server_fanout_endpoint(first), err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    wire_conf_set(t, &conf, "fanout", "nonsense", err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    wire_conf_set(t, &conf, "fanout", "", err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));

    rtr_server_destroy(&first);
    rtr_config_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_stop_idle),
        cmocka_unit_test(test_bind_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
