/*
 * test_rtr_server.c: the router core end to end, in process. The loop runs in a thread on
 * 127.0.0.1 with ZeroMQ-chosen free ports; a raw XPUB plays the agent (NODROP + VERBOSER, as
 * libweft does), a raw SUB plays an edge's fan-out link and raw DEALERs play edges asking the
 * history service. The test checks exact stamped seqs per room, topic prefix isolation,
 * rejection counters, dedup, acks, history replies byte for byte against the fan-out (paging,
 * epoch_changed, too_old, bad_request), a history request storm that must not break the live
 * stream, and a clean stop without signals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#include "rtr_server.h"

#include "base_clock.h"
#include "rtr_test_util.h"
#include "wire_hist.h"

#define WAIT_MS 5000 /* every wait in this test is bounded by this */
#define PUB_ID "agent-1"
#define SESSION 0x1122334455667788ULL

/* Test fixture: a running server and the sockets talking to it. */
typedef struct {
    rtr_config_t conf;    /* configuration given to the server */
    base_log_t *log;      /* the server's logger (stderr, warnings and up) */
    rtr_server_t *server; /* the router core under test */
    pthread_t thread;     /* runs rtr_server_run() */
    int run_rc;           /* rtr_server_run()'s return value */
    void *ctx;            /* the test's own ZeroMQ context */
    void *agent;          /* XPUB connected to intake */
    void *edge;           /* SUB connected to fan-out */
    uint64_t next_seq;    /* next publisher seq the agent uses */
} fixture_t;

/* Thread body: the router loop without a signalfd. */
static void *s_run(void *arg)
{
    fixture_t *f = arg;
    f->run_rc = rtr_server_run(f->server, -1);
    return NULL;
}

/* Defaults with intake, fan-out and history on free loopback ports. */
static void s_loopback_conf(rtr_config_t *conf)
{
    char err[256];
    const base_conf_entry_t *t = rtr_config_table();
    assert_int_equal(rtr_config_defaults(conf, err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, conf, "intake", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, conf, "history", "tcp://127.0.0.1:*", err, sizeof err), 0);
}

/* Starts a server with test settings on free loopback ports and its loop thread; kv is a
 * NULL-terminated list of extra "key", "value" settings (may be NULL). */
static void s_start_with(fixture_t *f, const char *const *kv)
{
    memset(f, 0, sizeof *f);
    char err[256];
    assert_int_equal(rtr_config_defaults(&f->conf, err, sizeof err), 0);
    const base_conf_entry_t *t = rtr_config_table();
    assert_int_equal(base_conf_set(t, &f->conf, "intake", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, &f->conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, &f->conf, "max_payload", "1000", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, &f->conf, "stats_interval", "0", err, sizeof err), 0);
    /* Room heads are off unless a test asks for them: the helpers expect only agent events. */
    assert_int_equal(base_conf_set(t, &f->conf, "head_interval_ms", "0", err, sizeof err), 0);
    assert_int_equal(base_conf_set(t, &f->conf, "history", "tcp://127.0.0.1:*", err, sizeof err),
                     0);
    for (; kv && kv[0]; kv += 2)
        assert_int_equal(base_conf_set(t, &f->conf, kv[0], kv[1], err, sizeof err), 0);
    f->log = base_log_new("test-router", WEFT_LOG_WARN, stderr);
    f->server = rtr_server_new(&f->conf, f->log);
    assert_non_null(f->server);
    assert_true(rtr_server_epoch(f->server) >= 1);
    assert_true(rtr_server_epoch(f->server) < (1ULL << 53));
    assert_int_equal(pthread_create(&f->thread, NULL, s_run, f), 0);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->next_seq = 1;
}

