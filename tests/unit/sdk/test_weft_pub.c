/*
 * test_weft_pub.c: the publisher API against a fake router.
 *
 * The fake router is what weft-router looks like from an agent: a raw libzmq XSUB bound on
 * 127.0.0.1 that subscribes to everything (`\x01`), records the three-frame events it receives
 * (dropping, like the real router, seqs it already has per publisher session) and acknowledges
 * them with wire_ack_* frames. It runs in its own thread because the test thread calls the SDK.
 * Every wait is bounded; nothing asserts on timing tighter than seconds.
 *
 * The SDK comes from the real libweft.a, in which only the public API is global; wire_* here is
 * the test's own copy for the fake router.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>

#include "weft.h"

#include "base_clock.h"
#include "wire_envelope.h"

#define MAX_PUBS 16

/* Checks in the fake router's thread: cmocka's assertions may only fail on the test's thread. */
#define R_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fake router: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* One event the fake router accepted. */
typedef struct rec {
    char pub_id[WIRE_PUBID_MAX + 1]; /* publisher id */
    uint64_t session;                /* publisher session */
    uint64_t seq;                    /* publisher seq */
    uint64_t ts_ns;                  /* header timestamp */
    uint8_t flags;                   /* header flags */
    char room[WIRE_ROOM_MAX + 1];    /* from the topic frame */
    char type[WIRE_TYPE_MAX + 1];    /* event type */
    char key[WIRE_KEY_MAX + 1];      /* coalesce key, "" for none */
    char *payload;                   /* NUL-terminated copy of frame 2 */
} rec_t;

/* Per-(publisher, session) state of the fake router, as the real router keeps it. */
typedef struct pub_state {
    char id[WIRE_PUBID_MAX + 1]; /* publisher id */
    uint64_t session;            /* its session */
    uint64_t highest;            /* highest seq received */
    bool dirty;                  /* received something since the last ack */
} pub_state_t;

typedef struct fake_router {
    void *ctx;                  /* own ZeroMQ context */
    void *sock;                 /* the bound XSUB; only the router thread touches it once started */
    int port;                   /* TCP port on 127.0.0.1 */
    char endpoint[64];          /* tcp://127.0.0.1:port, for weft_pub_new */
    pthread_t thread;           /* the router thread */
    pthread_mutex_t mu;         /* guards everything below */
    bool stop;                  /* the thread must exit */
    bool ack;                   /* send acks */
    bool restart;               /* close the socket and bind a fresh one (a router restart) */
    bool paused;                /* stop reading, so that the publisher hits its high-water mark */
    bool pause_seen;            /* the thread has seen `paused` and reads no more */
    int generation;             /* incremented by every restart */
    rec_t *recs;                /* accepted events of the current generation, in arrival order */
    size_t nrecs;               /* entries in recs */
    size_t cap;                 /* capacity of recs */
    size_t dups;                /* events dropped as already received */
    size_t bad;                 /* malformed messages */
    size_t heartbeats;          /* heartbeats received */
    uint64_t hb_seq;            /* pub_seq of the last heartbeat */
    char hb_payload[512];       /* payload of the last heartbeat */
    pub_state_t pubs[MAX_PUBS]; /* ack state */
    size_t npubs;               /* entries in pubs */
    unsigned char raw[256];     /* a frame to send upstream once (raw_len > 0) */
    size_t raw_len;             /* bytes in raw; 0 when nothing is queued */
} fake_router_t;

/* ---- helpers --------------------------------------------------------------------------------- */

/* Sleeps ms milliseconds. */
static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Log lines captured from the SDK's log callback. */
static pthread_mutex_t s_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char s_log_text[16384];
static int s_log_warns;

/* The test's log callback: appends "level: message\n" to s_log_text. */
static void s_log_capture(int level, const char *message, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&s_log_mu);
    size_t used = strlen(s_log_text);
    snprintf(s_log_text + used, sizeof s_log_text - used, "%d: %s\n", level, message);
    if (level == WEFT_LOG_WARN)
        s_log_warns++;
    pthread_mutex_unlock(&s_log_mu);
}

/* Clears the captured log. */
static void s_log_reset(void)
{
    pthread_mutex_lock(&s_log_mu);
    s_log_text[0] = '\0';
    s_log_warns = 0;
    pthread_mutex_unlock(&s_log_mu);
}

/* True when the captured log contains `needle`. */
static bool s_log_has(const char *needle)
{
    pthread_mutex_lock(&s_log_mu);
    bool found = strstr(s_log_text, needle) != NULL;
    pthread_mutex_unlock(&s_log_mu);
    return found;
}

/* ---- the fake router ------------------------------------------------------------------------- */

/* Creates, binds (retrying while the port is still held by a closing socket) and subscribes. */
static void s_router_open(fake_router_t *r)
{
    r->sock = zmq_socket(r->ctx, ZMQ_XSUB);
    R_CHECK(r->sock != NULL);
    int zero = 0;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", r->port);
    uint64_t give_up = base_clock_ms() + 5000;
    while (zmq_bind(r->sock, ep) != 0) {
        R_CHECK(errno == EADDRINUSE && base_clock_ms() < give_up);
        s_sleep_ms(20);
    }
    R_CHECK(zmq_send(r->sock, "\x01", 1, 0) == 1);
}

/* Finds or adds the state of a publisher session. */
static pub_state_t *s_router_pub(fake_router_t *r, const wire_header_t *h)
{
    for (size_t i = 0; i < r->npubs; i++)
        if (r->pubs[i].session == h->session && strlen(r->pubs[i].id) == h->pub_id_len &&
            memcmp(r->pubs[i].id, h->pub_id, h->pub_id_len) == 0)
            return &r->pubs[i];
    R_CHECK(r->npubs < MAX_PUBS);
    pub_state_t *p = &r->pubs[r->npubs++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, h->pub_id, h->pub_id_len);
    p->session = h->session;
    return p;
}

