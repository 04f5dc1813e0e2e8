/*
 * hostile_agent.c: hostile input at the router's intake and history ports, with the real router
 * and edge (docs/security.md, "Hostile input": the agent and history rows).
 *
 * One fabric for every case: a rights file (publisher-id identities: CURVE keys come with the
 * CURVE work), a low per-publisher rate cap and a low per-edge history cap. A healthy WebSocket
 * client subscribed to "healthy" must get every event a well-behaved publisher sends after each
 * case (exact count, in order), and clients subscribed to the rooms hostile input aimed at must
 * get nothing. Each case asserts its documented counter in the router's stats line (logged every
 * second) and, for agents, what they are told upstream (refusal frames, on_refused).
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "base_clock.h"
#include "wire_envelope.h"
#include "wire_hist.h"

#define RATE 200      /* --max-publish-rate */
#define BURST 50      /* --publish-burst */
#define FLOOD 1000    /* events of the flooding publisher: 5 s worth at RATE */
#define HIST_RATE 20  /* --history-rate */
#define HIST_BURST 10 /* --history-burst */

/* What on_refused reported. */
typedef struct refusals {
    pthread_mutex_t mu; /* on_refused runs on the publisher's I/O thread */
    int n;              /* calls */
    uint64_t seq[8];    /* their seqs */
    int reason[8];      /* their reasons */
} refusals_t;

/* Everything the cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;       /* the private fabric */
    ts_wsc_t *wsc;          /* WebSocket client context */
    weft_pub_t *good;       /* well-behaved publisher "good" */
    ts_wsc_conn_t *healthy; /* subscribed to "healthy" */
    ts_wsc_conn_t *victim;  /* subscribed to the rooms hostile input aims at: gets nothing */
    int healthy_sent;       /* events "good" published to "healthy" */
    char rights_path[512];  /* the rights file */
    refusals_t refused;     /* on_refused of the publishers made by s_pub() */
    int ready;              /* set up completed */
} test_ctx_t;

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* Records an on_refused call. */
static void s_on_refused(weft_pub_t *pub, uint64_t seq, int reason, const char *text, void *arg)
{
    (void)pub;
    (void)text;
    refusals_t *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->n < 8) {
        r->seq[r->n] = seq;
        r->reason[r->n] = reason;
    }
    r->n++;
    pthread_mutex_unlock(&r->mu);
}

/* A libweft publisher with this id reporting refusals into ctx->refused. */
static weft_pub_t *s_pub(test_ctx_t *ctx, const char *id, size_t max_buffered, int block_ms)
{
    weft_pub_opts_t o;
    weft_pub_opts_init(&o);
    o.publisher_id = id;
    o.heartbeat_ms = 200;
    o.max_buffered = max_buffered;
    o.block_ms = block_ms;
    o.on_refused = s_on_refused;
    o.callback_arg = &ctx->refused;
    weft_pub_t *pub = weft_pub_new(it_fabric_intake(ctx->fab), &o);
    assert_non_null(pub);
    return pub;
}

/* Writes the rights file as an operator should (docs/security.md): a new file renamed into
 * place, so a reload never reads a half-written one. */
static void s_write_rights(test_ctx_t *ctx, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", ctx->rights_path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, ctx->rights_path), 0);
}

/* The value of counter `name` in the router's newest stats line (0 when absent). */
static uint64_t s_counter(test_ctx_t *ctx, const char *name)
{
    char *text = ts_proc_log_text(it_fabric_router(ctx->fab));
    assert_non_null(text);
    uint64_t v = 0;
    char *line = NULL;
    for (char *p = strstr(text, " stats: "); p; p = strstr(p + 1, " stats: "))
        line = p;
    if (line) {
        char key[96];
        snprintf(key, sizeof key, " %s=", name);
        char *end = strchr(line, '\n');
        char *hit = strstr(line, key);
        if (hit && (!end || hit < end))
            v = strtoull(hit + strlen(key), NULL, 10);
    }
    free(text);
    return v;
}

