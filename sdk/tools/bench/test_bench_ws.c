/*
 * test_bench_ws.c: unit tests of weft-bench's WebSocket codec (bench_ws.h): the handshake, the
 * client frames, the frame reader, and the floor server's side (answer, server headers, client
 * frame reader) with its event frames. Each test doubles as a usage example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_acct.h"
#include "bench_floor.h"
#include "bench_hist.h"
#include "bench_opts.h"
#include "bench_proc.h"
#include "bench_report.h"
#include "bench_scan.h"
#include "bench_seq.h"
#include "bench_ws.h"

/* ---- Handshake --------------------------------------------------------------------------- */

/* RFC 6455 section 1.3's example key and answer. */
static void test_ws_accept_rfc_example(void **state)
{
    (void)state;
    char accept[BENCH_WS_ACCEPT_LEN + 1];
    assert_int_equal(bench_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(bench_ws_accept("short", accept), -1);
}

static void test_ws_key_is_base64_of_16_bytes(void **state)
{
    (void)state;
    char k1[BENCH_WS_KEY_LEN + 1], k2[BENCH_WS_KEY_LEN + 1];
    bench_ws_key(1, 2, k1);
    bench_ws_key(1, 3, k2);
    assert_int_equal(strlen(k1), BENCH_WS_KEY_LEN);
    assert_string_equal(k1 + 22, "==");
    assert_string_not_equal(k1, k2);
    bench_ws_key(1, 2, k2);
    assert_string_equal(k1, k2); /* derived, so it can be made again to check the answer */
}

static void test_ws_request(void **state)
{
    (void)state;
    char buf[512];
    int n = bench_ws_request(buf, sizeof buf, "127.0.0.1", 8080, "/ws", "KEY", NULL);
    assert_true(n > 0);
    assert_null(strstr(buf, "Authorization"));
    assert_non_null(strstr(buf, "GET /ws HTTP/1.1\r\n"));
    assert_non_null(strstr(buf, "Host: 127.0.0.1:8080\r\n"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Key: KEY\r\n"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
    assert_memory_equal(buf + n - 4, "\r\n\r\n", 4);
    assert_int_equal(bench_ws_request(buf, 20, "h", 1, "/", "K", NULL), -1);
    /* With a token: one Bearer header, still ending the header block. */
    n = bench_ws_request(buf, sizeof buf, "h", 1, "/ws", "K", "a.b.c");
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\r\nAuthorization: Bearer a.b.c\r\n\r\n"));
    assert_memory_equal(buf + n - 4, "\r\n\r\n", 4);
    assert_int_equal(bench_ws_request(buf, sizeof buf, "h", 1, "/ws", "K", ""),
                     bench_ws_request(buf, sizeof buf, "h", 1, "/ws", "K", NULL));
}

static void test_ws_response(void **state)
{
    (void)state;
    const char *acc = "s3pPLMBiTxaQ9kxXOo0LoGgWQ+s=";
    const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kxXOo0LoGgWQ+s="
                      "\r\n\r\n\x81\x02hi";
    int status = 0;
    ssize_t h = bench_ws_response(ok, sizeof ok - 1, acc, &status);
    assert_int_equal(status, 101);
    assert_int_equal(h, (ssize_t)(sizeof ok - 1 - 4)); /* the frame after it is not header */
    /* Incomplete: wait for more. */
    assert_int_equal(bench_ws_response(ok, 30, acc, &status), 0);
    /* Wrong accept value. */
    assert_int_equal(bench_ws_response(ok, sizeof ok - 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &status),
                     -1);
    /* Refused. */
    const char full[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(bench_ws_response(full, sizeof full - 1, acc, &status), -1);
    assert_int_equal(status, 503);
    const char junk[] = "garbage\r\n\r\n";
    assert_int_equal(bench_ws_response(junk, sizeof junk - 1, acc, &status), -1);
    assert_int_equal(status, 0);
}

/* ---- Client frames ----------------------------------------------------------------------- */

/* Unmasks a client frame and checks its header. Returns the payload length. */
static size_t s_unmask(const uint8_t *f, size_t flen, unsigned op, uint8_t *payload)
{
    assert_int_equal(f[0], 0x80 | op);
    assert_true(f[1] & 0x80);
    size_t len = f[1] & 0x7F, i = 2;
    if (len == 126) {
        len = ((size_t)f[2] << 8) | f[3];
        i = 4;
    } else if (len == 127) {
        len = 0;
        for (int b = 0; b < 8; b++)
            len = (len << 8) | f[2 + b];
        i = 10;
    }
    const uint8_t *key = f + i;
    i += 4;
    assert_int_equal(flen, i + len);
    for (size_t j = 0; j < len; j++)
        payload[j] = f[i + j] ^ key[j & 3];
    return len;
}

static void test_ws_encode_lengths_and_mask(void **state)
{
    (void)state;
    static uint8_t frame[70000], back[70000], text[66000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)('a' + i % 26);
    size_t sizes[] = {0, 5, 125, 126, 65535, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = bench_ws_encode(frame, sizeof frame, BENCH_WS_TEXT, text, sizes[k], 0xA1B2C3D4);
        assert_true(n > sizes[k]);
        assert_int_equal(s_unmask(frame, n, BENCH_WS_TEXT, back), sizes[k]);
        assert_memory_equal(back, text, sizes[k]);
    }
    /* The mask really is applied. */
    size_t n = bench_ws_encode(frame, sizeof frame, BENCH_WS_TEXT, "abcd", 4, 0x01020304);
    assert_int_equal(n, 10);
    assert_memory_equal(frame + 2, "\x01\x02\x03\x04", 4);
    assert_int_equal(frame[6], 'a' ^ 1);
    /* Too small a buffer. */
    assert_int_equal(bench_ws_encode(frame, 8, BENCH_WS_TEXT, "abcd", 4, 1), 0);
}

/* ---- Frame reader ------------------------------------------------------------------------ */

/* What the reader handed to the callback. */
typedef struct got {
    int n;              /* calls */
    unsigned op[16];    /* their opcodes */
    char text[16][256]; /* their payloads */
    size_t len[16];     /* their lengths */
    int stop_at;        /* return nonzero on this call number (1-based), 0 never */
} got_t;

static int s_collect(void *arg, unsigned op, const uint8_t *payload, size_t len)
{
    got_t *g = arg;
    if (g->n < 16) {
        g->op[g->n] = op;
        g->len[g->n] = len;
        snprintf(g->text[g->n], sizeof g->text[g->n], "%.*s", (int)len, (const char *)payload);
    }
    g->n++;
    return g->stop_at && g->n == g->stop_at;
}

/* Writes an unmasked server frame; returns its length. */
static size_t s_server_frame(uint8_t *out, unsigned fin_op, const char *payload, size_t len)
{
    size_t i = 0;
    out[i++] = (uint8_t)fin_op;
    if (len < 126) {
        out[i++] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        out[i++] = 126;
        out[i++] = (uint8_t)(len >> 8);
        out[i++] = (uint8_t)len;
    } else {
        out[i++] = 127;
        for (int b = 0; b < 8; b++)
            out[i++] = (uint8_t)((uint64_t)len >> (56 - 8 * b));
    }
    memcpy(out + i, payload, len);
    return i + len;
}

static void test_wsr_whole_frames_in_place(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = s_server_frame(buf, 0x81, "{\"op\":\"welcome\"}", 16);
    n += s_server_frame(buf + n, 0x89, "pi", 2);
    n += s_server_frame(buf + n, 0x81, "second", 6);
    bench_wsr_t r = {0};
    got_t g = {0};
    size_t need;
    const char *err;
    assert_int_equal(bench_wsr_feed(&r, buf, n, 1 << 20, s_collect, &g, &need, &err), (ssize_t)n);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.op[0], BENCH_WS_TEXT);
    assert_string_equal(g.text[0], "{\"op\":\"welcome\"}");
    assert_int_equal(g.op[1], BENCH_WS_PING);
    assert_string_equal(g.text[1], "pi");
    assert_string_equal(g.text[2], "second");
    assert_int_equal(need, 0);
    assert_null(r.frag); /* nothing was assembled: no allocation */
    bench_wsr_reset(&r);
}

/* Feeding a stream one byte more at a time must give the same messages as feeding it whole,
 * however the reads cut it. */
static void test_wsr_any_split(void **state)
{
    (void)state;
    static char big[70000];
    memset(big, 'z', sizeof big);
    static uint8_t stream[80000];
    size_t n = s_server_frame(stream, 0x81, "a", 1);
    n += s_server_frame(stream + n, 0x81, big, 300);        /* 16-bit length */
    n += s_server_frame(stream + n, 0x81, big, sizeof big); /* 64-bit length */
    n += s_server_frame(stream + n, 0x8A, "", 0);           /* pong */
    for (size_t cut = 1; cut < n; cut += 997) {
        bench_wsr_t r = {0};
        got_t g = {0};
        size_t need;
        const char *err;
        ssize_t used = bench_wsr_feed(&r, stream, cut, 1 << 20, s_collect, &g, &need, &err);
        assert_true(used >= 0 && (size_t)used <= cut);
        ssize_t rest = bench_wsr_feed(&r, stream + used, n - (size_t)used, 1 << 20, s_collect, &g,
                                      &need, &err);
        assert_int_equal((size_t)used + (size_t)rest, n);
        assert_int_equal(g.n, 4);
        assert_int_equal(g.len[1], 300);
        assert_int_equal(g.len[2], sizeof big);
        assert_int_equal(g.op[3], BENCH_WS_PONG);
        bench_wsr_reset(&r);
    }
}

static void test_wsr_reports_need(void **state)
{
    (void)state;
    static char big[1000];
    memset(big, 'q', sizeof big);
    uint8_t buf[1100];
    size_t n = s_server_frame(buf, 0x81, big, sizeof big);
    bench_wsr_t r = {0};
    got_t g = {0};
    size_t need = 99;
    const char *err;
    assert_int_equal(bench_wsr_feed(&r, buf, 1, 1 << 20, s_collect, &g, &need, &err), 0);
    assert_int_equal(need, 0); /* not even the header */
    assert_int_equal(bench_wsr_feed(&r, buf, 10, 1 << 20, s_collect, &g, &need, &err), 0);
    assert_int_equal(need, n); /* header read: the frame needs n bytes */
    assert_int_equal(g.n, 0);
}

static void test_wsr_fragmented_message_with_ping_inside(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = s_server_frame(buf, 0x01, "{\"op\":", 6); /* text, no FIN */
    n += s_server_frame(buf + n, 0x89, "p", 1);          /* ping in between */
    n += s_server_frame(buf + n, 0x00, "\"event\",", 8); /* continuation, no FIN */
    n += s_server_frame(buf + n, 0x80, "\"seq\":1}", 8); /* final continuation */
    n += s_server_frame(buf + n, 0x81, "after", 5);
    bench_wsr_t r = {0};
    got_t g = {0};
    size_t need;
    const char *err;
    assert_int_equal(bench_wsr_feed(&r, buf, n, 1 << 20, s_collect, &g, &need, &err), (ssize_t)n);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.op[0], BENCH_WS_PING);
    assert_int_equal(g.op[1], BENCH_WS_TEXT);
    assert_string_equal(g.text[1], "{\"op\":\"event\",\"seq\":1}");
    assert_string_equal(g.text[2], "after");
    bench_wsr_reset(&r);
}

/* Each violation is reported, never asserted on. */
static void test_wsr_protocol_errors(void **state)
{
    (void)state;
    struct {
        uint8_t bytes[12];
        size_t len;
        const char *what;
    } cases[] = {
        {{0xC1, 0x00}, 2, "reserved bits"},
        {{0x81, 0x80, 1, 2, 3, 4}, 6, "masked"},
        {{0x83, 0x00}, 2, "reserved opcode"},
        {{0x80, 0x01, 'x'}, 3, "continuation"},
        {{0x09, 0x00}, 2, "control frame"},
        {{0x89, 0x7E, 0x00, 0x80}, 4, "control frame"},
        {{0x81, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, "64-bit"},
        {{0x81, 0x7E, 0xFF, 0xFF}, 4, "larger than the limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bench_wsr_t r = {0};
        got_t g = {0};
        size_t need;
        const char *err = NULL;
        assert_int_equal(
            bench_wsr_feed(&r, cases[i].bytes, cases[i].len, 1000, s_collect, &g, &need, &err), -1);
        assert_non_null(err);
        assert_non_null(strstr(err, cases[i].what));
        bench_wsr_reset(&r);
    }
    /* A new message inside a fragmented one. */
    uint8_t buf[32];
    size_t n = s_server_frame(buf, 0x01, "ab", 2);
    n += s_server_frame(buf + n, 0x81, "cd", 2);
    bench_wsr_t r = {0};
    got_t g = {0};
    size_t need;
    const char *err = NULL;
    assert_int_equal(bench_wsr_feed(&r, buf, n, 1000, s_collect, &g, &need, &err), -1);
    assert_non_null(strstr(err, "inside a fragmented"));
    bench_wsr_reset(&r);
    /* Fragments adding up beyond the limit. */
    n = s_server_frame(buf, 0x01, "abcdef", 6);
    n += s_server_frame(buf + n, 0x80, "ghijkl", 6);
    assert_int_equal(bench_wsr_feed(&r, buf, n, 10, s_collect, &g, &need, &err), -1);
    bench_wsr_reset(&r);
}

static void test_wsr_callback_stops(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = s_server_frame(buf, 0x88, "\x03\xe9", 2); /* close 1001 */
    size_t first = n;
    n += s_server_frame(buf + n, 0x81, "late", 4);
    bench_wsr_t r = {0};
    got_t g = {.stop_at = 1};
    size_t need;
    const char *err;
    assert_int_equal(bench_wsr_feed(&r, buf, n, 1000, s_collect, &g, &need, &err), (ssize_t)first);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.op[0], BENCH_WS_CLOSE);
}

/* ---- Server side (floor server) ---------------------------------------------------------- */

/* RFC 6455 section 1.3's example: key dGhlIHNhbXBsZSBub25jZQ== is answered with
 * s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, and the bench's own client accepts the answer. */
static void test_ws_answer_rfc_example(void **state)
{
    (void)state;
    const char req[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n\x81\x80";
    char out[512];
    size_t used = 0;
    int n = bench_ws_answer(req, sizeof req - 1, out, sizeof out, &used);
    assert_true(n > 0);
    assert_int_equal(used, sizeof req - 1 - 2); /* the frame bytes after it are not request */
    assert_non_null(strstr(out, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    int status = 0;
    assert_int_equal(bench_ws_response(out, (size_t)n, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &status), n);
    assert_int_equal(status, 101);
    /* Incomplete: wait. No key, or not a GET: refused. Too small an output: refused. */
    assert_int_equal(bench_ws_answer(req, 40, out, sizeof out, &used), 0);
    const char nokey[] = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(bench_ws_answer(nokey, sizeof nokey - 1, out, sizeof out, &used), -1);
    const char post[] = "POST /ws HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    assert_int_equal(bench_ws_answer(post, sizeof post - 1, out, sizeof out, &used), -1);
    assert_int_equal(bench_ws_answer(req, sizeof req - 1, out, 40, &used), -1);
}

/* Server headers for each length class, read back by the client's frame reader. */
static void test_ws_server_header(void **state)
{
    (void)state;
    static uint8_t frame[70000 + BENCH_WS_SERVER_HEADER], text[70000];
    memset(text, 'q', sizeof text);
    size_t sizes[] = {0, 125, 126, 65535, 65536};
    size_t hdrs[] = {2, 2, 4, 4, 10};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t h = bench_ws_server_header(frame, BENCH_WS_TEXT, sizes[k]);
        assert_int_equal(h, hdrs[k]);
        memcpy(frame + h, text, sizes[k]);
        bench_wsr_t r = {0};
        got_t g = {0};
        size_t need;
        const char *err;
        assert_int_equal(
            bench_wsr_feed(&r, frame, h + sizes[k], 1 << 20, s_collect, &g, &need, &err),
            (ssize_t)(h + sizes[k]));
        assert_int_equal(g.n, 1);
        assert_int_equal(g.op[0], BENCH_WS_TEXT);
        assert_int_equal(g.len[0], sizes[k]);
        bench_wsr_reset(&r);
    }
}

/* What the bench's client sends, the floor server reads: every length class, any cut. */
static void test_ws_client_frame(void **state)
{
    (void)state;
    static uint8_t frame[70000];
    static char text[66000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    size_t sizes[] = {0, 40, 125, 126, 65535, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = bench_ws_encode(frame, sizeof frame, BENCH_WS_TEXT, text, sizes[k], 0xA1B2C3D4u);
        bench_ws_cframe_t f;
        const char *err = NULL;
        for (size_t cut = 0; cut < n; cut += (cut < 20 ? 1 : 997))
            assert_int_equal(bench_ws_client_frame(frame, cut, 1 << 20, &f, &err), 0);
        assert_int_equal(bench_ws_client_frame(frame, n, 1 << 20, &f, &err), (ssize_t)n);
        assert_int_equal(f.opcode, BENCH_WS_TEXT);
        assert_int_equal(f.fin, 1);
        assert_int_equal(f.payload_len, sizes[k]);
        assert_int_equal(f.payload_off + f.payload_len, n);
        bench_ws_unmask(frame + f.payload_off, &f);
        assert_memory_equal(frame + f.payload_off, text, sizes[k]);
        /* Over the limit. */
        if (sizes[k] > 100) {
            n = bench_ws_encode(frame, sizeof frame, BENCH_WS_TEXT, text, sizes[k], 1);
            assert_int_equal(bench_ws_client_frame(frame, n, 100, &f, &err), -1);
            assert_non_null(err);
        }
    }
    /* A server (unmasked) frame or reserved bits from a client break the protocol. */
    uint8_t bad[] = {0x81, 0x02, 'h', 'i'};
    const char *err = NULL;
    bench_ws_cframe_t f;
    assert_int_equal(bench_ws_client_frame(bad, sizeof bad, 100, &f, &err), -1);
    uint8_t rsv[] = {0xC1, 0x80, 0, 0, 0, 0};
    assert_int_equal(bench_ws_client_frame(rsv, sizeof rsv, 100, &f, &err), -1);
}

/* The floor server's event frame: exactly an edge's JSON, readable by the bench's client. */
static void test_floor_frame(void **state)
{
    (void)state;
    uint8_t buf[3 * 1024];
    const char *data = "{\"pad\":\"xxxx\"}";
    size_t n = bench_floor_frame(buf, sizeof buf, "bench-0000abcd-3", 4518532211ull, 17, "bench.ev",
                                 1790000000123456789ull, data, strlen(data));
    const char *want = "{\"op\":\"event\",\"room\":\"bench-0000abcd-3\",\"epoch\":4518532211,"
                       "\"seq\":17,\"type\":\"bench.ev\",\"ts\":1790000000123456789,"
                       "\"data\":{\"pad\":\"xxxx\"}}";
    /* 133 bytes of JSON: over 125, so a 16-bit length follows the first two bytes. */
    assert_int_equal(strlen(want), 133);
    assert_int_equal(n, 4 + strlen(want));
    assert_int_equal(buf[0], 0x81);
    assert_int_equal(buf[1], 126);
    assert_int_equal((size_t)buf[2] << 8 | buf[3], strlen(want));
    assert_memory_equal(buf + 4, want, strlen(want));
    /* Valid JSON, and what the client's scanner reads. */
    json_t *doc = json_loadb((const char *)buf + 4, n - 4, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_object(json_object_get(doc, "data")));
    json_decref(doc);
    bench_msg_t m;
    assert_int_equal(bench_scan((const char *)buf + 4, n - 4, &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.epoch, 4518532211ull);
    assert_int_equal(m.seq, 17);
    assert_int_equal(m.ts, 1790000000123456789ull);
    /* A pack: K frames one after the other, read as K events. */
    size_t len = n;
    len += bench_floor_frame(buf + len, sizeof buf - len, "r", 1, 18, "bench.ev", 5, data,
                             strlen(data));
    len += bench_floor_frame(buf + len, sizeof buf - len, "r", 1, 19, "bench.ev", 6, data,
                             strlen(data));
    bench_wsr_t r = {0};
    got_t g = {0};
    size_t need;
    const char *err;
    assert_int_equal(bench_wsr_feed(&r, buf, len, 1 << 20, s_collect, &g, &need, &err),
                     (ssize_t)len);
    assert_int_equal(g.n, 3);
    assert_int_equal(bench_scan(g.text[2], g.len[2], &m), 0);
    assert_int_equal(m.seq, 19);
    /* A payload that needs the 16-bit length; and too small a buffer. */
    static char big[300];
    memset(big, 'x', sizeof big);
    big[0] = '{';
    big[1] = '}';
    n = bench_floor_frame(buf, sizeof buf, "r", 1, 1, "t", 1, "{}", 2);
    assert_true(n > 2 && buf[1] < 126);
    n = bench_floor_frame(buf, sizeof buf, "r", 1, 1, "t", 1, big, sizeof big);
    assert_int_equal(buf[1], 126);
    assert_int_equal(((size_t)buf[2] << 8 | buf[3]) + 4, n);
    assert_int_equal(bench_floor_frame(buf, 50, "r", 1, 1, "t", 1, big, sizeof big), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_accept_rfc_example),
        cmocka_unit_test(test_ws_key_is_base64_of_16_bytes),
        cmocka_unit_test(test_ws_request),
        cmocka_unit_test(test_ws_response),
        cmocka_unit_test(test_ws_encode_lengths_and_mask),
        cmocka_unit_test(test_wsr_whole_frames_in_place),
        cmocka_unit_test(test_wsr_any_split),
        cmocka_unit_test(test_wsr_reports_need),
        cmocka_unit_test(test_wsr_fragmented_message_with_ping_inside),
        cmocka_unit_test(test_wsr_protocol_errors),
        cmocka_unit_test(test_wsr_callback_stops),
        cmocka_unit_test(test_ws_answer_rfc_example),
        cmocka_unit_test(test_ws_server_header),
        cmocka_unit_test(test_ws_client_frame),
        cmocka_unit_test(test_floor_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
