/*
 * hostile_browser.c: hostile input on the edge's browser port (docs/security.md, "Hostile
 * input"), each case answered as documented and counted, while a well-behaved client on the
 * same edge receives every event of a steady publisher.
 *
 * One router and one edge (--auth none) with small limits so that each case is quick. The
 * well-behaved client subscribes to "steady"; every wait in this test publishes one event there
 * every 100 ms, and at the end the client must have exactly every one of them, in order. Bad
 * bytes go through a bare socket client (raw_t below) that can send anything, bind another
 * loopback source address (127.0.0.2, not exempt from max_conns_per_ip) and stop reading. The
 * counters are read from the edge's summary at exit.
 */
#include "it_fabric.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base_clock.h"

#define STEADY_EVERY_MS 100 /* the steady publisher's period */
#define IDLE_MS 1500        /* --idle-timeout-ms */
#define HEADER_S 2          /* --header-timeout */
#define PER_IP 3            /* --max-conns-per-ip (127.0.0.1 exempt) */
#define FRAGMENTS 8         /* --max-fragments */
#define MAX_SUBS 4          /* --max-subscriptions */
#define OTHER_IP "127.0.0.2"

/* ---- a bare WebSocket client --------------------------------------------------------------- */

/* One TCP connection to the edge, read without blocking. */
typedef struct raw {
    int fd;                     /* the socket, -1 once closed */
    unsigned char buf[1 << 16]; /* bytes read and not yet parsed */
    size_t len;                 /* how many */
    int status;                 /* the HTTP status of the upgrade answer, 0 before */
    char body[256];             /* the start of a refused upgrade's body */
    bool upgraded;              /* 101 came: what follows is frames */
    int close_code;             /* the edge's close frame's code, 0 before */
    char reason[128];           /* and its reason */
    bool ended;                 /* the edge closed the TCP connection */
    json_t *texts;              /* every text frame, parsed */
} raw_t;

