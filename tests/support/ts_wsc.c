/*
 * ts_wsc.c: a WebSocket test client on libwebsockets (see ts_wsc.h).
 *
 * Why a periodic timer: since lws 3.2, lws_service() ignores its timeout and sleeps until the
 * next scheduled event. The context therefore keeps a 20 ms "tick" on the lws scheduler, so that
 * every lws_service() call returns within 20 ms and the wait loops can check their deadlines.
 *
 * Each connection object is owned by the context object, not by lws: lws only holds a pointer to
 * it as the wsi's opaque user data. Connections are freed after lws_context_destroy(), because
 * destroying the context still delivers close callbacks that touch them.
 *
 * A connection object outlives its wsi when it is a resume client: it may open many WebSockets,
 * one after another. Callbacks of an earlier wsi (lws still reports its destruction after the
 * close) are recognised because the wsi is not the current one, and ignored; a new attempt's
 * wsi is adopted from its first callback, which may come from inside lws_client_connect_via_info.
 *
 * Resume clients check their streams as frames arrive (cheap: a few comparisons per event, no
 * scan of earlier frames), so 300 clients and half a million events cost little.
 */
#include "ts_wsc.h"

#include "ts_proc.h"

#include <inttypes.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_WSC_TICK_MS 20
#define TS_WSC_LOUD_MAX 5 /* contract violations printed per room (all are counted) */

/* One frame (or fragment) waiting to be written. */
typedef struct s_out {
    struct s_out *next; /* queue order */
    int flags;          /* lws_write_protocol flags for this write */
    size_t len;         /* payload bytes after the LWS_PRE headroom */
    unsigned char *buf; /* LWS_PRE headroom + payload */
} s_out_t;

/* A joined room of a resume client: its cursor, its subscribe state and its records. */
typedef struct s_track {
    char *room;           /* the room name */
    int has_pos;          /* a position (cursor) is known */
    uint64_t epoch;       /* cursor: epoch of the last event or notice */
    uint64_t seq;         /* cursor: seq of the last event or notice */
    int pending;          /* a subscribe went out on this connection, unanswered so far */
    int since_sent;       /* that subscribe carried "since" */
    uint64_t since_epoch; /* the "since" epoch sent */
    uint64_t since_seq;   /* the "since" seq sent */
    ts_wsc_rec_t *recs;   /* every event and "subscribed" of the room, in order */
    size_t nrecs;         /* count of recs */
    size_t recs_cap;      /* capacity of recs */
    size_t violations;    /* contract violations seen as frames arrived */
    char first_bad[240];  /* the first of them, described */
} s_track_t;

struct ts_wsc_conn {
    ts_wsc_t *owner;              /* the context this connection belongs to */
    ts_wsc_conn_t *next;          /* next connection in the owner's list */
    char *name;                   /* label for messages */
    struct lws *wsi;              /* live lws connection, NULL once closed */
    int established;              /* the WebSocket handshake completed */
    int welcomed;                 /* the edge's welcome frame arrived */
    int closed;                   /* closed or failed: nothing more will arrive */
    int failed;                   /* the connection attempt failed */
    int want_close;               /* ts_wsc_close() asked for a normal close */
    int close_code;               /* close code sent by the peer (0: none) */
    char close_reason[126];       /* close reason sent by the peer */
    char error[160];              /* connection error text from lws */
    s_out_t *out_head;            /* frames to write, oldest first */
    s_out_t *out_tail;            /* where new frames are appended */
    char *rx;                     /* reassembly of a fragmented incoming message */
    size_t rx_len;                /* bytes in rx */
    size_t rx_cap;                /* capacity of rx */
    int rx_binary;                /* the message being reassembled is binary */
    json_t **frames;              /* every text message received, parsed */
    size_t nframes;               /* count of frames */
    size_t frames_cap;            /* capacity of frames */
    size_t bad;                   /* messages that were binary or not a JSON object */
    char desc[512];               /* scratch for ts_wsc_describe() */
    char edge_id[72];             /* "edge" of the latest welcome frame */
    int port;                     /* port of the current (or last) attempt */
    int connecting;               /* inside lws_client_connect_via_info(): adopt the new wsi */
    unsigned conn_no;             /* attempts so far; numbers the records */
    unsigned closes;              /* attempts that ended */
    int close_codes[8];           /* distinct peer close codes seen (0: none sent) */
    unsigned close_counts[8];     /* how often each of close_codes was seen */
    uint64_t closed_at;           /* base_clock_ms() of the latest end */
    int resume;                   /* resume mode: records instead of event frames */
    int reconnect_port;           /* resume: reconnect here after an unwanted close (0: never) */
    int backoff_min;              /* resume: smallest reconnect delay, ms */
    int backoff_max;              /* resume: largest reconnect delay, ms */
    lws_sorted_usec_list_t retry; /* resume: the scheduled reconnect */
    s_track_t *tracks;            /* resume: joined rooms */
    size_t ntracks;               /* count of tracks */
    size_t tracks_cap;            /* capacity of tracks */
    size_t stray;                 /* resume: events of rooms never joined */
    char *origin;                 /* Origin header to send (NULL: none) */
    int tls;                      /* connect with TLS */
    char *path;                   /* request path (NULL: "/ws") */
    char *bearer;                 /* Authorization: Bearer token (NULL: none) */
};

struct ts_wsc {
    struct lws_context *ctx;     /* the one lws context for every connection */
    ts_wsc_conn_t *conns;        /* all connections ever made, newest first */
    lws_sorted_usec_list_t tick; /* keeps lws_service() returning every TS_WSC_TICK_MS */
    uint64_t rng;                /* xorshift state for reconnect delays */
    int destroying;              /* inside ts_wsc_destroy: schedule no reconnects */
};

static int s_open(ts_wsc_conn_t *conn, int port);
/* The fields of an event frame that resume mode checks; strings point into the frame. */
typedef struct s_event {
    const char *room; /* "room" (not NUL-terminated) */
    size_t room_len;  /* its length */
    int64_t epoch;    /* "epoch", -1 when absent or not a non-negative integer */
    int64_t seq;      /* "seq", likewise */
    const char *r;    /* "data"."r", NULL when absent */
    size_t r_len;     /* its length */
    int64_t n;        /* "data"."n", -1 when absent */
} s_event_t;

static int s_scan_event(const char *text, size_t len, s_event_t *ev);
static void s_event_from_json(json_t *frame, s_event_t *ev);
static void s_track_event(ts_wsc_conn_t *conn, const s_event_t *ev);
static void s_track_subscribed(ts_wsc_conn_t *conn, json_t *frame);
static void s_track_position(ts_wsc_conn_t *conn, json_t *frame);
static void s_track_error(ts_wsc_conn_t *conn, json_t *frame);

