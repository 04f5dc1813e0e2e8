/*
 * edge_bucket.h: the token bucket that limits what one client may send (docs/protocol.md §3
 * "Batching, coalescing and limits").
 *
 * A bucket holds up to burst tokens and refills at per_min tokens a minute; each client message
 * takes one. A message that finds the bucket empty is refused (the edge answers "rate_limited")
 * and counts as a strike; strikes are forgiven once the bucket has refilled completely (the
 * client went quiet for long enough), and close_after strikes without that mean sustained
 * abuse: the edge closes the connection (1008).
 *
 * Plain data on purpose, not an opaque object: it lives inside each connection's lws session
 * struct, so a connection costs no extra allocation for it. Pure: the caller passes the time
 * (microseconds of a monotonic clock). Not thread-safe.
 */
#ifndef EDGE_BUCKET_H
#define EDGE_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* One connection's bucket. Set up with edge_bucket_init(); the fields are private. */
typedef struct edge_bucket {
    double tokens;        /* tokens available now (fractions accumulate) */
    double burst;         /* capacity */
    double per_us;        /* refill per microsecond; 0 = unlimited */
    int64_t last_us;      /* when tokens was last brought up to date */
    uint32_t strikes;     /* refusals since the bucket was last full */
    uint32_t close_after; /* strikes that mean abuse; 0 = never */
} edge_bucket_t;

/* What edge_bucket_take() decided. */
typedef enum edge_bucket_rc {
    EDGE_BUCKET_OK = 0,  /* a token was taken: handle the message */
    EDGE_BUCKET_LIMITED, /* refused: answer rate_limited */
    EDGE_BUCKET_ABUSE    /* refused, and close_after strikes were reached: close 1008 */
} edge_bucket_rc_t;

/* Starts a full bucket: per_min tokens a minute (0 = unlimited), burst >= 1 capacity, close
 * after close_after strikes (0 = never). now_us: the current time. */
void edge_bucket_init(edge_bucket_t *b, int per_min, int burst, int close_after, int64_t now_us);

/* Takes one token for a message arriving at now_us. */
edge_bucket_rc_t edge_bucket_take(edge_bucket_t *b, int64_t now_us);

/* Tokens available at now_us (tests and logs). */
double edge_bucket_tokens(edge_bucket_t *b, int64_t now_us);

#endif