/* Connects from src (NULL: any) to the edge's port, with SO_RCVBUF rcvbuf when > 0. */
static raw_t *raw_open(const char *src, int port, int rcvbuf)
{
    raw_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->texts = json_array();
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(r->fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("connect: %s", strerror(errno));
    return r;
}

/* Closes and frees. */
static void raw_free(raw_t **r_p)
{
    raw_t *r = *r_p;
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    json_decref(r->texts);
    free(r);
    *r_p = NULL;
}

/* Sends n bytes (blocking). Returns 0, or -1 when the edge has closed. */
static int raw_send(raw_t *r, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = send(r->fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends a masked frame: first byte b0 (FIN and opcode), n bytes of data. */
static int raw_frame(raw_t *r, unsigned b0, const void *data, size_t n)
{
    unsigned char f[14 + 1024];
    assert_true(n <= 1024);
    size_t h = 0;
    f[h++] = (unsigned char)b0;
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    }
    static const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
    return raw_send(r, f, h + n);
}

/* A final text frame. */
static int raw_text(raw_t *r, const char *text)
{
    return raw_frame(r, 0x81, text, strlen(text));
}

/* Parses what was read: the HTTP answer, then the edge's frames (unmasked). */
static void raw_parse(raw_t *r)
{
    if (!r->status) {
        unsigned char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (sscanf((char *)r->buf, "HTTP/1.%*d %d", &r->status) != 1)
            fail_msg("not an HTTP answer: '%.*s'", (int)(end - r->buf), (const char *)r->buf);
        size_t head = (size_t)(end + 4 - r->buf);
        r->upgraded = r->status == 101;
        size_t body = r->len - head < sizeof r->body - 1 ? r->len - head : sizeof r->body - 1;
        memcpy(r->body, end + 4, body);
        r->body[body] = '\0';
        memmove(r->buf, r->buf + head, r->len - head);
        r->len -= head;
        if (!r->upgraded)
            r->len = 0;
    }
    while (r->upgraded && r->len >= 2) {
        size_t h = 2, n = r->buf[1] & 0x7f;
        if (n == 126) {
            if (r->len < 4)
                return;
            n = (size_t)r->buf[2] << 8 | r->buf[3];
            h = 4;
        } else if (n == 127) {
            if (r->len < 10)
                return;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | r->buf[2 + i];
            h = 10;
        }
        if (r->len < h + n)
            return;
        int op = r->buf[0] & 0x0f;
        const unsigned char *p = r->buf + h;
        if (op == 1) {
            json_t *frame = json_loadb((const char *)p, n, 0, NULL);
            assert_non_null(frame);
            json_array_append_new(r->texts, frame);
        } else if (op == 8 && n >= 2) {
            r->close_code = p[0] << 8 | p[1];
            snprintf(r->reason, sizeof r->reason, "%.*s", (int)(n - 2), (const char *)p + 2);
        }
        memmove(r->buf, r->buf + h + n, r->len - h - n);
        r->len -= h + n;
    }
}

/* Reads whatever is there without blocking. */
static void raw_poll(raw_t *r)
{
    while (r->fd >= 0 && !r->ended && r->len < sizeof r->buf) {
        ssize_t k = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k <= 0) {
            r->ended = true;
            break;
        }
        r->len += (size_t)k;
        raw_parse(r);
    }
    raw_parse(r);
}

/* The i-th text frame's string field, or "". */
static const char *raw_field(const raw_t *r, size_t i, const char *field)
{
    const char *s = json_string_value(json_object_get(json_array_get(r->texts, i), field));
    return s ? s : "";
}

/* ---- the fabric and the steady publisher --------------------------------------------------- */

typedef struct test_ctx {
    it_fabric_t *fab;        /* router and edge */
    ts_wsc_t *wsc;           /* the well-behaved client's context */
    weft_pub_t *pub;         /* publishes "steady" and "flood" */
    ts_wsc_conn_t *healthy;  /* subscribed to "steady" */
    int port;                /* the edge's port */
    int steady_sent;         /* events published to "steady" */
    uint64_t next_steady_ms; /* when the next one is due (0: not started) */
    int per_ip_refused;      /* upgrades that got 429 */
    int ready;               /* set up completed */
} test_ctx_t;

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* Services the client and publishes the steady event when it is due, for about ms. */
static void s_pump(test_ctx_t *ctx, int ms)
{
    uint64_t now = base_clock_ms();
    if (ctx->next_steady_ms && now >= ctx->next_steady_ms) {
        char json[48];
        snprintf(json, sizeof json, "{\"n\":%d}", ctx->steady_sent);
        assert_int_equal(it_publish(ctx->pub, "steady", "test.steady", json), 0);
        ctx->steady_sent++;
        ctx->next_steady_ms = now + STEADY_EVERY_MS;
    }
    ts_wsc_service(ctx->wsc, ms);
}

/* Pumps until r has what done() wants (or timeout_ms): returns the ms it took, -1 on timeout. */
static int s_wait_raw(test_ctx_t *ctx, raw_t *r, bool (*done)(raw_t *), int timeout_ms)
{
    uint64_t start = base_clock_ms();
    for (;;) {
        raw_poll(r);
        if (done(r))
            return (int)(base_clock_ms() - start);
        if (base_clock_ms() - start > (uint64_t)timeout_ms)
            return -1;
        s_pump(ctx, 10);
    }
}

/* done(): the upgrade answer came. */
static bool s_answered(raw_t *r)
{
    return r->status != 0 || r->ended;
}

/* done(): the edge's close frame came, or the connection ended. */
static bool s_closed(raw_t *r)
{
    return r->close_code != 0 || r->ended;
}

/* done(): at least two text frames (welcome + one answer). */
static bool s_two(raw_t *r)
{
    return json_array_size(r->texts) >= 2 || r->ended;
}

/* A raw connection from src, upgraded; asserts 101 and the welcome. */
static raw_t *s_upgraded(test_ctx_t *ctx, const char *src, int rcvbuf)
{
    raw_t *r = raw_open(src, ctx->port, rcvbuf);
    char req[256];
    snprintf(req, sizeof req,
             "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: "
             "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n",
             ctx->port);
    assert_int_equal(raw_send(r, req, strlen(req)), 0);
    assert_true(s_wait_raw(ctx, r, s_answered, IT_WAIT_MS) >= 0);
    return r;
}

/* s_upgraded() that must succeed (101 and the welcome). */
static raw_t *s_client(test_ctx_t *ctx, const char *src, int rcvbuf)
{
    raw_t *r = s_upgraded(ctx, src, rcvbuf);
    if (r->status != 101)
        fail_msg("upgrade answered %d: %s", r->status, r->body);
    return r;
}

/* Expects the edge's close with code and reason, within IT_WAIT_MS. */
static void s_expect_close(test_ctx_t *ctx, raw_t *r, int code, const char *reason)
{
    assert_true(s_wait_raw(ctx, r, s_closed, IT_WAIT_MS) >= 0);
    if (r->close_code != code || strcmp(r->reason, reason) != 0)
        fail_msg("closed with %d '%s', want %d '%s'", r->close_code, r->reason, code, reason);
}

/* Sends text and waits for one more text frame or the close. */
static void s_send_wait(test_ctx_t *ctx, raw_t *r, const char *text)
{
    size_t before = json_array_size(r->texts);
    assert_int_equal(raw_text(r, text), 0);
    uint64_t end = base_clock_ms() + IT_WAIT_MS;
    while (json_array_size(r->texts) == before && !s_closed(r) && base_clock_ms() < end) {
        s_pump(ctx, 5);
        raw_poll(r);
    }
    assert_true(json_array_size(r->texts) > before || s_closed(r));
}

/* Sends a ping and expects the pong as the next frame (the connection still works). */
static void s_expect_pong(test_ctx_t *ctx, raw_t *r)
{
    size_t before = json_array_size(r->texts);
    s_send_wait(ctx, r, "{\"op\":\"ping\"}");
    assert_string_equal(raw_field(r, before, "op"), "pong");
}

/* On a fresh connection, one frame (first byte b0, n bytes of data) must make the edge close
 * with code and reason. */
static void s_frame_closes(test_ctx_t *ctx, unsigned b0, const char *data, size_t n, int code,
                           const char *reason)
{
    raw_t *r = s_client(ctx, NULL, 0);
    assert_int_equal(raw_frame(r, b0, data, n), 0);
    s_expect_close(ctx, r, code, reason);
    raw_free(&r);
}

/* ---- the cases ---------------------------------------------------------------------------- */

/* Starts the router and the edge with small limits; the steady client joins "steady". */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    const char *extra[] = {"--idle-timeout-ms",
                           "1500",
                           "--header-timeout",
                           "2",
                           "--max-conns-per-ip",
                           "3",
                           "--conns-per-ip-exempt",
                           "127.0.0.1",
                           "--max-fragments",
                           "8",
                           "--max-subscriptions",
                           "4",
                           "--rate-limit-per-min",
                           "1",
                           "--max-queue-frames",
                           "64",
                           "--max-queue-bytes",
                           "256k",
                           "--stats-interval",
                           "0",
                           NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "hostile", extra), 0);
    ctx->port = it_fabric_edge_port(ctx->fab, 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    ctx->healthy = ts_wsc_connect(ctx->wsc, ctx->port, "healthy");
    assert_non_null(ctx->healthy);
    assert_int_equal(ts_wsc_wait_open(ctx->healthy, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->healthy, "steady", IT_WAIT_MS), 0);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->next_steady_ms = base_clock_ms();
    ctx->ready = 1;
}

