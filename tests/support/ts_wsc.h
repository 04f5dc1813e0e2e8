/*
 * ts_wsc.h: a WebSocket test client for the integration tests (libwebsockets, client side).
 *
 * One ts_wsc_t owns one lws context and any number of connections (hundreds at once). Nothing
 * runs in the background: every wait function services the whole context from the calling
 * thread, in a loop bounded by its timeout, so all connections make progress while a test waits
 * on one of them. Each connection records every text frame it receives (parsed with jansson), how
 * it was closed (close code and reason from the peer) and whether it failed to connect.
 *
 * Sending is queued: a ts_wsc_send_* call appends to the connection's queue and asks lws for a
 * writeable callback; each callback writes one frame. Waits flush the queue as a side effect.
 *
 * Resume mode (ts_wsc_resume_enable) turns a connection into a long-lived *client* that behaves
 * like weft.js: it keeps a cursor (epoch, seq of the last event) per joined room, re-subscribes
 * each room with "since" after every reconnect, and can reconnect by itself after a randomized
 * backoff when its connection closes. Such a client does not keep its event frames as JSON (300
 * clients times thousands of events would not fit); it keeps one small record per event and per
 * "subscribed" frame instead, checks order as frames arrive, and ts_wsc_check_room() checks a
 * whole room's stream afterwards. Other frames (welcome, subscribed, error, pong) are still kept.
 *
 * Not thread-safe: use a ts_wsc_t and its connections from one thread only.
 */
#ifndef TS_WSC_H
#define TS_WSC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ts_wsc ts_wsc_t;
typedef struct ts_wsc_conn ts_wsc_conn_t;

/* Creates a client context. Returns NULL on failure (reason on stderr). */
ts_wsc_t *ts_wsc_new(void);

/* Closes every connection, destroys the context and all connections, nulls *self_p. NULL-safe.
 * Connection pointers obtained from it become invalid. */
void ts_wsc_destroy(ts_wsc_t **self_p);

/* Services the context for about ms milliseconds (all connections make progress). */
void ts_wsc_service(ts_wsc_t *self, int ms);

/*
 * Starts connecting to ws://127.0.0.1:port/ws. name labels the connection in messages. The
 * connection belongs to self (freed by ts_wsc_destroy). Returns NULL if lws refused at once.
 */
ts_wsc_conn_t *ts_wsc_connect(ts_wsc_t *self, int port, const char *name);

/* How ts_wsc_connect_with() connects. */
typedef struct ts_wsc_dial {
    const char *origin; /* the Origin header to send; NULL: none */
    int tls;            /* nonzero: wss:// (any certificate accepted, self-signed included) */
    const char *path;   /* the request path, e.g. "/ws?token=..."; NULL: "/ws" */
    const char *bearer; /* a token sent as "Authorization: Bearer <token>"; NULL: none */
} ts_wsc_dial_t;

/*
 * As ts_wsc_connect(), with the Origin header, TLS, path and bearer token of dial (copied; NULL =
 * ts_wsc_connect's defaults: Origin "http://127.0.0.1", plain ws:// on /ws, no token). A refused
 * upgrade ends as a failed connection.
 */
ts_wsc_conn_t *ts_wsc_connect_with(ts_wsc_t *self, int port, const char *name,
                                   const ts_wsc_dial_t *dial);

/* Waits until the handshake completed and the edge's welcome frame arrived. Returns 0, or -1 on
 * timeout, connection error or close. */
int ts_wsc_wait_open(ts_wsc_conn_t *conn, int timeout_ms);

/* Waits until every connection of the context is open (as ts_wsc_wait_open). Returns 0 or -1. */
int ts_wsc_wait_all_open(ts_wsc_t *self, int timeout_ms);

/* Queues one text frame. Returns 0, or -1 if the connection is closed or memory ran out. */
int ts_wsc_send_text(ts_wsc_conn_t *conn, const char *text);

