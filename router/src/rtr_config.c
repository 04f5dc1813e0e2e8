/*
 * rtr_config.c: the router's settings table (keys, types, defaults, bounds, help).
 * Keep router/weft-router.conf.example in step with this table.
 */
#include "rtr_config.h"

#include <stddef.h>

#include "wire_envelope.h"
#include "wire_hist.h"

#define RTR_MIB (1024.0 * 1024.0)

/* The one place router defaults live. Bounds keep values that would break the router out. */
static const base_conf_entry_t s_table[] = {
    {"intake", BASE_CONF_STR, offsetof(rtr_config_t, intake), "tcp://*:5555", 0, 1024,
     "ZeroMQ endpoint the intake XSUB binds; agents connect here"},
    {"fanout", BASE_CONF_STR, offsetof(rtr_config_t, fanout), "tcp://*:5556", 0, 1024,
     "ZeroMQ endpoint the fan-out XPUB binds; edges connect here"},
    {"max_payload", BASE_CONF_SIZE, offsetof(rtr_config_t, max_payload), "65536", 1, 16 * RTR_MIB,
     "largest JSON payload accepted, bytes (k/m suffixes allowed, at most 16m)"},
    {"ack_interval_ms", BASE_CONF_INT, offsetof(rtr_config_t, ack_interval_ms), "10", 1, 1000,
     "milliseconds between rounds of acks to publishers"},
    {"publisher_ttl", BASE_CONF_INT, offsetof(rtr_config_t, publisher_ttl), "300", 1, 7 * 86400,
     "seconds without traffic after which a publisher's dedup state is forgotten"},
    {"fanout_hwm", BASE_CONF_INT, offsetof(rtr_config_t, fanout_hwm), "100000", 1, 100000000,
     "messages queued per edge before the router drops for that edge"},
    {"intake_hwm", BASE_CONF_INT, offsetof(rtr_config_t, intake_hwm), "100000", 1, 100000000,
     "messages queued on intake before agents are pushed back"},
    {"stats_interval", BASE_CONF_INT, offsetof(rtr_config_t, stats_interval), "60", 0, 86400,
     "seconds between counter summaries at info level (0 = off)"},
    {"log_level", BASE_CONF_LEVEL, offsetof(rtr_config_t, log_level), "notice", 0, 0,
     "error, warn, notice, info or debug"},
    {"io_threads", BASE_CONF_INT, offsetof(rtr_config_t, io_threads), "1", 1, 64,
     "ZeroMQ I/O threads"},
    {"sched_batch", BASE_CONF_BOOL, offsetof(rtr_config_t, sched_batch), "true", 0, 0,
     "run the router's threads under SCHED_BATCH: woken threads do not preempt the running one, "
     "so each wake-up moves more events (less CPU per event; up to a few ms more latency when "
     "the CPU is contended)"},
    {"io_nice", BASE_CONF_INT, offsetof(rtr_config_t, io_nice), "10", 0, 19,
     "nice increment of ZeroMQ's I/O threads over the loop thread: on a shared core they then "
     "stop preempting the loop every few events (less CPU per event at full load; 0 = same "
     "priority)"},
    {"history", BASE_CONF_STR, offsetof(rtr_config_t, history), "tcp://*:5557", 0, 1024,
     "ZeroMQ endpoint the history ROUTER binds; edges connect a DEALER here"},
    {"history_max_events", BASE_CONF_INT, offsetof(rtr_config_t, history_max_events), "1000", 0,
     1000000, "events of history kept per room (0 = keep no history)"},
    {"history_max_age", BASE_CONF_INT, offsetof(rtr_config_t, history_max_age), "300", 1, 7 * 86400,
     "seconds an event stays in history"},
    {"history_max_bytes", BASE_CONF_SIZE, offsetof(rtr_config_t, history_max_bytes), "256m", 0,
     1024.0 * 1024 * RTR_MIB,
     "memory all history may take, bytes (k/m/g suffixes); idlest rooms are dropped first"},
    {"history_page_max", BASE_CONF_INT, offsetof(rtr_config_t, history_page_max), "500", 1,
     WIRE_HIST_PAGE_MAX,
     "most events in one history reply (also the default page size)"},
    {"history_batch", BASE_CONF_INT, offsetof(rtr_config_t, history_batch), "64", 1, 100000,
     "history requests served per loop pass between intake batches"},
    {"history_hwm", BASE_CONF_INT, offsetof(rtr_config_t, history_hwm), "100000", 1, 100000000,
     "history reply messages queued per edge before replies are dropped"},
    {"head_interval_ms", BASE_CONF_INT, offsetof(rtr_config_t, head_interval_ms), "1000", 0,
     60000, "period of room-head messages that let edges detect lost tail events (0 = off)"},
    {"head_linger", BASE_CONF_INT, offsetof(rtr_config_t, head_linger), "10", 1, 3600,
     "seconds after its last event that a room keeps getting head messages"},
    {"rights_file", BASE_CONF_STR, offsetof(rtr_config_t, rights_file), "", 0, 4096,
     "publisher rights file (docs/security.md, \"Publisher rights\"); reloaded on SIGHUP; "
     "empty = every publisher may publish anywhere"},
    {"rights_default", BASE_CONF_STR, offsetof(rtr_config_t, rights_default), "deny", 0, 8,
     "with a rights file: allow or deny publishers it does not list"},
    {"max_publish_rate", BASE_CONF_INT, offsetof(rtr_config_t, max_publish_rate), "20000", 0,
     10000000,
     "events/s one publisher session may publish; over it events are refused as rate_limited "
     "and libweft resends them later (0 = no cap)"},
    {"publish_burst", BASE_CONF_INT, offsetof(rtr_config_t, publish_burst), "20000", 1, 10000000,
     "events a publisher session may send at once above max_publish_rate"},
    {"history_rate", BASE_CONF_INT, offsetof(rtr_config_t, history_rate), "5000", 0, 10000000,
     "history requests/s one edge may make; over it requests are answered busy and the edge "
     "retries later (0 = no cap)"},
    {"history_burst", BASE_CONF_INT, offsetof(rtr_config_t, history_burst), "20000", 1, 10000000,
     "history requests an edge may send at once above history_rate"},
    {"curve_secret_key", BASE_CONF_STR, offsetof(rtr_config_t, curve_secret_key), "", 0, 4096,
     "the router's secret certificate file (weft-keygen's NAME_secret): intake, fan-out and "
     "history become CURVE servers (\"\" = plain TCP, no authentication)"},
    {"curve_clients_dir", BASE_CONF_STR, offsetof(rtr_config_t, curve_clients_dir), "", 0, 4096,
     "directory of the public certificates of allowed publishers, edges and tools; changes are "
     "picked up within a second (required with curve_secret_key)"},
    {"metrics_port", BASE_CONF_INT, offsetof(rtr_config_t, metrics_port), "0", 0, 65535,
     "TCP port of the HTTP listener for /metrics (Prometheus), /health and /ready "
     "(docs/operations.md); 0 = no listener (9101 is the conventional choice)"},
    {"metrics_bind", BASE_CONF_STR, offsetof(rtr_config_t, metrics_bind), "127.0.0.1", 1, 256,
     "address the metrics listener binds (an IPv4 or IPv6 literal; 0.0.0.0 = every interface)"},
    {"presence_room", BASE_CONF_STR, offsetof(rtr_config_t, presence_room), "presence", 0,
     WIRE_ROOM_MAX,
     "room the router publishes agent.connected/disconnected/present events into "
     "(docs/operations.md, \"Agent presence\"); empty = no presence events"},
    {"presence_timeout", BASE_CONF_INT, offsetof(rtr_config_t, presence_timeout), "5", 1, 86400,
     "seconds without traffic (heartbeats or events) after which a publisher is announced "
     "disconnected; below publisher_ttl"},
    {"presence_snapshot", BASE_CONF_INT, offsetof(rtr_config_t, presence_snapshot), "30", 0,
     86400, "seconds between agent.present events listing the connected publishers (0 = none)"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* The settings table, for base_conf_* calls. */
const base_conf_entry_t *rtr_config_table(void)
{
    return s_table;
}

/* Fills conf with the table's defaults. */
int rtr_config_defaults(rtr_config_t *conf, char *err, size_t errlen)
{
    return base_conf_defaults(s_table, conf, err, errlen);
}

/* Frees the strings conf owns; the struct stays usable for rtr_config_defaults(). */
void rtr_config_free(rtr_config_t *conf)
{
    if (conf)
        base_conf_free(s_table, conf);
}
