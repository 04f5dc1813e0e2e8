/*
 * edge_fakes.c: the fake transport, loop, clock and history of the edge's unit tests (see
 * edge_fakes.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_fakes.h"

int64_t fake_now = 1000000;

int64_t fake_clock(void)
{
    return fake_now;
}

size_t fake_ws_frame(unsigned char *out, size_t used, const void *payload, size_t len)
{
    unsigned char *p = out + used;
    *p++ = 0x81;
    if (len < 126) {
        *p++ = (unsigned char)len;
    } else if (len < 65536) {
        *p++ = 126;
        *p++ = (unsigned char)(len >> 8);
        *p++ = (unsigned char)len;
    } else {
        *p++ = 127;
        for (int b = 7; b >= 0; b--)
            *p++ = (unsigned char)((uint64_t)len >> (8 * b));
    }
    memcpy(p, payload, len);
    return (size_t)(p - out) + len;
}

/* Appends bytes to the connection's wire. */
static void s_wire(fake_conn_t *c, const unsigned char *data, size_t len)
{
    c->wire = realloc(c->wire, c->wire_len + len + 1);
    assert_non_null(c->wire);
    memcpy(c->wire + c->wire_len, data, len);
    c->wire_len += len;
}

/* Decodes the frames in data (RAW writes and TEXT frames alike), checking each header. */
static void s_decode(fake_conn_t *c, const unsigned char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        assert_true(len - off >= 2);
        assert_int_equal(data[off], 0x81);         /* FIN, text */
        assert_int_equal(data[off + 1] & 0x80, 0); /* a server never masks */
        size_t plen = data[off + 1] & 0x7f, hdr = 2;
        if (plen == 126) {
            plen = (size_t)data[off + 2] << 8 | data[off + 3];
            hdr = 4;
            assert_true(plen >= 126); /* the shortest encoding */
        } else if (plen == 127) {
            plen = 0;
            for (int b = 0; b < 8; b++)
                plen = plen << 8 | data[off + 2 + b];
            hdr = 10;
            assert_true(plen >= 65536);
        }
        assert_true(off + hdr + plen <= len);
        assert_true(c->nframes < FAKE_FRAMES);
        char *text = malloc(plen + 1);
        assert_non_null(text);
        memcpy(text, data + off + hdr, plen);
        text[plen] = '\0';
        c->frames[c->nframes++] = text;
        off += hdr + plen;
    }
}

/* ops->write: as lws writes a server's frames. */
static int s_write(void *conn, unsigned char *data, size_t len, edge_write_kind_t kind)
{
    fake_conn_t *c = conn;
    /* The headroom is there and writable, as lws needs it. */
    memset(data - edge_frame_headroom, 0x55, edge_frame_headroom);
    c->writes[kind]++;
    c->last_data = data;
    c->last_len = len;
    c->last_kind = kind;
    if (c->fail_writes > 0) {
        c->fail_writes--;
        return -1;
    }
    if (kind == EDGE_WRITE_CLOSE) {
        assert_true(len >= 2 && len <= 125);
        c->close_code = data[0] << 8 | data[1];
        c->close_len = len;
        memcpy(c->close_reason, data + 2, len - 2);
        c->close_reason[len - 2] = '\0';
        unsigned char hdr[2] = {0x88, (unsigned char)len};
        s_wire(c, hdr, 2);
        s_wire(c, data, len);
        return (int)len;
    }
    size_t start = c->wire_len;
    if (kind == EDGE_WRITE_TEXT) {
        unsigned char *frame = malloc(len + 10);
        assert_non_null(frame);
        size_t n = fake_ws_frame(frame, 0, data, len);
        s_wire(c, frame, n);
        free(frame);
    } else {
        s_wire(c, data, len);
    }
    s_decode(c, c->wire + start, c->wire_len - start);
    return (int)len;
}

/* ops->want_writable. */
static void s_want_writable(void *conn)
{
    fake_conn_t *c = conn;
    c->want_writable++;
}

/* ops->partial. */
static bool s_partial(void *conn)
{
    const fake_conn_t *c = conn;
    return c->partial;
}

