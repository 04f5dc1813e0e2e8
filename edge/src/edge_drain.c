/*
 * edge_drain.c: the schedule of a graceful drain (edge_drain.h): a grace, then one close per
 * equal slot of the window, at a jittered point inside its slot.
 */
#include "edge_drain.h"

/* The next jitter in [0, 1) (xorshift64*, 53 bits). */
static double s_jitter(edge_drain_t *d)
{
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0; /* 2^53 */
}

/* Fixes slot d->next's time (with its jitter), or ends the drain after the last slot. */
static void s_plan_next(edge_drain_t *d)
{
    if (d->next >= d->total) {
        d->phase = EDGE_DRAIN_DONE;
        return;
    }
    d->next_us = edge_drain_slot(d->move_start_us, d->window_us, d->next, d->total, s_jitter(d));
}

int64_t edge_drain_slot(int64_t start_us, int64_t window_us, size_t k, size_t n, double j)
{
    if (n == 0)
        return start_us;
    double at = ((double)k + j) * (double)window_us / (double)n;
    return start_us + (int64_t)at;
}

void edge_drain_init(edge_drain_t *d, int64_t grace_us, int64_t window_us, uint64_t seed)
{
    *d = (edge_drain_t){
        .phase = EDGE_DRAIN_OFF,
        .grace_us = grace_us > 0 ? grace_us : 0,
        .window_us = window_us > 0 ? window_us : 0,
        .rng = seed ? seed : 0x9E3779B97F4A7C15ULL,
    };
}

bool edge_drain_begin(edge_drain_t *d, int64_t now_us)
{
    if (d->phase != EDGE_DRAIN_OFF)
        return false;
    d->phase = EDGE_DRAIN_GRACE;
    d->grace_end_us = now_us + d->grace_us;
    return true;
}

edge_drain_phase_t edge_drain_phase(const edge_drain_t *d)
{
    return d->phase;
}

bool edge_drain_active(const edge_drain_t *d)
{
    return d->phase != EDGE_DRAIN_OFF;
}

int64_t edge_drain_poll(edge_drain_t *d, int64_t now_us, size_t clients, size_t *due)
{
    *due = 0;
    if (d->phase == EDGE_DRAIN_OFF || d->phase == EDGE_DRAIN_DONE)
        return 0;
    if (d->phase == EDGE_DRAIN_GRACE) {
        if (now_us < d->grace_end_us)
            return d->grace_end_us - now_us;
        /* The window opens when the grace ends (not when the late call came), so a late poll
         * catches up rather than shifting every slot. */
        d->phase = EDGE_DRAIN_MOVING;
        d->move_start_us = d->grace_end_us;
        d->total = clients;
        d->next = 0;
        s_plan_next(d);
    }
    while (d->phase == EDGE_DRAIN_MOVING && d->next_us <= now_us) {
        (*due)++;
        d->next++;
        s_plan_next(d);
    }
    if (d->phase == EDGE_DRAIN_DONE)
        return 0;
    return d->next_us - now_us;
}