/* Malformed frames: lws closes with 1002 (a reserved opcode; a continuation with nothing to
 * continue). */
static void test_malformed_frames(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    s_frame_closes(ctx, 0x83, "x", 1, 1002, "bad opc");
    s_frame_closes(ctx, 0x80, "x", 1, 1002, "bad cont");
}

/* Invalid UTF-8 in a text frame: lws closes with 1007. */
static void test_invalid_utf8(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    s_frame_closes(ctx, 0x81, "{\"op\":\"\xff\xfe\"}", 11, 1007, "bad utf8");
}

/* A message of exactly max_fragments fragments is handled; one of more is closed with 1008. */
static void test_fragment_flood(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 0);
    const char *ping = "{\"op\":\"ping\",\"id\":\"fra\"}"; /* 24 bytes: 8 fragments of 3 */
    for (int i = 0; i < FRAGMENTS; i++)
        assert_int_equal(
            raw_frame(r, (i == 0 ? 0x01 : 0x00) | (i == FRAGMENTS - 1 ? 0x80 : 0), ping + 3 * i, 3),
            0);
    assert_true(s_wait_raw(ctx, r, s_two, IT_WAIT_MS) >= 0);
    assert_string_equal(raw_field(r, 1, "op"), "pong");
    assert_string_equal(raw_field(r, 1, "id"), "fra");
    assert_int_equal(raw_frame(r, 0x01, "{", 1), 0);
    for (int i = 0; i < 50; i++)
        if (raw_frame(r, 0x00, "", 0) < 0)
            break;
    s_expect_close(ctx, r, 1008, "too many fragments");
    raw_free(&r);
}

