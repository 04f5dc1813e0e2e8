/*
 * rtr_config.c: the router's settings table (keys, types, defaults, bounds, help).
 * Keep router/weft-router.conf.example in step with this table.
 */
#include "rtr_config.h"

#include <stddef.h>

#define RTR_MIB (1024.0 * 1024.0)

/* The one place router defaults live. Bounds keep values that would break the router out. */
static const wire_conf_entry_t s_table[] = {
    {"intake", WIRE_CONF_STR, offsetof(rtr_config_t, intake), "tcp://*:5555", 0, 1024,
     "ZeroMQ endpoint the intake XSUB binds; agents connect here"},
    {"fanout", WIRE_CONF_STR, offsetof(rtr_config_t, fanout), "tcp://*:5556", 0, 1024,
     "ZeroMQ endpoint the fan-out XPUB binds; edges connect here"},
    {"max_payload", WIRE_CONF_SIZE, offsetof(rtr_config_t, max_payload), "65536", 1, 16 * RTR_MIB,
     "largest JSON payload accepted, bytes (k/m suffixes allowed, at most 16m)"},
    {"ack_interval_ms", WIRE_CONF_INT, offsetof(rtr_config_t, ack_interval_ms), "10", 1, 1000,
     "milliseconds between rounds of acks to publishers"},
    {"publisher_ttl", WIRE_CONF_INT, offsetof(rtr_config_t, publisher_ttl), "300", 1, 7 * 86400,
     "seconds without traffic after which a publisher's dedup state is forgotten"},
    {"fanout_hwm", WIRE_CONF_INT, offsetof(rtr_config_t, fanout_hwm), "100000", 1, 100000000,
     "messages queued per edge before the router drops for that edge"},
    {"intake_hwm", WIRE_CONF_INT, offsetof(rtr_config_t, intake_hwm), "100000", 1, 100000000,
     "messages queued on intake before agents are pushed back"},
    {"stats_interval", WIRE_CONF_INT, offsetof(rtr_config_t, stats_interval), "60", 0, 86400,
     "seconds between counter summaries at info level (0 = off)"},
    {"log_level", WIRE_CONF_LEVEL, offsetof(rtr_config_t, log_level), "notice", 0, 0,
     "error, warn, notice, info or debug"},
    {"io_threads", WIRE_CONF_INT, offsetof(rtr_config_t, io_threads), "1", 1, 64,
     "ZeroMQ I/O threads"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* The settings table, for wire_conf_* calls. */
const wire_conf_entry_t *rtr_config_table(void)
{
    return s_table;
}

/* Fills conf with the table's defaults. */
int rtr_config_defaults(rtr_config_t *conf, char *err, size_t errlen)
{
    return wire_conf_defaults(s_table, conf, err, errlen);
}

/* Frees the strings conf owns; the struct stays usable for rtr_config_defaults(). */
void rtr_config_free(rtr_config_t *conf)
{
    if (conf)
        wire_conf_free(s_table, conf);
}
