/*
 * test_bench.c: unit tests of weft-bench's pure parts: the WebSocket codec (handshake, frame
 * reader, client frames, and the floor server's side: answer, server headers, client frame
 * reader), the floor server's event frames, the frame scanner, the latency histogram, the seq
 * accounting, the /proc parsers and CPU pinning, the options' checks and the report's medians and
 * JSON. Each test doubles as a usage example.
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
    int n = bench_ws_request(buf, sizeof buf, "127.0.0.1", 8080, "/ws", "KEY");
    assert_true(n > 0);
    assert_non_null(strstr(buf, "GET /ws HTTP/1.1\r\n"));
    assert_non_null(strstr(buf, "Host: 127.0.0.1:8080\r\n"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Key: KEY\r\n"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
    assert_memory_equal(buf + n - 4, "\r\n\r\n", 4);
    assert_int_equal(bench_ws_request(buf, 20, "h", 1, "/", "K"), -1);
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

/* ---- Scanner ----------------------------------------------------------------------------- */

static void test_scan_event(void **state)
{
    (void)state;
    const char *f = "{\"op\":\"event\",\"room\":\"project:1\",\"epoch\":4518532211,\"seq\":17,"
                    "\"type\":\"task.progress\",\"ts\":1790000000123456789,\"data\":{\"pct\":40}}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.room_len, 9);
    assert_memory_equal(m.room, "project:1", 9);
    assert_int_equal(m.epoch, 4518532211ull);
    assert_int_equal(m.seq, 17);
    assert_int_equal(m.ts, 1790000000123456789ull);
    assert_int_equal(m.critical, 0);
    /* The critical flag comes after "data", so an event is read to its end: a payload cut short
     * makes the frame unreadable. */
    const char *g = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"type\":\"t\","
                    "\"ts\":3,\"data\":{{{{";
    assert_int_equal(bench_scan(g, strlen(g), &m), -1);
}

static void test_scan_event_critical(void **state)
{
    (void)state;
    bench_msg_t m;
    /* Exactly as the edge writes a critical event: the flag after "data". */
    const char *f = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"type\":\"t\","
                    "\"ts\":3,\"data\":{\"pad\":\"xx\"},\"critical\":true}";
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.seq, 2);
    assert_int_equal(m.critical, 1);
    /* Before "data", and false. */
    const char *g = "{\"op\":\"event\",\"critical\":true,\"room\":\"r\",\"epoch\":1,\"seq\":2,"
                    "\"ts\":3,\"data\":{}}";
    assert_int_equal(bench_scan(g, strlen(g), &m), 0);
    assert_int_equal(m.critical, 1);
    const char *h = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                    "\"data\":{},\"critical\":false}";
    assert_int_equal(bench_scan(h, strlen(h), &m), 0);
    assert_int_equal(m.critical, 0);
    /* A member "critical" inside data, nested deeper, or inside a string is not the flag. */
    const char *not_flag[] = {
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"critical\":true}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"a\":[{\"critical\":true}],\"b\":{\"critical\":true}}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"s\":\"\\\",\\\"critical\\\":true}\"}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"s\":\"\\\\\",\"critical\":true}}",
    };
    for (size_t i = 0; i < sizeof not_flag / sizeof not_flag[0]; i++) {
        assert_int_equal(bench_scan(not_flag[i], strlen(not_flag[i]), &m), 0);
        assert_int_equal(m.seq, 2);
        assert_int_equal(m.critical, 0);
    }
    /* The real flag after a data object that has a "critical" of its own. */
    const char *both = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                       "\"data\":{\"critical\":false},\"critical\":true}";
    assert_int_equal(bench_scan(both, strlen(both), &m), 0);
    assert_int_equal(m.critical, 1);
    /* Not a boolean: the frame does not scan. */
    const char *bad = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                      "\"data\":{},\"critical\":1}";
    assert_int_equal(bench_scan(bad, strlen(bad), &m), -1);
}