/* A frame announcing more than max_message is refused at its first bytes with 1009. */
static void test_oversized(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 0);
    unsigned char head[14] = {0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4}; /* 1 MiB */
    assert_int_equal(raw_send(r, head, sizeof head), 0);
    assert_int_equal(raw_send(r, "{\"op\":", 6), 0);
    s_expect_close(ctx, r, 1009, "message too big");
    raw_free(&r);
}

/* JSON nested deeper than 32 levels: error too_deep, the connection goes on; unknown ops:
 * error unknown_op, likewise. */
static void test_deep_json_unknown_op(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 0);
    char deep[128] = "{\"op\":\"ping\",\"x\":";
    size_t n = strlen(deep);
    for (int i = 0; i < 32; i++)
        deep[n + i] = '[';
    n += 32;
    for (int i = 0; i < 32; i++)
        deep[n + i] = ']';
    n += 32;
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(raw_text(r, deep), 0);
    assert_true(s_wait_raw(ctx, r, s_two, IT_WAIT_MS) >= 0);
    assert_string_equal(raw_field(r, 1, "op"), "error");
    assert_string_equal(raw_field(r, 1, "code"), "too_deep");
    assert_string_equal(raw_field(r, 1, "message"), "JSON nested deeper than 32 levels");
    s_expect_pong(ctx, r);
    s_send_wait(ctx, r, "{\"op\":\"explode\"}");
    assert_string_equal(raw_field(r, 3, "code"), "unknown_op");
    assert_string_equal(raw_field(r, 3, "message"), "unknown op 'explode'");
    s_expect_pong(ctx, r);
    raw_free(&r);
}

/* Subscribe storm: max_subscriptions rooms, then too_many_subscriptions; then a message flood
 * meets the rate limit (burst 10, no refill at 1 a minute): 19 rate_limited, then close 1008. */
static void test_subscribe_storm(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 0);
    /* One message at a time, each answer awaited, so that every frame is seen. */
    for (int i = 0; i <= MAX_SUBS; i++) {
        char sub[64];
        snprintf(sub, sizeof sub, "{\"op\":\"subscribe\",\"room\":\"storm%d\"}", i);
        s_send_wait(ctx, r, sub);
    }
    for (int i = 0; i < 30 && !r->close_code; i++)
        s_send_wait(ctx, r, "{\"op\":\"ping\"}");
    s_expect_close(ctx, r, 1008, "rate limit exceeded");
    size_t subscribed = 0, too_many = 0, pongs = 0, limited = 0;
    for (size_t i = 1; i < json_array_size(r->texts); i++) {
        const char *op = raw_field(r, i, "op"), *code = raw_field(r, i, "code");
        subscribed += strcmp(op, "subscribed") == 0;
        too_many += strcmp(code, "too_many_subscriptions") == 0;
        pongs += strcmp(op, "pong") == 0;
        limited += strcmp(code, "rate_limited") == 0;
    }
    assert_int_equal(subscribed, MAX_SUBS);
    assert_int_equal(too_many, 1);
    assert_int_equal(pongs, 10 - MAX_SUBS - 1);
    assert_int_equal(limited, 19);
    raw_free(&r);
}

/* A client that stops reading while its room floods is closed with 4008 once its queue passes
 * max_queue_frames (64); the steady client, in another room, loses nothing. */
static void test_slow_reader(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 4096);
    assert_int_equal(raw_text(r, "{\"op\":\"subscribe\",\"room\":\"flood\"}"), 0);
    assert_true(s_wait_raw(ctx, r, s_two, IT_WAIT_MS) >= 0);
    assert_string_equal(raw_field(r, 1, "op"), "subscribed");
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    /* 6 MB without reading: more than the edge's queue (256 KiB) plus what the kernel may buffer
     * on loopback (a send buffer autotuned up to 4 MiB), so the queue must overflow however the
     * kernel sizes its buffers (1 MB sometimes all fit in them). */
    char pad[1100];
    memset(pad, 'p', 1000);
    for (int i = 0; i < 6000; i++) {
        snprintf(pad + 1000, 100, "%d", i);
        char json[1200];
        snprintf(json, sizeof json, "{\"pad\":\"%s\"}", pad);
        assert_int_equal(it_publish(ctx->pub, "flood", "test.flood", json), 0);
        if (i % 50 == 0)
            s_pump(ctx, 1);
    }
    s_expect_close(ctx, r, 4008, "slow consumer");
    raw_free(&r);
}

