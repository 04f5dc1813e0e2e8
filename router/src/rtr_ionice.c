/*
 * rtr_ionice.c: lowers the priority of ZeroMQ's I/O threads below the router's loop thread
 * (the io_nice setting; why: the comment on rtr_ionice_apply). Moved out of rtr_server.c as is.
 */
#include "rtr_ionice.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base_limit.h"

#define RTR_IONICE_WAIT_MS 200 /* longest wait for ZeroMQ's I/O threads to name themselves */

/* Sets every thread of this process whose name starts with "ZMQbg/IO/" to nice target.
 * Returns how many such threads there are (set or not); -1 when /proc cannot be read. */
static int s_renice_io_pass(base_log_t *log, base_limit_t *limit, int target)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir) {
        base_log(log, WEFT_LOG_WARN, "cannot list threads to apply io_nice: %s", strerror(errno));
        return -1;
    }
    int found = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%.20s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* "." / ".." or a thread that just ended */
        bool io = fgets(comm, sizeof comm, f) && strncmp(comm, "ZMQbg/IO/", 9) == 0;
        fclose(f);
        if (!io)
            continue;
        found++;
        id_t tid = (id_t)strtoul(de->d_name, NULL, 10);
        if (setpriority(PRIO_PROCESS, tid, target) != 0)
            base_log_limited(log, limit, WEFT_LOG_WARN, "cannot apply io_nice to thread %u: %s",
                             (unsigned)tid, strerror(errno));
    }
    closedir(dir);
    return found;
}

/*
 * Lowers the priority of the context's io_threads ZeroMQ I/O threads by io_nice relative to the
 * calling (loop) thread. Why: under full load the loop and the I/O thread share one core, and an
 * I/O thread of equal weight, woken by every incoming TCP segment and every pipe activation,
 * preempts the loop after a handful of events each time, SCHED_BATCH notwithstanding (figures:
 * docs/performance.md, "io_nice"). With a lower weight it mostly runs when the loop
 * waits for input, so both sides move larger batches. It still gets the whole core whenever the
 * loop has nothing to do, so this changes who yields first, not how much the I/O thread can do.
 * libzmq has no option for it (ZMQ_THREAD_PRIORITY only raises priority), so its threads are
 * found by name ("ZMQbg/IO/<n>", libzmq 4.3) under /proc/self/task; Linux nice values are per
 * thread. A new I/O thread names itself once it runs, so this waits up to RTR_IONICE_WAIT_MS for
 * all of them. A failure only costs speed: warned, never fatal.
 */
void rtr_ionice_apply(base_log_t *log, int io_nice, int io_threads)
{
    if (io_nice <= 0)
        return;
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0); /* this thread's nice (-1 is a valid value) */
    if (base == -1 && errno != 0)
        base = 0;
    int target = base + io_nice > 19 ? 19 : base + io_nice;
    int found = 0;
    base_limit_t limit = {0}; /* one warning burst per call, however many threads */
    for (int waited = 0; waited <= RTR_IONICE_WAIT_MS; waited++) {
        found = s_renice_io_pass(log, &limit, target);
        if (found < 0 || found >= io_threads)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (found >= 0 && found < io_threads)
        base_log(log, WEFT_LOG_WARN, "io_nice: found %d of %d ZeroMQ I/O threads", found,
                 io_threads);
    else if (found > 0)
        base_log(log, WEFT_LOG_INFO, "ZeroMQ I/O threads at nice %d (%d thread(s))", target, found);
}