static void test_scan_batch_critical(void **state)
{
    (void)state;
    /* A batch frame has no top-level flag; "critical" inside an entry's data is not one either,
     * and an entry's own member "critical":true (never sent by the edge) is reported per entry. */
    const char *f =
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"from_seq\":1,\"to_seq\":3,\"events\":["
        "{\"seq\":1,\"type\":\"a\",\"ts\":100,\"data\":{\"critical\":true}},"
        "{\"seq\":2,\"type\":\"a\",\"ts\":101,\"data\":{\"x\":{\"critical\":true}}},"
        "{\"seq\":3,\"type\":\"a\",\"ts\":102,\"data\":{},\"critical\":true}]}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_BATCH);
    assert_int_equal(m.critical, 0);
    bench_batch_it_t it;
    bench_batch_begin(&it, &m);
    uint64_t seq, ts;
    int crit = -1;
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(crit, 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 2);
    assert_int_equal(crit, 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 3);
    assert_int_equal(crit, 1);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
}

static void test_scan_event_any_order_and_whitespace(void **state)
{
    (void)state;
    const char *f = " { \"data\" : {\"a\":\"}\\\"{\",\"b\":[1,{\"c\":2}]} , \"ts\" : 9 ,"
                    "\"critical\":true, \"seq\":5,\"epoch\":7,\"room\":\"x\",\"op\":\"event\"}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.seq, 5);
    assert_int_equal(m.ts, 9);
    assert_int_equal(m.epoch, 7);
}

static void test_scan_subscribed_and_others(void **state)
{
    (void)state;
    bench_msg_t m;
    const char *a = "{\"op\":\"subscribed\",\"room\":\"r1\"}";
    assert_int_equal(bench_scan(a, strlen(a), &m), 0);
    assert_int_equal(m.op, BENCH_OP_SUBSCRIBED);
    assert_int_equal(m.recovered, -1);
    const char *b = "{\"op\":\"subscribed\",\"room\":\"r1\",\"recovered\":false,\"epoch\":3,"
                    "\"seq\":99,\"reason\":\"too_old\"}";
    assert_int_equal(bench_scan(b, strlen(b), &m), 0);
    assert_int_equal(m.recovered, 0);
    assert_int_equal(m.epoch, 3);
    assert_int_equal(m.seq, 99);
    const char *c = "{\"op\":\"welcome\",\"edge\":\"e1\",\"protocol\":1,\"max_message\":65536}";
    assert_int_equal(bench_scan(c, strlen(c), &m), 0);
    assert_int_equal(m.op, BENCH_OP_WELCOME);
    const char *d = "{\"op\":\"error\",\"code\":\"bad_json\",\"message\":\"x\"}";
    assert_int_equal(bench_scan(d, strlen(d), &m), 0);
    assert_int_equal(m.op, BENCH_OP_ERROR);
    const char *e = "{\"op\":\"whatever\",\"x\":null}";
    assert_int_equal(bench_scan(e, strlen(e), &m), 0);
    assert_int_equal(m.op, BENCH_OP_OTHER);
}

static void test_scan_rejects_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "[]",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2}", /* no ts */
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":-2,\"ts\":1}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2.5,\"ts\":1}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":99999999999999999999,\"ts\":1}",
        "{\"op\":\"event\" \"room\":\"r\"}",
        "{\"op\":\"subscribed\",\"room\":\"r\"",
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":1}", /* no events */
        "{\"op\":\"subscribed\",\"recovered\":maybe}",
        "{\"op\":\"x\",\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bench_msg_t m;
        assert_int_equal(bench_scan(bad[i], strlen(bad[i]), &m), -1);
    }
}

