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
 * Each membership carries flags (the edge uses EDGE_ROOMS_F_UNBATCHED for subscriptions that
 * asked for "batch": false); a visit hands each member the OR of the flags of all its
 * memberships that match the room, and edge_rooms_visit_flagged() reaches only the members with
 * a flag set, without walking the others.
 *
 * Each exact entry also carries one pointer of the owner's data (the edge keeps the room's
 * stream state there: its position and gap repair, edge_stream.h); an entry without exact
 * members is kept while a pattern covers it so that the data survives. The owner's free
 * callback runs when the entry goes away (its last listener left, or the index is destroyed).
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

/* Membership flags. */
#define EDGE_ROOMS_F_UNBATCHED 0x1u /* the subscription asked for unbatched delivery */

/* Called once per member that must receive an event; flags is the OR of the flags of the
 * member's memberships that match the room. */
typedef void(edge_rooms_visit_fn)(void *arg, void *conn, unsigned flags);

/* Frees the owner's data of a room entry that goes away. */
typedef void(edge_rooms_free_fn)(void *arg, void *data);

/* Called by edge_rooms_each() for each exact room that holds data. */
typedef void(edge_rooms_each_fn)(void *arg, const char *room, size_t len, void *data);

/* Results of join and leave. */
typedef enum edge_rooms_rc {
    EDGE_ROOMS_ADDED = 0,  /* joined */
    EDGE_ROOMS_ALREADY,    /* already a member: nothing changed (subscribing twice is fine) */
    EDGE_ROOMS_REMOVED,    /* left */
    EDGE_ROOMS_NOT_MEMBER, /* leave of something the member had not joined */
    EDGE_ROOMS_INVALID,    /* not a room name or pattern */
    EDGE_ROOMS_NOMEM,      /* out of memory: nothing changed */
    EDGE_ROOMS_LIMIT       /* the member has its maximum of memberships: nothing changed */
} edge_rooms_rc_t;

/* Creates an empty index. on_topic (may be NULL) is called with arg. */
edge_rooms_t *edge_rooms_new(edge_rooms_topic_fn *on_topic, void *arg);

/* Sets the callback that frees room data (called with the arg given to edge_rooms_new()). */
void edge_rooms_set_free(edge_rooms_t *self, edge_rooms_free_fn *free_fn);

/* Frees every entry and membership and detaches remaining members (their later
 * edge_member_destroy() only frees them). Calls the free callback for room data, not on_topic.
 * Nulls *self_p. NULL-safe. */
void edge_rooms_destroy(edge_rooms_t **self_p);

/* Creates a member for conn (an opaque pointer handed back by visits). NULL on OOM. */
edge_member_t *edge_member_new(edge_rooms_t *rooms, void *conn);

/* Leaves everything (calling on_topic for last members), frees the member, nulls *self_p. */
void edge_member_destroy(edge_member_t **self_p);

/* Number of rooms and patterns the member has joined. */
size_t edge_member_count(const edge_member_t *self);

/* Caps the member's memberships (0 = no cap, the default): a join that would add one more
 * returns EDGE_ROOMS_LIMIT. */
void edge_member_set_max(edge_member_t *self, size_t max);

/* Joins a room or pattern (len bytes, need not be NUL-terminated) with flags 0. */
edge_rooms_rc_t edge_rooms_join(edge_member_t *member, const char *name, size_t len);

/* Joins with flags; joining again (EDGE_ROOMS_ALREADY) replaces the membership's flags. */
edge_rooms_rc_t edge_rooms_join_flags(edge_member_t *member, const char *name, size_t len,
                                      unsigned flags);

/* Leaves a room or pattern joined with exactly this name. */
edge_rooms_rc_t edge_rooms_leave(edge_member_t *member, const char *name, size_t len);

/* Leaves everything the member joined; the member stays usable. */
void edge_rooms_leave_all(edge_member_t *member);

/* Asked by edge_rooms_leave_if() about one membership (name: the room or pattern as joined,
 * len bytes, valid during the call): true to leave it. Must not join or leave. */
typedef bool(edge_rooms_drop_fn)(void *arg, const char *name, size_t len);

/* Leaves each membership for which drop() returns true (asked before it is left; a permission
 * change on a live connection). Returns the number left. */
size_t edge_rooms_leave_if(edge_member_t *member, edge_rooms_drop_fn *drop, void *arg);

/* Calls fn(arg, conn, flags) once for every member listening to room; returns how many. */
size_t edge_rooms_visit(edge_rooms_t *self, const char *room, size_t len, edge_rooms_visit_fn *fn,
                        void *arg);

/* Like edge_rooms_visit(), but only for the members whose flags intersect mask; entries without
 * flagged memberships are skipped whole. Returns how many were called. */
size_t edge_rooms_visit_flagged(edge_rooms_t *self, const char *room, size_t len, unsigned mask,
                                edge_rooms_visit_fn *fn, void *arg);

/*
 * The data slot of a room someone listens to (a member of the room or of a matching pattern),
 * creating the entry when only a pattern covered it. NULL when nobody listens or on OOM. The
 * slot stays valid until the entry goes away (a leave); the owner's data starts as NULL.
 */
void **edge_rooms_data(edge_rooms_t *self, const char *room, size_t len);

/* Calls fn for every exact room whose data is not NULL. fn must not join or leave. */
void edge_rooms_each(edge_rooms_t *self, edge_rooms_each_fn *fn, void *arg);

/* Exact rooms with at least one member. */
size_t edge_rooms_count(const edge_rooms_t *self);

/* Patterns with at least one member. */
size_t edge_rooms_pattern_count(const edge_rooms_t *self);

/* Memberships over all members. */
size_t edge_rooms_membership_count(const edge_rooms_t *self);

/* Exact-room entries kept in the table, including those kept only for their data. */
size_t edge_rooms_entry_count(const edge_rooms_t *self);

#endif