/* Re-arms the tick; its only purpose is to wake lws_service(). */
static void s_tick(lws_sorted_usec_list_t *sul)
{
    ts_wsc_t *self = lws_container_of(sul, ts_wsc_t, tick);
    lws_sul_schedule(self->ctx, 0, &self->tick, s_tick, TS_WSC_TICK_MS * LWS_US_PER_MS);
}

/* Appends bytes to the reassembly buffer. */
static int s_rx_append(ts_wsc_conn_t *conn, const void *in, size_t len)
{
    if (conn->rx_len + len + 1 > conn->rx_cap) {
        size_t cap = conn->rx_cap ? conn->rx_cap : 4096;
        while (cap < conn->rx_len + len + 1)
            cap *= 2;
        char *bigger = realloc(conn->rx, cap);
        if (!bigger)
            return -1;
        conn->rx = bigger;
        conn->rx_cap = cap;
    }
    memcpy(conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    conn->rx[conn->rx_len] = '\0';
    return 0;
}

/* Records one complete incoming message. */
static int s_record(ts_wsc_conn_t *conn)
{
    if (conn->nframes == conn->frames_cap) {
        size_t cap = conn->frames_cap ? conn->frames_cap * 2 : 64;
        json_t **bigger = realloc(conn->frames, cap * sizeof *bigger);
        if (!bigger)
            return -1;
        conn->frames = bigger;
        conn->frames_cap = cap;
    }
    s_event_t ev;
    if (conn->resume && !conn->rx_binary && conn->rx &&
        s_scan_event(conn->rx, conn->rx_len, &ev) == 0) {
        /* The hot path: events of a resume client become records without a JSON tree. */
        s_track_event(conn, &ev);
        conn->rx_len = 0;
        return 0;
    }
    json_t *frame = NULL;
    if (!conn->rx_binary)
        frame = json_loadb(conn->rx ? conn->rx : "", conn->rx_len, 0, NULL);
    if (!frame || !json_is_object(frame)) {
        json_decref(frame);
        conn->bad++;
        fprintf(stderr, "ts_wsc: %s: received a %s message that is not a JSON object: %.200s\n",
                conn->name, conn->rx_binary ? "binary" : "text", conn->rx ? conn->rx : "");
        frame = json_stringn(conn->rx ? conn->rx : "", conn->rx_len);
        if (!frame)
            return -1;
    }
    conn->rx_len = 0;
    const char *op = json_string_value(json_object_get(frame, "op"));
    if (op && strcmp(op, "welcome") == 0) {
        conn->welcomed = 1;
        const char *edge = json_string_value(json_object_get(frame, "edge"));
        snprintf(conn->edge_id, sizeof conn->edge_id, "%s", edge ? edge : "");
    }
    if (conn->resume && op) {
        if (strcmp(op, "event") == 0) {
            /* Events become records only; keeping every frame would not scale. */
            s_event_from_json(frame, &ev);
            s_track_event(conn, &ev);
            json_decref(frame);
            return 0;
        }
        if (strcmp(op, "subscribed") == 0)
            s_track_subscribed(conn, frame);
        else if (strcmp(op, "position") == 0)
            s_track_position(conn, frame);
        else if (strcmp(op, "error") == 0)
            s_track_error(conn, frame);
    }
    conn->frames[conn->nframes++] = frame;
    return 0;
}

/* Writes the next queued frame; one lws_write per writeable callback. */
static int s_write_next(ts_wsc_conn_t *conn, struct lws *wsi)
{
    if (conn->want_close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
        return -1;
    }
    s_out_t *out = conn->out_head;
    if (!out)
        return 0;
    conn->out_head = out->next;
    if (!conn->out_head)
        conn->out_tail = NULL;
    int n = lws_write(wsi, out->buf + LWS_PRE, out->len, (enum lws_write_protocol)out->flags);
    size_t len = out->len;
    free(out->buf);
    free(out);
    if (n < 0 || (size_t)n < len) {
        fprintf(stderr, "ts_wsc: %s: lws_write of %zu bytes returned %d\n", conn->name, len, n);
        return -1;
    }
    if (conn->out_head || conn->want_close)
        lws_callback_on_writable(wsi);
    return 0;
}

/* A random delay in [lo, hi] milliseconds (xorshift64*). */
static int s_random_ms(ts_wsc_t *self, int lo, int hi)
{
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    uint64_t x = self->rng * 2685821657736338717ull;
    return hi > lo ? lo + (int)(x % (uint64_t)(hi - lo + 1)) : lo;
}

/* Runs a resume client's scheduled reconnect. */
static void s_retry(lws_sorted_usec_list_t *sul)
{
    ts_wsc_conn_t *conn = lws_container_of(sul, ts_wsc_conn_t, retry);
    if (conn->closed && !conn->want_close && !conn->owner->destroying)
        s_open(conn, conn->reconnect_port);
}

/* Marks the current attempt finished (once) and, for a resume client that did not ask for the
 * close, schedules the next attempt after a random backoff, as a browser would. */
static void s_mark_closed(ts_wsc_conn_t *conn)
{
    if (conn->closed)
        return;
    conn->closed = 1;
    conn->wsi = NULL;
    conn->closes++;
    conn->closed_at = base_clock_ms();
    for (size_t i = 0; i < sizeof conn->close_codes / sizeof conn->close_codes[0]; i++) {
        if (conn->close_counts[i] == 0 || conn->close_codes[i] == conn->close_code) {
            conn->close_codes[i] = conn->close_code;
            conn->close_counts[i]++;
            break;
        }
    }
    ts_wsc_t *owner = conn->owner;
    if (conn->resume && conn->reconnect_port > 0 && !conn->want_close && !owner->destroying) {
        int delay = s_random_ms(owner, conn->backoff_min, conn->backoff_max);
        lws_sul_schedule(owner->ctx, 0, &conn->retry, s_retry, (lws_usec_t)delay * LWS_US_PER_MS);
    }
}

/* The lws protocol callback for every client connection. */
static int s_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    ts_wsc_conn_t *conn = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!conn)
        return 0;
    if (wsi != conn->wsi) {
        /* A new attempt's first callback (possibly before lws_client_connect_via_info returned)
         * adopts its wsi; anything else is an earlier attempt's wsi being torn down. */
        if (conn->wsi || !conn->connecting)
            return 0;
        conn->wsi = wsi;
    }
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (conn->bearer) {
            unsigned char **p = in, *end = *p + len;
            char value[16384];
            int n = snprintf(value, sizeof value, "Bearer %s", conn->bearer);
            if (n >= (int)sizeof value ||
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                             (unsigned char *)value, n, p, end))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        conn->established = 1;
        if (conn->out_head || conn->want_close)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (conn->rx_len == 0)
            conn->rx_binary = lws_frame_is_binary(wsi);
        if (s_rx_append(conn, in, len) != 0)
            return -1;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
            if (s_record(conn) != 0)
                return -1;
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            conn->close_code = (p[0] << 8) | p[1];
            size_t rlen =
                len - 2 < sizeof conn->close_reason - 1 ? len - 2 : sizeof conn->close_reason - 1;
            memcpy(conn->close_reason, p + 2, rlen);
            conn->close_reason[rlen] = '\0';
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return s_write_next(conn, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        conn->failed = 1;
        snprintf(conn->error, sizeof conn->error, "%.*s", (int)(in ? len : 0),
                 in ? (const char *)in : "");
        s_mark_closed(conn);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        s_mark_closed(conn);
        break;
    default:
        break;
    }
    return 0;
}

