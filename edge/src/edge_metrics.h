/*
 * edge_metrics.h: the edge's Prometheus /metrics text, rendered from its counters (edge_stats.h).
 *
 * Every edge_stats_t counter becomes a weft_edge_* family named as Prometheus conventions ask:
 * counters end in _total, a counter kept per reason is one family with a reason (code, status,
 * outcome) label, gauges carry no suffix, and the two histograms (event age, connection duration)
 * are in seconds. The full list is in docs/operations.md, "Edge metrics".
 *
 * A render only reads the counters: its cost does not depend on how many clients are connected
 * (a few tens of microseconds, measured by tests/unit/edge/test_edge_metrics.c), and the text
 * lives in a base_prom_t buffer kept between scrapes, so a scrape allocates nothing once the
 * buffer has grown to the size of one.
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_METRICS_H
#define EDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "edge_stats.h"

/* What the counters do not hold: the state /ready reports, exported as gauges. */
typedef struct edge_metrics_state {
    bool router;   /* the SUB is connected to the router's fan-out */
    bool draining; /* a drain is under way */
} edge_metrics_state_t;

typedef struct edge_metrics edge_metrics_t;

/* Creates a renderer of stats (borrowed, must outlive it). Returns NULL on OOM. */
edge_metrics_t *edge_metrics_new(const edge_stats_t *stats);

/* Frees it and nulls *self_p. NULL-safe. */
void edge_metrics_destroy(edge_metrics_t **self_p);

/* Renders every family now. Returns the text (*len its length), valid until the next call, or
 * NULL when the buffer could not grow. */
const char *edge_metrics_render(edge_metrics_t *self, const edge_metrics_state_t *st, size_t *len);

#endif
