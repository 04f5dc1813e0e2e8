/*
 * bench_curve.h: keys for weft-bench --spawn --curve, which measures the fabric with CURVE on
 * every ZeroMQ link.
 *
 * bench_curve_new() makes a private directory, writes three pairs there with weft-keygen's code
 * (router, edge, bench publisher), puts the edge's and the publisher's public certificates in an
 * allowlist directory, and composes the extra flags the spawned router and edges need (added to
 * the user's --router-arg / --edge-arg). The directory is removed by bench_curve_destroy().
 */
#ifndef BENCH_CURVE_H
#define BENCH_CURVE_H

#include "base_log.h"
#include "wire_curve.h"

typedef struct bench_curve bench_curve_t;

/* Generates the keys. router_args and edge_args: the user's extra flags (may be NULL), kept in
 * front of the CURVE ones. NULL on failure (logged). */
bench_curve_t *bench_curve_new(const char *router_args, const char *edge_args, base_log_t *log);

/* Removes the key directory, frees, nulls *self_p. NULL-safe. */
void bench_curve_destroy(bench_curve_t **self_p);

/* The spawned router's and edges' extra flags, whitespace-separated. */
const char *bench_curve_router_args(const bench_curve_t *self);
const char *bench_curve_edge_args(const bench_curve_t *self);

/* The bench publisher's client keys (the router's public key and its own pair). */
const wire_curve_keys_t *bench_curve_keys(const bench_curve_t *self);

#endif
