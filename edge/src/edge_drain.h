/*
 * edge_drain.h: the schedule of a graceful drain: when the edge stops being ready, how long it
 * keeps serving (the grace, so load balancers see /ready fail and send no new clients), and when
 * each of its clients is moved off (close 1012 "service restart"), spread uniformly with jitter
 * over the drain window, so the other edges see clients arrive at a steady rate instead of all
 * at once.
 *
 * The schedule: at the end of the grace the edge has n clients; client k (0 <= k < n) is due at
 *   move_start + (k + j_k) * window / n,   j_k uniform in [0, 1)
 * so one close falls in each of n equal slots of the window (uniform spread, no two slots
 * bunched) and the jitter keeps edges that drain together from closing in lockstep. Clients that
 * arrive or leave meanwhile change nothing: the server closes whichever clients are still there.
 *
 * Pure: no lws, no clock of its own (every call takes now_us), so a unit test drives it with an
 * injected clock. Embedded in the server (like edge_pace_t); the fields are private.
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_DRAIN_H
#define EDGE_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a drain is. */
typedef enum edge_drain_phase {
    EDGE_DRAIN_OFF = 0, /* not draining */
    EDGE_DRAIN_GRACE,   /* not ready, still serving everyone */
    EDGE_DRAIN_MOVING,  /* closing clients one slot at a time */
    EDGE_DRAIN_DONE,    /* every slot passed: the edge may exit */
} edge_drain_phase_t;

typedef struct edge_drain {
    edge_drain_phase_t phase; /* where the drain is */
    int64_t grace_us;         /* serving time before the first close */
    int64_t window_us;        /* the window the closes are spread over */
    int64_t grace_end_us;     /* when the grace ends (GRACE) */
    int64_t move_start_us;    /* when the window opened (MOVING) */
    size_t total;             /* clients to move (n, fixed when the window opens) */
    size_t next;              /* the next slot (k) */
    int64_t next_us;          /* when slot `next` is due */
    uint64_t rng;             /* xorshift64* state for the jitter (never 0) */
} edge_drain_t;

/* Sets up d, not draining: grace_us and window_us (negative taken as 0), seed for the jitter
 * (any value; 0 is replaced). */
void edge_drain_init(edge_drain_t *d, int64_t grace_us, int64_t window_us, uint64_t seed);

/* Starts the drain at now_us (the grace). Returns false when it was already under way. */
bool edge_drain_begin(edge_drain_t *d, int64_t now_us);

/* The phase. */
edge_drain_phase_t edge_drain_phase(const edge_drain_t *d);

/* True from edge_drain_begin() on: the edge is not ready. */
bool edge_drain_active(const edge_drain_t *d);

/*
 * Advances the drain to now_us. clients: how many clients the edge has now (read only when the
 * grace ends: it fixes n). Stores in *due how many clients to close now (their slots passed).
 * Returns the microseconds until the next call is useful, 0 when the drain is DONE (or OFF).
 */
int64_t edge_drain_poll(edge_drain_t *d, int64_t now_us, size_t clients, size_t *due);

/* When slot k of n is due, given the window's start, its length and the jitter j in [0, 1):
 * start + (k + j) * window / n. The rule in one place (the unit test checks it). */
int64_t edge_drain_slot(int64_t start_us, int64_t window_us, size_t k, size_t n, double j);

#endif