/* ops->expire. */
static void s_expire(void *conn, edge_expire_t how)
{
    fake_conn_t *c = conn;
    c->expires[how]++;
}

/* ops->schedule. */
static int s_schedule(void *arg, int64_t delay_us)
{
    fake_loop_t *l = arg;
    l->armed = true;
    l->delay = delay_us;
    l->schedules++;
    return 0;
}

/* ops->cancel. */
static void s_cancel(void *arg)
{
    fake_loop_t *l = arg;
    l->armed = false;
    l->cancels++;
}

const edge_writer_ops_t fake_transport = {
    .write = s_write,
    .want_writable = s_want_writable,
    .partial = s_partial,
    .expire = s_expire,
    .schedule = s_schedule,
    .cancel = s_cancel,
};

void fake_conn_reset(fake_conn_t *conn)
{
    for (size_t i = 0; i < conn->nframes; i++)
        free(conn->frames[i]);
    free(conn->wire);
    memset(conn, 0, sizeof *conn);
}

unsigned fake_serve(edge_writer_t *writer, edge_wconn_t *wc, unsigned max)
{
    fake_conn_t *c = wc->transport;
    unsigned calls = 0;
    while (c->want_writable && calls < max) {
        c->want_writable = 0;
        calls++;
        if (edge_writer_writeable(writer, wc) < 0)
            break;
    }
    return calls;
}

bool fake_fire(edge_writer_t *writer, fake_loop_t *loop)
{
    if (!loop->armed)
        return false;
    loop->armed = false;
    edge_writer_timer(writer);
    return true;
}

const char *fake_log(fake_conn_t *conn, size_t first)
{
    size_t used = 0;
    conn->log[0] = '\0';
    for (size_t i = first; i < conn->nframes; i++) {
        json_error_t jerr;
        json_t *j = json_loads(conn->frames[i], 0, &jerr);
        if (!j)
            fail_msg("frame %zu is not JSON: %s", i, conn->frames[i]);
        const char *op = json_string_value(json_object_get(j, "op"));
        assert_non_null(op);
        unsigned long long e = (unsigned long long)json_integer_value(json_object_get(j, "epoch"));
        unsigned long long sq = (unsigned long long)json_integer_value(json_object_get(j, "seq"));
        char tok[128];
        if (strcmp(op, "event") == 0) {
            snprintf(tok, sizeof tok, "E%llu.%llu", e, sq);
        } else if (strcmp(op, "batch") == 0) {
            snprintf(tok, sizeof tok, "B%llu.%llu-%llu", e,
                     (unsigned long long)json_integer_value(json_object_get(j, "from_seq")),
                     (unsigned long long)json_integer_value(json_object_get(j, "to_seq")));
        } else if (strcmp(op, "position") == 0) {
            snprintf(tok, sizeof tok, "P%llu.%llu", e, sq);
        } else if (strcmp(op, "subscribed") == 0 && json_object_get(j, "recovered")) {
            bool rec = json_is_true(json_object_get(j, "recovered"));
            const char *why = json_string_value(json_object_get(j, "reason"));
            snprintf(tok, sizeof tok, "%c%c%llu.%llu%s%s", json_object_get(j, "id") ? 'A' : 'N',
                     rec ? '+' : '-', e, sq, why ? ":" : "", why ? why : "");
        } else {
            snprintf(tok, sizeof tok, "%s", op);
        }
        json_decref(j);
        used += (size_t)snprintf(conn->log + used, sizeof conn->log - used, "%s%s", used ? " " : "",
                                 tok);
        assert_true(used < sizeof conn->log);
    }
    return conn->log;
}

void fake_pump(edge_writer_t *writer, fake_loop_t *loop, edge_wconn_t *wc)
{
    fake_fire(writer, loop);
    fake_serve(writer, wc, 100);
}

/* ---- history ------------------------------------------------------------------------------ */

