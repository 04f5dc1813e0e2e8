/*
 * bench_zsub.h: the router-only worker of weft-bench: a raw ZeroMQ SUB on the router's fan-out.
 *
 * In --mode router no edge runs: one worker process subscribes to the bench's rooms on the
 * router's fan-out XPUB, exactly as an edge would, decodes each stamped header (weft_wire) and
 * counts the events per room, with their latency, losses and duplicates (bench_acct.h, one
 * stream per room). This measures what one router core can stamp and fan out.
 */
#ifndef BENCH_ZSUB_H
#define BENCH_ZSUB_H

#include <stddef.h>

#include "bench_shared.h"
#include "base_log.h"

/* What the worker needs. */
typedef struct bench_zsub_conf {
    const char *fanout; /* the router's fan-out endpoint, e.g. tcp://127.0.0.1:5556 */
    const char *prefix; /* every bench room is prefix + decimal index: one subscription */
    char *const *rooms; /* room names */
    size_t nrooms;      /* how many */
    int worker;         /* slot in the control block */
} bench_zsub_conf_t;

/* Runs the subscriber until the parent says BENCH_PHASE_EXIT. Returns 0, or -1 on a fatal error
 * (also written into the worker's slot). */
int bench_zsub_run(const bench_zsub_conf_t *conf, bench_ctl_t *ctl, base_log_t *log);

#endif
