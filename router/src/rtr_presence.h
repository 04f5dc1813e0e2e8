/*
 * rtr_presence.h: agent presence, turned from publisher traffic into events.
 *
 * A publisher session is present while it sends anything (libweft heartbeats every heartbeat_ms,
 * 1 s by default, and events both count). rtr_presence_tick() walks the publisher table
 * (rtr_pubs.h, newest traffic first) and reports through the emit hook:
 *   - agent.connected    for a session with traffic within timeout that was not announced yet;
 *   - agent.disconnected for an announced session silent for more than timeout
 *                        ("reason": "timeout"; libweft sends nothing when it closes);
 *   - agent.present      every snapshot period: the sessions present now, in parts of at most
 *                        RTR_PRESENCE_PART sessions ("part" from 0, "more" on all but the last).
 * Payloads are compact JSON objects (docs/protocol.md, "Presence events"). The announced state and
 * the key identity live in the publisher table's own entries: presence adds no table, and costs
 * nothing per event. A tick costs O(sessions present + sessions that went silent since the last
 * tick): the walk stops at the first session already silent at the previous tick. The table must
 * keep sessions longer than timeout (publisher_ttl > presence_timeout), so a silent session is
 * announced gone before it is forgotten.
 *
 * Not thread-safe: driven by the router loop. Both clocks are passed in (now_ms monotonic, for
 * the table's times; wall_ms Unix time, for "at"), so tests drive it.
 */
#ifndef RTR_PRESENCE_H
#define RTR_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "rtr_pubs.h"

#define RTR_PRESENCE_PART 128 /* sessions per agent.present event: fits a 64 KiB payload */

/* Publishes one presence event: type is "agent.connected", "agent.disconnected" or
 * "agent.present"; json (len bytes, NUL-terminated) is borrowed for the call. Returns 0, or -1
 * when it could not be published (counted by rtr_presence_failed()). */
typedef int (*rtr_presence_emit_fn)(void *arg, const char *type, const char *json, size_t len);

typedef struct rtr_presence rtr_presence_t;

/* Creates the tracker: sessions silent for more than timeout_ms are disconnected, a snapshot goes
 * out every snapshot_ms (0: none), the first one snapshot_ms after now_ms. NULL on OOM. */
rtr_presence_t *rtr_presence_new(uint64_t timeout_ms, uint64_t snapshot_ms, uint64_t now_ms,
                                 rtr_presence_emit_fn emit, void *arg);

/* Frees the tracker; nulls *self_p. NULL-safe. */
void rtr_presence_destroy(rtr_presence_t **self_p);

/* Announces arrivals and departures in pubs at now_ms (and the snapshot when due). */
void rtr_presence_tick(rtr_presence_t *self, rtr_pubs_t *pubs, uint64_t now_ms, uint64_t wall_ms);

/* Sessions present after the last tick. */
size_t rtr_presence_count(const rtr_presence_t *self);

/* Presence events the emit hook (or JSON encoding) failed to publish. */
uint64_t rtr_presence_failed(const rtr_presence_t *self);

#endif