/* edge_history_t.get. */
static edge_hist_wait_t *s_get(edge_hist_t *hist, const char *room, size_t len, uint64_t epoch,
                               uint64_t after, edge_hist_fn *fn, void *arg)
{
    fake_hist_t *h = (fake_hist_t *)(void *)hist;
    if (h->fail_next > 0) {
        h->fail_next--;
        return NULL;
    }
    assert_true(h->nasks < FAKE_ASKS);
    assert_true(len <= WIRE_ROOM_MAX);
    fake_ask_t *a = &h->asks[h->nasks++];
    memcpy(a->room, room, len);
    a->room[len] = '\0';
    a->epoch = epoch;
    a->after = after;
    a->fn = fn;
    a->arg = arg;
    a->live = true;
    return (edge_hist_wait_t *)(void *)a;
}

/* edge_history_t.cancel. */
static void s_cancel_ask(edge_hist_t *hist, edge_hist_wait_t **wait_p)
{
    fake_hist_t *h = (fake_hist_t *)(void *)hist;
    if (!wait_p || !*wait_p)
        return;
    fake_ask_t *a = (fake_ask_t *)(void *)*wait_p;
    assert_true(a->live);
    a->live = false;
    h->cancels++;
    *wait_p = NULL;
}

edge_history_t fake_history(fake_hist_t *h)
{
    return (edge_history_t){.get = s_get, .cancel = s_cancel_ask, .hist = (edge_hist_t *)(void *)h};
}

size_t fake_hist_live(const fake_hist_t *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nasks; i++)
        n += h->asks[i].live;
    return n;
}

void fake_header(wire_header_t *h, uint8_t kind, uint64_t epoch, uint64_t seq, const char *type,
                 uint8_t flags)
{
    *h = (wire_header_t){
        .kind = kind,
        .flags = flags,
        .session = 1,
        .pub_seq = seq ? seq : 1,
        .ts_ns = 5,
        .epoch = epoch,
        .seq = seq,
        .pub_id = "p",
        .pub_id_len = 1,
        .type = type,
        .type_len = (uint8_t)strlen(type),
    };
}

edge_frame_t *fake_event(const char *room, uint64_t epoch, uint64_t seq, const char *type,
                         uint8_t flags)
{
    wire_header_t h;
    fake_header(&h, WIRE_KIND_EVENT, epoch, seq, type, flags);
    char data[32];
    int n = snprintf(data, sizeof data, "{\"n\":%llu}", (unsigned long long)seq);
    edge_frame_t *f = edge_frame_event(room, strlen(room), &h, data, (size_t)n);
    assert_non_null(f);
    return f;
}

void fake_hist_reply(fake_hist_t *h, size_t i, edge_hstatus_t status, uint64_t epoch, uint64_t head,
                     uint64_t from_seq, uint64_t to_seq, bool more)
{
    assert_true(i < h->nasks);
    fake_ask_t *a = &h->asks[i];
    assert_true(a->live);
    a->live = false;
    edge_event_t events[64];
    size_t count = 0;
    for (uint64_t s = from_seq; status == EDGE_HIST_OK && s <= to_seq; s++) {
        assert_true(count < 64);
        events[count].epoch = a->epoch;
        events[count].seq = s;
        events[count].frame = fake_event(a->room, a->epoch, s, "t", 0);
        count++;
    }
    edge_hist_result_t r = {
        .req_epoch = a->epoch,
        .req_after = a->after,
        .st = {.status = status, .more = more, .epoch = epoch, .head = head, .first = 1},
        .events = events,
        .count = count,
    };
    a->fn(a->arg, &r);
    for (size_t k = 0; k < count; k++)
        edge_frame_unref(&events[k].frame);
}

/* A writer over the fakes (edge_fakes.h). */
edge_writer_t *fake_writer(fake_loop_t *loop, edge_stats_t *stats, size_t max_frames)
{
    edge_writer_opts_t wo = {
        .ops = &fake_transport,
        .arg = loop,
        .max_queue_bytes = 1 << 20,
        .max_queue_frames = max_frames,
        .now = fake_clock,
        .stats = stats,
    };
    return edge_writer_new(&wo);
}