static void test_scan_batch(void **state)
{
    (void)state;
    const char *f =
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"from_seq\":10,\"to_seq\":12,\"events\":["
        "{\"seq\":10,\"type\":\"a.b\",\"ts\":100,\"data\":{\"x\":[1,2,{\"y\":\"]\"}]}},"
        "{\"seq\":11,\"type\":\"a.b\",\"ts\":101,\"data\":{}} ,"
        " {\"seq\":12,\"type\":\"a.b\",\"ts\":102,\"data\":{\"z\":\"\\\"}\"},\"critical\":true}]}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_BATCH);
    assert_int_equal(m.epoch, 8);
    bench_batch_it_t it;
    bench_batch_begin(&it, &m);
    uint64_t seq, ts;
    for (uint64_t k = 0; k < 3; k++) {
        assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 1);
        assert_int_equal(seq, 10 + k);
        assert_int_equal(ts, 100 + k);
    }
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    /* Empty and broken arrays. */
    const char *e = "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"events\":[]}";
    assert_int_equal(bench_scan(e, strlen(e), &m), 0);
    bench_batch_begin(&it, &m);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    const char *b = "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"events\":[{\"seq\":1}]}";
    assert_int_equal(bench_scan(b, strlen(b), &m), 0);
    bench_batch_begin(&it, &m);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), -1); /* no ts */
}

/* ---- Histogram --------------------------------------------------------------------------- */

static void test_hist_buckets(void **state)
{
    (void)state;
    /* Every value lies within its bucket, and buckets are at most 1/64 wide. */
    uint64_t values[] = {0, 1, 127, 128, 129, 255, 256, 1000, 123456789, (1ull << 39) + 12345};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t idx = bench_hist_index(values[i]);
        assert_true(idx < BENCH_HIST_BUCKETS);
        uint64_t up = bench_hist_upper(idx);
        assert_true(values[i] <= up);
        uint64_t low = idx ? bench_hist_upper(idx - 1) + 1 : 0;
        assert_true(values[i] >= low);
        assert_true((double)(up - low + 1) <= (double)values[i] / 64.0 + 1.0);
    }
    /* Monotonic and contiguous. */
    for (size_t i = 1; i < BENCH_HIST_BUCKETS; i++)
        assert_int_equal(bench_hist_index(bench_hist_upper(i - 1) + 1), i);
    assert_int_equal(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
}

static void test_hist_quantiles(void **state)
{
    (void)state;
    bench_hist_t *h = calloc(1, sizeof *h);
    assert_int_equal(bench_hist_quantile(h, 0.5), 0);
    /* 1..10000 microseconds, in ns. */
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_record(h, v * 1000);
    assert_int_equal(h->count, 10000);
    assert_int_equal(h->max, 10000000);
    assert_int_equal(h->min, 1000);
    double p50 = (double)bench_hist_quantile(h, 0.5), p99 = (double)bench_hist_quantile(h, 0.99);
    assert_true(p50 >= 5000000 && p50 <= 5000000 * 1.016);
    assert_true(p99 >= 9900000 && p99 <= 9900000 * 1.016);
    assert_int_equal(bench_hist_quantile(h, 1.0), 10000000); /* capped at the exact max */
    /* Merging two halves gives the same answer. */
    bench_hist_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_record(v % 2 ? a : b, v * 1000);
    bench_hist_merge(a, b);
    assert_int_equal(a->count, 10000);
    assert_int_equal(bench_hist_quantile(a, 0.99), bench_hist_quantile(h, 0.99));
    assert_int_equal(a->min, 1000);
    bench_hist_reset(a);
    assert_int_equal(a->count, 0);
    free(a);
    free(b);
    free(h);
}

/* ---- Seq accounting ---------------------------------------------------------------------- */

static void test_seq_in_order_gap_dup(void **state)
{
    (void)state;
    bench_seq_t s = {0};
    bench_seq_tally_t t = {0};
    assert_false(bench_seq_started(&s));
    assert_true(bench_seq_event(&s, 7, 5, &t)); /* starts wherever the stream starts */
    assert_true(bench_seq_event(&s, 7, 6, &t));
    assert_true(bench_seq_event(&s, 7, 9, &t));  /* 7 and 8 lost */
    assert_false(bench_seq_event(&s, 7, 8, &t)); /* late or repeated: duplicate */
    assert_false(bench_seq_event(&s, 7, 9, &t));
    assert_true(bench_seq_event(&s, 7, 10, &t));
    assert_int_equal(t.delivered, 4);
    assert_int_equal(t.lost, 2);
    assert_int_equal(t.duplicates, 2);
    assert_true(bench_seq_reached(&s, 10));
    assert_false(bench_seq_reached(&s, 11));
    assert_int_equal(bench_seq_missing(&s, 13), 3);
    assert_int_equal(bench_seq_missing(&s, 10), 0);
}