/* Queues one text frame built from a printf format. */
int ts_wsc_send_textf(ts_wsc_conn_t *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues one binary frame. */
int ts_wsc_send_binary(ts_wsc_conn_t *conn, const void *data, size_t len);

/*
 * Queues one text message split into nparts fragments of about equal size: the first is sent
 * with LWS_WRITE_TEXT | LWS_WRITE_NO_FIN, the middle ones as continuations without FIN, the last
 * as the final continuation.
 */
int ts_wsc_send_fragmented(ts_wsc_conn_t *conn, const char *text, size_t len, size_t nparts);

/* Queues one valid JSON text message of exactly len bytes, {"op":"ping","pad":"xxx..."}, to probe
 * size limits (the edge answers "pong" below its limit and closes with 1009 above). len >= 64. */
int ts_wsc_send_sized(ts_wsc_conn_t *conn, size_t len);

/* Sends {"op":"subscribe","room":room} and waits for the matching "subscribed". Returns 0, or
 * -1 on timeout, error frame or close. */
int ts_wsc_subscribe(ts_wsc_conn_t *conn, const char *room, int timeout_ms);

/* Sends {"op":"unsubscribe","room":room} and waits for the matching "unsubscribed". */
int ts_wsc_unsubscribe(ts_wsc_conn_t *conn, const char *room, int timeout_ms);

/* Starts a normal close (1000) from the client side. */
void ts_wsc_close(ts_wsc_conn_t *conn);

/* Number of text frames received so far. */
size_t ts_wsc_frame_count(const ts_wsc_conn_t *conn);

/* The i-th received frame (borrowed; valid until the context is destroyed), or NULL when out of
 * range. A frame that was not valid JSON is recorded as a JSON string holding its raw text. */
json_t *ts_wsc_frame(const ts_wsc_conn_t *conn, size_t i);

/* Number of received frames whose "op" equals op (and "room" equals room unless room is NULL). */
size_t ts_wsc_count_op(const ts_wsc_conn_t *conn, const char *op, const char *room);

/* Number of text frames that were not valid JSON objects. */
size_t ts_wsc_bad_frames(const ts_wsc_conn_t *conn);

/* Waits until at least n frames have arrived. Returns 0, or -1 on timeout or close. */
int ts_wsc_wait_frames(ts_wsc_conn_t *conn, size_t n, int timeout_ms);

/* Waits until at least n frames with this op (and room unless NULL) have arrived. */
int ts_wsc_wait_count(ts_wsc_conn_t *conn, const char *op, const char *room, size_t n,
                      int timeout_ms);

/*
 * Waits for a frame at index >= *from whose "op" is op (and "room" is room unless NULL). On
 * success returns the frame (borrowed) and sets *from past it; NULL on timeout or close.
 */
json_t *ts_wsc_wait_op(ts_wsc_conn_t *conn, const char *op, const char *room, size_t *from,
                       int timeout_ms);

/* Waits until the connection is closed (by the peer, by us, or a connect error). 0 or -1. */
int ts_wsc_wait_closed(ts_wsc_conn_t *conn, int timeout_ms);

/* 1 while the WebSocket is established and not closed. */
int ts_wsc_is_open(const ts_wsc_conn_t *conn);

/* 1 once the connection is closed or failed. */
int ts_wsc_is_closed(const ts_wsc_conn_t *conn);

/* The close code the peer sent (0 if none was received, e.g. the TCP connection just ended). */
int ts_wsc_close_code(const ts_wsc_conn_t *conn);

/* The close reason the peer sent ("" if none). */
const char *ts_wsc_close_reason(const ts_wsc_conn_t *conn);

/* The connection's label. */
const char *ts_wsc_name(const ts_wsc_conn_t *conn);

/* A one-line summary (state, frames, close code) for failure messages. The text lives in the
 * connection and is overwritten by the next call for the same connection. */
const char *ts_wsc_describe(ts_wsc_conn_t *conn);

/* Services the context until done(arg) returns nonzero. Returns 0, or -1 after timeout_ms. */
int ts_wsc_wait_until(ts_wsc_t *self, int (*done)(void *arg), void *arg, int timeout_ms);

/* The edge id of the connection's latest welcome frame ("" before the first). */
const char *ts_wsc_edge_id(const ts_wsc_conn_t *conn);

/* ---- Resume mode: cursors, records and reconnects (docs/protocol.md §3 "Resume") ---------- */

/* The "reason" of a recovered:false "subscribed". */
typedef enum ts_wsc_reason {
    TS_WSC_REASON_NONE = 0,      /* recovered, or no reason given */
    TS_WSC_REASON_EPOCH_CHANGED, /* "epoch_changed" */
    TS_WSC_REASON_TOO_OLD,       /* "too_old" */
    TS_WSC_REASON_UNAVAILABLE,   /* "history_unavailable" */
    TS_WSC_REASON_OTHER,         /* any other text: a contract violation */
    TS_WSC_REASON__COUNT
} ts_wsc_reason_t;

/* What one record describes. */
typedef enum ts_wsc_rec_kind {
    TS_WSC_REC_EVENT = 0,  /* an "event" frame */
    TS_WSC_REC_SUBSCRIBED, /* a "subscribed" frame, solicited or not */
} ts_wsc_rec_kind_t;

/* One received frame of a joined room, in arrival order. */
typedef struct ts_wsc_rec {
    uint64_t epoch;   /* the frame's epoch (0 when a "subscribed" carried none) */
    uint64_t seq;     /* the frame's seq (0 when a "subscribed" carried none) */
    int64_t n;        /* events: data.n (the publisher's per-room counter), -1 when absent */
    uint64_t t_ms;    /* base_clock_ms() when the frame was processed */
    uint32_t conn_no; /* which connection of the client carried it: 1, 2, ... */
    uint8_t kind;     /* ts_wsc_rec_kind_t */
    int8_t recovered; /* "subscribed": 1 true, 0 false, -1 absent (a plain subscribe) */
    uint8_t reason;   /* "subscribed" with recovered:false: ts_wsc_reason_t */
    uint8_t reply;    /* "subscribed": 1 when it answered our subscribe, 0 when unsolicited */
} ts_wsc_rec_t;

/* What ts_wsc_check_room() found in one room's records. */
typedef struct ts_wsc_summary {
    size_t events;                       /* event records */
    size_t replies;                      /* "subscribed" answers to our subscribes */
    size_t resumed;                      /* "subscribed" with recovered:true */
    size_t lost[TS_WSC_REASON__COUNT];   /* "subscribed" with recovered:false, by reason */
    size_t unsolicited;                  /* "subscribed" the client did not ask for */
    uint64_t first_epoch;                /* epoch of the first event (0: none) */
    uint64_t first_seq;                  /* seq of the first event */
    uint64_t last_epoch;                 /* epoch of the last event */
    uint64_t last_seq;                   /* seq of the last event */
    int64_t last_n;                      /* data.n of the last event (-1: none) */
} ts_wsc_summary_t;

/*
 * Turns conn into a resume client (call before it receives events). When reconnect_port > 0,
 * every close that the test did not ask for (ts_wsc_close) is followed, after a random delay in
 * [min_ms, max_ms], by a new connection to 127.0.0.1:reconnect_port that re-subscribes every
 * joined room with its cursor; failed attempts are retried the same way.
 */
void ts_wsc_resume_enable(ts_wsc_conn_t *conn, int reconnect_port, int min_ms, int max_ms);

/*
 * Joins room (exact name) on a resume client: queues {"op":"subscribe","room":room}, with
 * "since" when the client already has a cursor for it, and remembers the room for reconnects.
 * Does not wait; ts_wsc_pending() tells when the answer arrived. Returns 0 or -1.
 */
int ts_wsc_join(ts_wsc_conn_t *conn, const char *room);

/*
 * Opens a new connection for a resume client whose connection is closed, to 127.0.0.1:port,
 * and re-subscribes every joined room with "since" (its cursor) as soon as it is open. Returns
 * 0, or -1 when the connection is still open or lws refused at once.
 */
int ts_wsc_reconnect(ts_wsc_conn_t *conn, int port);

/* Joined rooms whose subscribe on the current connection has not been answered yet. */
size_t ts_wsc_pending(const ts_wsc_conn_t *conn);

/* The cursor of room: 1 and (*epoch, *seq) when the client has one, 0 otherwise. */
int ts_wsc_cursor(const ts_wsc_conn_t *conn, const char *room, uint64_t *epoch, uint64_t *seq);

/* Connections made so far (1 + reconnects, failed attempts included). */
unsigned ts_wsc_connections(const ts_wsc_conn_t *conn);

/* Connections that ended (closed by either side or failed) so far. */
unsigned ts_wsc_closes(const ts_wsc_conn_t *conn);

/* How many of those ended with the peer's close code code (0: the connection ended without a
 * close frame from the peer, e.g. a killed edge, or failed to connect). */
unsigned ts_wsc_closes_with(const ts_wsc_conn_t *conn, int code);

/* base_clock_ms() of the latest close (0: never closed). */
uint64_t ts_wsc_closed_at(const ts_wsc_conn_t *conn);

/* The records of room, oldest first (borrowed; valid until the next service call), or NULL when
 * the room was never joined. *count receives their number. */
const ts_wsc_rec_t *ts_wsc_records(const ts_wsc_conn_t *conn, const char *room, size_t *count);

/*
 * Checks room's whole stream and fills *sum. The stream is correct when: every event's data.r
 * named the room; every "subscribed" that answered a subscribe with "since" carried recovered
 * (and, when true, exactly the epoch and seq sent); every unsolicited "subscribed" says
 * recovered:false; no event came between a subscribe and its answer; and each event is exactly
 * the one after the previous position (same epoch, seq + 1), where a position is the previous
 * event or a recovered:false notice's (epoch, seq). Within one stretch without notices, data.n
 * advances with seq (n - seq is constant), so no event was swapped for another. Returns 0, or -1
 * with the first problem (and how many there were) in err.
 */
int ts_wsc_check_room(const ts_wsc_conn_t *conn, const char *room, ts_wsc_summary_t *sum,
                      char *err, size_t errlen);

/* Events received for rooms the client never joined (each is a failure). */
size_t ts_wsc_stray_events(const ts_wsc_conn_t *conn);

#endif