/* Handles one received message of n frames. Mutex held. */
static void s_router_handle(fake_router_t *r, zmq_msg_t *frames, int n)
{
    wire_header_t h;
    const char *room;
    size_t room_len;
    if (n != 3 ||
        wire_header_decode(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), &h) != WIRE_OK) {
        r->bad++;
        return;
    }
    if (h.kind == WIRE_KIND_HEARTBEAT) {
        r->heartbeats++;
        r->hb_seq = h.pub_seq;
        size_t len = zmq_msg_size(&frames[2]);
        if (len >= sizeof r->hb_payload)
            len = sizeof r->hb_payload - 1;
        memcpy(r->hb_payload, zmq_msg_data(&frames[2]), len);
        r->hb_payload[len] = '\0';
        return;
    }
    if (wire_topic_room(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), &room, &room_len) !=
        WIRE_OK) {
        r->bad++;
        return;
    }
    pub_state_t *p = s_router_pub(r, &h);
    p->dirty = true;
    if (h.pub_seq <= p->highest) {
        r->dups++;
        return;
    }
    p->highest = h.pub_seq;
    if (r->nrecs == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
        R_CHECK(r->recs != NULL);
    }
    rec_t *rec = &r->recs[r->nrecs++];
    memset(rec, 0, sizeof *rec);
    memcpy(rec->pub_id, h.pub_id, h.pub_id_len);
    rec->session = h.session;
    rec->seq = h.pub_seq;
    rec->ts_ns = h.ts_ns;
    rec->flags = h.flags;
    memcpy(rec->room, room, room_len);
    memcpy(rec->type, h.type, h.type_len);
    memcpy(rec->key, h.key, h.key_len);
    size_t plen = zmq_msg_size(&frames[2]);
    rec->payload = malloc(plen + 1);
    R_CHECK(rec->payload != NULL);
    memcpy(rec->payload, zmq_msg_data(&frames[2]), plen);
    rec->payload[plen] = '\0';
}

/* Frees the recorded events and the ack state (a restarted router knows nothing). Mutex held. */
static void s_router_forget(fake_router_t *r)
{
    for (size_t i = 0; i < r->nrecs; i++)
        free(r->recs[i].payload);
    r->nrecs = 0;
    r->npubs = 0;
}

/* Sends one ack frame covering every publisher that sent something. Mutex held. */
static void s_router_ack(fake_router_t *r)
{
    unsigned char buf[4096];
    size_t off = wire_ack_begin(buf, sizeof buf);
    bool any = false;
    for (size_t i = 0; i < r->npubs; i++) {
        pub_state_t *p = &r->pubs[i];
        if (!p->dirty || p->highest == 0)
            continue;
        wire_ack_entry_t e = {.pub_id = p->id,
                              .pub_id_len = (uint8_t)strlen(p->id),
                              .session = p->session,
                              .pub_seq = p->highest};
        off = wire_ack_append(buf, sizeof buf, off, &e);
        R_CHECK(off > 0);
        p->dirty = false;
        any = true;
    }
    if (any)
        R_CHECK(zmq_send(r->sock, buf, off, 0) == (int)off);
}

/* The router thread. */
static void *s_router_main(void *arg)
{
    fake_router_t *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        if (r->restart) {
            zmq_close(r->sock);
            s_router_forget(r);
            s_router_open(r);
            r->generation++;
            r->restart = false;
        }
        if (r->raw_len) {
            zmq_send(r->sock, r->raw, r->raw_len, 0);
            r->raw_len = 0;
        }
        bool paused = r->paused;
        r->pause_seen = paused;
        pthread_mutex_unlock(&r->mu);
        if (paused) {
            s_sleep_ms(5);
            continue;
        }

        zmq_pollitem_t item = {.socket = r->sock, .events = ZMQ_POLLIN};
        zmq_poll(&item, 1, 5);
        pthread_mutex_lock(&r->mu);
        for (;;) {
            zmq_msg_t frames[4];
            int n = 0;
            bool more = true;
            while (more) {
                zmq_msg_t part;
                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, r->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                    zmq_msg_close(&part);
                    break;
                }
                more = zmq_msg_more(&part);
                if (n < 4)
                    frames[n++] = part;
                else
                    zmq_msg_close(&part);
            }
            if (n == 0)
                break;
            s_router_handle(r, frames, n);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
        }
        if (r->ack)
            s_router_ack(r);
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* Starts a fake router on `port` (0: any free port). */
static fake_router_t *s_router_start(int port, bool ack)
{
    fake_router_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->ctx = zmq_ctx_new();
    assert_non_null(r->ctx);
    r->port = port ? port : s_free_port();
    snprintf(r->endpoint, sizeof r->endpoint, "tcp://127.0.0.1:%d", r->port);
    r->ack = ack;
    pthread_mutex_init(&r->mu, NULL);
    s_router_open(r);
    assert_int_equal(pthread_create(&r->thread, NULL, s_router_main, r), 0);
    return r;
}

/* Stops and frees a fake router. */
static void s_router_stop(fake_router_t **r_p)
{
    fake_router_t *r = *r_p;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
    s_router_forget(r);
    free(r->recs);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *r_p = NULL;
}

/* Accepted events so far. */
static size_t s_router_count(fake_router_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->nrecs;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits up to ms for the router to hold at least n events. */
static bool s_router_wait_count(fake_router_t *r, size_t n, int ms)
{
    uint64_t until = base_clock_ms() + (uint64_t)ms;
    while (s_router_count(r) < n) {
        if (base_clock_ms() > until)
            return false;
        s_sleep_ms(5);
    }
    return true;
}

/* Queues one raw frame for the router to send upstream, and waits until it went. */
static void s_router_send_raw(fake_router_t *r, const void *data, size_t len)
{
    assert_true(len > 0 && len <= sizeof r->raw);
    pthread_mutex_lock(&r->mu);
    memcpy(r->raw, data, len);
    r->raw_len = len;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&r->mu);
        size_t left = r->raw_len;
        pthread_mutex_unlock(&r->mu);
        if (left == 0)
            return;
        s_sleep_ms(5);
    }
    fail_msg("the fake router did not send the raw frame");
}

/* Waits up to ms for the publisher's stats to say connected. */
static bool s_wait_connected(weft_pub_t *pub, int connected, int ms)
{
    uint64_t until = base_clock_ms() + (uint64_t)ms;
    for (;;) {
        weft_pub_stats_t st;
        weft_pub_stats(pub, &st);
        if (st.connected == connected)
            return true;
        if (base_clock_ms() > until)
            return false;
        s_sleep_ms(5);
    }
}