/* Waits (bounded) until counter name reaches want, then asserts it is exactly want. */
static void s_expect_counter(test_ctx_t *ctx, const char *name, uint64_t want)
{
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    uint64_t got = 0;
    while ((got = s_counter(ctx, name)) < want && base_clock_ms() < deadline)
        ts_wsc_service(ctx->wsc, 100);
    if (got != want)
        fail_msg("router counter %s = %" PRIu64 ", want %" PRIu64, name, got, want);
}

/* Publishes n more events to "healthy" from "good" and waits for the healthy client to hold
 * exactly all of them, in order. */
static void s_check_healthy(test_ctx_t *ctx, int n)
{
    for (int i = 0; i < n; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"n\":%d}", ctx->healthy_sent++);
        assert_int_equal(it_publish(ctx->good, "healthy", "test.healthy", json), 0);
    }
    if (ts_wsc_wait_count(ctx->healthy, "event", "healthy", (size_t)ctx->healthy_sent,
                          IT_WAIT_MS) != 0)
        fail_msg("the healthy client stopped receiving: %s", ts_wsc_describe(ctx->healthy));
    ts_wsc_service(ctx->wsc, 50);
    assert_int_equal(ts_wsc_count_op(ctx->healthy, "event", "healthy"), ctx->healthy_sent);
    size_t k = 0;
    for (size_t i = 0; i < ts_wsc_frame_count(ctx->healthy); i++) {
        json_t *f = ts_wsc_frame(ctx->healthy, i);
        if (strcmp(json_string_value(json_object_get(f, "op")) ?: "", "event") != 0)
            continue;
        json_t *data = json_pack("{s:i}", "n", (int)k);
        int rc = it_check_event(f, "healthy", "test.healthy", data);
        json_decref(data);
        assert_int_equal(rc, 0);
        k++;
    }
    /* Nothing ever reaches the victim's rooms. */
    assert_int_equal(ts_wsc_count_op(ctx->victim, "event", NULL), 0);
}

/* ---- raw ZeroMQ peers ----------------------------------------------------------------------- */

/* A raw agent: an XPUB connected to the intake, as libweft connects, once the router's
 * subscription has arrived (so nothing sent is dropped). */
static void *s_raw_agent(void *zctx, test_ctx_t *ctx)
{
    void *sock = zmq_socket(zctx, ZMQ_XPUB);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(sock, it_fabric_intake(ctx->fab)), 0);
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, IT_WAIT_MS), 1);
    uint8_t b[8];
    assert_int_equal(zmq_recv(sock, b, sizeof b, 0), 1);
    assert_int_equal(b[0], 1);
    return sock;
}

/* Sends n frames as one message. */
static void s_send_frames(void *sock, size_t n, const void *const data[], const size_t len[])
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zmq_send(sock, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0), (int)len[i]);
}

/* Sends an event from raw publisher "raw" (session 7) to room with header bytes as given. */
static void s_send_event(void *sock, const char *room, const void *hdr, size_t hlen,
                         const char *payload, size_t plen)
{
    char topic[256];
    size_t tlen = (size_t)snprintf(topic, sizeof topic, "%s ", room);
    const void *data[] = {topic, hdr, payload};
    size_t len[] = {tlen, hlen, plen};
    s_send_frames(sock, 3, data, len);
}

/* Encodes a header of publisher "raw", session 7. */
static size_t s_header(uint8_t *buf, uint64_t seq, const char *type)
{
    wire_header_t h = {.kind = WIRE_KIND_EVENT,
                       .session = 7,
                       .pub_seq = seq,
                       .ts_ns = 1,
                       .pub_id = "raw",
                       .pub_id_len = 3,
                       .type = type,
                       .type_len = (uint8_t)strlen(type)};
    return wire_header_encode(&h, buf, WIRE_HEADER_MAX);
}

/* Reads upstream frames on a raw agent until a refusal entry for (raw, 7, seq) arrives; returns
 * its reason (0 when none came in time). */