/* The single protocol every connection uses; lws keeps a pointer to it for the context's life. */
static const struct lws_protocols s_protocols[] = {
    {"ts-wsc", s_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Creates the lws client context and starts the tick. */
ts_wsc_t *ts_wsc_new(void)
{
    ts_wsc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    /* lws logs are process-wide; keep errors only so test output stays readable. */
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    info.gid = -1;
    info.uid = -1;
    /* wss:// (ts_wsc_connect_with), and the Origin header sent as given: without the raw
     * option lws puts "http://" in front of it. */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
    self->ctx = lws_create_context(&info);
    if (!self->ctx) {
        fprintf(stderr, "ts_wsc: lws_create_context failed\n");
        free(self);
        return NULL;
    }
    lws_sul_schedule(self->ctx, 0, &self->tick, s_tick, TS_WSC_TICK_MS * LWS_US_PER_MS);
    self->rng = (base_clock_ms() << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
    return self;
}

/* Drops every queued write. */
static void s_out_clear(ts_wsc_conn_t *conn)
{
    for (s_out_t *out = conn->out_head, *next; out; out = next) {
        next = out->next;
        free(out->buf);
        free(out);
    }
    conn->out_head = conn->out_tail = NULL;
}

/* Frees one connection's memory. */
static void s_conn_free(ts_wsc_conn_t *conn)
{
    s_out_clear(conn);
    for (size_t i = 0; i < conn->ntracks; i++) {
        free(conn->tracks[i].room);
        free(conn->tracks[i].recs);
    }
    free(conn->tracks);
    for (size_t i = 0; i < conn->nframes; i++)
        json_decref(conn->frames[i]);
    free(conn->frames);
    free(conn->rx);
    free(conn->name);
    free(conn->origin);
    free(conn->path);
    free(conn->bearer);
    free(conn);
}

/* Destroys the lws context first (it still calls back into connections), then the objects. */
void ts_wsc_destroy(ts_wsc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ts_wsc_t *self = *self_p;
    self->destroying = 1;
    lws_context_destroy(self->ctx);
    for (ts_wsc_conn_t *conn = self->conns, *next; conn; conn = next) {
        next = conn->next;
        s_conn_free(conn);
    }
    free(self);
    *self_p = NULL;
}

/* Services until the time is up. */
void ts_wsc_service(ts_wsc_t *self, int ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)ms;
    while (base_clock_ms() < deadline)
        lws_service(self->ctx, 0);
}

/* Starts one connection attempt of conn to 127.0.0.1:port; 0, or -1 when lws refused at once
 * (the attempt then counts as closed, and a resume client schedules the next one). */
static int s_open(ts_wsc_conn_t *conn, int port)
{
    conn->established = conn->welcomed = conn->closed = conn->failed = conn->want_close = 0;
    conn->close_code = 0;
    conn->close_reason[0] = conn->error[0] = '\0';
    conn->rx_len = 0;
    conn->wsi = NULL;
    conn->port = port;
    conn->conn_no++;
    s_out_clear(conn);
    /* A resume client re-joins its rooms from its cursors; the writes go out once established. */
    for (size_t i = 0; i < conn->ntracks; i++) {
        s_track_t *t = &conn->tracks[i];
        t->pending = 1;
        t->since_sent = t->has_pos;
        t->since_epoch = t->epoch;
        t->since_seq = t->seq;
        int rc = t->has_pos
                     ? ts_wsc_send_textf(conn,
                                         "{\"op\":\"subscribe\",\"room\":\"%s\",\"since\":"
                                         "{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64 "}}",
                                         t->room, t->epoch, t->seq)
                     : ts_wsc_send_textf(conn, "{\"op\":\"subscribe\",\"room\":\"%s\"}", t->room);
        if (rc != 0)
            return -1;
    }
    struct lws_client_connect_info info;
    memset(&info, 0, sizeof info);
    info.context = conn->owner->ctx;
    info.address = "127.0.0.1";
    info.port = port;
    info.path = conn->path ? conn->path : "/ws";
    info.host = "127.0.0.1";
    info.origin = conn->origin;
    info.ssl_connection = conn->tls ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
                                          LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
                                    : 0;
    info.local_protocol_name = s_protocols[0].name;
    info.opaque_user_data = conn;
    conn->connecting = 1;
    struct lws *wsi = lws_client_connect_via_info(&info);
    conn->connecting = 0;
    if (!wsi) {
        if (!conn->closed) {
            conn->failed = 1;
            snprintf(conn->error, sizeof conn->error, "lws refused to connect to port %d", port);
            s_mark_closed(conn);
        }
        return -1;
    }
    if (!conn->closed)
        conn->wsi = wsi;
    return 0;
}

/* Creates a connection object and starts its first attempt. */
ts_wsc_conn_t *ts_wsc_connect(ts_wsc_t *self, int port, const char *name)
{
    return ts_wsc_connect_with(self, port, name, NULL);
}

/* Creates a connection object with dial's Origin and TLS and starts its first attempt. */
ts_wsc_conn_t *ts_wsc_connect_with(ts_wsc_t *self, int port, const char *name,
                                   const ts_wsc_dial_t *dial)
{
    ts_wsc_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->owner = self;
    conn->name = strdup(name);
    const char *origin = dial ? dial->origin : "http://127.0.0.1"; /* what lws always sent */
    conn->origin = origin ? strdup(origin) : NULL;
    conn->tls = dial ? dial->tls : 0;
    conn->path = dial && dial->path ? strdup(dial->path) : NULL;
    conn->bearer = dial && dial->bearer ? strdup(dial->bearer) : NULL;
    if (!conn->name || (origin && !conn->origin) || (dial && dial->path && !conn->path) ||
        (dial && dial->bearer && !conn->bearer)) {
        free(conn->name);
        free(conn->origin);
        free(conn->path);
        free(conn->bearer);
        free(conn);
        return NULL;
    }
    /* Link first: lws may report a connection error from inside the connect call. */
    conn->next = self->conns;
    self->conns = conn;
    if (s_open(conn, port) != 0) {
        fprintf(stderr, "ts_wsc: %s: lws refused to connect to port %d\n", name, port);
        return NULL;
    }
    return conn;
}

