/*
 * weft.h: the Weft agent SDK (libweft).
 *
 * An agent publishes events into a Weft fabric: each event names a room, an event type and a JSON
 * object. libweft validates the event locally, hands it to a background I/O thread and returns at
 * once. The I/O thread delivers events to the router in order and keeps every event until the
 * router acknowledges it, so an event is never lost silently: it is either acknowledged by the
 * router (reported by the on_ack callback and the counters), or refused with an error code when
 * it is published, or counted as lost by weft_pub_close() when the router did not acknowledge it
 * in time.
 *
 * This header includes only C standard headers. No ZeroMQ or JSON library type leaks into it.
 *
 * Thread safety: every function taking a weft_pub_t may be called from any thread, also
 * concurrently on the same publisher, except weft_pub_close() and weft_pub_destroy(), which must
 * not run concurrently with any other call on that publisher. weft_strerror(), weft_err_name(),
 * weft_version() and
 * weft_version_number() are thread-safe. weft_log_set() may be called at any time; the log
 * callback may be invoked from the publisher's I/O thread.
 *
 * Callbacks (on_ack, on_state, on_refused in weft_pub_opts_t) run on the publisher's I/O thread, one at a
 * time, never with a lock of the publisher held. They may call weft_publish*(), weft_pub_stats()
 * and weft_pub_id(), but should return quickly: while one runs, no event is sent and no ack is
 * read (a publish that has to wait for buffer space waits block_ms for nothing). Called from a
 * callback on its own publisher, weft_pub_flush() and weft_pub_close() return WEFT_EINVAL and
 * weft_pub_destroy() does nothing, since the acks they wait for are read by that very thread. If
 * a call that takes a callback fails, that callback never fires.
 *
 * Growing without breaking callers: weft_pub_opts_t and weft_pub_stats_t only gain fields at
 * their end, and every call that takes one is a macro passing the caller's compiled sizeof to a
 * *_sized() function; the library reads and writes only that many bytes. The plain symbols
 * weft_pub_opts_init, weft_pub_new and weft_pub_stats stay exported with the v0 sizes for
 * programs compiled against weft.h 0.1.0. Language bindings call the *_sized() functions with
 * their own struct's size. Compare WEFT_VERSION_NUMBER (compiled against) with
 * weft_version_number() (loaded) to know which fields the library fills.
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
    X(EINTERNAL, -12, "internal error (see the log callback)")                                     \
    X(EDENIEDROOM, -13, "refused by the router: this publisher may not publish to this room")      \
    X(EDENIEDTYPE, -14, "refused by the router: this publisher may not publish this event type")   \
    X(ERATE, -15, "over the router's rate cap for this publisher: the event is resent later")      \
    X(EREFUSED, -16, "refused by the router as invalid")

enum weft_err {
    WEFT_OK = 0,
#define WEFT__ERR_ENUM(name, code, text) WEFT_##name = (code),
    WEFT_ERRNO_MAP(WEFT__ERR_ENUM)
#undef WEFT__ERR_ENUM
};

/* Flags for the publish calls. */
#define WEFT_CRITICAL 0x1 /* deliver at once, flushing any batch window at the edges */

/* Limits enforced locally by weft_publish() (the router enforces them again). */
#define WEFT_ROOM_MAX 128
#define WEFT_TYPE_MAX 64
#define WEFT_KEY_MAX 128
#define WEFT_PUBID_MAX 64
#define WEFT_PAYLOAD_DEFAULT_MAX 65536

typedef struct weft_pub weft_pub_t;

/*
 * Called on the publisher's I/O thread when the router acknowledged events: every event with
 * first_seq <= seq <= last_seq (the seqs weft_publish_buf() returned) is now held by the router.
 * Acks are cumulative, so one call usually covers many events; over a publisher's life the
 * ranges are consecutive and cover each acknowledged event exactly once. pub is the publisher
 * the options were given to; arg is their callback_arg.
 */
typedef void weft_ack_fn(weft_pub_t *pub, uint64_t first_seq, uint64_t last_seq, void *arg);

