/*
 * rtr_ionice.h: runs ZeroMQ's I/O threads at a lower priority than the router's loop thread
 * (io_nice, docs/performance.md).
 */
#ifndef RTR_IONICE_H
#define RTR_IONICE_H

#include "base_log.h"

/* Renices the process's io_threads ZeroMQ I/O threads ("ZMQbg/IO/<n>") by io_nice over the
 * calling thread, waiting briefly for them to appear. io_nice <= 0 does nothing. Failures are
 * logged as warnings (they only cost speed), so there is nothing to return. */
void rtr_ionice_apply(base_log_t *log, int io_nice, int io_threads);

#endif