/* Options suited to tests: fast heartbeats, short linger. */
static weft_pub_opts_t s_opts(const char *id)
{
    weft_pub_opts_t o;
    weft_pub_opts_init(&o);
    o.publisher_id = id;
    o.heartbeat_ms = 50;
    o.linger_ms = 200;
    return o;
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* The defaults weft.h documents. */
static void test_opts_defaults(void **state)
{
    (void)state;
    weft_pub_opts_t o;
    memset(&o, 0x5a, sizeof o);
    weft_pub_opts_init(&o);
    assert_null(o.publisher_id);
    assert_int_equal(o.max_buffered, 10000);
    assert_int_equal(o.max_buffered_bytes, 16 * 1024 * 1024);
    assert_int_equal(o.block_ms, 0);
    assert_int_equal(o.heartbeat_ms, 1000);
    assert_int_equal(o.linger_ms, 2000);
    assert_int_equal(o.max_payload, WEFT_PAYLOAD_DEFAULT_MAX);
    assert_null(o.on_ack);
    assert_null(o.on_state);
    assert_null(o.callback_arg);
}

/* weft_pub_new refuses bad endpoints and options, saying why through the log callback. */
static void test_new_rejects(void **state)
{
    (void)state;
    s_log_reset();
    weft_pub_opts_t o = s_opts("t-new");
    assert_null(weft_pub_new(NULL, &o));
    assert_null(weft_pub_new("", &o));
    assert_null(weft_pub_new("bogus://nowhere", &o));
    assert_true(s_log_has("bogus://nowhere"));
    assert_null(weft_pub_new("tcp://127.0.0.1", &o)); /* no port */

    o.publisher_id = "has space";
    assert_null(weft_pub_new("tcp://127.0.0.1:1", &o));
    assert_true(s_log_has("publisher_id"));
    o = s_opts("t-new");
    o.max_buffered = 0;
    assert_null(weft_pub_new("tcp://127.0.0.1:1", &o));
    o = s_opts("t-new");
    o.heartbeat_ms = 0;
    assert_null(weft_pub_new("tcp://127.0.0.1:1", &o));
    o = s_opts("t-new");
    o.block_ms = -1;
    assert_null(weft_pub_new("tcp://127.0.0.1:1", &o));
    o = s_opts("t-new");
    o.max_payload = 0;
    assert_null(weft_pub_new("tcp://127.0.0.1:1", &o));

    /* NULL options mean defaults, and the default id is "<hostname>-<pid>". */
    weft_pub_t *pub = weft_pub_new("tcp://127.0.0.1:1", NULL);
    assert_non_null(pub);
    const char *id = weft_pub_id(pub);
    assert_true(wire_pubid_valid(id, strlen(id)));
    char suffix[32];
    snprintf(suffix, sizeof suffix, "-%ld", (long)getpid());
    assert_true(strlen(id) > strlen(suffix));
    assert_string_equal(id + strlen(id) - strlen(suffix), suffix);
    weft_pub_destroy(&pub);
    assert_null(pub);
    weft_pub_destroy(&pub); /* safe twice */
    weft_pub_destroy(NULL);
}

/* Every bad argument gets its own code, counts as invalid, and nothing is buffered. */
static void test_validation(void **state)
{
    (void)state;
    weft_pub_opts_t o = s_opts("t-valid");
    o.max_payload = 64;
    weft_pub_t *pub = weft_pub_new("tcp://127.0.0.1:1", &o);
    assert_non_null(pub);
    assert_string_equal(weft_pub_id(pub), "t-valid");

    char room128[129], room129[130], type64[65], type65[66], key128[129], key129[130];
    memset(room128, 'r', 128);
    room128[128] = '\0';
    memset(room129, 'r', 129);
    room129[129] = '\0';
    memset(type64, 't', 64);
    type64[64] = '\0';
    memset(type65, 't', 65);
    type65[65] = '\0';
    memset(key128, 'k', 128);
    key128[128] = '\0';
    memset(key129, 'k', 129);
    key129[129] = '\0';
    char big[80];
    snprintf(big, sizeof big, "{\"x\":\"%060d\"}", 0); /* 68 bytes > 64 */

    int invalid = 0;
#define BAD(expected, call)                                                                        \
    do {                                                                                           \
        assert_int_equal((call), (expected));                                                      \
        invalid++;                                                                                 \
    } while (0)
    BAD(WEFT_EROOM, weft_publish(pub, NULL, "a.b", "{}", 0));
    BAD(WEFT_EROOM, weft_publish(pub, "", "a.b", "{}", 0));
    BAD(WEFT_EROOM, weft_publish(pub, "project 1", "a.b", "{}", 0));
    BAD(WEFT_EROOM, weft_publish(pub, "room*", "a.b", "{}", 0));
    BAD(WEFT_EROOM, weft_publish(pub, room129, "a.b", "{}", 0));
    BAD(WEFT_ETYPE, weft_publish(pub, "r", NULL, "{}", 0));
    BAD(WEFT_ETYPE, weft_publish(pub, "r", "", "{}", 0));
    BAD(WEFT_ETYPE, weft_publish(pub, "r", "Task.Progress", "{}", 0));
    BAD(WEFT_ETYPE, weft_publish(pub, "r", "task-progress", "{}", 0));
    BAD(WEFT_ETYPE, weft_publish(pub, "r", type65, "{}", 0));
    BAD(WEFT_EKEY, weft_publish_key(pub, "r", "a.b", "", "{}", 0));
    BAD(WEFT_EKEY, weft_publish_key(pub, "r", "a.b", "a b", "{}", 0));
    BAD(WEFT_EKEY, weft_publish_key(pub, "r", "a.b", "a\"b", "{}", 0));
    BAD(WEFT_EKEY, weft_publish_key(pub, "r", "a.b", "a\\b", "{}", 0));
    BAD(WEFT_EKEY, weft_publish_key(pub, "r", "a.b", key129, "{}", 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", NULL, 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", "", 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", "[1,2]", 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", "42", 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", "{\"a\":", 0));
    BAD(WEFT_EJSON, weft_publish(pub, "r", "a.b", "{} {}", 0));
    BAD(WEFT_ETOOBIG, weft_publish(pub, "r", "a.b", big, 0));
    BAD(WEFT_EINVAL, weft_publish(pub, "r", "a.b", "{}", 0x2));
#undef BAD
    assert_int_equal(weft_publish(NULL, "r", "a.b", "{}", 0), WEFT_EINVAL);

    /* The limits themselves are fine. */
    assert_int_equal(weft_publish_key(pub, room128, type64, key128, "{}", WEFT_CRITICAL), 0);
    assert_int_equal(weft_publish(pub, "project:1", "task.progress", " {\"pct\":40} ", 0), 0);

    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.invalid, invalid);
    assert_int_equal(st.published, 2);
    assert_int_equal(st.buffered, 2);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.connected, 0);
    weft_pub_destroy(&pub);
}