/*
 * Called on the publisher's I/O thread when the router's subscription arrives (connected = 1:
 * events flow) or goes away (connected = 0: events are held until it returns). Called on changes
 * only, starting from "disconnected" at weft_pub_new(); not called by weft_pub_close().
 */
typedef void weft_state_fn(weft_pub_t *pub, int connected, void *arg);

/*
 * Called on the publisher's I/O thread when the router refused an event it received: seq is the
 * event's seq (as weft_publish_buf() returned it), reason one of WEFT_EDENIEDROOM (publisher
 * rights: the room), WEFT_EDENIEDTYPE (rights: the event type) or WEFT_EREFUSED (the router found
 * it invalid, or a reason this library does not know), text weft_strerror(reason). The router
 * acknowledges a refused event too, so it is freed like any other (on_ack covers it); it never
 * reached any client. Not called for the router's rate cap (WEFT_ERATE): such events are kept,
 * and resent after a back-off (counted in stats.throttled_by_router).
 */
typedef void weft_refused_fn(weft_pub_t *pub, uint64_t seq, int reason, const char *text,
                             void *arg);

/*
 * Publisher options. Initialise with weft_pub_opts_init(), then change what you need.
 *
 * The struct can grow: fields are only ever added at the end. weft_pub_opts_init() and
 * weft_pub_new() are macros that pass the caller's sizeof(weft_pub_opts_t) to the library, which
 * reads only the fields within that size and uses the defaults for the rest. A program compiled
 * against an older weft.h therefore keeps working with a newer libweft.
 */
typedef struct weft_pub_opts {
    const char *publisher_id;  /* [A-Za-z0-9_.:-]{1,64}; NULL: "<hostname>-<pid>" */
    size_t max_buffered;       /* events buffered awaiting the router's ack (default 10000) */
    size_t max_buffered_bytes; /* bytes buffered awaiting ack (default 16 MiB) */
    int block_ms;              /* how long a publish may wait for buffer space (default 0) */
    int heartbeat_ms;          /* heartbeat interval for presence (default 1000) */
    int linger_ms;             /* weft_pub_destroy() waits this long for acks (default 2000) */
    size_t max_payload;        /* largest JSON payload in bytes (default 65536) */
    /* Added after weft.h 0.1.0 (v0). */
    weft_ack_fn *on_ack;     /* acknowledged events, on the I/O thread (default NULL) */
    weft_state_fn *on_state; /* connection changes, on the I/O thread (default NULL) */
    void *callback_arg;      /* passed to on_ack, on_state and on_refused (default NULL) */
    /* Added in 0.3.0: CURVE to a router with curve_secret_key (docs/security.md, "Agent side:
     * CURVE keys"). All NULL (the default): plain TCP. Otherwise set the router's key and this
     * agent's pair, either as Z85 text or as the secret certificate file weft-keygen wrote; a
     * missing or bad key makes weft_pub_new() fail (NULL, with a log line). The strings are read
     * during weft_pub_new() only. */
    const char *curve_server_key; /* the router's public key: 40 Z85 characters or cert file */
    const char *curve_public_key; /* this agent's public key, 40 Z85 characters */
    const char *curve_secret_key; /* this agent's secret key, 40 Z85 characters */
    const char *curve_cert;       /* or this agent's secret certificate file (NAME_secret) */
    weft_refused_fn *on_refused; /* events the router refused, on the I/O thread (default NULL) */
} weft_pub_opts_t;

/*
 * Counters of one publisher. All are totals since weft_pub_new() unless said otherwise. It grows
 * like weft_pub_opts_t: weft_pub_stats() and weft_pub_close() are macros that pass the caller's
 * sizeof(weft_pub_stats_t), and the library writes only that many bytes.
 */