static void test_seq_notice_and_epoch(void **state)
{
    (void)state;
    bench_seq_t s = {0};
    bench_seq_tally_t t = {0};
    bench_seq_event(&s, 1, 1, &t);
    bench_seq_notice(&s, 1, 5, &t); /* 2..5 are gone */
    assert_int_equal(t.lost, 4);
    assert_int_equal(t.notices, 1);
    assert_true(bench_seq_event(&s, 1, 6, &t));
    assert_int_equal(t.lost, 4);
    bench_seq_notice(&s, 2, 0, &t); /* router restarted: new epoch, nothing stamped yet */
    assert_int_equal(t.epoch_changes, 1);
    assert_true(bench_seq_event(&s, 2, 1, &t));
    assert_int_equal(t.lost, 4);
    assert_true(bench_seq_event(&s, 3, 40, &t)); /* an epoch change without notice */
    assert_int_equal(t.epoch_changes, 2);
    assert_int_equal(bench_seq_missing(&(bench_seq_t){0}, 100), 0); /* never started */
}

/* ---- /proc ------------------------------------------------------------------------------- */

static void test_proc_parsers(void **state)
{
    (void)state;
    const char *stat = "1234 (weft edge) (x) S 1 1234 1234 0 -1 4194560 1193 0 0 0 "
                       "250 75 0 0 20 0 3 0 12345 123456789 4321 18446744073709551615";
    uint64_t ticks = 0;
    assert_int_equal(bench_proc_parse_stat(stat, &ticks), 0);
    assert_int_equal(ticks, 325);
    assert_int_equal(bench_proc_parse_stat("1234 (x) S 1 2", &ticks), -1);
    assert_int_equal(bench_proc_parse_stat("no paren", &ticks), -1);
    const char *status =
        "Name:\tweft-edge\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
    uint64_t kib = 0;
    assert_int_equal(bench_proc_parse_rss(status, &kib), 0);
    assert_int_equal(kib, 12345);
    assert_int_equal(bench_proc_parse_rss("Name:\tzombie\nState:\tZ\n", &kib), -1);
    /* And the live readers on ourselves. */
    uint64_t ns;
    assert_int_equal(bench_proc_cpu_ns(getpid(), &ns), 0);
    assert_int_equal(bench_proc_rss_kib(getpid(), &kib), 0);
    assert_true(kib > 0);
    assert_int_equal(bench_proc_rss_kib(-5, &kib), -1);
}

/* ---- Report ------------------------------------------------------------------------------ */

/* Pinning this process to a CPU it may use works for all its threads; a CPU that does not exist
 * is refused with EINVAL. The original mask is restored. */
static void test_proc_pin(void **state)
{
    (void)state;
    cpu_set_t saved;
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved))
        cpu++;
    int threads = 0;
    assert_int_equal(bench_proc_pin(0, cpu, &threads), 0);
    assert_true(threads >= 1);
    cpu_set_t now;
    assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
    assert_int_equal(CPU_COUNT(&now), 1);
    assert_true(CPU_ISSET(cpu, &now));
    assert_int_equal(bench_proc_pin(0, -1, &threads), -1);
    assert_int_equal(bench_proc_pin(0, CPU_SETSIZE, &threads), -1);
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
}

/* Parses a command line; returns the action (messages go to /dev/null). */
static base_conf_action_t s_parse(bench_opts_t *o, int argc, char **argv)
{
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    memset(o, 0, sizeof *o);
    base_conf_action_t rc = bench_opts_parse(o, argc, argv, null, null);
    fclose(null);
    return rc;
}

