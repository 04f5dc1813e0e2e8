/*
 * edge_rooms.h: which local connections listen to which rooms.
 *
 * A pure data structure (no lws, no ZeroMQ), so it is unit-tested on its own. Exact rooms live
 * in a hash table (name -> entry with its member list); trailing-'*' patterns live in their own
 * list. Each membership links one member (a connection) with one room or pattern entry, so
 * leaving and closing are O(1) per membership.
 *
 * The first local member of a room or pattern calls on_topic(subscribe=true) with its ZeroMQ
 * subscription (wire_subscription_for_pattern()); the last one leaving calls it with false.
 *
 * edge_rooms_visit() finds every member that must receive an event of a room: the room's own
 * members plus the members of every matching pattern, each member ONCE even when several of its
 * subscriptions match (a per-visit generation stamp on the member), in O(members + patterns).
 *
 * Each exact entry also remembers the last (epoch, seq) seen for the room, so the edge can count
 * gaps; an entry without exact members is kept while a pattern covers it so that state survives.
 *
 * Not thread-safe: used from the lws service thread only. Callbacks must not join or leave.
 */
#ifndef EDGE_ROOMS_H
#define EDGE_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct edge_rooms edge_rooms_t;
typedef struct edge_member edge_member_t;

/* Called when a subscription must be added to (subscribe) or removed from the SUB socket. */
typedef void(edge_rooms_topic_fn)(void *arg, bool subscribe, const char *topic, size_t len);

/* Called once per member that must receive an event. */
typedef void(edge_rooms_visit_fn)(void *arg, void *conn);

/* Results of join and leave. */
typedef enum edge_rooms_rc {
    EDGE_ROOMS_ADDED = 0,  /* joined */
    EDGE_ROOMS_ALREADY,    /* already a member: nothing changed (subscribing twice is fine) */
    EDGE_ROOMS_REMOVED,    /* left */
    EDGE_ROOMS_NOT_MEMBER, /* leave of something the member had not joined */
    EDGE_ROOMS_INVALID,    /* not a room name or pattern */
    EDGE_ROOMS_NOMEM       /* out of memory: nothing changed */
} edge_rooms_rc_t;

/* What edge_rooms_track() concluded about an event's sequence number. */
typedef enum edge_seq {
    EDGE_SEQ_UNTRACKED = 0, /* nobody here listens to the room: nothing recorded */
    EDGE_SEQ_FIRST,         /* first event seen for the room (since it gained listeners) */
    EDGE_SEQ_NEXT,          /* seq == last + 1 */
    EDGE_SEQ_GAP,           /* seq > last + 1: events were missed */
    EDGE_SEQ_OLD,           /* seq <= last: a duplicate or reordering */
    EDGE_SEQ_NEW_EPOCH      /* a different epoch: the router restarted */
} edge_seq_t;

/* Creates an empty index. on_topic (may be NULL) is called with arg. */
edge_rooms_t *edge_rooms_new(edge_rooms_topic_fn *on_topic, void *arg);

/* Frees every entry and membership and detaches remaining members (their later
 * edge_member_destroy() only frees them). Does not call on_topic. Nulls *self_p. NULL-safe. */
void edge_rooms_destroy(edge_rooms_t **self_p);

/* Creates a member for conn (an opaque pointer handed back by visits). NULL on OOM. */
edge_member_t *edge_member_new(edge_rooms_t *rooms, void *conn);

/* Leaves everything (calling on_topic for last members), frees the member, nulls *self_p. */
void edge_member_destroy(edge_member_t **self_p);

/* Number of rooms and patterns the member has joined. */
size_t edge_member_count(const edge_member_t *self);

/* Joins a room or pattern (len bytes, need not be NUL-terminated). */
edge_rooms_rc_t edge_rooms_join(edge_member_t *member, const char *name, size_t len);

/* Leaves a room or pattern joined with exactly this name. */
edge_rooms_rc_t edge_rooms_leave(edge_member_t *member, const char *name, size_t len);

/* Leaves everything the member joined; the member stays usable. */
void edge_rooms_leave_all(edge_member_t *member);

/* Calls fn(arg, conn) once for every member listening to room; returns how many. */
size_t edge_rooms_visit(edge_rooms_t *self, const char *room, size_t len, edge_rooms_visit_fn *fn,
                        void *arg);

/*
 * Records (epoch, seq) for a room that has listeners and classifies it against the last one
 * seen. When it returns EDGE_SEQ_GAP, *missed (may be NULL) is the number of skipped seqs.
 * Returns EDGE_SEQ_UNTRACKED when nobody listens (nothing is stored) or on OOM.
 */
edge_seq_t edge_rooms_track(edge_rooms_t *self, const char *room, size_t len, uint64_t epoch,
                            uint64_t seq, uint64_t *missed);

/* Exact rooms with at least one member. */
size_t edge_rooms_count(const edge_rooms_t *self);

/* Patterns with at least one member. */
size_t edge_rooms_pattern_count(const edge_rooms_t *self);

/* Memberships over all members. */
size_t edge_rooms_membership_count(const edge_rooms_t *self);

/* Exact-room entries kept in the table, including those kept only for seq state. */
size_t edge_rooms_entry_count(const edge_rooms_t *self);

#endif