static int s_wait_refusal(void *sock, uint64_t seq)
{
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    uint8_t buf[65536];
    while (base_clock_ms() < deadline) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) != 1)
            continue;
        int n = zmq_recv(sock, buf, sizeof buf, 0);
        if (n < 1 || buf[0] != WIRE_REFUSAL_MAGIC)
            continue;
        size_t off = 0;
        bool bad = false;
        wire_refusal_entry_t e;
        while (wire_refusal_next(buf, (size_t)n, &off, &e, &bad))
            if (e.at.pub_id_len == 3 && memcmp(e.at.pub_id, "raw", 3) == 0 && e.at.session == 7 &&
                e.at.pub_seq == seq)
                return e.reason;
        assert_false(bad);
    }
    return 0;
}

/* ---- cases ---------------------------------------------------------------------------------- */

/* Starts router (rights, caps, stats every second) and edge, the clients and "good". */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    snprintf(ctx->rights_path, sizeof ctx->rights_path, "%s/rights", it_fabric_dir(ctx->fab));
    s_write_rights(ctx, "# hostile_agent\n"
                        "good rooms=healthy,fence:* types=test.*\n"
                        "raw rooms=target types=test.*\n"
                        "flood rooms=flood types=test.flood\n"
                        "other rooms=other types=test.other\n");
    char rate[16], burst[16], hrate[16], hburst[16];
    snprintf(rate, sizeof rate, "%d", RATE);
    snprintf(burst, sizeof burst, "%d", BURST);
    snprintf(hrate, sizeof hrate, "%d", HIST_RATE);
    snprintf(hburst, sizeof hburst, "%d", HIST_BURST);
    const char *router_args[] = {"--rights-file",
                                 ctx->rights_path,
                                 "--stats-interval",
                                 "1",
                                 "--max-publish-rate",
                                 rate,
                                 "--publish-burst",
                                 burst,
                                 "--history-rate",
                                 hrate,
                                 "--history-burst",
                                 hburst,
                                 NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, router_args), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-hostile", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->healthy = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "healthy");
    ctx->victim = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "victim");
    assert_int_equal(ts_wsc_wait_open(ctx->healthy, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_open(ctx->victim, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->healthy, "healthy", IT_WAIT_MS), 0);
    static const char *const aimed[] = {"target", "forbidden", "x", "raw-room"};
    for (size_t i = 0; i < sizeof aimed / sizeof aimed[0]; i++)
        assert_int_equal(ts_wsc_subscribe(ctx->victim, aimed[i], IT_WAIT_MS), 0);
    ctx->good = s_pub(ctx, "good", 10000, 0);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->good, IT_WAIT_MS), 0);
    ctx->ready = 1;
    s_check_healthy(ctx, 3);
}

/* Malformed envelopes from a raw agent: each is dropped and counted by reason; an event whose
 * header decoded is acknowledged and reported upstream as "invalid". */
