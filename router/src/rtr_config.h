/*
 * rtr_config.h: weft-router's settings, described once in a base_conf table.
 *
 * Every key, its default and its bounds live in the table in rtr_config.c; nothing else in the
 * router hard-codes a default. main() fills an rtr_config_t with base_conf_from_args() and hands
 * it to rtr_server_new(), which copies what it needs.
 */
#ifndef RTR_CONFIG_H
#define RTR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base_conf.h"

/* The router's configuration. Strings are owned by the struct (free with rtr_config_free). */
typedef struct rtr_config {
    char *intake;             /* XSUB bind endpoint agents connect to */
    char *fanout;             /* XPUB bind endpoint edges connect to */
    size_t max_payload;       /* largest accepted JSON payload, bytes */
    int ack_interval_ms;      /* at most one round of acks per interval */
    int publisher_ttl;        /* seconds without traffic before a publisher is forgotten */
    int fanout_hwm;           /* per-edge send high-water mark, messages */
    int intake_hwm;           /* intake receive high-water mark, messages */
    int stats_interval;       /* seconds between counter summaries in the log; 0 = off */
    int log_level;            /* weft_log_level_t threshold */
    int io_threads;           /* ZeroMQ I/O threads */
    bool sched_batch;         /* run the router's threads under SCHED_BATCH (main.c) */
    int io_nice;              /* nice increment of ZeroMQ's I/O threads over the loop thread */
    char *history;            /* ROUTER bind endpoint of the history service */
    int history_max_events;   /* events kept per room; 0 = no history */
    int history_max_age;      /* seconds an event is kept */
    size_t history_max_bytes; /* cap on the memory all history takes, bytes */
    int history_page_max;     /* most events in one history reply */
    int history_batch;        /* history requests served per loop pass */
    int history_hwm;          /* history reply send high-water mark, messages */
    int head_interval_ms;     /* period of room-head messages to edges; 0 = off */
    int head_linger;          /* seconds a room keeps getting heads after its last event */
    char *rights_file;        /* publisher rights file (rtr_rights.h); "" = no rights check */
    char *rights_default;     /* "deny" or "allow": publishers the rights file does not list */
    int max_publish_rate;     /* events/s per publisher session; 0 = no cap */
    int publish_burst;        /* events a publisher session may send at once over the rate */
    int history_rate;         /* history requests/s per edge; 0 = no cap */
    int history_burst;        /* history requests an edge may send at once over the rate */
    char *curve_secret_key;   /* the router's secret certificate file; "" = no CURVE */
    char *curve_clients_dir;  /* directory of allowed client public certificates (CURVE) */
    int metrics_port;         /* HTTP port of /metrics, /health, /ready; 0 = no listener */
    char *metrics_bind;       /* address the metrics listener binds */
    char *presence_room;      /* room of the router's presence events; "" = off */
    int presence_timeout;     /* seconds of silence before a publisher is disconnected */
    int presence_snapshot;    /* seconds between agent.present events; 0 = none */
} rtr_config_t;

/* The table describing every setting (ends with a NULL name). */
const base_conf_entry_t *rtr_config_table(void);

/* Fills conf with the defaults. Returns 0, or -1 with err filled. */
int rtr_config_defaults(rtr_config_t *conf, char *err, size_t errlen);

/* Frees the strings conf owns. Safe to call twice. */
void rtr_config_free(rtr_config_t *conf);

#endif
