/*
 * weft.h: the Weft agent SDK (libweft).
 *
 * An agent publishes events into a Weft fabric: each event names a room, an event type and a JSON
 * object. libweft validates the event locally, hands it to a background I/O thread and returns at
 * once. The I/O thread delivers events to the router in order and keeps every event until the
 * router acknowledges it, so an event is never lost silently: it is either acknowledged by the
 * router, or refused with an error code when weft_publish() is called, or counted as lost in
 * weft_pub_stats() when the publisher is destroyed before the router acknowledged it.
 *
 * This header includes only C standard headers. No ZeroMQ or JSON library type leaks into it.
 *
 * Thread safety: every function taking a weft_pub_t may be called from any thread, also
 * concurrently on the same publisher, except weft_pub_destroy(), which must not run concurrently
 * with any other call on that publisher. weft_strerror(), weft_err_name() and weft_version() are
 * thread-safe. weft_log_set() may be called at any time; the callback may be invoked from the
 * publisher's I/O thread.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

#include "weft/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WEFT_BUILDING) && defined(__GNUC__)
#define WEFT_EXPORT __attribute__((visibility("default")))
#else
#define WEFT_EXPORT
#endif

/* Error codes. Every SDK call returns 0 or one of these negative values. */
#define WEFT_ERRNO_MAP(X)                                                                          \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(EROOM, -2, "invalid room name: must match [A-Za-z0-9_.:-]{1,128}")                           \
    X(ETYPE, -3, "invalid event type: must match [a-z0-9_.]{1,64}")                                \
    X(EJSON, -4, "payload is not a JSON object")                                                   \
    X(ETOOBIG, -5, "payload larger than the configured maximum")                                   \
    X(EKEY, -6, "invalid coalesce key: 1..128 printable ASCII characters, no space")               \
    X(EFULL, -7, "publish buffer full: the router has not acknowledged enough events")             \
    X(ENOMEM, -8, "out of memory")                                                                 \
    X(ETIMEDOUT, -9, "timed out")                                                                  \
    X(ECLOSED, -10, "publisher is shutting down")                                                  \
    X(EENDPOINT, -11, "invalid or unusable endpoint")                                              \
    X(EINTERNAL, -12, "internal error (see the log callback)")

enum weft_err {
    WEFT_OK = 0,
#define WEFT__ERR_ENUM(name, code, text) WEFT_##name = (code),
    WEFT_ERRNO_MAP(WEFT__ERR_ENUM)
#undef WEFT__ERR_ENUM
};

/* Flags for weft_publish(). */
#define WEFT_CRITICAL 0x1 /* deliver at once, flushing any batch window at the edges */

/* Limits enforced locally by weft_publish() (the router enforces them again). */
#define WEFT_ROOM_MAX 128
#define WEFT_TYPE_MAX 64
#define WEFT_KEY_MAX 128
#define WEFT_PUBID_MAX 64
#define WEFT_PAYLOAD_DEFAULT_MAX 65536

/* Publisher options. Call weft_pub_opts_init() first, then change what you need. */
typedef struct weft_pub_opts {
    const char *publisher_id;  /* [A-Za-z0-9_.:-]{1,64}; NULL: "<hostname>-<pid>" */
    size_t max_buffered;       /* events buffered awaiting the router's ack (default 10000) */
    size_t max_buffered_bytes; /* bytes buffered awaiting ack (default 16 MiB) */
    int block_ms;              /* how long weft_publish() may wait for buffer space (default 0) */
    int heartbeat_ms;          /* heartbeat interval for presence (default 1000) */
    int linger_ms;             /* weft_pub_destroy() waits this long for acks (default 2000) */
    size_t max_payload;        /* largest JSON payload in bytes (default 65536) */
} weft_pub_opts_t;

