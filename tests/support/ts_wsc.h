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
 * Not thread-safe: use a ts_wsc_t and its connections from one thread only.
 */
#ifndef TS_WSC_H
#define TS_WSC_H

#include <jansson.h>
#include <stddef.h>

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

#endif