static void test_malformed_envelopes(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    void *zctx = zmq_ctx_new();
    void *sock = s_raw_agent(zctx, ctx);
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hlen = s_header(hdr, 1, "test.x");
    /* Wrong frame counts. */
    const void *two[] = {"target ", hdr};
    const size_t two_len[] = {7, hlen};
    s_send_frames(sock, 2, two, two_len);
    const void *four[] = {"target ", hdr, "{}", "{}"};
    const size_t four_len[] = {7, hlen, 2, 2};
    s_send_frames(sock, 4, four, four_len);
    /* Bad topics: no terminator, and a room of 200 characters. */
    const void *bad_topic[] = {"target", hdr, "{}"};
    const size_t bad_topic_len[] = {6, hlen, 2};
    s_send_frames(sock, 3, bad_topic, bad_topic_len);
    char huge[201];
    memset(huge, 'r', 200);
    huge[200] = '\0';
    s_send_event(sock, huge, hdr, hlen, "{}", 2);
    /* Headers: too short, unknown version, a room head (router-only kind), seq 0. */
    s_send_event(sock, "target", hdr, 10, "{}", 2);
    uint8_t v9[WIRE_HEADER_MAX];
    memcpy(v9, hdr, hlen);
    v9[0] = 9;
    s_send_event(sock, "target", v9, hlen, "{}", 2);
    uint8_t head[WIRE_HEADER_MAX];
    memcpy(head, hdr, hlen);
    head[1] = WIRE_KIND_HEAD;
    s_send_event(sock, "target", head, hlen, "{}", 2);
    uint8_t seq0[WIRE_HEADER_MAX];
    size_t seq0_len = s_header(seq0, 0, "test.x");
    assert_int_equal(seq0_len, 0); /* the codec refuses to encode it: patch seq 1 to 0 */
    memcpy(seq0, hdr, hlen);
    memset(seq0 + 16, 0, 8);
    s_send_event(sock, "target", seq0, hlen, "{}", 2);
    /* Payloads: not JSON, not an object, over max_payload (64 KiB). */
    uint8_t h2[WIRE_HEADER_MAX], h3[WIRE_HEADER_MAX], h4[WIRE_HEADER_MAX];
    s_send_event(sock, "target", h2, s_header(h2, 2, "test.x"), "{not json", 9);
    s_send_event(sock, "target", h3, s_header(h3, 3, "test.x"), "[1]", 3);
    char *big = malloc(70000);
    memset(big, ' ', 70000);
    big[0] = '{';
    big[69999] = '}';
    s_send_event(sock, "target", h4, s_header(h4, 4, "test.x"), big, 70000);
    free(big);

    s_expect_counter(ctx, "invalid_frames", 2);
    s_expect_counter(ctx, "invalid_topic", 2);
    s_expect_counter(ctx, "invalid_short", 1);
    s_expect_counter(ctx, "invalid_version", 1);
    s_expect_counter(ctx, "invalid_kind", 1);
    s_expect_counter(ctx, "invalid_session", 1);
    s_expect_counter(ctx, "invalid_json", 2);
    s_expect_counter(ctx, "invalid_size", 1);
    s_expect_counter(ctx, "invalid", 11);
    /* The agent is told: seq 2 was refused as invalid. */
    assert_int_equal(s_wait_refusal(sock, 2), WIRE_REFUSE_INVALID);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    s_check_healthy(ctx, 5);
}

/* Rights: a room and a type outside the publisher's rights, and a publisher the file does not
 * list (rights_default deny), are refused, counted, acked and reported through on_refused. */
static void test_rights_refuse(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    uint64_t room_seq = 0, type_seq = 0, stranger_seq = 0;
    assert_int_equal(
        weft_publish_buf(ctx->good, "forbidden", "test.x", NULL, "{}", 2, 0, &room_seq), 0);
    assert_int_equal(weft_publish_buf(ctx->good, "healthy", "other.x", NULL, "{}", 2, 0, &type_seq),
                     0);
    weft_pub_t *stranger = s_pub(ctx, "stranger", 100, 0);
    assert_int_equal(weft_publish_buf(stranger, "healthy", "test.healthy", NULL, "{\"n\":-1}", 8, 0,
                                      &stranger_seq),
                     0);
    /* Refused events are acknowledged: flush completes. */
    assert_int_equal(weft_pub_flush(ctx->good, IT_WAIT_MS), 0);
    assert_int_equal(weft_pub_flush(stranger, IT_WAIT_MS), 0);
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    int n = 0;
    while (base_clock_ms() < deadline) {
        pthread_mutex_lock(&ctx->refused.mu);
        n = ctx->refused.n;
        pthread_mutex_unlock(&ctx->refused.mu);
        if (n >= 3)
            break;
        ts_sleep_ms(20);
    }
    assert_int_equal(n, 3);
    /* Two publishers, two I/O threads: match by reason. */
    int room = 0, type = 0;
    for (int i = 0; i < 3; i++) {
        if (ctx->refused.reason[i] == WEFT_EDENIEDTYPE) {
            assert_int_equal(ctx->refused.seq[i], type_seq);
            type++;
        } else {
            assert_int_equal(ctx->refused.reason[i], WEFT_EDENIEDROOM);
            assert_true(ctx->refused.seq[i] == room_seq || ctx->refused.seq[i] == stranger_seq);
            room++;
        }
    }
    assert_int_equal(room, 2);
    assert_int_equal(type, 1);
    weft_pub_stats_t st;
    weft_pub_stats(stranger, &st);
    assert_int_equal(st.refused_by_router, 1);
    assert_int_equal(st.acked, 1);
    s_expect_counter(ctx, "refused_room", 2);
    s_expect_counter(ctx, "refused_type", 1);
    weft_pub_destroy(&stranger);
    ctx->refused.n = 0;
    s_check_healthy(ctx, 5);
}

