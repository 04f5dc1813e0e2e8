/*
 * rtr_bucket.h: the router's token bucket, for its per-publisher and per-edge rate caps.
 *
 * Integer arithmetic in thousandths of a token with the time passed in (milliseconds of a
 * monotonic clock): no float and no clock read on the per-event path, and tests drive time.
 * Header-only and plain data on purpose: it is embedded in table entries (rtr_pubs, rtr_ratemap)
 * and costs a few instructions per message. Not thread-safe.
 */
#ifndef RTR_BUCKET_H
#define RTR_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* One bucket. Start it with rtr_bucket_init(). */
typedef struct rtr_bucket {
    uint64_t milli;     /* thousandths of a token available */
    uint64_t refill_ms; /* when milli was last brought up to date */
} rtr_bucket_t;

/* Starts a full bucket of burst tokens at now_ms. */
static inline void rtr_bucket_init(rtr_bucket_t *b, uint64_t burst, uint64_t now_ms)
{
    b->milli = burst * 1000;
    b->refill_ms = now_ms;
}

/* Refills at rate tokens a second up to burst, then takes one token if there is one. */
static inline bool rtr_bucket_take(rtr_bucket_t *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
    uint64_t cap = burst * 1000;
    if (now_ms > b->refill_ms) {
        uint64_t add = (now_ms - b->refill_ms) * rate; /* ms * tokens/s = thousandths */
        b->milli = add >= cap || b->milli + add >= cap ? cap : b->milli + add;
        b->refill_ms = now_ms;
    }
    if (b->milli < 1000)
        return false;
    b->milli -= 1000;
    return true;
}

#endif