/* The new flags and how they fit with the modes. */
static void test_opts_floor_raw_pinning(void **state)
{
    (void)state;
    bench_opts_t o;
    char *floor[] = {"weft-bench", "--mode", "floor", "--floor-pack", "10", "--clients", "5"};
    assert_int_equal(s_parse(&o, 7, floor), BASE_CONF_RUN);
    assert_int_equal(o.mode_id, BENCH_MODE_FLOOR);
    assert_int_equal(o.floor_pack, 10);
    assert_int_equal(o.router_cpu, -1);
    assert_string_equal(o.publisher, "libweft");
    bench_opts_free(&o);
    char *raw[] = {"weft-bench", "--spawn",      "--mode", "router",      "--publisher",
                   "raw",        "--router-cpu", "1",      "--bench-cpu", "0"};
    assert_int_equal(s_parse(&o, 10, raw), BASE_CONF_RUN);
    assert_string_equal(o.publisher, "raw");
    assert_int_equal(o.router_cpu, 1);
    assert_int_equal(o.bench_cpu, 0);
    bench_opts_free(&o);
    /* Refused: a floor with a router, a pack without the floor, an unknown publisher, pinning a
     * router whose pid is unknown. */
    char *floor_router[] = {"weft-bench", "--mode", "floor", "--router-cpu", "1"};
    assert_int_equal(s_parse(&o, 5, floor_router), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *floor_raw[] = {"weft-bench", "--mode", "floor", "--publisher", "raw"};
    assert_int_equal(s_parse(&o, 5, floor_raw), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *pack[] = {"weft-bench", "--spawn", "--floor-pack", "2"};
    assert_int_equal(s_parse(&o, 4, pack), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *bogus[] = {"weft-bench", "--spawn", "--publisher", "zmq"};
    assert_int_equal(s_parse(&o, 4, bogus), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *nopid[] = {"weft-bench",
                     "--mode",
                     "router",
                     "--router-intake",
                     "tcp://127.0.0.1:1",
                     "--router-fanout",
                     "tcp://127.0.0.1:2",
                     "--router-cpu",
                     "1"};
    assert_int_equal(s_parse(&o, 9, nopid), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
}

static void test_opts_critical_every(void **state)
{
    (void)state;
    bench_opts_t o;
    char *dflt[] = {"weft-bench", "--spawn"};
    assert_int_equal(s_parse(&o, 2, dflt), BASE_CONF_RUN);
    assert_int_equal(o.critical_every, 0);
    bench_opts_free(&o);
    char *ten[] = {"weft-bench", "--spawn", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 4, ten), BASE_CONF_RUN);
    assert_int_equal(o.critical_every, 10);
    bench_opts_free(&o);
    /* Refused where nothing goes through an edge: the floor server and idle mode. */
    char *floor[] = {"weft-bench", "--mode", "floor", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 5, floor), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *idle[] = {"weft-bench", "--spawn", "--mode", "idle", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 6, idle), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *neg[] = {"weft-bench", "--spawn", "--critical-every", "-1"};
    assert_int_equal(s_parse(&o, 4, neg), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
}

/* ---- Accounting -------------------------------------------------------------------------- */

static void test_acct_critical_histogram(void **state)
{
    (void)state;
    bench_ctl_t *ctl = bench_ctl_new(1, 1);
    assert_non_null(ctl);
    atomic_store(&ctl->run, 1);
    atomic_store(&ctl->window_start_ns, 1000);
    uint32_t room = 0;
    bench_acct_t *a = bench_acct_new(ctl, 0, 1, &room);
    assert_non_null(a);
    bench_acct_tick(a);
    /* seq 1 plain, seq 2 critical, seq 2 again (a duplicate: not counted), seq 3 critical but
     * published before the window (counted, not timed). */
    bench_acct_event(a, 0, 7, 1, 2000, 3000, false);
    bench_acct_event(a, 0, 7, 2, 2000, 7000, true);
    bench_acct_event(a, 0, 7, 2, 2000, 7000, true);
    bench_acct_event(a, 0, 7, 3, 500, 7000, true);
    const bench_result_t *r = bench_acct_result(a);
    assert_int_equal(r->seq.delivered, 3);
    assert_int_equal(r->seq.duplicates, 1);
    assert_int_equal(r->seq.lost, 0);
    assert_int_equal(r->critical, 2);
    assert_int_equal(r->latency.count, 2);
    assert_int_equal(r->critical_latency.count, 1);
    assert_int_equal(r->critical_latency.max, 5000);
    assert_int_equal(r->latency.max, 5000);
    assert_int_equal(r->latency.min, 1000);
    bench_acct_destroy(&a);
    assert_null(a);
    bench_ctl_destroy(&ctl);
}

static void test_report_medians_and_json(void **state)
{
    (void)state;
    double v[] = {3, NAN, 1, 2};
    assert_true(bench_median(v, 4) == 2);
    double w[] = {4, 1, 3, 2};
    assert_true(bench_median(w, 4) == 2.5);
    double none[] = {NAN};
    assert_true(isnan(bench_median(none, 1)));

    bench_sample_t runs[3];
    for (int i = 0; i < 3; i++) {
        bench_sample_init(&runs[i]);
        runs[i].v[BENCH_M_LOST] = 0;
        runs[i].v[BENCH_M_LAT_P99] = 10.0 * (i + 1);
    }
    json_t *j = bench_report_json(runs, 3);
    assert_non_null(j);
    json_t *med = json_object_get(j, "median");
    assert_true(json_is_integer(json_object_get(med, "lost")));
    assert_int_equal(json_integer_value(json_object_get(med, "lost")), 0);
    assert_true(json_real_value(json_object_get(med, "latency_p99_ms")) == 20.0);
    assert_true(json_is_null(json_object_get(med, "cpu_router_s")));
    assert_true(json_is_null(json_object_get(med, "critical_events")));
    assert_true(json_is_null(json_object_get(med, "critical_latency_p99_ms")));
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 3);
    json_decref(j);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bench_report_table(f, "title", runs, 3);
    fclose(f);
    assert_non_null(strstr(text, "latency p99 (ms)"));
    assert_non_null(strstr(text, "20.000"));
    assert_null(strstr(text, "router CPU")); /* never measured: no row */
    assert_null(strstr(text, "critical"));   /* no critical events: no rows */
    free(text);
    /* With critical events: their rows, in the table and in JSON. */
    runs[1].v[BENCH_M_CRIT_EVENTS] = 100;
    runs[1].v[BENCH_M_CRIT_P99] = 4.5;
    j = bench_report_json(runs, 3);
    assert_non_null(j);
    med = json_object_get(j, "median");
    assert_int_equal(json_integer_value(json_object_get(med, "critical_events")), 100);
    assert_true(json_real_value(json_object_get(med, "critical_latency_p99_ms")) == 4.5);
    json_decref(j);
    f = open_memstream(&text, &len);
    bench_report_table(f, "title", runs, 3);
    fclose(f);
    assert_non_null(strstr(text, "critical events delivered (run)"));
    assert_non_null(strstr(text, "critical latency p99 (ms)"));
    free(text);
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
        cmocka_unit_test(test_scan_event),
        cmocka_unit_test(test_scan_event_critical),
        cmocka_unit_test(test_scan_batch_critical),
        cmocka_unit_test(test_scan_event_any_order_and_whitespace),
        cmocka_unit_test(test_scan_subscribed_and_others),
        cmocka_unit_test(test_scan_rejects_malformed),
        cmocka_unit_test(test_scan_batch),
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_hist_quantiles),
        cmocka_unit_test(test_seq_in_order_gap_dup),
        cmocka_unit_test(test_seq_notice_and_epoch),
        cmocka_unit_test(test_proc_parsers),
        cmocka_unit_test(test_proc_pin),
        cmocka_unit_test(test_opts_floor_raw_pinning),
        cmocka_unit_test(test_opts_critical_every),
        cmocka_unit_test(test_acct_critical_histogram),
        cmocka_unit_test(test_report_medians_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