/* Services until done(arg) or the deadline; 0 when done. */
int ts_wsc_wait_until(ts_wsc_t *self, int (*done)(void *arg), void *arg, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (done(arg))
            return 0;
        if (base_clock_ms() >= deadline)
            return -1;
        lws_service(self->ctx, 0);
    }
}

/* Done when welcomed or closed. */
static int s_open_done(void *arg)
{
    ts_wsc_conn_t *conn = arg;
    return conn->welcomed || conn->closed;
}

/* Waits for the handshake and the welcome frame. */
int ts_wsc_wait_open(ts_wsc_conn_t *conn, int timeout_ms)
{
    ts_wsc_wait_until(conn->owner, s_open_done, conn, timeout_ms);
    if (conn->welcomed && !conn->closed)
        return 0;
    fprintf(stderr, "ts_wsc: %s did not open: %s\n", conn->name, ts_wsc_describe(conn));
    return -1;
}

/* Done when every connection is welcomed or one is closed. */
static int s_all_open_done(void *arg)
{
    ts_wsc_t *self = arg;
    for (ts_wsc_conn_t *conn = self->conns; conn; conn = conn->next) {
        if (conn->closed)
            return 1;
        if (!conn->welcomed)
            return 0;
    }
    return 1;
}

/* Waits until every connection is open. */
int ts_wsc_wait_all_open(ts_wsc_t *self, int timeout_ms)
{
    ts_wsc_wait_until(self, s_all_open_done, self, timeout_ms);
    for (ts_wsc_conn_t *conn = self->conns; conn; conn = conn->next)
        if (!conn->welcomed || conn->closed) {
            fprintf(stderr, "ts_wsc: %s did not open: %s\n", conn->name, ts_wsc_describe(conn));
            return -1;
        }
    return 0;
}

/* Appends a write to the queue and asks for a writeable callback. */
static int s_queue(ts_wsc_conn_t *conn, const void *data, size_t len, int flags)
{
    if (conn->closed)
        return -1;
    s_out_t *out = calloc(1, sizeof *out);
    if (!out)
        return -1;
    out->buf = malloc(LWS_PRE + len + 1);
    if (!out->buf) {
        free(out);
        return -1;
    }
    memcpy(out->buf + LWS_PRE, data, len);
    out->len = len;
    out->flags = flags;
    if (conn->out_tail)
        conn->out_tail->next = out;
    else
        conn->out_head = out;
    conn->out_tail = out;
    if (conn->wsi && conn->established)
        lws_callback_on_writable(conn->wsi);
    return 0;
}

/* Queues a text frame. */
int ts_wsc_send_text(ts_wsc_conn_t *conn, const char *text)
{
    return s_queue(conn, text, strlen(text), LWS_WRITE_TEXT);
}

/* Queues a formatted text frame. */
int ts_wsc_send_textf(ts_wsc_conn_t *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    int rc = ts_wsc_send_text(conn, text);
    free(text);
    return rc;
}

/* Queues a binary frame. */
int ts_wsc_send_binary(ts_wsc_conn_t *conn, const void *data, size_t len)
{
    return s_queue(conn, data, len, LWS_WRITE_BINARY);
}

/* Queues the fragments of one text message. */
int ts_wsc_send_fragmented(ts_wsc_conn_t *conn, const char *text, size_t len, size_t nparts)
{
    if (nparts < 2 || len < nparts)
        return -1;
    size_t part = len / nparts, off = 0;
    for (size_t i = 0; i < nparts; i++) {
        size_t n = i + 1 == nparts ? len - off : part;
        int flags = i == 0 ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION;
        if (i + 1 < nparts)
            flags |= LWS_WRITE_NO_FIN;
        if (s_queue(conn, text + off, n, flags) != 0)
            return -1;
        off += n;
    }
    return 0;
}

/* Queues a valid JSON ping of exactly len bytes. */
int ts_wsc_send_sized(ts_wsc_conn_t *conn, size_t len)
{
    static const char head[] = "{\"op\":\"ping\",\"pad\":\"";
    static const char tail[] = "\"}";
    size_t fixed = sizeof head - 1 + sizeof tail - 1;
    if (len < 64)
        return -1;
    char *text = malloc(len + 1);
    if (!text)
        return -1;
    memcpy(text, head, sizeof head - 1);
    memset(text + sizeof head - 1, 'x', len - fixed);
    memcpy(text + len - (sizeof tail - 1), tail, sizeof tail - 1);
    text[len] = '\0';
    int rc = s_queue(conn, text, len, LWS_WRITE_TEXT);
    free(text);
    return rc;
}

/* True when frame has op (and room unless NULL). */
static int s_frame_matches(json_t *frame, const char *op, const char *room)
{
    const char *fop = json_string_value(json_object_get(frame, "op"));
    if (!fop || strcmp(fop, op) != 0)
        return 0;
    if (!room)
        return 1;
    const char *froom = json_string_value(json_object_get(frame, "room"));
    return froom && strcmp(froom, room) == 0;
}

/* Sends a (un)subscribe and waits for its confirmation; an error frame answers at once. */
static int s_room_op(ts_wsc_conn_t *conn, const char *op, const char *reply, const char *room,
                     int timeout_ms)
{
    size_t from = conn->nframes;
    json_t *msg = json_pack("{s:s, s:s}", "op", op, "room", room);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text || ts_wsc_send_text(conn, text) != 0) {
        free(text);
        return -1;
    }
    free(text);
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        for (; from < conn->nframes; from++) {
            json_t *frame = conn->frames[from];
            if (s_frame_matches(frame, reply, room))
                return 0;
            if (s_frame_matches(frame, "error", NULL)) {
                char *dump = json_dumps(frame, JSON_COMPACT);
                fprintf(stderr, "ts_wsc: %s: %s %s answered %s\n", conn->name, op, room,
                        dump ? dump : "?");
                free(dump);
                return -1;
            }
        }
        if (conn->closed || base_clock_ms() >= deadline) {
            fprintf(stderr, "ts_wsc: %s: no %s for %s: %s\n", conn->name, reply, room,
                    ts_wsc_describe(conn));
            return -1;
        }
        lws_service(conn->owner->ctx, 0);
    }
}

/* Subscribes and waits for "subscribed". */
int ts_wsc_subscribe(ts_wsc_conn_t *conn, const char *room, int timeout_ms)
{
    return s_room_op(conn, "subscribe", "subscribed", room, timeout_ms);
}

/* Unsubscribes and waits for "unsubscribed". */
int ts_wsc_unsubscribe(ts_wsc_conn_t *conn, const char *room, int timeout_ms)
{
    return s_room_op(conn, "unsubscribe", "unsubscribed", room, timeout_ms);
}