/* Events published before the router exists arrive, in order and intact, once it binds. */
static void test_publish_before_router(void **state)
{
    (void)state;
    int port = s_free_port();
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    weft_pub_opts_t o = s_opts("t-early");
    weft_pub_t *pub = weft_pub_new(ep, &o);
    assert_non_null(pub);
    const int n = 200;
    for (int i = 1; i <= n; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 3);
        int flags = i % 10 == 0 ? WEFT_CRITICAL : 0;
        assert_int_equal(weft_publish_key(pub, i % 2 ? "project:1" : "agent:7", "task.progress",
                                          i % 4 == 0 ? NULL : key, json, flags),
                         0);
    }
    s_sleep_ms(150);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.buffered, n);
    assert_int_equal(st.connected, 0);

    fake_router_t *r = s_router_start(port, true);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    weft_pub_stats(pub, &st);
    assert_int_equal(st.published, n);
    assert_int_equal(st.acked, n);
    assert_int_equal(st.buffered, 0);
    assert_int_equal(st.resent, 0);
    assert_int_equal(st.connected, 1);

    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->nrecs, n);
    assert_int_equal(r->bad, 0);
    uint64_t session = r->recs[0].session;
    assert_true(session != 0);
    for (int i = 1; i <= n; i++) {
        const rec_t *rec = &r->recs[i - 1];
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_string_equal(rec->payload, json);
        assert_int_equal(rec->seq, i);
        assert_int_equal(rec->session, session);
        assert_string_equal(rec->pub_id, "t-early");
        assert_string_equal(rec->room, i % 2 ? "project:1" : "agent:7");
        assert_string_equal(rec->type, "task.progress");
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 3);
        assert_string_equal(rec->key, i % 4 == 0 ? "" : key);
        assert_int_equal(rec->flags, i % 10 == 0 ? WIRE_FLAG_CRITICAL : 0);
        assert_true(rec->ts_ns > 1600000000ull * 1000000000ull);
    }
    pthread_mutex_unlock(&r->mu);

    /* Heartbeats flow while connected and carry the last seq and the counters. */
    uint64_t until = base_clock_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool seen = r->heartbeats >= 2 && r->hb_seq == (uint64_t)n &&
                    strstr(r->hb_payload, "\"acked\":200") != NULL;
        pthread_mutex_unlock(&r->mu);
        if (seen)
            break;
        assert_true(base_clock_ms() < until);
        s_sleep_ms(10);
    }
    pthread_mutex_lock(&r->mu);
    json_t *hb = json_loads(r->hb_payload, 0, NULL);
    pthread_mutex_unlock(&r->mu);
    assert_true(json_is_object(hb));
    assert_int_equal(json_integer_value(json_object_get(hb, "published")), n);
    json_decref(hb);

    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* Without a router the buffer fills up: WEFT_EFULL, counted as refused, nothing kept. */
static void test_full_refused(void **state)
{
    (void)state;
    weft_pub_opts_t o = s_opts("t-full");
    o.max_buffered = 5;
    o.linger_ms = 0;
    weft_pub_t *pub = weft_pub_new("tcp://127.0.0.1:1", &o);
    assert_non_null(pub);
    for (int i = 0; i < 5; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), WEFT_EFULL);
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", WEFT_CRITICAL), WEFT_EFULL);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.published, 5);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.buffered, 5);
    assert_int_equal(st.invalid, 0);
    weft_pub_destroy(&pub);

    /* The byte bound: three 100-byte payloads do not fit in 250 bytes. block_ms waits first. */
    o = s_opts("t-full-bytes");
    o.max_buffered_bytes = 250;
    o.block_ms = 100;
    o.linger_ms = 0;
    pub = weft_pub_new("tcp://127.0.0.1:1", &o);
    assert_non_null(pub);
    char json[101];
    snprintf(json, sizeof json, "{\"pad\":\"%090d\"}", 0);
    assert_int_equal(strlen(json), 100);
    assert_int_equal(weft_publish(pub, "r", "a.b", json, 0), 0);
    uint64_t start = base_clock_ms();
    assert_int_equal(weft_publish(pub, "r", "a.b", json, 0), WEFT_EFULL);
    assert_true(base_clock_ms() - start >= 90); /* it did wait block_ms */
    weft_pub_stats(pub, &st);
    assert_int_equal(st.published, 1);
    assert_int_equal(st.refused, 1);
    weft_pub_destroy(&pub);
}

/* block_ms lets a fast publisher wait for acks instead of failing. */
static void test_block_until_acked(void **state)
{
    (void)state;
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-block");
    o.max_buffered = 8;
    o.block_ms = 10000;
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    for (int i = 0; i < 300; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{\"x\":1}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.acked, 300);
    assert_int_equal(st.refused, 0);
    assert_int_equal(s_router_count(r), 300);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* Flush times out without a router and succeeds once the events are acknowledged. */
static void test_flush(void **state)
{
    (void)state;
    int port = s_free_port();
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    weft_pub_opts_t o = s_opts("t-flush");
    weft_pub_t *pub = weft_pub_new(ep, &o);
    assert_non_null(pub);
    assert_int_equal(weft_pub_flush(pub, 0), 0); /* nothing published: nothing to wait for */
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 0), WEFT_ETIMEDOUT);
    assert_int_equal(weft_pub_flush(pub, 150), WEFT_ETIMEDOUT);
    assert_int_equal(weft_pub_flush(NULL, 0), WEFT_EINVAL);

    fake_router_t *r = s_router_start(port, true);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, -1), 0);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.acked, 2);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* A router restart loses the unacknowledged events it had: they are sent again and arrive. */