/* SIGHUP reloads the rights file; a file that does not parse leaves the rights in force. */
static void test_rights_reload(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_proc_t *router = it_fabric_router(ctx->fab);
    s_write_rights(ctx, "good rooms=healthy,fence:* types=test.*\n"
                        "flood rooms=flood types=test.flood\n"
                        "other rooms=other types=test.other\n"
                        "raw rooms=target types=test.*\n"
                        "newcomer rooms=healthy types=test.healthy\n");
    assert_int_equal(ts_proc_signal(router, SIGHUP), 0);
    assert_int_equal(ts_proc_wait_log(router, "rights: 5 publisher(s)", IT_WAIT_MS), 0);
    s_write_rights(ctx, "good rooms=a*b types=test.*\n");
    assert_int_equal(ts_proc_signal(router, SIGHUP), 0);
    assert_int_equal(ts_proc_wait_log(router, "(the previous rights stay in force)", IT_WAIT_MS),
                     0);
    s_expect_counter(ctx, "rights_reloads", 2);
    s_expect_counter(ctx, "rights_reload_errors", 1);
    /* The newcomer's event arrives; "good" keeps its rights. */
    weft_pub_t *newcomer = s_pub(ctx, "newcomer", 100, 0);
    char json[64];
    snprintf(json, sizeof json, "{\"n\":%d}", ctx->healthy_sent++);
    assert_int_equal(it_publish(newcomer, "healthy", "test.healthy", json), 0);
    assert_int_equal(weft_pub_flush(newcomer, IT_WAIT_MS), 0);
    weft_pub_destroy(&newcomer);
    s_check_healthy(ctx, 2);
    assert_int_equal(ctx->refused.n, 0);
}

/* What the flooding thread did. */
typedef struct flood {
    weft_pub_t *pub; /* publisher "flood" */
    int failed;      /* publishes that returned an error */
    uint64_t ms;     /* how long publishing and flushing took */
} flood_t;

/* Publishes FLOOD events as fast as weft_publish lets it (blocking when the buffer is full). */
static void *s_flood_main(void *arg)
{
    flood_t *fl = arg;
    uint64_t t0 = base_clock_ms();
    for (int i = 0; i < FLOOD; i++) {
        char json[32];
        snprintf(json, sizeof json, "{\"n\":%d}", i);
        if (weft_publish(fl->pub, "flood", "test.flood", json, 0) != 0)
            fl->failed++;
    }
    if (weft_pub_flush(fl->pub, 60000) != 0)
        fl->failed++;
    fl->ms = base_clock_ms() - t0;
    return NULL;
}

/* A publisher at 5x the cap loses nothing: the router refuses what is over the cap as
 * rate_limited, libweft keeps and resends it, the buffer fills and weft_publish waits. Its
 * throughput is capped; another publisher meanwhile is not slowed. */