/* Slowloris: request headers one byte a second are dropped at header_timeout (2 s, lws's
 * timer: within 3 s), before any answer. */
static void test_slowloris(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = raw_open(NULL, ctx->port, 0);
    const char *req = "GET /ws HTTP/1.1\r\nHost: x\r\n";
    uint64_t start = base_clock_ms();
    for (size_t i = 0; i < strlen(req) && !r->ended; i++) {
        if (raw_send(r, req + i, 1) < 0)
            break;
        uint64_t next = base_clock_ms() + 1000;
        while (base_clock_ms() < next && !r->ended) {
            s_pump(ctx, 20);
            raw_poll(r);
        }
    }
    uint64_t took = base_clock_ms() - start;
    assert_true(r->ended);
    assert_int_equal(r->status, 0);
    if (took < (HEADER_S - 1) * 1000 || took > (HEADER_S + 2) * 1000)
        fail_msg("dropped after %llu ms, want about %d s", (unsigned long long)took, HEADER_S);
    raw_free(&r);
}

/* Header bombs: headers over lws's header buffer (4 KiB without tokens) are dropped without an
 * upgrade, and the edge serves the next client. */
static void test_header_bomb(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = raw_open(NULL, ctx->port, 0);
    static char bomb[16384];
    size_t n = (size_t)snprintf(bomb, sizeof bomb, "GET /ws HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; n < sizeof bomb - 64; i++)
        n += (size_t)snprintf(bomb + n, sizeof bomb - n, "X-Bomb-%d: %040d\r\n", i, i);
    raw_send(r, bomb, n); /* the edge may hang up before it has everything */
    assert_true(s_wait_raw(ctx, r, s_answered, IT_WAIT_MS) >= 0);
    assert_true(r->ended);
    assert_int_equal(r->status, 0); /* no answer at all */
    raw_free(&r);
    r = raw_open(NULL, ctx->port, 0); /* a plain request is served (and not counted) */
    const char *get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(raw_send(r, get, strlen(get)), 0);
    assert_true(s_wait_raw(ctx, r, s_answered, IT_WAIT_MS) >= 0);
    assert_int_equal(r->status, 200);
    raw_free(&r);
    r = s_client(ctx, NULL, 0);
    s_expect_pong(ctx, r);
    raw_free(&r);
}

/* max_conns_per_ip: three connections from 127.0.0.2, the fourth and a flood of ten more get
 * HTTP 429 before any WebSocket exists; 127.0.0.1 (exempt) is not limited; once one closes,
 * there is room again. */
static void test_per_ip_cap(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *c[PER_IP];
    for (int i = 0; i < PER_IP; i++) {
        c[i] = s_client(ctx, OTHER_IP, 0);
        s_expect_pong(ctx, c[i]); /* a valid op: not idle */
    }
    for (int i = 0; i < 11; i++) {
        raw_t *r = s_upgraded(ctx, OTHER_IP, 0);
        assert_int_equal(r->status, 429);
        assert_non_null(strstr(r->body, "too many connections from this address"));
        raw_free(&r);
    }
    raw_t *local = s_client(ctx, NULL, 0);
    s_expect_pong(ctx, local);
    raw_free(&local);
    raw_free(&c[0]);
    int refused = 11;
    for (;;) {
        raw_t *r = s_upgraded(ctx, OTHER_IP, 0);
        int status = r->status;
        raw_free(&r);
        if (status == 101)
            break;
        assert_int_equal(status, 429);
        refused++;
        s_pump(ctx, 50);
    }
    for (int i = 1; i < PER_IP; i++)
        raw_free(&c[i]);
    ctx->per_ip_refused = refused; /* checked at exit (test_counters) */
}

/* A connection that sends no valid op within idle_timeout_ms is closed with 4002 "idle". */
static void test_idle(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    raw_t *r = s_client(ctx, NULL, 0);
    assert_int_equal(raw_text(r, "not json"), 0); /* an invalid op does not count */
    uint64_t start = base_clock_ms();
    s_expect_close(ctx, r, 4002, "idle");
    uint64_t took = base_clock_ms() - start;
    if (took > IDLE_MS + 1500)
        fail_msg("idle close after %llu ms, want about %d", (unsigned long long)took, IDLE_MS);
    raw_free(&r);
}

/* The steady client got every steady event exactly once, in order; the edge counted each case
 * by its reason and logged it. */
static void test_counters(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ctx->next_steady_ms = 0; /* the publisher stops */
    int sent = ctx->steady_sent;
    assert_true(sent > 20);
    if (ts_wsc_wait_count(ctx->healthy, "event", "steady", (size_t)sent, IT_WAIT_MS) != 0)
        fail_msg("the steady client got %zu of %d events: %s",
                 ts_wsc_count_op(ctx->healthy, "event", "steady"), sent,
                 ts_wsc_describe(ctx->healthy));
    ts_wsc_service(ctx->wsc, 300); /* nothing more may come */
    assert_int_equal(ts_wsc_count_op(ctx->healthy, "event", "steady"), (size_t)sent);
    int next = 0;
    for (size_t i = 0; i < ts_wsc_frame_count(ctx->healthy); i++) {
        json_t *f = ts_wsc_frame(ctx->healthy, i);
        if (strcmp(json_string_value(json_object_get(f, "op")), "event") != 0)
            continue;
        json_t *data = json_object_get(f, "data");
        assert_int_equal(json_integer_value(json_object_get(data, "n")), next);
        next++;
    }
    assert_int_equal(next, sent);
    assert_int_equal(ts_wsc_close_code(ctx->healthy), 0);
    weft_pub_destroy(&ctx->pub);
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    char per_ip[64];
    snprintf(per_ip, sizeof per_ip, " per_ip=%d ", ctx->per_ip_refused);
    /* http_incomplete: the slowloris, the header bomb, and it_fabric's readiness probe of the
     * port (a bare TCP connect). */
    const char *want[] = {" 1002_protocol=2 ",
                          " 1007_bad_utf8=1 ",
                          " 1008_fragments=1 ",
                          " 1009_too_big=1 ",
                          " 1008_rate_limit=1 ",
                          " 4008_slow_consumer=1 ",
                          " 4002_idle=1",
                          " too_deep=1",
                          " unknown_op=1 ",
                          " bad_json=1 ",
                          " too_many_subscriptions=1 ",
                          " rate_limited=20 ",
                          per_ip,
                          " http_incomplete=3 ",
                          "lws closed a connection with 1002 (malformed frame)",
                          "lws closed a connection with 1007 (invalid UTF-8 in a text frame)",
                          "refusing a WebSocket: max_conns_per_ip (3) reached",
                          "closing a connection: 4002 idle",
                          "closing a connection: 1008 too many fragments",
                          "closing a connection: 1009 message too big",
                          "http: a connection ended before its headers were complete",
                          "client error too_deep: JSON nested deeper than 32 levels",
                          NULL};
    for (int i = 0; want[i]; i++)
        if (ts_proc_log_count(edge, want[i]) < 1)
            fail_msg("the edge's log lacks '%s'", want[i]);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("hostile_browser");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_malformed_frames, &ctx),
        cmocka_unit_test_prestate(test_invalid_utf8, &ctx),
        cmocka_unit_test_prestate(test_fragment_flood, &ctx),
        cmocka_unit_test_prestate(test_oversized, &ctx),
        cmocka_unit_test_prestate(test_deep_json_unknown_op, &ctx),
        cmocka_unit_test_prestate(test_subscribe_storm, &ctx),
        cmocka_unit_test_prestate(test_slow_reader, &ctx),
        cmocka_unit_test_prestate(test_slowloris, &ctx),
        cmocka_unit_test_prestate(test_header_bomb, &ctx),
        cmocka_unit_test_prestate(test_per_ip_cap, &ctx),
        cmocka_unit_test_prestate(test_idle, &ctx),
        cmocka_unit_test_prestate(test_counters, &ctx),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