static void test_router_restart(void **state)
{
    (void)state;
    fake_router_t *r = s_router_start(0, false);
    weft_pub_opts_t o = s_opts("t-restart");
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    assert_true(s_wait_connected(pub, 1, 5000));
    const int n = 50;
    for (int i = 1; i <= n; i++) {
        char json[32];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(weft_publish(pub, "project:1", "a.b", json, 0), 0);
    }
    assert_true(s_router_wait_count(r, n, 5000));
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.buffered, n); /* received, never acknowledged */

    /* Restart first, then turn acks on: the old router must never acknowledge anything. */
    pthread_mutex_lock(&r->mu);
    r->restart = true;
    pthread_mutex_unlock(&r->mu);
    uint64_t until = base_clock_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool restarted = r->generation == 1;
        if (restarted)
            r->ack = true;
        pthread_mutex_unlock(&r->mu);
        if (restarted)
            break;
        assert_true(base_clock_ms() < until);
        s_sleep_ms(5);
    }
    assert_int_equal(weft_pub_flush(pub, 10000), 0);

    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->generation, 1);
    assert_int_equal(r->nrecs, n);
    for (int i = 1; i <= n; i++) {
        char json[32];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(r->recs[i - 1].seq, i);
        assert_string_equal(r->recs[i - 1].payload, json);
    }
    pthread_mutex_unlock(&r->mu);
    weft_pub_stats(pub, &st);
    assert_int_equal(st.acked, n);
    assert_int_equal(st.resent, n);
    assert_int_equal(st.buffered, 0);
    assert_int_equal(st.connected, 1);

    /* Publishing goes on normally in the new connection. */
    assert_int_equal(weft_publish(pub, "project:1", "a.b", "{\"i\":51}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    assert_int_equal(s_router_count(r), n + 1);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* A router that stops reading pushes the publisher to ZeroMQ's high-water mark: sends fail with
 * EAGAIN (ZMQ_XPUB_NODROP) and are retried, and not one event is dropped. */
static void test_backpressure_no_drop(void **state)
{
    (void)state;
    s_log_reset();
    weft_log_set(s_log_capture, NULL);
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-hwm");
    o.max_buffered = 40000;
    o.max_buffered_bytes = 128u * 1024 * 1024;
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    assert_true(s_wait_connected(pub, 1, 5000));
    pthread_mutex_lock(&r->mu);
    r->paused = true;
    pthread_mutex_unlock(&r->mu);
    for (bool seen = false; !seen; s_sleep_ms(2)) {
        pthread_mutex_lock(&r->mu);
        seen = r->pause_seen;
        pthread_mutex_unlock(&r->mu);
    }
    /* 30000 events of 1.5 KiB: more than the send high-water mark (10000 messages), the
     * router's receive queue and the kernel's socket buffers hold together. */
    const int n = 30000;
    static char json[1600];
    for (int i = 1; i <= n; i++) {
        snprintf(json, sizeof json, "{\"i\":%d,\"pad\":\"%01500d\"}", i, 0);
        assert_int_equal(weft_publish(pub, "project:1", "a.b", json, 0), 0);
    }
    s_sleep_ms(300);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.buffered, n); /* nothing acknowledged while the router is not reading */
    assert_true(s_log_has("weft_pub t-hwm: ZeroMQ send queue full")); /* EAGAIN happened */

    pthread_mutex_lock(&r->mu);
    r->paused = false;
    pthread_mutex_unlock(&r->mu);
    assert_int_equal(weft_pub_flush(pub, 20000), 0);
    weft_pub_stats(pub, &st);
    assert_int_equal(st.acked, n);
    assert_int_equal(st.resent, 0); /* every event went exactly once: none was dropped */
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->nrecs, n);
    assert_int_equal(r->dups, 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(r->recs[i].seq, i + 1);
    pthread_mutex_unlock(&r->mu);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* Acks for another session or publisher free nothing; garbage upstream is ignored. */
static void test_foreign_and_bad_acks(void **state)
{
    (void)state;
    s_log_reset();
    weft_log_set(s_log_capture, NULL);
    fake_router_t *r = s_router_start(0, false);
    weft_pub_opts_t o = s_opts("t-foreign");
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_true(s_router_wait_count(r, 3, 5000));
    pthread_mutex_lock(&r->mu);
    uint64_t session = r->recs[0].session;
    pthread_mutex_unlock(&r->mu);

    unsigned char buf[256];
    size_t off = wire_ack_begin(buf, sizeof buf);
    wire_ack_entry_t other_session = {"t-foreign", 9, session + 1, 3};
    wire_ack_entry_t other_pub = {"t-foreigner", 11, session, 3};
    wire_ack_entry_t prefix_pub = {"t-foreig", 8, session, 3};
    off = wire_ack_append(buf, sizeof buf, off, &other_session);
    off = wire_ack_append(buf, sizeof buf, off, &other_pub);
    off = wire_ack_append(buf, sizeof buf, off, &prefix_pub);
    assert_true(off > 0);
    s_router_send_raw(r, buf, off);
    s_router_send_raw(r, "Zgarbage", 8);
    s_router_send_raw(r, "A\x01\x05xy", 5); /* truncated entry */

    /* A correct ack for seq 2 frees exactly two events, after all the junk. */
    off = wire_ack_begin(buf, sizeof buf);
    wire_ack_entry_t mine = {"t-foreign", 9, session, 2};
    off = wire_ack_append(buf, sizeof buf, off, &mine);
    s_router_send_raw(r, buf, off);
    weft_pub_stats_t st;
    uint64_t until = base_clock_ms() + 5000;
    do {
        s_sleep_ms(5);
        weft_pub_stats(pub, &st);
    } while (st.acked < 2 && base_clock_ms() < until);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.buffered, 1);
    assert_int_equal(st.connected, 1);
    assert_true(s_log_has("unexpected upstream message"));
    assert_true(s_log_has("malformed ack frame"));

    /* And the publisher still works. */
    pthread_mutex_lock(&r->mu);
    r->ack = true;
    pthread_mutex_unlock(&r->mu);
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
    weft_log_set(NULL, NULL);
}

/* Destroy without a router gives up after linger_ms and reports the loss. */
static void test_destroy_reports_loss(void **state)
{
    (void)state;
    s_log_reset();
    weft_log_set(s_log_capture, NULL);
    weft_pub_opts_t o = s_opts("t-loss");
    o.linger_ms = 100;
    weft_pub_t *pub = weft_pub_new("tcp://127.0.0.1:1", &o);
    assert_non_null(pub);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    uint64_t start = base_clock_ms();
    weft_pub_destroy(&pub);
    assert_null(pub);
    assert_true(base_clock_ms() - start >= 90);
    assert_true(s_log_has("1: weft_pub t-loss: 3 unacknowledged events lost"));
    assert_int_equal(s_log_warns, 1);
    weft_log_set(NULL, NULL);
}

/* Close waits for acks, then reports exactly the events the router never acknowledged as lost,
 * frees the publisher and nulls the pointer; a second close finds nothing to do. */
static void test_close_reports_lost(void **state)
{
    (void)state;
    s_log_reset();
    weft_log_set(s_log_capture, NULL);
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-close");
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    for (int i = 0; i < 5; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);

    /* The router keeps receiving but stops acknowledging: three events stay unacknowledged. */
    pthread_mutex_lock(&r->mu);
    r->ack = false;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < 3; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_true(s_router_wait_count(r, 8, 5000));

    weft_pub_stats_t fin;
    memset(&fin, 0xab, sizeof fin);
    uint64_t start = base_clock_ms();
    assert_int_equal(weft_pub_close(&pub, 150, &fin), WEFT_ETIMEDOUT);
    assert_true(base_clock_ms() - start >= 140); /* it waited for the acks first */
    assert_null(pub);
    assert_int_equal(fin.published, 8);
    assert_int_equal(fin.acked, 5);
    assert_int_equal(fin.lost, 3);
    assert_int_equal(fin.buffered, 3);
    assert_int_equal(fin.last_seq, 8);
    assert_int_equal(fin.acked_seq, 5);
    assert_int_equal(fin.refused, 0);
    assert_int_equal(fin.invalid, 0);
    assert_true(s_log_has("weft_pub t-close: 3 unacknowledged events lost"));

    /* Closing again: nothing to do, zeroed counters. */
    memset(&fin, 0xab, sizeof fin);
    assert_int_equal(weft_pub_close(&pub, 0, &fin), 0);
    assert_int_equal(fin.published, 0);
    assert_int_equal(fin.lost, 0);
    assert_int_equal(weft_pub_close(NULL, 0, NULL), WEFT_EINVAL);

    /* Everything acknowledged: 0 and nothing lost, also without a stats struct. */
    pthread_mutex_lock(&r->mu);
    r->ack = true;
    pthread_mutex_unlock(&r->mu);
    o = s_opts("t-close-ok");
    pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    for (int i = 0; i < 4; i++)
        assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_close(&pub, 10000, &fin), 0);
    assert_null(pub);
    assert_int_equal(fin.published, 4);
    assert_int_equal(fin.acked, 4);
    assert_int_equal(fin.lost, 0);
    assert_int_equal(fin.buffered, 0);
    pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    assert_int_equal(weft_pub_close(&pub, 10000, NULL), 0);
    assert_null(pub);
    s_router_stop(&r);
}