static void test_rate_cap_push_back(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *fc = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "flood-sub");
    ts_wsc_conn_t *oc = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "other-sub");
    assert_int_equal(ts_wsc_wait_open(fc, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_open(oc, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(fc, "flood", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(oc, "other", IT_WAIT_MS), 0);
    flood_t fl = {.pub = s_pub(ctx, "flood", 100, 60000)};
    weft_pub_t *other = s_pub(ctx, "other", 1000, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_flood_main, &fl), 0);
    /* The other publisher: 20 events at 20/s, each delivered within a second. */
    uint64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        uint64_t t = base_clock_ms();
        assert_int_equal(it_publish(other, "other", "test.other", "{}"), 0);
        assert_int_equal(ts_wsc_wait_count(oc, "event", "other", (size_t)i + 1, IT_WAIT_MS), 0);
        uint64_t took = base_clock_ms() - t;
        worst = took > worst ? took : worst;
        ts_wsc_service(ctx->wsc, 50);
    }
    if (worst > 1000)
        fail_msg("the other publisher waited %" PRIu64 " ms for a delivery", worst);
    /* Serve the flood's subscriber while it runs. */
    if (ts_wsc_wait_count(fc, "event", "flood", FLOOD, 60000) != 0)
        fail_msg("flood: %zu of %d events arrived", ts_wsc_count_op(fc, "event", "flood"), FLOOD);
    pthread_join(th, NULL);
    assert_int_equal(fl.failed, 0);
    /* Every event once, in order. */
    ts_wsc_service(ctx->wsc, 200);
    assert_int_equal(ts_wsc_count_op(fc, "event", "flood"), FLOOD);
    int k = 0;
    for (size_t i = 0; i < ts_wsc_frame_count(fc); i++) {
        json_t *f = ts_wsc_frame(fc, i);
        if (strcmp(json_string_value(json_object_get(f, "op")) ?: "", "event") != 0)
            continue;
        json_t *data = json_pack("{s:i}", "n", k++);
        assert_int_equal(it_check_event(f, "flood", "test.flood", data), 0);
        json_decref(data);
    }
    /* Capped: FLOOD - BURST events at RATE take (FLOOD - BURST) / RATE seconds at least. */
    uint64_t floor_ms = (uint64_t)(FLOOD - BURST) * 1000 / RATE;
    if (fl.ms < floor_ms * 9 / 10)
        fail_msg("flood took %" PRIu64 " ms, under the cap's %" PRIu64 " ms", fl.ms, floor_ms);
    weft_pub_stats_t st;
    weft_pub_stats(fl.pub, &st);
    assert_int_equal(st.acked, FLOOD);
    assert_int_equal(st.refused_by_router, 0);
    assert_true(st.throttled_by_router > 0);
    print_message("flood: %d events in %" PRIu64 " ms (cap %d/s, burst %d), %" PRIu64
                  " rate_limited pauses; other publisher's worst delivery %" PRIu64 " ms\n",
                  FLOOD, fl.ms, RATE, BURST, st.throttled_by_router, worst);
    assert_true(s_counter(ctx, "refused_rate_limited") > 0 ||
                (ts_wsc_service(ctx->wsc, 1500), s_counter(ctx, "refused_rate_limited") > 0));
    weft_pub_destroy(&fl.pub);
    weft_pub_destroy(&other);
    ts_wsc_close(fc);
    ts_wsc_close(oc);
    s_check_healthy(ctx, 5);
}

/* Sends one history request (id, room, cursor) or a malformed one on a raw DEALER. */
static void s_hist_send(void *dealer, uint64_t id, const char *room, size_t nframes)
{
    uint8_t idb[WIRE_HIST_ID_LEN], cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_id(idb, id);
    wire_hist_put_cursor(cur, 1, 0, 0);
    const void *data[] = {idb, room, cur};
    size_t len[] = {sizeof idb, strlen(room), sizeof cur};
    s_send_frames(dealer, nframes, data, len);
}

/* Receives one history reply's status (-1 when none within the wait). */
static int s_hist_status(void *dealer, uint64_t *id)
{
    zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, IT_WAIT_MS) != 1)
        return -1;
    uint8_t buf[64];
    int n = zmq_recv(dealer, buf, sizeof buf, 0);
    assert_int_equal(wire_hist_get_id(buf, (size_t)n, id), 0);
    n = zmq_recv(dealer, buf, sizeof buf, 0);
    wire_hist_block_t block;
    assert_int_equal(wire_hist_get_status(buf, (size_t)n, &block), 0);
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(dealer, ZMQ_RCVMORE, &more, &sz);
    while (more) { /* events of an ok reply */
        zmq_recv(dealer, buf, sizeof buf, 0);
        zmq_getsockopt(dealer, ZMQ_RCVMORE, &more, &sz);
    }
    return (int)block.status;
}

/* The history port: malformed requests are answered bad_request (or dropped without an id) and
 * counted by reason; a flood from one DEALER is answered busy beyond its burst and counted; the
 * edge's own history requests are not affected. */
