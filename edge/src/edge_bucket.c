/*
 * edge_bucket.c: the per-connection token bucket (see edge_bucket.h).
 */
#include "edge_bucket.h"

void edge_bucket_init(edge_bucket_t *b, int per_min, int burst, int close_after, int64_t now_us)
{
    b->burst = burst >= 1 ? (double)burst : 1.0;
    b->tokens = b->burst;
    b->per_us = per_min > 0 ? (double)per_min / 60e6 : 0.0;
    b->last_us = now_us;
    b->strikes = 0;
    b->close_after = close_after > 0 ? (uint32_t)close_after : 0;
}

/* Adds the tokens earned since the last update (a clock that goes back earns nothing). */
static void s_refill(edge_bucket_t *b, int64_t now_us)
{
    if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * b->per_us;
        if (b->tokens >= b->burst) {
            b->tokens = b->burst;
            b->strikes = 0; /* quiet long enough: earlier refusals are forgiven */
        }
    }
    b->last_us = now_us;
}

edge_bucket_rc_t edge_bucket_take(edge_bucket_t *b, int64_t now_us)
{
    if (b->per_us == 0.0)
        return EDGE_BUCKET_OK;
    s_refill(b, now_us);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return EDGE_BUCKET_OK;
    }
    if (b->strikes < UINT32_MAX)
        b->strikes++;
    if (b->close_after && b->strikes >= b->close_after)
        return EDGE_BUCKET_ABUSE;
    return EDGE_BUCKET_LIMITED;
}

double edge_bucket_tokens(edge_bucket_t *b, int64_t now_us)
{
    if (b->per_us == 0.0)
        return b->burst;
    s_refill(b, now_us);
    return b->tokens;
}