/* Starts a server with the default test settings. */
static void s_start(fixture_t *f)
{
    s_start_with(f, NULL);
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
    base_log_destroy(&f->log);
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
    size_t plen;                  /* bytes in payload */
    uint8_t hdr[WIRE_HEADER_MAX]; /* the stamped header frame as received */
    size_t hlen;                  /* bytes in hdr */
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
    g->plen = (size_t)plen;
    memcpy(g->hdr, hdr, (size_t)hlen);
    g->hlen = (size_t)hlen;
    zmq_getsockopt(f->edge, ZMQ_RCVMORE, &more, &more_len);
    assert_false(more);

    const char *room;
    size_t room_len;
    assert_int_equal(wire_topic_room(topic, (size_t)tlen, &room, &room_len), WIRE_OK);
    memcpy(g->room, room, room_len);
    g->room[room_len] = '\0';
    wire_header_t h;
    assert_int_equal(wire_header_decode(hdr, (size_t)hlen, &h), WIRE_OK);
    if (h.kind == WIRE_KIND_HEAD) /* room heads (test_heads) are not agent events: skip */
        return s_edge_recv(f, g, timeout_ms);
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
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = base_clock_ms();
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
    uint64_t deadline = base_clock_ms() + WAIT_MS;
    got_t g;
    while (base_clock_ms() < deadline) {
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
    uint64_t deadline = base_clock_ms() + WAIT_MS;
    uint64_t best = 0;
    uint8_t buf[65536];
    while (best < want) {
        uint64_t now = base_clock_ms();
        if (now >= deadline)
            fail_msg("acked up to %llu, want %llu", (unsigned long long)best,
                     (unsigned long long)want);
        if (!s_readable(f->agent, (long)(deadline - now)))
            continue;
        int n = zmq_recv(f->agent, buf, sizeof buf, 0);
        assert_true(n > 0);
        if (buf[0] == 0 || buf[0] == 1 || buf[0] == WIRE_REFUSAL_MAGIC)
            continue; /* a (re)subscription or a refusal (invalid events), not an ack */
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
    s_loopback_conf(&conf);
    rtr_server_t *server = rtr_server_new(&conf, NULL);
    assert_non_null(server);
    assert_int_equal(rtr_server_stop(server), 0);
    assert_int_equal(rtr_server_run(server, -1), 0);
    rtr_server_destroy(&server);
    rtr_server_destroy(&server);
    rtr_config_free(&conf);
}

/* The nice value of each of this process's ZeroMQ I/O threads ("ZMQbg/IO/<n>") goes into
 * nices; returns how many there are. */
static int s_io_thread_nices(int *nices, int cap)
{
    int n = 0;
    DIR *dir = opendir("/proc/self/task");
    assert_non_null(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL && n < cap) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%.20s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool io = fgets(comm, sizeof comm, f) && strncmp(comm, "ZMQbg/IO/", 9) == 0;
        fclose(f);
        if (io) {
            errno = 0;
            nices[n++] = getpriority(PRIO_PROCESS, (id_t)strtoul(de->d_name, NULL, 10));
            assert_int_equal(errno, 0);
        }
    }
    closedir(dir);
    return n;
}

/* io_nice lowers every ZeroMQ I/O thread of the router's context (io_threads of them) by that
 * much relative to the loop thread; 0 leaves them alone. */
static void test_io_nice(void **state)
{
    (void)state;
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    assert_int_equal(errno, 0);
    int nices[16];
    /* Servers of earlier tests are gone, and with them their I/O threads. */
    assert_int_equal(s_io_thread_nices(nices, 16), 0);

    rtr_config_t conf;
    char err[256];
    s_loopback_conf(&conf);
    assert_int_equal(base_conf_set(rtr_config_table(), &conf, "io_threads", "2", err, sizeof err),
                     0);
    assert_int_equal(base_conf_set(rtr_config_table(), &conf, "io_nice", "7", err, sizeof err), 0);
    rtr_server_t *server = rtr_server_new(&conf, NULL);
    assert_non_null(server);
    assert_int_equal(s_io_thread_nices(nices, 16), 2);
    int want = base + 7 > 19 ? 19 : base + 7;
    assert_int_equal(nices[0], want);
    assert_int_equal(nices[1], want);
    /* The loop thread keeps its priority. */
    assert_int_equal(getpriority(PRIO_PROCESS, 0), base);
    rtr_server_destroy(&server);

    assert_int_equal(base_conf_set(rtr_config_table(), &conf, "io_nice", "0", err, sizeof err), 0);
    server = rtr_server_new(&conf, NULL);
    assert_non_null(server);
    /* Nothing waited for the new I/O threads to name themselves this time: wait here (2 s). */
    int n = 0;
    for (int i = 0; i < 200 && (n = s_io_thread_nices(nices, 16)) < 2; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(nices[0], base);
    assert_int_equal(nices[1], base);
    rtr_server_destroy(&server);
    rtr_config_free(&conf);
}

/* Binding an endpoint in use fails cleanly (NULL, nothing leaked); so does a bad endpoint. */
static void test_bind_failure(void **state)
{
    (void)state;
    rtr_config_t conf;
    char err[256];
    s_loopback_conf(&conf);
    const base_conf_entry_t *t = rtr_config_table();
    rtr_server_t *first = rtr_server_new(&conf, NULL);
    assert_non_null(first);

    base_conf_set(t, &conf, "intake", rtr_server_intake_endpoint(first), err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    base_conf_set(t, &conf, "intake", "tcp://127.0.0.1:*", err, sizeof err);
    base_conf_set(t, &conf, "fanout", rtr_server_fanout_endpoint(first), err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    base_conf_set(t, &conf, "fanout", "nonsense", err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    base_conf_set(t, &conf, "fanout", "", err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    base_conf_set(t, &conf, "fanout", "tcp://127.0.0.1:*", err, sizeof err);
    base_conf_set(t, &conf, "history", rtr_server_history_endpoint(first), err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));
    base_conf_set(t, &conf, "history", "", err, sizeof err);
    assert_null(rtr_server_new(&conf, NULL));

    rtr_server_destroy(&first);
    rtr_config_free(&conf);
}

#define BURST_EVENTS 3000 /* more than several fan-out bursts and intake batches */
#define BURST_ROOMS 3

/* Thousands of events sent without waiting, mixed with rejected and duplicate messages: every
 * valid event reaches the edge exactly once, in order per room, seqs 1, 2, 3 ... without gaps,
 * with its own payload; nothing rejected is forwarded. */
static void test_burst(void **state)
{
    (void)state;
    fixture_t f;
    s_start(&f);
    s_connect_agent(&f);
    const char *subs[] = {"burst:", "agent:probe "};
    s_connect_edge(&f, subs, 2);

    size_t sent[BURST_ROOMS] = {0};
    size_t valid = 0, bad = 0, dups = 0;
    for (size_t i = 0; i < BURST_EVENTS; i++) {
        size_t r = i % BURST_ROOMS;
        char room[32], payload[64];
        snprintf(room, sizeof room, "burst:%zu", r);
        if (i % 10 == 9) {
            s_send_event(&f, room, "{\"broken\":", 0); /* rejected as json, no seq used */
            bad++;
        } else {
            snprintf(payload, sizeof payload, "{\"room\":%zu,\"i\":%zu}", r, sent[r]++);
            s_send_event(&f, room, payload, 0);
            valid++;
        }
        if (i % 13 == 12) {
            s_send_event(&f, room, "{\"dup\":true}", f.next_seq - 3); /* a resend */
            dups++;
        }
    }

    size_t got_per_room[BURST_ROOMS] = {0};
    for (size_t n = 0; n < valid; n++) {
        got_t g;
        if (!s_edge_recv_real(&f, &g, WAIT_MS))
            fail_msg("received %zu of %zu events", n, valid);
        size_t r;
        assert_int_equal(sscanf(g.room, "burst:%zu", &r), 1);
        assert_true(r < BURST_ROOMS);
        char want[64];
        snprintf(want, sizeof want, "{\"room\":%zu,\"i\":%zu}", r, got_per_room[r]);
        assert_string_equal(g.payload, want);
        assert_int_equal(g.seq, ++got_per_room[r]);
        assert_int_equal(g.epoch, rtr_server_epoch(f.server));
    }
    got_t extra;
    assert_false(s_edge_recv_real(&f, &extra, 200));
    for (size_t r = 0; r < BURST_ROOMS; r++)
        assert_int_equal(got_per_room[r], sent[r]);

    s_wait_ack(&f, f.next_seq - 1);
    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_int_equal(st.invalid_by[WIRE_ERR_JSON], bad);
    assert_int_equal(st.duplicates, dups);
    assert_int_equal(st.send_errors, 0);
    s_teardown(&f);
}

/* ---- History service ------------------------------------------------------------------- */

#define REPLY_MAX_EVENTS 64 /* events one test reply can hold */

/* One history reply as an edge's DEALER receives it. */
typedef struct {
    uint64_t id;                 /* request id (the 8 bytes read big-endian) */
    int status;                  /* status byte */
    int more;                    /* more byte */
    uint64_t epoch, head, first; /* status block fields */
    size_t n;                    /* events */
    got_t ev[REPLY_MAX_EVENTS];  /* hdr/hlen, payload/plen, seq, epoch per event */
} reply_t;

/* Connects a DEALER to the history service. */
static void *s_dealer(fixture_t *f)
{
    void *d = zmq_socket(f->ctx, ZMQ_DEALER);
    assert_non_null(d);
    int zero = 0;
    assert_int_equal(zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_connect(d, rtr_server_history_endpoint(f->server)), 0);
    return d;
}

/* Closes a DEALER. */
static void s_close_sock(void *sock)
{
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(sock);
}

/* Sends a well-formed request: id, room, cursor (epoch, after_seq, max_events). */
static void s_hist_send(void *d, uint64_t id, const char *room, uint64_t epoch, uint64_t after,
                        uint32_t max)
{
    uint8_t idb[WIRE_HIST_ID_LEN], cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_id(idb, id);
    wire_hist_put_cursor(cur, epoch, after, max);
    assert_int_equal(zmq_send(d, idb, 8, ZMQ_SNDMORE), 8);
    assert_int_equal(zmq_send(d, room, strlen(room), ZMQ_SNDMORE), (int)strlen(room));
    assert_int_equal(zmq_send(d, cur, 20, 0), 20);
}

/* Sends raw frames as one request. */
static void s_hist_send_raw(void *d, size_t n, const void *const data[], const size_t len[])
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zmq_send(d, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0), (int)len[i]);
}

/* True when the socket's last received frame had more after it. */
static bool s_more(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    assert_int_equal(zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz), 0);
    return more != 0;
}

/* Receives one reply within timeout_ms, checking its framing; false when none came. */
static bool s_hist_recv(void *d, reply_t *r, long timeout_ms)
{
    if (!s_readable(d, timeout_ms))
        return false;
    memset(r, 0, offsetof(reply_t, ev));
    uint8_t buf[32];
    int n = zmq_recv(d, buf, sizeof buf, 0);
    assert_int_equal(wire_hist_get_id(buf, (size_t)n, &r->id), 0);
    assert_true(s_more(d));
    n = zmq_recv(d, buf, sizeof buf, 0);
    wire_hist_block_t b;
    assert_int_equal(wire_hist_get_status(buf, (size_t)n, &b), 0);
    r->status = (int)b.status;
    r->more = b.more;
    r->epoch = b.epoch;
    r->head = b.head;
    r->first = b.first;
    while (s_more(d)) {
        assert_true(r->n < REPLY_MAX_EVENTS);
        got_t *g = &r->ev[r->n++];
        int hlen = zmq_recv(d, g->hdr, sizeof g->hdr, 0);
        assert_true(hlen > 0 && hlen <= (int)sizeof g->hdr);
        g->hlen = (size_t)hlen;
        assert_true(s_more(d));
        int plen = zmq_recv(d, g->payload, sizeof g->payload - 1, 0);
        assert_true(plen >= 0 && plen < (int)sizeof g->payload);
        g->plen = (size_t)plen;
        g->payload[plen] = '\0';
        wire_header_t h;
        assert_int_equal(wire_header_decode(g->hdr, g->hlen, &h), WIRE_OK);
        g->seq = h.seq;
        g->epoch = h.epoch;
        g->pub_seq = h.pub_seq;
    }
    return true;
}

/* Sends a request and waits for its reply (which must carry the same id). */
static void s_hist_ask(void *d, reply_t *r, uint64_t id, const char *room, uint64_t epoch,
                       uint64_t after, uint32_t max)
{
    s_hist_send(d, id, room, epoch, after, max);
    if (!s_hist_recv(d, r, WAIT_MS))
        fail_msg("no reply to history request %llu", (unsigned long long)id);
    assert_int_equal(r->id, id);
}

/* Publishes n events in room and waits until the edge saw each, copying them into out. */
static void s_publish_seen(fixture_t *f, const char *room, size_t n, got_t *out)
{
    for (size_t i = 0; i < n; i++) {
        char payload[64];
        snprintf(payload, sizeof payload, "{\"room\":\"%s\",\"i\":%zu}", room, i);
        s_send_event(f, room, payload, 0);
    }
    for (size_t i = 0; i < n; i++)
        if (!s_edge_recv_real(f, &out[i], WAIT_MS))
            fail_msg("event %zu of %s never reached the edge", i, room);
}

/* ok with the exact fan-out bytes, paging with more, epoch_changed, unknown rooms, and
 * bad_request for each malformation while the service keeps answering. */
static void test_history(void **state)
{
    (void)state;
    fixture_t f;
    s_start(&f);
    s_connect_agent(&f);
    const char *subs[] = {"agent:probe ", "project:1 "};
    s_connect_edge(&f, subs, 2);
    uint64_t epoch = rtr_server_epoch(f.server);
    got_t *sent = calloc(10, sizeof *sent);
    reply_t *r = calloc(1, sizeof *r);
    assert_non_null(sent);
    assert_non_null(r);
    s_publish_seen(&f, "project:1", 10, sent);
    void *d = s_dealer(&f);

    /* Everything, in one page: the very bytes the fan-out carried. */
    s_hist_ask(d, r, 1, "project:1", epoch, 0, 0);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->more, 0);
    assert_int_equal(r->epoch, epoch);
    assert_int_equal(r->head, 10);
    assert_int_equal(r->first, 1);
    assert_int_equal(r->n, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(r->ev[i].seq, i + 1);
        assert_int_equal(r->ev[i].epoch, epoch);
        assert_int_equal(r->ev[i].hlen, sent[i].hlen);
        assert_memory_equal(r->ev[i].hdr, sent[i].hdr, sent[i].hlen);
        assert_int_equal(r->ev[i].plen, sent[i].plen);
        assert_memory_equal(r->ev[i].payload, sent[i].payload, sent[i].plen);
    }

    /* Pages of 4: 1-4 more, 5-8 more, 9-10 done. */
    uint64_t after = 3; /* and from the middle */
    s_hist_ask(d, r, 2, "project:1", epoch, after, 4);
    assert_int_equal(r->n, 4);
    assert_int_equal(r->more, 1);
    assert_int_equal(r->ev[0].seq, 4);
    after = r->ev[3].seq;
    s_hist_ask(d, r, 3, "project:1", epoch, after, 4);
    assert_int_equal(r->n, 3);
    assert_int_equal(r->more, 0);
    assert_int_equal(r->ev[2].seq, 10);
    s_hist_ask(d, r, 4, "project:1", epoch, 10, 4);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->n, 0);

    /* Another epoch: position only. Epoch 0 (a cursor from nowhere) too. */
    s_hist_ask(d, r, 5, "project:1", epoch + 1, 3, 0);
    assert_int_equal(r->status, 1);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->epoch, epoch);
    assert_int_equal(r->head, 10);
    assert_int_equal(r->first, 1);
    s_hist_ask(d, r, 6, "project:1", 0, 0, 0);
    assert_int_equal(r->status, 1);

    /* A room nobody published in. */
    s_hist_ask(d, r, 7, "nobody:here", epoch, 0, 0);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->head, 0);
    assert_int_equal(r->first, 1);
    assert_int_equal(r->n, 0);

    /* Malformed requests: bad_request when the id is readable, silence when it is not. */
    uint8_t cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_cursor(cur, epoch, 0, 0);
    uint8_t id8[WIRE_HIST_ID_LEN];
    wire_hist_put_id(id8, 8);
    {
        const void *data[] = {id8, "project:1"};
        size_t len[] = {8, 9};
        s_hist_send_raw(d, 2, data, len); /* frames */
        assert_true(s_hist_recv(d, r, WAIT_MS));
        assert_int_equal(r->id, 8);
        assert_int_equal(r->status, 3);
        assert_int_equal(r->n, 0);
        assert_int_equal(r->epoch, epoch);
    }
    {
        wire_hist_put_id(id8, 9);
        const void *data[] = {id8, "project:1", cur, cur};
        size_t len[] = {8, 9, 20, 20};
        s_hist_send_raw(d, 4, data, len); /* frames */
        assert_true(s_hist_recv(d, r, WAIT_MS));
        assert_int_equal(r->id, 9);
        assert_int_equal(r->status, 3);
    }
    {
        wire_hist_put_id(id8, 10);
        const void *data[] = {id8, "project:1", cur};
        size_t len[] = {8, 9, 19};
        s_hist_send_raw(d, 3, data, len); /* cursor */
        assert_true(s_hist_recv(d, r, WAIT_MS));
        assert_int_equal(r->id, 10);
        assert_int_equal(r->status, 3);
        assert_int_equal(r->head, 10); /* the room was readable */
    }
    {
        wire_hist_put_id(id8, 11);
        const void *data[] = {id8, "bad room", cur};
        size_t len[] = {8, 8, 20};
        s_hist_send_raw(d, 3, data, len); /* room */
        assert_true(s_hist_recv(d, r, WAIT_MS));
        assert_int_equal(r->id, 11);
        assert_int_equal(r->status, 3);
        assert_int_equal(r->head, 0);
        assert_int_equal(r->first, 1);
        const void *pat[] = {id8, "project:*", cur};
        size_t plen[] = {8, 9, 20};
        s_hist_send_raw(d, 3, pat, plen); /* room: a pattern is not a room */
        assert_true(s_hist_recv(d, r, WAIT_MS));
        assert_int_equal(r->status, 3);
    }
    {
        const void *data[] = {"1234567", "project:1", cur};
        size_t len[] = {7, 9, 20};
        s_hist_send_raw(d, 3, data, len); /* request_id: no reply */
        const void *empty[] = {""};
        size_t elen[] = {0};
        s_hist_send_raw(d, 1, empty, elen); /* request_id: no reply */
    }
    /* The service goes on: the next reply is the next valid request's. */
    s_hist_ask(d, r, 12, "project:1", epoch, 9, 0);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].seq, 10);
    assert_memory_equal(r->ev[0].payload, sent[9].payload, sent[9].plen);

    s_close_sock(d);
    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_int_equal(st.history_requests, 15);
    assert_int_equal(st.history_replies[WIRE_HIST_OK], 6);
    assert_int_equal(st.history_replies[WIRE_HIST_EPOCH_CHANGED], 2);
    assert_int_equal(st.history_replies[WIRE_HIST_TOO_OLD], 0);
    assert_int_equal(st.history_replies[WIRE_HIST_BAD_REQUEST], 5);
    assert_int_equal(st.history_bad, 7);
    assert_int_equal(st.history_bad_by[WIRE_HIST_BAD_FRAMES], 2);
    assert_int_equal(st.history_bad_by[WIRE_HIST_BAD_CURSOR], 1);
    assert_int_equal(st.history_bad_by[WIRE_HIST_BAD_ROOM], 2);
    assert_int_equal(st.history_bad_by[WIRE_HIST_BAD_REQUEST_ID], 2);
    assert_int_equal(st.history_served, 10 + 4 + 3 + 1);
    assert_true(st.history_events >= 10); /* probes are in history too */
    assert_true(st.history_bytes > 0);
    assert_int_equal(st.send_errors, 0);
    char line[2048];
    rtr_stats_format(&st, line, sizeof line);
    assert_non_null(strstr(line, " history_requests=15 history_ok=6 history_epoch_changed=2 "
                                 "history_too_old=0 history_bad_request=5 history_served=18 "));
    assert_non_null(strstr(line, " history_bad_request_id=2 history_bad_frames=2 "
                                 "history_bad_room=2 history_bad_cursor=1"));
    free(sent);
    free(r);
    s_teardown(&f);
}

