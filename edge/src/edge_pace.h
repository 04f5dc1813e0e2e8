/*
 * edge_pace.h: when the edge writes to its clients (docs/protocol.md §3 "Batching, coalescing
 * and limits", configuration keys pace_above and pace_interval_ms).
 *
 * The edge writes in rounds: every connection with queued frames gets them all in one send().
 * A send() on loopback or a LAN costs several microseconds whatever it carries (figures in
 * docs/performance.md, "The floor"), so at high event rates the
 * number of rounds, not the number of events, is the cost. Pacing spaces the rounds out when
 * the clients receive many frames a second: the connections written in a round received more
 * than `above` frames a second each since the round before -> the next round starts `interval`
 * after this one (or as soon as possible, if this one took longer). Below that rate every frame
 * goes out in the round right after the pass that made it. A critical event never waits.
 *
 * Why a rate per connection and not the length of a round: it reads the same on an edge with
 * 250 clients as on one with 1,000, so spreading clients over more edges packs as many events
 * per send() as before.
 *
 * Plain data, pure: the caller passes the times (microseconds of a monotonic clock).
 */
#ifndef EDGE_PACE_H
#define EDGE_PACE_H

#include <stdbool.h>
#include <stdint.h>

/* The pacing state of one edge. Set up with edge_pace_init(); the fields are private. */
typedef struct edge_pace {
    double above;        /* frames/s per connection that turn pacing on; 0 = never */
    int64_t interval_us; /* paced: least time between the starts of two rounds; 0 = never */
    int64_t last_start;  /* when the last round began; 0 = none yet */
    int64_t next_at;     /* no round before this (unless urgent) */
    bool paced;          /* the last round turned pacing on */
} edge_pace_t;

/* Starts with no round behind it: the first round may run at once. */
void edge_pace_init(edge_pace_t *p, int above, int interval_ms);

/* Whether a round may start at now_us; urgent (a critical event is queued) always may. */
bool edge_pace_due(const edge_pace_t *p, int64_t now_us, bool urgent);

/* Microseconds until a round may start (0 when it may now). */
int64_t edge_pace_wait(const edge_pace_t *p, int64_t now_us);

/* Records a round that began at start_us and wrote frames frames to conns connections (a round
 * that wrote to none is not recorded). Returns true when the next round is paced. */
bool edge_pace_round(edge_pace_t *p, int64_t start_us, uint64_t frames, uint64_t conns);

#endif
