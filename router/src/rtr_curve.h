/*
 * rtr_curve.h: the router's CURVE server side (authentication and encryption of every ZeroMQ
 * link: agents on intake, edges on fan-out and history).
 *
 * With curve_secret_key configured the router loads its own certificate (zcert_load), starts
 * czmq's zauth actor with CURVE over curve_clients_dir (the allowlist: one public certificate
 * per allowed publisher, edge or tool, as weft-keygen writes them), and each socket passed to
 * rtr_curve_serve() becomes a CURVE server with a ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN. Why
 * both: a CURVE server with no ZAP handler accepts any client key (encryption without
 * authentication); with a domain and enforcement a missing handler refuses every client instead.
 *
 * zauth answers ZAP requests only for sockets of czmq's own ZeroMQ context, so the router's
 * sockets must live in that context: rtr_curve_context() hands it out (czmq owns and terminates
 * it at exit). One rtr_curve_t per process: zauth binds the process's one ZAP endpoint.
 *
 * Reload: czmq's certificate store rescans the directory on every lookup but notices a change
 * only by the newest modification time (whole seconds), the file count and the total size, so a
 * key replaced by another of the same size within the same second goes unnoticed. rtr_curve_tick()
 * therefore fingerprints the directory itself (every entry's name, inode, size and nanosecond
 * mtime) and re-sends the CURVE command, which rebuilds the store, whenever the fingerprint
 * changes.
 *
 * Refusals: zauth's verbose log is not a counter, so each server socket gets a ZeroMQ monitor
 * for the handshake events (HANDSHAKE_SUCCEEDED, _FAILED_AUTH, _FAILED_PROTOCOL,
 * _FAILED_NO_DETAIL). rtr_curve_tick() drains them into rtr_stats (curve_accepted,
 * curve_denied_by[reason]) and logs each reason at a rate-limited warning.
 *
 * Used from the router's loop thread only; nothing here runs per event.
 */
#ifndef RTR_CURVE_H
#define RTR_CURVE_H

#include <stdint.h>

#include "base_log.h"
#include "rtr_stats.h"

typedef struct rtr_curve rtr_curve_t;

/*
 * Loads the router's certificate from secret_path (the NAME_secret file), sets czmq's I/O
 * threads to io_threads, starts zauth with CURVE over clients_dir (which must exist). stats is
 * borrowed (counters are added to it) and must outlive the object; log may be NULL. Returns
 * NULL, after logging why, on failure.
 */
rtr_curve_t *rtr_curve_new(const char *secret_path, const char *clients_dir, int io_threads,
                           rtr_stats_t *stats, base_log_t *log);

/* Stops zauth and closes the monitors. Call after every socket given to rtr_curve_serve() was
 * closed. Nulls *self_p; NULL-safe. */
void rtr_curve_destroy(rtr_curve_t **self_p);

/* czmq's ZeroMQ context, in which the router must create its sockets (not owned by the caller:
 * never terminate it). */
void *rtr_curve_context(const rtr_curve_t *self);

/* Makes sock (before it binds) a CURVE server with ZAP domain "weft-<name>", enforcement on,
 * and a handshake monitor. name: "intake", "fanout" or "history". Returns 0, or -1 (logged). */
int rtr_curve_serve(rtr_curve_t *self, void *sock, const char *name);

/* Counts and logs the handshake events seen since the last call and reloads the allowlist when
 * the directory changed. Call about once a second. */
void rtr_curve_tick(rtr_curve_t *self);

/* The router's public key as Z85 text (what clients configure as the server key). */
const char *rtr_curve_public_key(const rtr_curve_t *self);

#endif