/* With a small history_max_events, a cursor behind the window is too_old. */
static void test_history_too_old(void **state)
{
    (void)state;
    fixture_t f;
    const char *kv[] = {"history_max_events", "3", "history_page_max", "2", NULL};
    s_start_with(&f, kv);
    s_connect_agent(&f);
    const char *subs[] = {"agent:probe ", "project:1 "};
    s_connect_edge(&f, subs, 2);
    uint64_t epoch = rtr_server_epoch(f.server);
    got_t *sent = calloc(5, sizeof *sent);
    reply_t *r = calloc(1, sizeof *r);
    assert_non_null(sent);
    assert_non_null(r);
    s_publish_seen(&f, "project:1", 5, sent);
    void *d = s_dealer(&f);

    s_hist_ask(d, r, 1, "project:1", epoch, 0, 0);
    assert_int_equal(r->status, 2);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->head, 5);
    assert_int_equal(r->first, 3);
    s_hist_ask(d, r, 2, "project:1", epoch, 1, 0);
    assert_int_equal(r->status, 2);
    /* From the window's start; history_page_max caps the page even when more is asked. */
    s_hist_ask(d, r, 3, "project:1", epoch, 2, 100);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->more, 1);
    assert_memory_equal(r->ev[0].hdr, sent[2].hdr, sent[2].hlen);
    assert_memory_equal(r->ev[1].payload, sent[3].payload, sent[3].plen);
    s_hist_ask(d, r, 4, "project:1", epoch, 4, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->more, 0);
    assert_int_equal(r->ev[0].seq, 5);

    s_close_sock(d);
    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_int_equal(st.history_replies[WIRE_HIST_TOO_OLD], 2);
    assert_true(st.history_evicted_count >= 2);
    free(sent);
    free(r);
    s_teardown(&f);
}