/* What the ack and state callbacks saw; the callbacks run on the I/O thread. */
typedef struct cb_seen {
    pthread_mutex_t mu;    /* guards the fields below */
    uint64_t acked;        /* events covered by on_ack ranges */
    uint64_t next_first;   /* the first_seq the next range must start at */
    int calls;             /* on_ack calls */
    int bad_ranges;        /* ranges that did not continue the previous one */
    int stats_behind;      /* calls that found stats.acked_seq behind last_seq */
    int flush_rc;          /* what weft_pub_flush() returned inside on_ack */
    int close_rc;          /* what weft_pub_close() returned inside on_ack */
    int states[16];        /* on_state values, in order */
    int nstates;           /* entries in states */
    weft_pub_t *wrong_pub; /* a pub argument other than the expected one, if any */
    weft_pub_t *expect;    /* the publisher the callbacks must be called for */
} cb_seen_t;

/* on_ack: ranges must follow each other from seq 1; also checks what a callback may call. */
static void s_on_ack(weft_pub_t *pub, uint64_t first, uint64_t last, void *arg)
{
    cb_seen_t *seen = arg;
    /* The counters are updated before the callback, and no lock of the publisher is held: this
     * would deadlock otherwise. */
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    int flush_rc = weft_pub_flush(pub, 1000);
    weft_pub_t *self = pub;
    int close_rc = weft_pub_close(&self, 0, NULL);
    pthread_mutex_lock(&seen->mu);
    if (pub != seen->expect || self != pub)
        seen->wrong_pub = pub;
    if (first != seen->next_first || last < first)
        seen->bad_ranges++;
    if (st.acked_seq < last)
        seen->stats_behind++;
    seen->next_first = last + 1;
    seen->acked += last - first + 1;
    seen->calls++;
    seen->flush_rc = flush_rc;
    seen->close_rc = close_rc;
    pthread_mutex_unlock(&seen->mu);
}

/* on_state: records each change. */
static void s_on_state(weft_pub_t *pub, int connected, void *arg)
{
    cb_seen_t *seen = arg;
    pthread_mutex_lock(&seen->mu);
    if (pub != seen->expect)
        seen->wrong_pub = pub;
    if (seen->nstates < 16)
        seen->states[seen->nstates] = connected;
    seen->nstates++;
    pthread_mutex_unlock(&seen->mu);
}

/* A fresh record of callbacks. */
static void s_seen_init(cb_seen_t *seen)
{
    memset(seen, 0, sizeof *seen);
    pthread_mutex_init(&seen->mu, NULL);
    seen->next_first = 1;
}

/* Waits up to ms for the state callback to have been called n times. */
static bool s_wait_states(cb_seen_t *seen, int n, int ms)
{
    uint64_t until = base_clock_ms() + (uint64_t)ms;
    for (;;) {
        pthread_mutex_lock(&seen->mu);
        int have = seen->nstates;
        pthread_mutex_unlock(&seen->mu);
        if (have >= n)
            return true;
        if (base_clock_ms() > until)
            return false;
        s_sleep_ms(5);
    }
}

/* on_ack covers each published event exactly once, in consecutive ranges that match the seqs
 * weft_publish_buf() returned; flush and close refuse to run inside a callback. */
static void test_ack_callback(void **state)
{
    (void)state;
    cb_seen_t seen;
    s_seen_init(&seen);
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-ack-cb");
    o.on_ack = s_on_ack;
    o.callback_arg = &seen;
    o.block_ms = 10000;
    o.max_buffered = 64; /* small, so that many acks arrive while publishing */
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    pthread_mutex_lock(&seen.mu);
    seen.expect = pub;
    pthread_mutex_unlock(&seen.mu);
    const uint64_t n = 2000;
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t seq = 0;
        assert_int_equal(weft_publish_buf(pub, "r", "a.b", NULL, "{}", 2, 0, &seq), 0);
        assert_int_equal(seq, i);
    }
    assert_int_equal(weft_pub_flush(pub, 20000), 0);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.acked, n);
    assert_int_equal(st.acked_seq, n);
    assert_int_equal(st.last_seq, n);

    /* flush() returned once the counters said so; the callback for the last range may still be
     * running. close() joins the I/O thread: after it, every callback has returned. */
    assert_int_equal(weft_pub_close(&pub, 10000, NULL), 0);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.acked, n);
    assert_int_equal(seen.next_first, n + 1);
    assert_int_equal(seen.bad_ranges, 0);
    assert_int_equal(seen.stats_behind, 0);
    assert_null(seen.wrong_pub);
    assert_true(seen.calls >= 2);
    assert_int_equal(seen.flush_rc, WEFT_EINVAL);
    assert_int_equal(seen.close_rc, WEFT_EINVAL);
    pthread_mutex_unlock(&seen.mu);
    pthread_mutex_destroy(&seen.mu);
    s_router_stop(&r);
}

/* on_state sees the router's subscription arrive, go when the router goes away, and come back;
 * a publisher that failed to start never calls it; close does not call it. */
static void test_state_callback(void **state)
{
    (void)state;
    cb_seen_t seen;
    s_seen_init(&seen);
    fake_router_t *r = s_router_start(0, true);
    int port = r->port;
    weft_pub_opts_t o = s_opts("t-state-cb");
    o.on_state = s_on_state;
    o.on_ack = s_on_ack;
    o.callback_arg = &seen;

    /* A call that fails never fires its callbacks, even with a router there to connect to. */
    o.heartbeat_ms = 0;
    assert_null(weft_pub_new(r->endpoint, &o));
    s_sleep_ms(200);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.nstates, 0);
    pthread_mutex_unlock(&seen.mu);
    o.heartbeat_ms = 50;

    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    pthread_mutex_lock(&seen.mu);
    seen.expect = pub;
    pthread_mutex_unlock(&seen.mu);
    assert_true(s_wait_states(&seen, 1, 5000));
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);

    s_router_stop(&r); /* the TCP connection drops: the subscription goes away */
    assert_true(s_wait_states(&seen, 2, 5000));
    r = s_router_start(port, true);
    assert_true(s_wait_states(&seen, 3, 5000));
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_close(&pub, 10000, NULL), 0);
    s_sleep_ms(100);

    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.nstates, 3); /* heartbeats and acks are no state changes */
    assert_int_equal(seen.states[0], 1);
    assert_int_equal(seen.states[1], 0);
    assert_int_equal(seen.states[2], 1);
    assert_int_equal(seen.acked, 2);
    assert_null(seen.wrong_pub);
    pthread_mutex_unlock(&seen.mu);
    pthread_mutex_destroy(&seen.mu);
    s_router_stop(&r);
}