/* Counters of one publisher. All are totals since weft_pub_new(). */
typedef struct weft_pub_stats {
    uint64_t published; /* accepted by weft_publish() */
    uint64_t acked;     /* acknowledged by the router */
    uint64_t refused;   /* rejected by weft_publish() because the buffer was full (WEFT_EFULL) */
    uint64_t invalid;   /* rejected by weft_publish() for invalid arguments */
    uint64_t resent;    /* sent again after the router came back */
    uint64_t lost;      /* unacknowledged when weft_pub_destroy() gave up (linger expired) */
    uint64_t buffered;  /* currently waiting for an ack (a gauge, not a total) */
    int connected;      /* 1 while the router's subscription is present */
} weft_pub_stats_t;

typedef struct weft_pub weft_pub_t;

/* Fills opts with the defaults. */
WEFT_EXPORT void weft_pub_opts_init(weft_pub_opts_t *opts);

/*
 * Creates a publisher connected to a router intake endpoint such as "tcp://127.0.0.1:5555".
 * opts may be NULL for defaults; it is copied, so the caller keeps ownership. The connection is
 * made in the background: events published before the router is reachable are buffered.
 * Returns NULL on an invalid endpoint or option, or when resources are exhausted; the reason is
 * passed to the log callback (see weft_log_set()).
 */
WEFT_EXPORT weft_pub_t *weft_pub_new(const char *endpoint, const weft_pub_opts_t *opts);

/*
 * Publishes one event. room: a room name; type: an event type; json: a NUL-terminated JSON object.
 * flags: 0 or WEFT_CRITICAL. Returns 0 once the event is buffered for delivery (the call does not
 * wait for the network), or a negative WEFT_E* code: validation errors, WEFT_EFULL when the buffer
 * stayed full for block_ms, WEFT_ECLOSED during destroy. Nothing is kept on error.
 */
WEFT_EXPORT int weft_publish(weft_pub_t *pub, const char *room, const char *type, const char *json,
                             int flags);

/* As weft_publish(), with a coalesce key (NULL for none) that lets edges keep only the newest
 * event per (room, type, key) within a batch window. */
WEFT_EXPORT int weft_publish_key(weft_pub_t *pub, const char *room, const char *type,
                                 const char *key, const char *json, int flags);

/* Waits until every event published so far is acknowledged by the router, at most timeout_ms
 * (negative: forever). Returns 0 or WEFT_ETIMEDOUT. */
WEFT_EXPORT int weft_pub_flush(weft_pub_t *pub, int timeout_ms);

/* Copies the publisher's counters into stats. */
WEFT_EXPORT void weft_pub_stats(weft_pub_t *pub, weft_pub_stats_t *stats);

/* The publisher id in use (generated when the options named none). Valid until destroy. */
WEFT_EXPORT const char *weft_pub_id(const weft_pub_t *pub);

/*
 * Waits up to linger_ms for outstanding acks, then stops the I/O thread, closes the socket, frees
 * the publisher and sets *pub_p to NULL. Events still unacknowledged are reported through the log
 * callback with their count. NULL-safe; safe to call twice.
 */
WEFT_EXPORT void weft_pub_destroy(weft_pub_t **pub_p);

/* Text for an error code ("unknown error" for anything else). Never NULL. */
WEFT_EXPORT const char *weft_strerror(int err);

/* Name for an error code, such as "WEFT_EFULL". Never NULL. */
WEFT_EXPORT const char *weft_err_name(int err);

/* The library's version string, e.g. "0.1.0". */
WEFT_EXPORT const char *weft_version(void);

/* Log levels passed to the log callback. */
typedef enum weft_log_level {
    WEFT_LOG_ERROR = 0,
    WEFT_LOG_WARN,
    WEFT_LOG_NOTICE,
    WEFT_LOG_INFO,
    WEFT_LOG_DEBUG
} weft_log_level_t;

typedef void weft_log_fn(int level, const char *message, void *arg);

/* Sets the process-wide log callback (NULL: the SDK stays silent, its default). The SDK never
 * prints by itself. */
WEFT_EXPORT void weft_log_set(weft_log_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