/* Reads one raw fan-out message; returns its decoded header kind (0 when none came) and fills
 * room (NUL-terminated) and h. */
static int s_edge_recv_raw(fixture_t *f, char room[WIRE_ROOM_MAX + 1], wire_header_t *h,
                           uint8_t hdr[WIRE_HEADER_MAX], long timeout_ms)
{
    if (!s_readable(f->edge, timeout_ms))
        return 0;
    char topic[WIRE_TOPIC_MAX + 8], payload[1100];
    int tlen = zmq_recv(f->edge, topic, sizeof topic, 0);
    int hlen = zmq_recv(f->edge, hdr, WIRE_HEADER_MAX, 0);
    int plen = zmq_recv(f->edge, payload, sizeof payload, 0);
    assert_true(tlen > 1 && hlen > 0 && plen >= 0);
    const char *r;
    size_t rlen;
    assert_int_equal(wire_topic_room(topic, (size_t)tlen, &r, &rlen), WIRE_OK);
    memcpy(room, r, rlen);
    room[rlen] = '\0';
    assert_int_equal(wire_header_decode(hdr, (size_t)hlen, h), WIRE_OK);
    if (h->kind == WIRE_KIND_HEAD)
        assert_memory_equal(payload, "{}", 2);
    return h->kind;
}