/* Starts a client-side close. */
void ts_wsc_close(ts_wsc_conn_t *conn)
{
    if (conn->closed)
        return;
    conn->want_close = 1;
    if (conn->wsi && conn->established)
        lws_callback_on_writable(conn->wsi);
}

/* Frames received. */
size_t ts_wsc_frame_count(const ts_wsc_conn_t *conn)
{
    return conn->nframes;
}

/* The i-th frame. */
json_t *ts_wsc_frame(const ts_wsc_conn_t *conn, size_t i)
{
    return i < conn->nframes ? conn->frames[i] : NULL;
}

/* Counts matching frames. */
size_t ts_wsc_count_op(const ts_wsc_conn_t *conn, const char *op, const char *room)
{
    size_t count = 0;
    for (size_t i = 0; i < conn->nframes; i++)
        count += (size_t)s_frame_matches(conn->frames[i], op, room);
    return count;
}

/* Non-JSON-object messages received. */
size_t ts_wsc_bad_frames(const ts_wsc_conn_t *conn)
{
    return conn->bad;
}

/* Arguments of the frame-count wait. */
typedef struct s_count_wait {
    ts_wsc_conn_t *conn; /* connection to watch */
    const char *op;      /* op to count, NULL for any frame */
    const char *room;    /* room to count, NULL for any */
    size_t n;            /* how many are wanted */
} s_count_wait_t;

/* Done when enough frames arrived or the connection closed. */
static int s_count_done(void *arg)
{
    s_count_wait_t *w = arg;
    size_t have = w->op ? ts_wsc_count_op(w->conn, w->op, w->room) : w->conn->nframes;
    return have >= w->n || w->conn->closed;
}

/* Waits for n frames of any kind. */
int ts_wsc_wait_frames(ts_wsc_conn_t *conn, size_t n, int timeout_ms)
{
    s_count_wait_t w = {conn, NULL, NULL, n};
    ts_wsc_wait_until(conn->owner, s_count_done, &w, timeout_ms);
    return conn->nframes >= n ? 0 : -1;
}

/* Waits for n matching frames. Counting rescans all frames; fine for test volumes because the
 * scan only runs once per service round. */
int ts_wsc_wait_count(ts_wsc_conn_t *conn, const char *op, const char *room, size_t n,
                      int timeout_ms)
{
    s_count_wait_t w = {conn, op, room, n};
    ts_wsc_wait_until(conn->owner, s_count_done, &w, timeout_ms);
    return ts_wsc_count_op(conn, op, room) >= n ? 0 : -1;
}

/* Waits for the next matching frame at or after *from. */
json_t *ts_wsc_wait_op(ts_wsc_conn_t *conn, const char *op, const char *room, size_t *from,
                       int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        for (; *from < conn->nframes; (*from)++)
            if (s_frame_matches(conn->frames[*from], op, room))
                return conn->frames[(*from)++];
        if (conn->closed || base_clock_ms() >= deadline)
            return NULL;
        lws_service(conn->owner->ctx, 0);
    }
}

/* Done when closed. */
static int s_closed_done(void *arg)
{
    return ((ts_wsc_conn_t *)arg)->closed;
}

/* Waits for the connection to close. */
int ts_wsc_wait_closed(ts_wsc_conn_t *conn, int timeout_ms)
{
    return ts_wsc_wait_until(conn->owner, s_closed_done, conn, timeout_ms);
}

/* Open and not closed. */
int ts_wsc_is_open(const ts_wsc_conn_t *conn)
{
    return conn->established && !conn->closed;
}

/* Closed or failed. */
int ts_wsc_is_closed(const ts_wsc_conn_t *conn)
{
    return conn->closed;
}

/* Peer's close code. */
int ts_wsc_close_code(const ts_wsc_conn_t *conn)
{
    return conn->close_code;
}

/* Peer's close reason. */
const char *ts_wsc_close_reason(const ts_wsc_conn_t *conn)
{
    return conn->close_reason;
}

/* The label. */
const char *ts_wsc_name(const ts_wsc_conn_t *conn)
{
    return conn->name;
}

/* Summary line for failure messages. */
const char *ts_wsc_describe(ts_wsc_conn_t *conn)
{
    snprintf(conn->desc, sizeof conn->desc,
             "%.100s: %s%s%s, %zu frames (%zu bad), close code %d \"%.125s\"%s%.160s", conn->name,
             conn->established ? "established" : "not established",
             conn->welcomed ? ", welcomed" : "", conn->closed ? ", closed" : "", conn->nframes,
             conn->bad, conn->close_code, conn->close_reason, conn->failed ? ", error: " : "",
             conn->failed ? conn->error : "");
    return conn->desc;
}

/* The edge id of the latest welcome. */
const char *ts_wsc_edge_id(const ts_wsc_conn_t *conn)
{
    return conn->edge_id;
}

/* ---- Resume mode ------------------------------------------------------------------------- */

/* The joined room called room, or NULL. Clients join a few rooms, so a linear scan is cheapest. */
static s_track_t *s_track_find(const ts_wsc_conn_t *conn, const char *room)
{
    for (size_t i = 0; i < conn->ntracks; i++)
        if (strcmp(conn->tracks[i].room, room) == 0)
            return &conn->tracks[i];
    return NULL;
}

/* Counts a contract violation in t; keeps and prints the first few. */
static void s_violation(ts_wsc_conn_t *conn, s_track_t *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_violation(ts_wsc_conn_t *conn, s_track_t *t, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (t->violations == 0)
        snprintf(t->first_bad, sizeof t->first_bad, "connection %u: %s", conn->conn_no, text);
    if (t->violations < TS_WSC_LOUD_MAX)
        fprintf(stderr, "ts_wsc: %s: room %s, connection %u: %s\n", conn->name, t->room,
                conn->conn_no, text);
    t->violations++;
}

/* Appends a record to t; 0 or -1 when memory ran out (counted as a violation). */
static ts_wsc_rec_t *s_rec_push(ts_wsc_conn_t *conn, s_track_t *t)
{
    if (t->nrecs == t->recs_cap) {
        size_t cap = t->recs_cap ? t->recs_cap * 2 : 256;
        ts_wsc_rec_t *bigger = realloc(t->recs, cap * sizeof *bigger);
        if (!bigger) {
            s_violation(conn, t, "out of memory for records");
            return NULL;
        }
        t->recs = bigger;
        t->recs_cap = cap;
    }
    ts_wsc_rec_t *rec = &t->recs[t->nrecs++];
    memset(rec, 0, sizeof *rec);
    rec->t_ms = base_clock_ms();
    rec->conn_no = conn->conn_no;
    rec->n = -1;
    return rec;
}

/* A frame's non-negative integer field, or -1 when absent or not such an integer. */
static int64_t s_u64_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
}

