/*
 * ts_proc.h: child processes, ports and clocks for the integration tests.
 *
 * A test starts the real daemons (weft-router, weft-edge) and CLIs (weft-pub) as children. Each
 * child's stdout and stderr go to its own log file, so a failing test can print exactly what the
 * daemon said. Every wait is bounded by a timeout, and a child dies with the test process
 * (PR_SET_PDEATHSIG), so a crashed or timed-out test never leaves a daemon holding a port.
 *
 * Not thread-safe: one test thread owns its ts_proc_t objects.
 */
#ifndef TS_PROC_H
#define TS_PROC_H

#include <stdint.h>

#include "base_clock.h" /* base_clock_ms() for the tests' bounded waits */
#include <stdio.h>
#include <sys/types.h>

typedef struct ts_proc ts_proc_t;

/* Sleeps for ms milliseconds (restarting after signals). */
void ts_sleep_ms(int ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed), or -1. */
int ts_free_port(void);

/* Waits until a TCP connect to 127.0.0.1:port succeeds. Returns 0, or -1 after timeout_ms. */
int ts_wait_port(int port, int timeout_ms);

/*
 * Starts argv[0] (a path) with argv. Its stdout and stderr are appended to log_path (created).
 * stdin_path names a file for its standard input, or NULL for /dev/null. name labels the child in
 * messages. Returns the child, or NULL with the reason on stderr.
 */
ts_proc_t *ts_proc_new(const char *name, char *const argv[], const char *log_path,
                       const char *stdin_path);

/* The child's pid (still valid after it exited until ts_proc_destroy). */
pid_t ts_proc_pid(const ts_proc_t *self);

/* The label given to ts_proc_new. */
const char *ts_proc_name(const ts_proc_t *self);

/* Path of the child's log file. */
const char *ts_proc_log_path(const ts_proc_t *self);

/* Sends sig to the child if it is still running. Returns 0, or -1 if it has already exited. */
int ts_proc_signal(ts_proc_t *self, int sig);

/*
 * Waits up to timeout_ms for the child to exit. Returns 0 and reaps it, or -1 on timeout. After
 * it returned 0, ts_proc_exit_code() tells how the child ended.
 */
int ts_proc_wait(ts_proc_t *self, int timeout_ms);

/* 1 while the child has not been seen to exit (checks without blocking). */
int ts_proc_running(ts_proc_t *self);

/* Exit status once reaped: the exit code, 128+signal when killed by a signal, -1 if running. */
int ts_proc_exit_code(const ts_proc_t *self);

/*
 * Stops the child: SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the exit code as
 * ts_proc_exit_code() (137 when it had to be killed).
 */
int ts_proc_stop(ts_proc_t *self, int timeout_ms);

/* Waits until the child's log contains needle. Returns 0, or -1 on timeout or if it exited. */
int ts_proc_wait_log(ts_proc_t *self, const char *needle, int timeout_ms);

/* Counts the occurrences of needle in the child's log so far. */
int ts_proc_log_count(const ts_proc_t *self, const char *needle);

/* Reads the whole log into a new NUL-terminated string (caller frees), or NULL. */
char *ts_proc_log_text(const ts_proc_t *self);

/* Prints the log to out between banner lines naming the child. */
void ts_proc_print_log(const ts_proc_t *self, FILE *out);

/* Kills the child if it still runs (SIGKILL), reaps it, frees self and nulls *self_p. The log
 * file stays. NULL-safe. */
void ts_proc_destroy(ts_proc_t **self_p);

/*
 * Runs argv to completion with stdin from stdin_text (NULL: empty), capturing stdout and stderr
 * together into *output (caller frees; may be NULL if not wanted). Kills it after timeout_ms.
 * Returns the exit code as ts_proc_exit_code(), or -1 if it could not be run or timed out.
 */
int ts_run(char *const argv[], const char *stdin_text, int timeout_ms, char **output);

#endif