/* Room heads: an active room's position goes to its subscribers every head_interval_ms, and
 * stops head_linger after the room's last event; rooms nobody subscribed to are filtered out. */
static void test_heads(void **state)
{
    (void)state;
    fixture_t f;
    const char *kv[] = {"head_interval_ms", "50", "head_linger", "1", NULL};
    s_start_with(&f, kv);
    s_connect_agent(&f);
    const char *subs[] = {"agent:probe ", "project:1 "};
    s_connect_edge(&f, subs, 2);
    for (int i = 0; i < 3; i++)
        s_send_event(&f, "project:1", "{}", 0);
    s_send_event(&f, "project:2", "{}", 0); /* not subscribed: its heads never arrive */

    char room[WIRE_ROOM_MAX + 1];
    wire_header_t h;
    uint8_t hdr[WIRE_HEADER_MAX];
    int events = 0, heads = 0;
    uint64_t deadline = base_clock_ms() + WAIT_MS;
    while (heads < 2 && base_clock_ms() < deadline) {
        int kind = s_edge_recv_raw(&f, room, &h, hdr, 200);
        assert_string_not_equal(room, "project:2");
        if (kind == WIRE_KIND_EVENT && strcmp(room, "project:1") == 0)
            events++;
        if (kind == WIRE_KIND_HEAD && strcmp(room, "project:1") == 0) {
            /* A head never overtakes the events it announces. */
            assert_int_equal(events, 3);
            assert_int_equal(h.seq, 3);
            assert_int_equal(h.epoch, rtr_server_epoch(f.server));
            assert_memory_equal(h.pub_id, "router", 6);
            heads++;
        }
    }
    assert_int_equal(heads, 2);

    /* After head_linger without events the heads stop. */
    uint64_t quiet_from = base_clock_ms() + 1500;
    while (base_clock_ms() < quiet_from)
        (void)s_edge_recv_raw(&f, room, &h, hdr, 100);
    assert_int_equal(s_edge_recv_raw(&f, room, &h, hdr, 300), 0);

    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_true(st.heads_sent >= 2);
    s_teardown(&f);
}