typedef struct weft_pub_stats {
    uint64_t published; /* accepted by a publish call */
    uint64_t acked;     /* acknowledged by the router */
    uint64_t refused;   /* rejected by a publish call because the buffer was full (WEFT_EFULL) */
    uint64_t invalid;   /* rejected by a publish call for invalid arguments */
    uint64_t resent;    /* sent again after the router came back */
    uint64_t lost;      /* unacknowledged when weft_pub_close() gave up (only final counters) */
    uint64_t buffered;  /* currently waiting for an ack (a gauge, not a total) */
    int connected;      /* 1 while the router's subscription is present */
    /* Added after weft.h 0.1.0 (v0). */
    uint64_t last_seq;  /* seq of the newest accepted event (0 before the first) */
    uint64_t acked_seq; /* every event with a seq up to this one is acknowledged (0: none) */
    uint64_t refused_by_router;   /* events the router refused (on_refused calls), acked too */
    uint64_t throttled_by_router; /* rate-cap refusals: each made the publisher pause and resend */
} weft_pub_stats_t;

/*
 * Fills opts with the defaults shown above. size: sizeof(weft_pub_opts_t) as the caller was
 * compiled (the weft_pub_opts_init() macro passes it). Returns 0, or WEFT_EINVAL (opts untouched)
 * when opts is NULL or size is smaller than the v0 struct. Fields beyond what this library knows
 * are set to zero.
 */
WEFT_EXPORT int weft_pub_opts_init_sized(weft_pub_opts_t *opts, size_t size);
#define weft_pub_opts_init(opts) weft_pub_opts_init_sized((opts), sizeof(weft_pub_opts_t))

/*
 * Creates a publisher connected to a router intake endpoint such as "tcp://127.0.0.1:5555".
 * opts may be NULL for defaults; it is copied, so the caller keeps ownership (publisher_id and
 * callback_arg are pointers: the id is copied, callback_arg must stay valid until close).
 * opts_size: sizeof(weft_pub_opts_t) as the caller was compiled (the weft_pub_new() macro passes
 * it); fields beyond it take their defaults, and fields this library does not know must be zero.
 * The connection is made in the background: events published before the router is reachable are
 * buffered.
 * Returns NULL on an invalid endpoint, option or size, or when resources are exhausted; the
 * reason is passed to the log callback (see weft_log_set()). On NULL no callback ever fires.
 */
WEFT_EXPORT weft_pub_t *weft_pub_new_sized(const char *endpoint, const weft_pub_opts_t *opts,
                                           size_t opts_size);
#define weft_pub_new(endpoint, opts) weft_pub_new_sized((endpoint), (opts), sizeof(weft_pub_opts_t))

/*
 * Publishes one event, the form for callers that hold the payload as a buffer (other languages,
 * payloads read from elsewhere).
 *   room, type: NUL-terminated room name and event type.
 *   key: NUL-terminated coalesce key that lets edges keep only the newest event per (room, type,
 *        key) within a batch window, or NULL for none.
 *   payload, len: a JSON object of len bytes (at most max_payload); it need not be NUL-terminated
 *        and is copied before the call returns. A "\u0000" escape is refused (WEFT_EJSON), as
 *        the router would refuse it.
 *   flags: 0 or WEFT_CRITICAL.
 *   seq: if not NULL, receives the event's publisher seq (1 for the first event of a publisher,
 *        one more for each accepted event), the number that on_ack and stats.acked_seq report;
 *        set to 0 on error.
 * Returns 0 once the event is buffered for delivery (the call does not wait for the network), or
 * a negative WEFT_E* code: validation errors, WEFT_EFULL when the buffer stayed full for
 * block_ms, WEFT_ECLOSED during close. Nothing is kept on error.
 */
WEFT_EXPORT int weft_publish_buf(weft_pub_t *pub, const char *room, const char *type,
                                 const char *key, const void *payload, size_t len, int flags,
                                 uint64_t *seq);

/* As weft_publish_buf() with a NUL-terminated JSON object and without the seq. */
WEFT_EXPORT int weft_publish_key(weft_pub_t *pub, const char *room, const char *type,
                                 const char *key, const char *json, int flags);