static void test_history_hostile(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    void *zctx = zmq_ctx_new();
    void *dealer = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(dealer, it_fabric_history(ctx->fab)), 0);
    uint64_t id = 0;
    /* Malformed: two frames; a bad room; an id of 7 bytes (no reply possible). */
    s_hist_send(dealer, 1, "healthy", 2);
    assert_int_equal(s_hist_status(dealer, &id), WIRE_HIST_BAD_REQUEST);
    assert_int_equal(id, 1);
    s_hist_send(dealer, 2, "bad room", 3);
    assert_int_equal(s_hist_status(dealer, &id), WIRE_HIST_BAD_REQUEST);
    assert_int_equal(id, 2);
    const void *short_id[] = {"1234567", "healthy", "12345678901234567890"};
    const size_t short_len[] = {7, 7, 20};
    s_send_frames(dealer, 3, short_id, short_len);
    s_expect_counter(ctx, "history_bad_frames", 1);
    s_expect_counter(ctx, "history_bad_room", 1);
    s_expect_counter(ctx, "history_bad_request_id", 1);
    /* Let the bucket refill, then flood: 100 requests at once. */
    ts_sleep_ms(HIST_BURST * 1000 / HIST_RATE + 100);
    for (uint64_t i = 100; i < 200; i++)
        s_hist_send(dealer, i, "healthy", 3);
    int busy = 0, answered = 0;
    for (int i = 0; i < 100; i++) {
        int st = s_hist_status(dealer, &id);
        assert_true(st >= 0);
        assert_true(id >= 100 && id < 200);
        if (st == WIRE_HIST_BUSY)
            busy++;
        else
            answered++;
    }
    /* The burst, plus what refilled while the flood was read (a few at HIST_RATE). */
    if (answered < HIST_BURST || answered > HIST_BURST + 5)
        fail_msg("%d of 100 flooding requests answered, want %d..%d", answered, HIST_BURST,
                 HIST_BURST + 5);
    s_expect_counter(ctx, "history_throttled", (uint64_t)busy);
    zmq_close(dealer);
    zmq_ctx_term(zctx);
    /* The edge's own history port use still works: a client resuming "healthy" from seq 1
     * gets the events after it through the edge's DEALER (its own budget). */
    ts_wsc_conn_t *resumer = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "resumer");
    assert_int_equal(ts_wsc_wait_open(resumer, IT_WAIT_MS), 0);
    size_t from = 0;
    json_t *ev = ts_wsc_wait_op(ctx->healthy, "event", "healthy", &from, 0);
    assert_non_null(ev);
    char sub[256];
    snprintf(sub, sizeof sub,
             "{\"op\":\"subscribe\",\"room\":\"healthy\",\"since\":{\"epoch\":%" PRIu64
             ",\"seq\":1}}",
             it_event_u64(ev, "epoch"));
    assert_int_equal(ts_wsc_send_text(resumer, sub), 0);
    if (ts_wsc_wait_count(resumer, "event", "healthy", (size_t)ctx->healthy_sent - 1, IT_WAIT_MS) !=
        0)
        fail_msg("resume through the edge's history got %zu of %d events: %s",
                 ts_wsc_count_op(resumer, "event", "healthy"), ctx->healthy_sent - 1,
                 ts_wsc_describe(resumer));
    ts_wsc_close(resumer);
    s_check_healthy(ctx, 3);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    pthread_mutex_init(&ctx.refused.mu, NULL);
    ctx.fab = it_fabric_new("hostile_agent");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_malformed_envelopes, &ctx),
        cmocka_unit_test_prestate(test_rights_refuse, &ctx),
        cmocka_unit_test_prestate(test_rights_reload, &ctx),
        cmocka_unit_test_prestate(test_rate_cap_push_back, &ctx),
        cmocka_unit_test_prestate(test_history_hostile, &ctx),
    };
    int failed = cmocka_run_group_tests_name("hostile_agent", tests, NULL, NULL);
    weft_pub_destroy(&ctx.good);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