/*
 * An allocation-free reader for event frames. Why: a resume client gets hundreds of thousands of
 * events, and parsing each into a jansson tree costs a dozen mallocs, which under
 * AddressSanitizer made the test client, not the fabric, the bottleneck. It reads any key order
 * and skips unknown values; anything it does not understand (escapes in the strings it needs,
 * other ops, malformed text) returns -1 and the frame takes the jansson path instead.
 */
typedef struct s_scan {
    const char *p;   /* next byte */
    const char *end; /* end of the text */
} s_scan_t;

/* Skips JSON whitespace. */
static void s_scan_ws(s_scan_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* Reads a string into *start and *len (raw bytes); *escaped is set when it holds a backslash. */
static int s_scan_string(s_scan_t *sc, const char **start, size_t *len, int *escaped)
{
    s_scan_ws(sc);
    if (sc->p >= sc->end || *sc->p != '"')
        return -1;
    const char *q = ++sc->p;
    *escaped = 0;
    while (q < sc->end && *q != '"') {
        if (*q == '\\') {
            *escaped = 1;
            q++;
        }
        q++;
    }
    if (q >= sc->end)
        return -1;
    *start = sc->p;
    *len = (size_t)(q - sc->p);
    sc->p = q + 1;
    return 0;
}

/* Reads a non-negative integer (no sign, fraction or exponent). */
static int s_scan_u63(s_scan_t *sc, int64_t *out)
{
    s_scan_ws(sc);
    const char *q = sc->p;
    uint64_t v = 0;
    while (q < sc->end && *q >= '0' && *q <= '9' && q - sc->p < 19)
        v = v * 10 + (uint64_t)(*q++ - '0');
    if (q == sc->p ||
        (q < sc->end && (*q == '.' || *q == 'e' || *q == 'E' || (*q >= '0' && *q <= '9'))))
        return -1;
    sc->p = q;
    *out = (int64_t)v;
    return 0;
}

/* Skips any value: a string, an object or array (nesting counted), or a scalar. */
static int s_scan_skip(s_scan_t *sc)
{
    s_scan_ws(sc);
    if (sc->p >= sc->end)
        return -1;
    const char *start;
    size_t len;
    int escaped;
    if (*sc->p == '"')
        return s_scan_string(sc, &start, &len, &escaped);
    if (*sc->p != '{' && *sc->p != '[') {
        while (sc->p < sc->end && *sc->p != ',' && *sc->p != '}' && *sc->p != ']')
            sc->p++;
        return sc->p < sc->end ? 0 : -1;
    }
    int depth = 0;
    while (sc->p < sc->end) {
        char c = *sc->p;
        if (c == '"') {
            if (s_scan_string(sc, &start, &len, &escaped) != 0)
                return -1;
            continue;
        }
        sc->p++;
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return 0;
    }
    return -1;
}

/* Walks an object, calling field(sc, key, key_len, arg) at each value; 0 at the closing brace. */
static int s_scan_object(s_scan_t *sc, int (*field)(s_scan_t *, const char *, size_t, void *),
                         void *arg)
{
    s_scan_ws(sc);
    if (sc->p >= sc->end || *sc->p != '{')
        return -1;
    sc->p++;
    s_scan_ws(sc);
    if (sc->p < sc->end && *sc->p == '}') {
        sc->p++;
        return 0;
    }
    for (;;) {
        const char *key;
        size_t klen;
        int escaped;
        if (s_scan_string(sc, &key, &klen, &escaped) != 0 || escaped)
            return -1;
        s_scan_ws(sc);
        if (sc->p >= sc->end || *sc->p != ':')
            return -1;
        sc->p++;
        if (field(sc, key, klen, arg) != 0)
            return -1;
        s_scan_ws(sc);
        if (sc->p < sc->end && *sc->p == ',') {
            sc->p++;
            continue;
        }
        if (sc->p < sc->end && *sc->p == '}') {
            sc->p++;
            return 0;
        }
        return -1;
    }
}

/* True when the key is the NUL-terminated name. */
static int s_key_is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

/* A field of "data": r and n are read, the rest skipped. */
static int s_scan_data_field(s_scan_t *sc, const char *key, size_t klen, void *arg)
{
    s_event_t *ev = arg;
    int escaped;
    if (s_key_is(key, klen, "r")) {
        if (s_scan_string(sc, &ev->r, &ev->r_len, &escaped) != 0 || escaped)
            return -1;
        return 0;
    }
    if (s_key_is(key, klen, "n"))
        return s_scan_u63(sc, &ev->n);
    return s_scan_skip(sc);
}

/* A field of the frame; *op_ok (in the event) records "op":"event". */
typedef struct s_frame_scan {
    s_event_t *ev; /* what is read */
    int is_event;  /* "op" was "event" */
} s_frame_scan_t;

/* A top-level field of the frame. */
static int s_scan_frame_field(s_scan_t *sc, const char *key, size_t klen, void *arg)
{
    s_frame_scan_t *fs = arg;
    const char *v;
    size_t vlen;
    int escaped;
    if (s_key_is(key, klen, "op")) {
        if (s_scan_string(sc, &v, &vlen, &escaped) != 0)
            return -1;
        fs->is_event = vlen == 5 && memcmp(v, "event", 5) == 0;
        return fs->is_event ? 0 : -1; /* not an event: the jansson path handles it */
    }
    if (s_key_is(key, klen, "room")) {
        if (s_scan_string(sc, &fs->ev->room, &fs->ev->room_len, &escaped) != 0 || escaped)
            return -1;
        return 0;
    }
    if (s_key_is(key, klen, "epoch"))
        return s_scan_u63(sc, &fs->ev->epoch);
    if (s_key_is(key, klen, "seq"))
        return s_scan_u63(sc, &fs->ev->seq);
    if (s_key_is(key, klen, "data"))
        return s_scan_object(sc, s_scan_data_field, fs->ev);
    return s_scan_skip(sc);
}

/* Reads an event frame without allocating; 0, or -1 when the jansson path must decide. */
static int s_scan_event(const char *text, size_t len, s_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->epoch = ev->seq = ev->n = -1;
    s_scan_t sc = {text, text + len};
    s_frame_scan_t fs = {ev, 0};
    if (s_scan_object(&sc, s_scan_frame_field, &fs) != 0 || !fs.is_event || !ev->room)
        return -1;
    s_scan_ws(&sc);
    return sc.p == sc.end ? 0 : -1;
}

/* The same fields from a parsed frame (the slow path). */
static void s_event_from_json(json_t *frame, s_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    json_t *room = json_object_get(frame, "room");
    ev->room = json_string_value(room);
    ev->room_len = ev->room ? json_string_length(room) : 0;
    ev->epoch = s_u64_field(frame, "epoch");
    ev->seq = s_u64_field(frame, "seq");
    json_t *data = json_object_get(frame, "data");
    json_t *r = json_object_get(data, "r");
    ev->r = json_string_value(r);
    ev->r_len = ev->r ? json_string_length(r) : 0;
    ev->n = s_u64_field(data, "n");
}

/* The joined room whose name is the len bytes at room, or NULL. */
static s_track_t *s_track_findn(const ts_wsc_conn_t *conn, const char *room, size_t len)
{
    for (size_t i = 0; i < conn->ntracks; i++)
        if (strlen(conn->tracks[i].room) == len && memcmp(conn->tracks[i].room, room, len) == 0)
            return &conn->tracks[i];
    return NULL;
}

/* Records an event and checks that it is exactly the one after the room's position. */
static void s_track_event(ts_wsc_conn_t *conn, const s_event_t *ev)
{
    s_track_t *t = ev->room ? s_track_findn(conn, ev->room, ev->room_len) : NULL;
    if (!t) {
        if (conn->stray++ < TS_WSC_LOUD_MAX)
            fprintf(stderr, "ts_wsc: %s: event of a room it never joined: %.*s\n", conn->name,
                    ev->room ? (int)ev->room_len : 9, ev->room ? ev->room : "(no room)");
        return;
    }
    int64_t epoch = ev->epoch, seq = ev->seq;
    if (epoch <= 0 || seq <= 0)
        s_violation(conn, t, "event without a positive epoch and seq");
    if (t->pending)
        s_violation(conn, t, "event %" PRId64 "/%" PRId64 " before the answer to subscribe", epoch,
                    seq);
    if (t->has_pos && ((uint64_t)epoch != t->epoch || (uint64_t)seq != t->seq + 1))
        s_violation(conn, t,
                    "event %" PRId64 "/%" PRId64 " after position %" PRIu64 "/%" PRIu64
                    " (want %" PRIu64 "/%" PRIu64 ")",
                    epoch, seq, t->epoch, t->seq, t->epoch, t->seq + 1);
    if (ev->r && (ev->r_len != strlen(t->room) || memcmp(ev->r, t->room, ev->r_len) != 0))
        s_violation(conn, t, "event %" PRId64 " carries data.r \"%.*s\"", seq,
                    (int)(ev->r_len < 64 ? ev->r_len : 64), ev->r);
    t->has_pos = 1;
    t->epoch = (uint64_t)(epoch > 0 ? epoch : 0);
    t->seq = (uint64_t)(seq > 0 ? seq : 0);
    ts_wsc_rec_t *rec = s_rec_push(conn, t);
    if (!rec)
        return;
    rec->kind = TS_WSC_REC_EVENT;
    rec->epoch = t->epoch;
    rec->seq = t->seq;
    rec->n = ev->n;
}

/* Maps a "reason" text to its code. */
static ts_wsc_reason_t s_reason(const char *text)
{
    if (!text)
        return TS_WSC_REASON_NONE;
    if (strcmp(text, "epoch_changed") == 0)
        return TS_WSC_REASON_EPOCH_CHANGED;
    if (strcmp(text, "too_old") == 0)
        return TS_WSC_REASON_TOO_OLD;
    if (strcmp(text, "history_unavailable") == 0)
        return TS_WSC_REASON_UNAVAILABLE;
    return TS_WSC_REASON_OTHER;
}

/* Records a "subscribed" (the answer to our subscribe, or an unsolicited notice) and moves the
 * room's position as the protocol says. */
static void s_track_subscribed(ts_wsc_conn_t *conn, json_t *frame)
{
    const char *room = json_string_value(json_object_get(frame, "room"));
    s_track_t *t = room ? s_track_find(conn, room) : NULL;
    if (!t)
        return; /* a room joined with ts_wsc_subscribe(), outside resume bookkeeping */
    json_t *rv = json_object_get(frame, "recovered");
    int recovered = json_is_boolean(rv) ? json_is_true(rv) : -1;
    int64_t epoch = s_u64_field(frame, "epoch"), seq = s_u64_field(frame, "seq");
    ts_wsc_reason_t reason = s_reason(json_string_value(json_object_get(frame, "reason")));
    int reply = t->pending;
    t->pending = 0;
    if (reply && t->since_sent && recovered < 0)
        s_violation(conn, t, "subscribe with since answered without \"recovered\"");
    if (reply && t->since_sent && recovered == 1 &&
        ((uint64_t)epoch != t->since_epoch || (uint64_t)seq != t->since_seq))
        s_violation(conn, t,
                    "recovered:true at %" PRId64 "/%" PRId64 " but since was %" PRIu64 "/%" PRIu64,
                    epoch, seq, t->since_epoch, t->since_seq);
    if (!reply && recovered != 0)
        s_violation(conn, t, "unsolicited subscribed that is not recovered:false");
    if (recovered >= 0 && (epoch <= 0 || seq < 0))
        s_violation(conn, t, "subscribed with recovered but no valid epoch/seq");
    if (recovered == 0 && (reason == TS_WSC_REASON_NONE || reason == TS_WSC_REASON_OTHER))
        s_violation(conn, t, "recovered:false without a known reason");
    /* The answer to a subscribe without since carries the room's position at that edge when
     * the edge has one: every later event of the room must follow it exactly (checked as events
     * arrive), and a reconnect resumes from it even before the first event. */
    bool adopt = recovered >= 0 || (reply && !t->since_sent && !t->has_pos);
    if (adopt && epoch > 0 && seq >= 0) {
        t->has_pos = 1;
        t->epoch = (uint64_t)epoch;
        t->seq = (uint64_t)seq;
    }
    ts_wsc_rec_t *rec = s_rec_push(conn, t);
    if (!rec)
        return;
    rec->kind = TS_WSC_REC_SUBSCRIBED;
    rec->epoch = (uint64_t)(epoch > 0 ? epoch : 0);
    rec->seq = (uint64_t)(seq > 0 ? seq : 0);
    rec->recovered = (int8_t)recovered;
    rec->reason = (uint8_t)(recovered == 0 ? reason : TS_WSC_REASON_NONE);
    rec->reply = (uint8_t)reply;
}

/* A "position" (a room new to the edge): the cursor of a room that has none yet; it must come
 * before the room's first event, so one that finds a cursor already is a violation. */
static void s_track_position(ts_wsc_conn_t *conn, json_t *frame)
{
    const char *room = json_string_value(json_object_get(frame, "room"));
    s_track_t *t = room ? s_track_find(conn, room) : NULL;
    if (!t)
        return;
    int64_t epoch = s_u64_field(frame, "epoch"), seq = s_u64_field(frame, "seq");
    if (epoch <= 0 || seq < 0) {
        s_violation(conn, t, "position without a valid epoch/seq");
        return;
    }
    if (t->has_pos) {
        s_violation(conn, t, "position after the room already had one");
        return;
    }
    t->has_pos = 1;
    t->epoch = (uint64_t)epoch;
    t->seq = (uint64_t)seq;
}

/* An error naming a joined room answers its subscribe: that is a violation in resume mode. */
static void s_track_error(ts_wsc_conn_t *conn, json_t *frame)
{
    const char *room = json_string_value(json_object_get(frame, "room"));
    s_track_t *t = room ? s_track_find(conn, room) : NULL;
    if (!t)
        return;
    t->pending = 0;
    const char *code = json_string_value(json_object_get(frame, "code"));
    const char *message = json_string_value(json_object_get(frame, "message"));
    s_violation(conn, t, "error %s: %.80s", code ? code : "?", message ? message : "");
}

/* Enables resume mode. */
void ts_wsc_resume_enable(ts_wsc_conn_t *conn, int reconnect_port, int min_ms, int max_ms)
{
    conn->resume = 1;
    conn->reconnect_port = reconnect_port;
    conn->backoff_min = min_ms > 0 ? min_ms : 0;
    conn->backoff_max = max_ms > conn->backoff_min ? max_ms : conn->backoff_min;
}

/* Joins a room, with since when there is a cursor. */
int ts_wsc_join(ts_wsc_conn_t *conn, const char *room)
{
    if (!conn->resume)
        return -1;
    s_track_t *t = s_track_find(conn, room);
    if (!t) {
        if (conn->ntracks == conn->tracks_cap) {
            size_t cap = conn->tracks_cap ? conn->tracks_cap * 2 : 4;
            s_track_t *bigger = realloc(conn->tracks, cap * sizeof *bigger);
            if (!bigger)
                return -1;
            conn->tracks = bigger;
            conn->tracks_cap = cap;
        }
        t = &conn->tracks[conn->ntracks];
        memset(t, 0, sizeof *t);
        t->room = strdup(room);
        if (!t->room)
            return -1;
        conn->ntracks++;
    }
    t->pending = 1;
    t->since_sent = t->has_pos;
    t->since_epoch = t->epoch;
    t->since_seq = t->seq;
    if (t->has_pos)
        return ts_wsc_send_textf(
            conn,
            "{\"op\":\"subscribe\",\"room\":\"%s\",\"since\":{\"epoch\":%" PRIu64
            ",\"seq\":%" PRIu64 "}}",
            room, t->epoch, t->seq);
    return ts_wsc_send_textf(conn, "{\"op\":\"subscribe\",\"room\":\"%s\"}", room);
}

/* Reconnects a closed resume client. */
int ts_wsc_reconnect(ts_wsc_conn_t *conn, int port)
{
    if (!conn->resume || !conn->closed)
        return -1;
    lws_sul_cancel(&conn->retry);
    return s_open(conn, port);
}

/* Unanswered subscribes on the current connection. */
size_t ts_wsc_pending(const ts_wsc_conn_t *conn)
{
    size_t n = 0;
    for (size_t i = 0; i < conn->ntracks; i++)
        n += conn->tracks[i].pending != 0;
    return n;
}

/* The cursor of a room. */
int ts_wsc_cursor(const ts_wsc_conn_t *conn, const char *room, uint64_t *epoch, uint64_t *seq)
{
    const s_track_t *t = s_track_find(conn, room);
    if (!t || !t->has_pos)
        return 0;
    *epoch = t->epoch;
    *seq = t->seq;
    return 1;
}

/* Attempts so far. */
unsigned ts_wsc_connections(const ts_wsc_conn_t *conn)
{
    return conn->conn_no;
}

/* Attempts that ended. */
unsigned ts_wsc_closes(const ts_wsc_conn_t *conn)
{
    return conn->closes;
}

/* Closes with a given peer close code. */
unsigned ts_wsc_closes_with(const ts_wsc_conn_t *conn, int code)
{
    for (size_t i = 0; i < sizeof conn->close_codes / sizeof conn->close_codes[0]; i++)
        if (conn->close_counts[i] > 0 && conn->close_codes[i] == code)
            return conn->close_counts[i];
    return 0;
}

/* Time of the latest close. */
uint64_t ts_wsc_closed_at(const ts_wsc_conn_t *conn)
{
    return conn->closed_at;
}

/* A room's records. */
const ts_wsc_rec_t *ts_wsc_records(const ts_wsc_conn_t *conn, const char *room, size_t *count)
{
    const s_track_t *t = s_track_find(conn, room);
    *count = t ? t->nrecs : 0;
    return t ? t->recs : NULL;
}

/* Events of rooms never joined. */
size_t ts_wsc_stray_events(const ts_wsc_conn_t *conn)
{
    return conn->stray;
}

/* Checks a room's whole stream; see the header. */
int ts_wsc_check_room(const ts_wsc_conn_t *conn, const char *room, ts_wsc_summary_t *sum, char *err,
                      size_t errlen)
{
    memset(sum, 0, sizeof *sum);
    sum->last_n = -1;
    const s_track_t *t = s_track_find(conn, room);
    if (!t) {
        snprintf(err, errlen, "%s never joined %s", conn->name, room);
        return -1;
    }
    size_t bad = t->violations;
    char first[240];
    snprintf(first, sizeof first, "%s", t->first_bad);
    int have_offset = 0;
    int64_t offset = 0; /* data.n - seq within the current stretch */
    for (size_t i = 0; i < t->nrecs; i++) {
        const ts_wsc_rec_t *r = &t->recs[i];
        if (r->kind == TS_WSC_REC_SUBSCRIBED) {
            sum->replies += r->reply;
            sum->unsolicited += !r->reply;
            if (r->recovered == 1)
                sum->resumed++;
            if (r->recovered == 0) {
                sum->lost[r->reason < TS_WSC_REASON__COUNT ? r->reason : TS_WSC_REASON_OTHER]++;
                have_offset = 0; /* a new stretch: the publisher's counter may jump */
            }
            continue;
        }
        if (sum->events == 0) {
            sum->first_epoch = r->epoch;
            sum->first_seq = r->seq;
        }
        sum->events++;
        sum->last_epoch = r->epoch;
        sum->last_seq = r->seq;
        sum->last_n = r->n;
        if (r->n < 0)
            continue;
        if (!have_offset) {
            have_offset = 1;
            offset = r->n - (int64_t)r->seq;
        } else if (r->n - (int64_t)r->seq != offset) {
            if (bad++ == 0)
                snprintf(first, sizeof first,
                         "record %zu: event %" PRIu64 "/%" PRIu64 " carries n=%" PRId64
                         ", want %" PRId64,
                         i, r->epoch, r->seq, r->n, (int64_t)r->seq + offset);
            offset = r->n - (int64_t)r->seq;
        }
    }
    if (bad == 0)
        return 0;
    snprintf(err, errlen, "%s, room %s: %zu problem(s), the first: %s", conn->name, room, bad,
             first);
    return -1;
}
