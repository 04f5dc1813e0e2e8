/*
 * bench_locate.h: where the pieces of a fabric are: the daemon binaries weft-bench spawns and
 * the edges it targets, named on the command line or found next to it.
 */
#ifndef BENCH_LOCATE_H
#define BENCH_LOCATE_H

#include <stddef.h>

#include "base_log.h"
#include "bench_client.h"

/* Finds a daemon binary into out (cap bytes): given (the flag) when set, else next to weft-bench
 * (installed), in the build tree (<build>/sdk/tools/bench/weft-bench -> <build>/<subdir>/<name>),
 * or on PATH. Returns 0, or -1 with the reason logged. */
int bench_locate_bin(const char *given, const char *subdir, const char *name, char *out,
                     size_t cap, base_log_t *log);

/* Parses "ws://host[:port][/path]" into e (port 80 and path /ws by default) and resolves the
 * host (IPv4). Returns 0, or -1 with the reason logged. */
int bench_locate_edge(const char *url, bench_edge_addr_t *e, base_log_t *log);

#endif
