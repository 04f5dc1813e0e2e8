/*
 * bench_proc.h: CPU time and resident memory of a process, from /proc (Linux).
 *
 * weft-bench samples the router's and every edge's CPU time (utime + stime of /proc/<pid>/stat,
 * all threads together) at the start and the end of the measured interval, and their VmRSS from
 * /proc/<pid>/status. The parsers take the file's text so that the tests can feed them samples.
 * It also pins processes to a CPU, thread by thread (--router-cpu, --bench-cpu).
 */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Parses the text of /proc/<pid>/stat: sets *ticks to utime + stime (fields 14 and 15, in clock
 * ticks). The command name (field 2) may hold spaces and parentheses. Returns 0 or -1. */
int bench_proc_parse_stat(const char *text, uint64_t *ticks);

/* Parses the text of /proc/<pid>/status: sets *kib to VmRSS in KiB. Returns 0 or -1 (also when
 * the line is absent, as for a zombie). */
int bench_proc_parse_rss(const char *text, uint64_t *kib);

/* The CPU time pid has used so far, in nanoseconds (tick resolution, usually 10 ms). 0 or -1. */
int bench_proc_cpu_ns(pid_t pid, uint64_t *ns);

/* The resident set size of pid in KiB. 0 or -1. */
int bench_proc_rss_kib(pid_t pid, uint64_t *kib);

/* The number of open descriptors of pid (entries of /proc/<pid>/fd; pid 0 is this process,
 * whose count includes the one used to list them). 0 or -1. */
int bench_proc_fd_count(pid_t pid, int *fds);

/* Pins every thread of pid (each entry of /proc/<pid>/task) to CPU cpu with sched_setaffinity;
 * threads it starts later inherit the mask. pid 0 is this process. Sets *threads to the number of
 * threads pinned. Returns 0, or -1 with errno set (EINVAL: no such CPU). */
int bench_proc_pin(pid_t pid, int cpu, int *threads);

#endif