/* As weft_publish_key() without a coalesce key. */
WEFT_EXPORT int weft_publish(weft_pub_t *pub, const char *room, const char *type, const char *json,
                             int flags);

/* Waits until every event published so far is acknowledged by the router, at most timeout_ms
 * (negative: forever). Returns 0, WEFT_ETIMEDOUT, or WEFT_EINVAL when pub is NULL or when called
 * from one of pub's own callbacks (the acks it would wait for are read by that thread). */
WEFT_EXPORT int weft_pub_flush(weft_pub_t *pub, int timeout_ms);

/*
 * Copies the publisher's counters into stats. size: sizeof(weft_pub_stats_t) as the caller was
 * compiled (the weft_pub_stats() macro passes it); exactly size bytes are written. Returns 0, or
 * WEFT_EINVAL when stats is NULL or size is smaller than the v0 struct (nothing written), or when
 * pub is NULL (stats zeroed).
 */
WEFT_EXPORT int weft_pub_stats_sized(weft_pub_t *pub, weft_pub_stats_t *stats, size_t size);
#define weft_pub_stats(pub, stats) weft_pub_stats_sized((pub), (stats), sizeof(weft_pub_stats_t))

/* The publisher id in use (generated when the options named none). Valid until close. */
WEFT_EXPORT const char *weft_pub_id(const weft_pub_t *pub);

/*
 * Closes a publisher: waits up to timeout_ms (negative: forever) for the router to acknowledge
 * every event, stops the I/O thread (no callback fires after this returns), closes the socket,
 * writes the final counters into *final when final is not NULL (stats_size as for
 * weft_pub_stats_sized(); final->lost counts the events never acknowledged), frees the publisher
 * and sets *pub_p to NULL. It must not run concurrently with any other call on the publisher.
 * Returns 0 when every event was acknowledged, WEFT_ETIMEDOUT when some were lost (also logged),
 * or WEFT_EINVAL with nothing done when pub_p is NULL, the stats size is too small or it is
 * called from one of the publisher's callbacks. A NULL *pub_p is already closed: returns 0
 * (final zeroed).
 */
WEFT_EXPORT int weft_pub_close_sized(weft_pub_t **pub_p, int timeout_ms, weft_pub_stats_t *final,
                                     size_t stats_size);
#define weft_pub_close(pub_p, timeout_ms, final)                                                   \
    weft_pub_close_sized((pub_p), (timeout_ms), (final), sizeof(weft_pub_stats_t))

/* weft_pub_close() with the options' linger_ms and no final counters: events never acknowledged
 * are only reported through the log callback (weft_pub_close() returns their count). NULL-safe;
 * safe to call twice. */
WEFT_EXPORT void weft_pub_destroy(weft_pub_t **pub_p);

/* Text for an error code ("unknown error" for anything else). Never NULL. */
WEFT_EXPORT const char *weft_strerror(int err);

/* Name for an error code, such as "WEFT_EFULL". Never NULL. */
WEFT_EXPORT const char *weft_err_name(int err);

/* The loaded library's version string, e.g. "0.1.0" (WEFT_VERSION_STRING is the header's). */
WEFT_EXPORT const char *weft_version(void);

/* The loaded library's version as a number, major * 10000 + minor * 100 + patch, to compare with
 * WEFT_VERSION_NUMBER, the version of the weft.h the caller was compiled against. */
WEFT_EXPORT int weft_version_number(void);

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

/*
 * The entry points of weft.h 0.1.0 (v0), exported for programs compiled against it: each is the
 * *_sized() call with the v0 struct size, so it never reads or writes the fields added since.
 * The parentheses keep the macros above from expanding; new code uses the macros.
 */
WEFT_EXPORT void(weft_pub_opts_init)(weft_pub_opts_t *opts);
WEFT_EXPORT weft_pub_t *(weft_pub_new)(const char *endpoint, const weft_pub_opts_t *opts);
WEFT_EXPORT void(weft_pub_stats)(weft_pub_t *pub, weft_pub_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