#define STORM_DEALERS 4     /* edges asking at once */
#define STORM_REQUESTS 2000 /* requests in total */
#define STORM_INFLIGHT 50   /* outstanding requests per dealer */
#define STORM_LIVE 3000     /* live events published during the storm */

/* 2000 history requests from a few DEALERs while events keep flowing: every request is
 * answered and the live stream has no seq gap. */
static void test_history_storm(void **state)
{
    (void)state;
    fixture_t f;
    s_start(&f);
    s_connect_agent(&f);
    const char *subs[] = {"agent:probe ", "live:1 "};
    s_connect_edge(&f, subs, 2);
    uint64_t epoch = rtr_server_epoch(f.server);
    /* A room with a full history to page through (not subscribed by the edge). */
    for (int i = 0; i < 1000; i++)
        s_send_event(&f, "archive:1", "{\"pad\":\"................................\"}", 0);

    void *d[STORM_DEALERS];
    for (int i = 0; i < STORM_DEALERS; i++)
        d[i] = s_dealer(&f);
    reply_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    /* Intake and history are different connections, so a request may overtake events still in
     * flight: wait (bounded) until the router has stamped the whole archive. */
    uint64_t ready_by = base_clock_ms() + 10000;
    size_t probes = 0;
    for (uint64_t probe = STORM_REQUESTS;; probe++, probes++) {
        s_hist_send(d[0], probe, "archive:1", epoch, 1000, 1);
        assert_true(s_hist_recv(d[0], r, 2000));
        if (r->head == 1000) {
            probes++;
            break;
        }
        assert_true(base_clock_ms() < ready_by);
    }
    uint8_t *answered = calloc(STORM_REQUESTS, 1);
    assert_non_null(answered);
    size_t sent_req = 0, got_req = 0, inflight[STORM_DEALERS] = {0};
    uint64_t live_sent = 0, live_seen = 0, events_served = 0;
    uint64_t deadline = base_clock_ms() + 60000;
    uint8_t ackbuf[65536];

    while (got_req < STORM_REQUESTS || live_seen < STORM_LIVE) {
        if (base_clock_ms() > deadline)
            fail_msg("storm: %zu/%d replies, %llu/%d live events", got_req, STORM_REQUESTS,
                     (unsigned long long)live_seen, STORM_LIVE);
        for (int k = 0; k < 5 && live_sent < STORM_LIVE; k++, live_sent++)
            s_send_event(&f, "live:1", "{\"live\":true}", 0);
        for (int i = 0; i < STORM_DEALERS; i++)
            while (inflight[i] < STORM_INFLIGHT && sent_req < STORM_REQUESTS) {
                /* Spread cursors over the archive; pages of up to 20 events. */
                uint64_t after = (sent_req * 37) % 1000;
                s_hist_send(d[i], sent_req, "archive:1", epoch, after, 20);
                sent_req++;
                inflight[i]++;
            }
        zmq_pollitem_t items[STORM_DEALERS + 2];
        for (int i = 0; i < STORM_DEALERS; i++)
            items[i] = (zmq_pollitem_t){d[i], 0, ZMQ_POLLIN, 0};
        items[STORM_DEALERS] = (zmq_pollitem_t){f.edge, 0, ZMQ_POLLIN, 0};
        items[STORM_DEALERS + 1] = (zmq_pollitem_t){f.agent, 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(items, STORM_DEALERS + 2, 100) >= 0);
        for (int i = 0; i < STORM_DEALERS; i++)
            while (s_hist_recv(d[i], r, 0)) {
                assert_true(r->id < STORM_REQUESTS);
                assert_int_equal(answered[r->id], 0);
                answered[r->id] = 1;
                assert_int_equal(r->status, 0);
                uint64_t after = (r->id * 37) % 1000;
                size_t want = after + 20 <= 1000 ? 20 : (size_t)(1000 - after);
                assert_int_equal(r->n, want);
                assert_int_equal(r->ev[0].seq, after + 1);
                assert_int_equal(r->more, after + want < 1000);
                events_served += r->n;
                inflight[i]--;
                got_req++;
            }
        got_t g;
        while (s_edge_recv(&f, &g, 0)) {
            if (strcmp(g.room, "live:1") != 0)
                continue;
            assert_int_equal(g.seq, live_seen + 1); /* no gap, no reorder */
            live_seen++;
        }
        while (s_readable(f.agent, 0))
            assert_true(zmq_recv(f.agent, ackbuf, sizeof ackbuf, 0) >= 0);
    }
    for (int i = 0; i < STORM_DEALERS; i++)
        s_close_sock(d[i]);
    s_stop(&f);
    rtr_stats_t st;
    rtr_server_stats(f.server, &st);
    assert_int_equal(st.history_requests, STORM_REQUESTS + probes);
    assert_int_equal(st.history_replies[WIRE_HIST_OK], STORM_REQUESTS + probes);
    assert_int_equal(st.history_served, events_served);
    free(answered);
    free(r);
    s_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_stop_idle),
        cmocka_unit_test(test_bind_failure),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_io_nice),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_history_too_old),
        cmocka_unit_test(test_history_storm),
        cmocka_unit_test(test_heads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
