/*
 * edge_pace.c: spacing of the edge's write rounds under load (see edge_pace.h).
 */
#include "edge_pace.h"

void edge_pace_init(edge_pace_t *p, int above, int interval_ms)
{
    p->above = above > 0 ? (double)above : 0.0;
    p->interval_us = interval_ms > 0 ? (int64_t)interval_ms * 1000 : 0;
    p->last_start = 0;
    p->next_at = 0;
    p->paced = false;
}

bool edge_pace_due(const edge_pace_t *p, int64_t now_us, bool urgent)
{
    return urgent || now_us >= p->next_at;
}

int64_t edge_pace_wait(const edge_pace_t *p, int64_t now_us)
{
    return p->next_at > now_us ? p->next_at - now_us : 0;
}

bool edge_pace_round(edge_pace_t *p, int64_t start_us, uint64_t frames, uint64_t conns)
{
    if (!conns)
        return p->paced;
    /* The first round has no "since": it cannot show a rate. */
    int64_t since = p->last_start ? start_us - p->last_start : 0;
    p->last_start = start_us;
    p->next_at = start_us;
    /* frames / conns / (since / 1e6) > above, without dividing by a zero `since`. */
    p->paced = p->above > 0 && p->interval_us > 0 && since > 0 &&
               (double)frames * 1e6 > p->above * (double)conns * (double)since;
    if (p->paced)
        p->next_at = start_us + p->interval_us;
    return p->paced;
}