/* weft_publish_buf() takes a payload by pointer and length: the bytes after len are neither
 * read nor sent, the payload need not end in NUL, and every rule of weft_publish() applies. */
static void test_publish_buf(void **state)
{
    (void)state;
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-buf");
    o.max_payload = 64;
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);

    /* Exactly len bytes on the heap, no NUL: under ASan any read past them fails the test. */
    static const char two[] = "{\"k\":\"caf\xc3\xa9\"}{\"x\":1}";
    const size_t first_len = strlen("{\"k\":\"caf\xc3\xa9\"}");
    char *buf = malloc(first_len);
    assert_non_null(buf);
    memcpy(buf, two, first_len);
    uint64_t seq = 99;
    assert_int_equal(
        weft_publish_buf(pub, "room:buf", "a.b", "k1", buf, first_len, WEFT_CRITICAL, &seq), 0);
    assert_int_equal(seq, 1);
    /* The first object of two back to back: only len bytes count. */
    assert_int_equal(weft_publish_buf(pub, "room:buf", "a.b", NULL, two, first_len, 0, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(weft_publish_buf(pub, "room:buf", "a.c", NULL, two, sizeof two - 1, 0, NULL),
                     WEFT_EJSON); /* both objects: not one JSON object */

    int invalid = 1;
#define BAD(expected, call)                                                                        \
    do {                                                                                           \
        seq = 99;                                                                                  \
        assert_int_equal((call), (expected));                                                      \
        assert_int_equal(seq, 0);                                                                  \
        invalid++;                                                                                 \
    } while (0)
    BAD(WEFT_EJSON, weft_publish_buf(pub, "r", "a.b", NULL, "{\"a\":\"x\0y\"}", 11, 0, &seq));
    BAD(WEFT_EJSON, weft_publish_buf(pub, "r", "a.b", NULL, "{\"a\":\"\\u0000\"}", 14, 0, &seq));
    BAD(WEFT_EJSON, weft_publish_buf(pub, "r", "a.b", NULL, buf, 0, 0, &seq));
    BAD(WEFT_EJSON, weft_publish_buf(pub, "r", "a.b", NULL, NULL, 2, 0, &seq));
    /* Too big is refused on the length alone: the two bytes are never read beyond. */
    BAD(WEFT_ETOOBIG, weft_publish_buf(pub, "r", "a.b", NULL, "{}", 65, 0, &seq));
    BAD(WEFT_EROOM, weft_publish_buf(pub, "r r", "a.b", NULL, "{}", 2, 0, &seq));
    BAD(WEFT_ETYPE, weft_publish_buf(pub, "r", "A.B", NULL, "{}", 2, 0, &seq));
    BAD(WEFT_EKEY, weft_publish_buf(pub, "r", "a.b", "a b", "{}", 2, 0, &seq));
    BAD(WEFT_EINVAL, weft_publish_buf(pub, "r", "a.b", NULL, "{}", 2, 0x4, &seq));
#undef BAD
    seq = 99;
    assert_int_equal(weft_publish_buf(NULL, "r", "a.b", NULL, "{}", 2, 0, &seq), WEFT_EINVAL);
    assert_int_equal(seq, 0);

    /* The next accepted event takes the next seq: refused ones take none. */
    assert_int_equal(weft_publish_buf(pub, "room:buf", "a.d", NULL, "{}", 2, 0, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.invalid, invalid);
    assert_int_equal(st.published, 3);
    assert_int_equal(st.last_seq, 3);

    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->nrecs, 3);
    assert_string_equal(r->recs[0].payload, "{\"k\":\"caf\xc3\xa9\"}");
    assert_string_equal(r->recs[0].key, "k1");
    assert_string_equal(r->recs[0].room, "room:buf");
    assert_int_equal(r->recs[0].flags, WIRE_FLAG_CRITICAL);
    assert_int_equal(r->recs[0].seq, 1);
    assert_string_equal(r->recs[1].payload, "{\"k\":\"caf\xc3\xa9\"}");
    assert_string_equal(r->recs[1].key, "");
    assert_string_equal(r->recs[2].payload, "{}");
    assert_string_equal(r->recs[2].type, "a.d");
    pthread_mutex_unlock(&r->mu);
    free(buf);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* The struct of an older caller: weft_pub_opts_t as weft.h v0 had it, followed by bytes that
 * are not the library's to read. */
typedef struct {
    _Alignas(weft_pub_opts_t) unsigned char opts[offsetof(weft_pub_opts_t, on_ack)]; /* v0 */
    unsigned char after[64]; /* must be neither read nor written */
} old_opts_t;

/* The struct sizes are checked: too small is refused, a newer caller's unknown fields must be
 * zero, counters are written only as far as the caller's size. */
static void test_struct_sizes(void **state)
{
    (void)state;
    s_log_reset();
    weft_log_set(s_log_capture, NULL);
    /* Too small for the v0 fields: refused, nothing written. */
    weft_pub_opts_t o;
    memset(&o, 0x5a, sizeof o);
    assert_int_equal(weft_pub_opts_init_sized(&o, 8), WEFT_EINVAL);
    assert_int_equal(weft_pub_opts_init_sized(&o, offsetof(weft_pub_opts_t, max_payload)),
                     WEFT_EINVAL);
    assert_int_equal(o.max_buffered, 0x5a5a5a5a5a5a5a5aull);
    assert_int_equal(weft_pub_opts_init_sized(NULL, sizeof o), WEFT_EINVAL);
    o = s_opts("t-sizes");
    assert_null(weft_pub_new_sized("tcp://127.0.0.1:1", &o, 8));
    assert_true(s_log_has("weft_pub_new: options of 8 bytes"));

    /* An older caller: the v0 size. Defaults go into the v0 fields only, and the library reads
     * only those: the bytes after them would be an on_ack callback at 0xa5a5... to a library
     * that read them, called (and crashing) when the ack arrives. */
    fake_router_t *r = s_router_start(0, true);
    old_opts_t old;
    memset(&old, 0xa5, sizeof old);
    assert_int_equal(weft_pub_opts_init_sized((weft_pub_opts_t *)(void *)&old, sizeof old.opts), 0);
    for (size_t i = 0; i < sizeof old.after; i++)
        assert_int_equal(old.after[i], 0xa5);
    weft_pub_t *pub =
        weft_pub_new_sized(r->endpoint, (weft_pub_opts_t *)(void *)&old, sizeof old.opts);
    assert_non_null(pub);
    assert_int_equal(weft_publish(pub, "r", "a.b", "{}", 0), 0);
    assert_int_equal(weft_pub_flush(pub, 10000), 0);

    /* Counters: too small refused and untouched; the v0 size gets the v0 fields only; the v0
     * entry point writes the same. */
    weft_pub_stats_t st;
    memset(&st, 0xab, sizeof st);
    assert_int_equal(weft_pub_stats_sized(pub, &st, 8), WEFT_EINVAL);
    assert_int_equal(weft_pub_stats_sized(pub, NULL, sizeof st), WEFT_EINVAL);
    assert_int_equal(st.published, 0xababababababababull);
    assert_int_equal(weft_pub_stats_sized(pub, &st, offsetof(weft_pub_stats_t, last_seq)), 0);
    assert_int_equal(st.published, 1);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.connected, 1);
    assert_int_equal(st.last_seq, 0xababababababababull);
    memset(&st, 0xab, sizeof st);
    (weft_pub_stats)(pub, &st);
    assert_int_equal(st.published, 1);
    assert_int_equal(st.last_seq, 0xababababababababull);
    weft_pub_stats(pub, &st);
    assert_int_equal(st.last_seq, 1);
    assert_int_equal(st.acked_seq, 1);

    /* A newer caller: fields beyond ours are zeroed on output... */
    struct {
        weft_pub_stats_t st;
        uint64_t future[2];
    } newer;
    memset(&newer, 0xab, sizeof newer);
    assert_int_equal(weft_pub_stats_sized(pub, &newer.st, sizeof newer), 0);
    assert_int_equal(newer.st.published, 1);
    assert_int_equal(newer.future[0], 0);
    assert_int_equal(newer.future[1], 0);
    weft_pub_stats_t fin;
    memset(&fin, 0xab, sizeof fin);
    assert_int_equal(weft_pub_close_sized(&pub, 0, &fin, 8), WEFT_EINVAL);
    assert_non_null(pub); /* refused: nothing done */
    assert_int_equal(weft_pub_close_sized(&pub, 0, &fin, offsetof(weft_pub_stats_t, last_seq)), 0);
    assert_null(pub);
    assert_int_equal(fin.acked, 1);
    assert_int_equal(fin.lost, 0);
    assert_int_equal(fin.last_seq, 0xababababababababull);
    s_router_stop(&r);

    /* ...and on input must be zero (what a newer weft_pub_opts_init() leaves), or the caller
     * relies on something this library does not do. */
    struct {
        weft_pub_opts_t o;
        uint64_t future;
    } newer_opts;
    memset(&newer_opts, 0xcd, sizeof newer_opts);
    assert_int_equal(weft_pub_opts_init_sized(&newer_opts.o, sizeof newer_opts), 0);
    assert_int_equal(newer_opts.future, 0);
    assert_int_equal(newer_opts.o.heartbeat_ms, 1000);
    newer_opts.o.linger_ms = 0;
    pub = weft_pub_new_sized("tcp://127.0.0.1:1", &newer_opts.o, sizeof newer_opts);
    assert_non_null(pub);
    weft_pub_destroy(&pub);
    newer_opts.future = 1;
    assert_null(weft_pub_new_sized("tcp://127.0.0.1:1", &newer_opts.o, sizeof newer_opts));
    assert_true(s_log_has("the options set fields beyond"));
}

/* Arguments of one publishing thread. */
typedef struct worker {
    weft_pub_t *pub; /* shared publisher */
    int index;       /* thread number, written into every payload */
    int count;       /* events to publish */
    int failures;    /* publishes that did not return 0 */
} worker_t;

/* Publishes count events {"t":index,"i":k} in order. */
static void *s_worker(void *arg)
{
    worker_t *w = arg;
    for (int k = 0; k < w->count; k++) {
        char json[64];
        snprintf(json, sizeof json, "{\"t\":%d,\"i\":%d}", w->index, k);
        if (weft_publish(w->pub, "project:1", "load.test", json, 0) != 0)
            w->failures++;
    }
    return NULL;
}

/* Four threads publishing at once: nothing lost, each thread's events stay in order. */
static void test_concurrent_publishers(void **state)
{
    (void)state;
    fake_router_t *r = s_router_start(0, true);
    weft_pub_opts_t o = s_opts("t-threads");
    o.block_ms = 10000;
    o.max_buffered = 256; /* small, so that the threads also block on acks */
    weft_pub_t *pub = weft_pub_new(r->endpoint, &o);
    assert_non_null(pub);
    enum { THREADS = 4, EACH = 1000 };
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker_t){.pub = pub, .index = i, .count = EACH};
        assert_int_equal(pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(weft_pub_flush(pub, 20000), 0);
    weft_pub_stats_t st;
    weft_pub_stats(pub, &st);
    assert_int_equal(st.published, THREADS * EACH);
    assert_int_equal(st.acked, THREADS * EACH);

    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->nrecs, THREADS * EACH);
    int next[THREADS] = {0};
    for (size_t j = 0; j < r->nrecs; j++) {
        assert_int_equal(r->recs[j].seq, j + 1);
        json_t *doc = json_loads(r->recs[j].payload, 0, NULL);
        assert_non_null(doc);
        int t = (int)json_integer_value(json_object_get(doc, "t"));
        int k = (int)json_integer_value(json_object_get(doc, "i"));
        json_decref(doc);
        assert_true(t >= 0 && t < THREADS);
        assert_int_equal(k, next[t]);
        next[t]++;
    }
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(next[i], EACH);
    weft_pub_destroy(&pub);
    s_router_stop(&r);
}

/* Runs the tests with the log captured. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_defaults),
        cmocka_unit_test(test_new_rejects),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_publish_before_router),
        cmocka_unit_test(test_full_refused),
        cmocka_unit_test(test_block_until_acked),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_router_restart),
        cmocka_unit_test(test_backpressure_no_drop),
        cmocka_unit_test(test_foreign_and_bad_acks),
        cmocka_unit_test(test_destroy_reports_loss),
        cmocka_unit_test(test_close_reports_lost),
        cmocka_unit_test(test_ack_callback),
        cmocka_unit_test(test_state_callback),
        cmocka_unit_test(test_publish_buf),
        cmocka_unit_test(test_struct_sizes),
        cmocka_unit_test(test_concurrent_publishers),
    };
    weft_log_set(s_log_capture, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
