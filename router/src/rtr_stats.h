/*
 * rtr_stats.h: the router's counters.
 *
 * A plain struct of totals and gauges, owned and updated by the server loop alone (no atomics:
 * one thread writes it). rtr_stats_format() renders the one-line summary the router logs every
 * stats_interval and at exit; the same fields will feed /metrics later.
 */
#ifndef RTR_STATS_H
#define RTR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "wire_hist.h"
#include "wire_envelope.h"

/* Why a CURVE handshake on a router socket was refused (rtr_curve.h). */
typedef enum rtr_curve_deny {
    RTR_CURVE_DENY_KEY = 0,       /* client key not in curve_clients_dir (ZAP said 400) */
    RTR_CURVE_DENY_MECHANISM = 1, /* the peer does not speak CURVE (a plain client) */
    RTR_CURVE_DENY_HANDSHAKE = 2, /* bad handshake: wrong server key, malformed, ZAP failure */
    RTR_CURVE_DENY__COUNT
} rtr_curve_deny_t;

/* The reason's name in logs and stats ("key", "mechanism", "handshake"). */
const char *rtr_curve_deny_name(rtr_curve_deny_t reason);

typedef struct rtr_stats {
    uint64_t received;                    /* messages read from intake, valid or not */
    uint64_t accepted;                    /* events stamped and published on fan-out */
    uint64_t invalid;                     /* messages dropped as invalid (sum of invalid_by) */
    uint64_t invalid_by[WIRE_ERR__COUNT]; /* invalid messages per wire_err_t reason */
    uint64_t duplicates;                  /* events at or below the publisher's highest seq */
    uint64_t heartbeats;                  /* valid heartbeats */
    uint64_t acks_sent;                   /* ack frames sent upstream */
    uint64_t ack_entries;                 /* (publisher, session, seq) entries in those frames */
    uint64_t subscriptions;               /* subscribe messages seen on fan-out */
    uint64_t unsubscriptions;             /* unsubscribe messages seen on fan-out */
    uint64_t send_errors;                 /* fan-out or ack sends that failed */
    uint64_t untracked;                   /* events published without dedup state (out of memory) */
    uint64_t publishers_expired;          /* publishers forgotten after publisher_ttl */
    uint64_t heads_sent;                  /* room-head messages sent on fan-out */
    uint64_t rooms;                       /* gauge: rooms with a sequence */
    uint64_t publishers;                  /* gauge: publishers tracked */
    /* History service and store (docs/protocol.md §2). */
    uint64_t history_requests;                        /* requests read, valid or not */
    uint64_t history_replies[WIRE_HIST_STATUS__COUNT]; /* replies sent, by status */
    uint64_t history_served;                          /* events sent in ok replies */
    uint64_t history_bad;                             /* malformed requests (sum of _by) */
    uint64_t history_bad_by[WIRE_HIST_BAD__COUNT];    /* malformed requests by reason */
    uint64_t history_evicted_count;                   /* events dropped: room at max_events */
    uint64_t history_evicted_age;                     /* events dropped: older than max_age */
    uint64_t history_evicted_cap;                     /* events dropped: over max_bytes */
    uint64_t history_lost;                            /* events not kept for lack of memory */
    uint64_t history_events;                          /* gauge: events held */
    uint64_t history_bytes;                           /* gauge: accounted bytes held */
    uint64_t history_rooms;                           /* gauge: rooms holding history */
    /* Publisher rights and rate cap (docs/security.md). */
    uint64_t refused;                          /* events refused by rights or rate (sum of _by) */
    uint64_t refused_by[WIRE_REFUSE__COUNT];   /* by wire_refusal_t (room, type, rate_limited) */
    uint64_t refusals_sent;                    /* refusal entries sent upstream to publishers */
    uint64_t refusals_unreported;              /* final refusals over the per-round report cap */
    uint64_t rights_reloads;                   /* rights file loads that succeeded (start, SIGHUP) */
    uint64_t rights_reload_errors;             /* loads that failed (the old rights stay) */
    uint64_t history_throttled;                /* history requests answered busy (rate cap) */
    /* CURVE (rtr_curve.h): all zero when no curve_secret_key is configured. */
    uint64_t curve_accepted;                          /* handshakes that passed */
    uint64_t curve_denied;                            /* handshakes refused (sum of _by) */
    uint64_t curve_denied_by[RTR_CURVE_DENY__COUNT];  /* handshakes refused by reason */
    uint64_t curve_reloads;                           /* allowlist reloads after a change */
} rtr_stats_t;

/* Writes a one-line "key=value ..." summary into buf (always NUL-terminated when len > 0).
 * Invalid reasons and bad-request reasons with a zero count are left out, and so are the CURVE
 * counters while all are zero. Fields are only ever
 * appended, so scripts that grep the line keep working. Returns buf. */
char *rtr_stats_format(const rtr_stats_t *stats, char *buf, size_t len);

#endif
