/*
 * edge_stats.h: the edge's counters and their log summary.
 *
 * A plain struct of counters on purpose (like Redis's stat_* fields): the server increments
 * them inline on hot paths, and the summary, and later /metrics, read them. Only the lws
 * service thread touches them.
 */
#ifndef EDGE_STATS_H
#define EDGE_STATS_H

#include <stdint.h>

#include "edge_auth.h"
#include "edge_batch.h"
#include "edge_hist.h"
#include "edge_proto.h"
#include "edge_stream.h"
#include "wire_envelope.h"
#include "base_log.h"

/* Closes the edge initiates, by WebSocket close code; X(enum suffix, code, label). PROTOCOL and
 * BAD_UTF8 are lws's own (a malformed frame, invalid UTF-8 in a text frame), counted when the
 * connection ends (edge_server.c). */
#define EDGE_CLOSES(X)                                                                             \
    X(GOING_AWAY, 1001, "1001_shutdown")                                                           \
    X(UNSUPPORTED, 1003, "1003_binary")                                                            \
    X(TOO_BIG, 1009, "1009_too_big")                                                               \
    X(POLICY, 1008, "1008_rate_limit")                                                             \
    X(INTERNAL, 1011, "1011_internal")                                                             \
    X(SLOW, 4008, "4008_slow_consumer")                                                            \
    X(AUTH, 4001, "4001_auth")                                                                     \
    X(PROTOCOL, 1002, "1002_protocol")                                                             \
    X(BAD_UTF8, 1007, "1007_bad_utf8")                                                             \
    X(FRAGMENTS, 1008, "1008_fragments")                                                           \
    X(IDLE, 4002, "4002_idle")                                                                     \
    X(RESTART, 1012, "1012_service_restart")

/* The X-macro expansion confuses clang-format. */
/* clang-format off */
typedef enum edge_close {
#define X(name, code, label) EDGE_CLOSE_##name,
    EDGE_CLOSES(X)
#undef X
    EDGE_CLOSE__COUNT
} edge_close_t;
/* clang-format on */

/* Events dropped before delivery, beyond the wire codec's own reasons. */
typedef enum edge_drop {
    EDGE_DROP_KIND = 0,  /* not an event (a heartbeat should never be forwarded) */
    EDGE_DROP_UNSTAMPED, /* epoch or seq is 0: the router did not stamp it */
    EDGE_DROP_PAYLOAD,   /* payload is not a JSON object */
    EDGE_DROP_NOMEM,     /* the frame could not be allocated */
    EDGE_DROP__COUNT
} edge_drop_t;

/* The fixed buckets of the edge's two histograms, as upper bounds in integer units (ns for the
 * event age, ms for connection durations) so an observation is a few compares, no floating point.
 * /metrics prints them in seconds. */
#define EDGE_AGE_BUCKETS 13 /* event age: 1 ms .. 10 s */
#define EDGE_LIFE_BUCKETS 9 /* connection duration: 1 s .. 1 day */
extern const uint64_t edge_age_bounds_ns[EDGE_AGE_BUCKETS];
extern const uint64_t edge_life_bounds_ms[EDGE_LIFE_BUCKETS];

/* A histogram of at most 16 fixed buckets: per-bucket (not cumulative) counts, the last one above
 * every bound, and the sum in the bounds' unit. */
typedef struct edge_histo {
    uint64_t counts[16];
    uint64_t sum;
} edge_histo_t;

/* Counts value in the first bucket whose bound is >= value (the last bucket above them all). */
static inline void edge_histo_observe(edge_histo_t *h, const uint64_t *bounds, unsigned n,
                                      uint64_t value)
{
    unsigned i = 0;
    while (i < n && value > bounds[i])
        i++;
    h->counts[i]++;
    h->sum += value;
}

typedef struct edge_stats {
    uint64_t conns_current;               /* open WebSocket connections */
    uint64_t conns_total;                 /* WebSocket connections accepted since start */
    uint64_t conns_refused;               /* upgrades refused (cap reached, wrong path, stop) */
    uint64_t origin_refused;              /* of those: Origin not in allowed_origins (403) */
    uint64_t origin_missing;              /* of those: no Origin, allow_missing_origin off (403) */
    uint64_t ip_refused;                  /* of those: max_conns_per_ip reached (429) */
    uint64_t http_incomplete; /* HTTP connections that ended before their headers were complete */
    uint64_t lws_closes_other; /* closes lws initiated with a code other than 1002 and 1007 */
    uint64_t msgs_in;                     /* complete client messages received */
    uint64_t auth_ok;                     /* identities accepted (upgrade or first auth) */
    uint64_t auth_refreshes;              /* tokens refreshed on live connections */
    uint64_t auth_refused[EDGE_REFUSE__COUNT]; /* refusals by edge_auth_refusal_name() */
    uint64_t errors[EDGE_ERR__COUNT];     /* error frames sent, by code */
    uint64_t closes[EDGE_CLOSE__COUNT];   /* closes the edge initiated, by code */
    uint64_t peer_closes;                 /* closes the client initiated */
    uint64_t events_in;                   /* messages received from the router */
    uint64_t events_bad[WIRE_ERR__COUNT]; /* router messages rejected by the wire codec */
    uint64_t events_dropped[EDGE_DROP__COUNT]; /* valid envelopes the edge could not use */
    uint64_t events_unrouted;                  /* valid events no local client listens to */
    uint64_t frames_out;                       /* frames written to clients (events and replies) */
    uint64_t bytes_out;                        /* body bytes of those frames */
    uint64_t writes;                           /* writes (send()s) carrying those frames */
    uint64_t write_rounds;                     /* rounds writing every connection with frames */
    uint64_t paced_rounds;                     /* rounds followed by a pacing pause */
    uint64_t deliveries;                       /* event frames queued to clients */
    uint64_t batch_deliveries;                 /* batch frames queued to clients */
    uint64_t notices;                          /* unsolicited "subscribed" frames queued */
    uint64_t slow_closes;                      /* connections closed as slow consumers */
    uint64_t subs_added;                       /* ZeroMQ subscriptions added */
    uint64_t subs_removed;                     /* ZeroMQ subscriptions removed */
    uint64_t router_connects;                  /* SUB connections to the router made */
    uint64_t router_disconnects;               /* and lost */
    uint64_t probes;                           /* rooms checked against history on reconnect */
    uint64_t heads_in;                         /* room-head messages from the router */
    uint64_t head_probes;                      /* heads that showed lost events: history asked */
    uint64_t room_streams;                     /* gauge: rooms with stream state */
    uint64_t syncs;                            /* gauge: clients' rooms still merging a resume */
    edge_stream_stats_t rooms;                 /* room streams: gaps, repairs, epoch changes */
    edge_stream_stats_t resume;                /* clients' resumes and their outcomes */
    edge_hist_stats_t hist;                    /* the history client */
    edge_batch_stats_t batch;                  /* batching: held, coalesced, flushes */
    edge_histo_t event_age; /* ns from an event's publish time to its fan-out here */
    edge_histo_t conn_life; /* ms from a connection's open to its close */
} edge_stats_t;

/* Label of a close kind ("1009_too_big"). */
const char *edge_close_label(edge_close_t c);

/* WebSocket close code of a close kind. */
int edge_close_code(edge_close_t c);

/* Label of a drop reason. */
const char *edge_drop_label(edge_drop_t d);

/* Logs a summary (a few lines) at level; when names the occasion ("periodic", "exit"). */
void edge_stats_log(const edge_stats_t *stats, base_log_t *log, weft_log_level_t level,
                    const char *when);

#endif
