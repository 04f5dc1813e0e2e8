/*
 * edge_rooms.c: the room/pattern membership index (see edge_rooms.h).
 *
 * Exact rooms: the tree's seeded hash map (base_map.h) keyed by name. Browsers choose room names,
 * so the seed (random per map) keeps them from choosing names that fall into one chain.
 * Patterns: a doubly linked list; an event scans it once. That is fine while a node has tens of
 * distinct patterns; a prefix trie can replace the list later without changing the API.
 * Memberships: one s_link_t per (member, entry), threaded on two lists: the entry's members and
 * the member's joins.
 */
#include "edge_rooms.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base_map.h"
#include "wire_envelope.h"

typedef struct s_link s_link_t;

/* A room or a pattern with its local members. */
typedef struct s_entry {
    base_map_node_t node;         /* rooms: in the room map, hashed from name */
    struct s_entry *next;         /* patterns: the pattern list */
    struct s_entry *prev;         /* patterns: the pattern list */
    s_link_t *members;            /* memberships of this entry */
    size_t nmembers;              /* length of members */
    size_t nflagged;              /* memberships with flags != 0 */
    void *data;                   /* the owner's data (rooms), freed with free_fn */
    bool pattern;                 /* a trailing-'*' pattern rather than an exact room */
    size_t len;                   /* bytes in name */
    char name[WIRE_ROOM_MAX + 1]; /* room or pattern, NUL-terminated */
} s_entry_t;

/* One membership: member joined entry. */
struct s_link {
    s_link_t *e_prev, *e_next; /* neighbours in entry->members */
    s_link_t *m_prev, *m_next; /* neighbours in member->links */
    s_entry_t *entry;          /* what was joined */
    edge_member_t *member;     /* who joined it */
    unsigned flags;            /* EDGE_ROOMS_F_* of this membership */
};

struct edge_member {
    edge_rooms_t *rooms;        /* owning index; NULL once the index is destroyed */
    void *conn;                 /* the caller's connection, handed to visit callbacks */
    uint64_t stamp;             /* generation of the last visit that reached this member */
    unsigned vflags;            /* during a visit: OR of the matching memberships' flags */
    s_link_t *links;            /* this member's memberships */
    size_t nlinks;              /* length of links */
    size_t max;                 /* cap on nlinks; 0 = none */
    edge_member_t *prev, *next; /* all members of the index (for destroy) */
};

struct edge_rooms {
    base_map_t *map;               /* exact entries by name (with or without members) */
    size_t nrooms;                 /* exact entries with members */
    s_entry_t *patterns;           /* patterns with members */
    size_t npatterns;              /* length of patterns */
    size_t nmemberships;           /* links over all members */
    uint64_t gen;                  /* visit generation, for once-per-member delivery */
    edge_member_t *members;        /* every live member */
    edge_rooms_topic_fn *on_topic; /* subscription changes, may be NULL */
    edge_rooms_free_fn *free_fn;   /* frees room data, may be NULL */
    void *arg;                     /* for on_topic and free_fn */
};

/* Seeded hash of a room name. */
static uint64_t s_hash(const edge_rooms_t *self, const char *name, size_t len)
{
    return base_map_hash(self->map, name, len, 0);
}

/* The entry a room map node is embedded in. */
static s_entry_t *s_entry_of(base_map_node_t *node)
{
    return (s_entry_t *)((char *)node - offsetof(s_entry_t, node));
}

edge_rooms_t *edge_rooms_new(edge_rooms_topic_fn *on_topic, void *arg)
{
    edge_rooms_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = base_map_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    self->on_topic = on_topic;
    self->arg = arg;
    return self;
}

void edge_rooms_set_free(edge_rooms_t *self, edge_rooms_free_fn *free_fn)
{
    self->free_fn = free_fn;
}

/* Frees an entry and the owner's data on it. */
static void s_entry_free(edge_rooms_t *self, s_entry_t *e)
{
    if (e->data && self->free_fn)
        self->free_fn(self->arg, e->data);
    free(e);
}

/* Frees a member's links without touching entries (used by destroy only). */
static void s_free_links(edge_member_t *member)
{
    s_link_t *link = member->links;
    while (link) {
        s_link_t *next = link->m_next;
        free(link);
        link = next;
    }
    member->links = NULL;
    member->nlinks = 0;
}

void edge_rooms_destroy(edge_rooms_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_rooms_t *self = *self_p;
    for (edge_member_t *m = self->members, *next; m; m = next) {
        next = m->next;
        s_free_links(m);
        m->rooms = NULL;
        m->prev = m->next = NULL;
    }
    /* The map is destroyed right after, so its entries are freed without unlinking them. */
    for (base_map_node_t *n = base_map_first(self->map), *next; n; n = next) {
        next = base_map_next(self->map, n);
        s_entry_free(self, s_entry_of(n));
    }
    for (s_entry_t *e = self->patterns, *next; e; e = next) {
        next = e->next;
        s_entry_free(self, e);
    }
    base_map_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

edge_member_t *edge_member_new(edge_rooms_t *rooms, void *conn)
{
    edge_member_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rooms = rooms;
    self->conn = conn;
    self->next = rooms->members;
    if (rooms->members)
        rooms->members->prev = self;
    rooms->members = self;
    return self;
}

void edge_member_destroy(edge_member_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_member_t *self = *self_p;
    edge_rooms_t *rooms = self->rooms;
    if (rooms) {
        edge_rooms_leave_all(self);
        if (self->prev)
            self->prev->next = self->next;
        else
            rooms->members = self->next;
        if (self->next)
            self->next->prev = self->prev;
    }
    s_free_links(self);
    free(self);
    *self_p = NULL;
}

size_t edge_member_count(const edge_member_t *self)
{
    return self ? self->nlinks : 0;
}

void edge_member_set_max(edge_member_t *self, size_t max)
{
    self->max = max;
}

/* The exact entry for a room, or NULL. */
static s_entry_t *s_find_room(const edge_rooms_t *self, const char *name, size_t len, uint64_t hash)
{
    for (base_map_node_t *n = base_map_bucket(self->map, hash); n; n = n->next) {
        s_entry_t *e = s_entry_of(n);
        if (n->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

/* The entry for a pattern, or NULL. */
static s_entry_t *s_find_pattern(const edge_rooms_t *self, const char *name, size_t len)
{
    for (s_entry_t *e = self->patterns; e; e = e->next)
        if (e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    return NULL;
}

/* True when some pattern with members matches room. */
static bool s_pattern_covers(const edge_rooms_t *self, const char *room, size_t len)
{
    for (const s_entry_t *p = self->patterns; p; p = p->next)
        if (wire_pattern_match(p->name, p->len, room, len))
            return true;
    return false;
}

/* Creates an entry (room in the table, or pattern in the list). NULL on OOM. */
static s_entry_t *s_entry_add(edge_rooms_t *self, const char *name, size_t len, bool pattern,
                              uint64_t hash)
{
    s_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->len = len;
    e->pattern = pattern;
    if (pattern) {
        e->next = self->patterns;
        if (self->patterns)
            self->patterns->prev = e;
        self->patterns = e;
    } else {
        e->node.hash = hash;
        /* When growing fails the entry is still in; its chain is just longer. */
        (void)base_map_insert(self->map, &e->node);
    }
    return e;
}

/* Unlinks and frees an entry. */
static void s_entry_remove(edge_rooms_t *self, s_entry_t *e)
{
    if (e->pattern) {
        if (e->prev)
            e->prev->next = e->next;
        else
            self->patterns = e->next;
        if (e->next)
            e->next->prev = e->prev;
    } else {
        base_map_remove(self->map, &e->node);
    }
    s_entry_free(self, e);
}

/* Drops room entries that lost their last reason to exist (no members, no covering pattern). */
static void s_sweep_rooms(edge_rooms_t *self)
{
    for (base_map_node_t *n = base_map_first(self->map), *next; n; n = next) {
        next = base_map_next(self->map, n);
        s_entry_t *e = s_entry_of(n);
        if (e->nmembers == 0 && !s_pattern_covers(self, e->name, e->len))
            s_entry_remove(self, e);
    }
}

/* Tells the owner to add or drop the ZeroMQ subscription for an entry. */
static void s_notify(edge_rooms_t *self, bool subscribe, const s_entry_t *e)
{
    if (!self->on_topic)
        return;
    char topic[WIRE_TOPIC_MAX];
    int n = wire_subscription_for_pattern(e->name, e->len, topic);
    if (n >= 0)
        self->on_topic(self->arg, subscribe, topic, (size_t)n);
}

/* Removes one membership, and the entry when it was the last and nothing else keeps it. */
static void s_unlink(edge_rooms_t *self, s_link_t *link)
{
    s_entry_t *e = link->entry;
    edge_member_t *m = link->member;
    if (link->e_prev)
        link->e_prev->e_next = link->e_next;
    else
        e->members = link->e_next;
    if (link->e_next)
        link->e_next->e_prev = link->e_prev;
    if (link->m_prev)
        link->m_prev->m_next = link->m_next;
    else
        m->links = link->m_next;
    if (link->m_next)
        link->m_next->m_prev = link->m_prev;
    if (link->flags)
        e->nflagged--;
    free(link);
    m->nlinks--;
    e->nmembers--;
    self->nmemberships--;
    if (e->nmembers > 0)
        return;
    s_notify(self, false, e);
    if (e->pattern) {
        self->npatterns--;
        s_entry_remove(self, e);
        /* Rooms kept only for their seq state may have lost their covering pattern. */
        s_sweep_rooms(self);
    } else {
        self->nrooms--;
        if (!s_pattern_covers(self, e->name, e->len))
            s_entry_remove(self, e);
    }
}

edge_rooms_rc_t edge_rooms_join(edge_member_t *member, const char *name, size_t len)
{
    return edge_rooms_join_flags(member, name, len, 0);
}

edge_rooms_rc_t edge_rooms_join_flags(edge_member_t *member, const char *name, size_t len,
                                      unsigned flags)
{
    edge_rooms_t *self = member->rooms;
    if (!self || !wire_pattern_valid(name, len))
        return EDGE_ROOMS_INVALID;
    bool pattern = wire_pattern_is_prefix(name, len);
    uint64_t hash = pattern ? 0 : s_hash(self, name, len);
    s_entry_t *e = pattern ? s_find_pattern(self, name, len) : s_find_room(self, name, len, hash);
    if (e) {
        for (s_link_t *l = member->links; l; l = l->m_next) {
            if (l->entry == e) {
                if ((l->flags != 0) != (flags != 0)) {
                    if (flags)
                        e->nflagged++;
                    else
                        e->nflagged--;
                }
                l->flags = flags;
                return EDGE_ROOMS_ALREADY;
            }
        }
    }
    if (member->max && member->nlinks >= member->max)
        return EDGE_ROOMS_LIMIT;
    bool created = false;
    if (!e) {
        e = s_entry_add(self, name, len, pattern, hash);
        if (!e)
            return EDGE_ROOMS_NOMEM;
        created = true;
    }
    s_link_t *link = calloc(1, sizeof *link);
    if (!link) {
        if (created)
            s_entry_remove(self, e);
        return EDGE_ROOMS_NOMEM;
    }
    link->entry = e;
    link->member = member;
    link->flags = flags;
    if (flags)
        e->nflagged++;
    link->e_next = e->members;
    if (e->members)
        e->members->e_prev = link;
    e->members = link;
    link->m_next = member->links;
    if (member->links)
        member->links->m_prev = link;
    member->links = link;
    member->nlinks++;
    self->nmemberships++;
    if (e->nmembers++ == 0) {
        if (pattern)
            self->npatterns++;
        else
            self->nrooms++;
        s_notify(self, true, e);
    }
    return EDGE_ROOMS_ADDED;
}

edge_rooms_rc_t edge_rooms_leave(edge_member_t *member, const char *name, size_t len)
{
    edge_rooms_t *self = member->rooms;
    if (!self || !wire_pattern_valid(name, len))
        return EDGE_ROOMS_INVALID;
    bool pattern = wire_pattern_is_prefix(name, len);
    for (s_link_t *l = member->links; l; l = l->m_next) {
        const s_entry_t *e = l->entry;
        if (e->pattern == pattern && e->len == len && memcmp(e->name, name, len) == 0) {
            s_unlink(self, l);
            return EDGE_ROOMS_REMOVED;
        }
    }
    return EDGE_ROOMS_NOT_MEMBER;
}

void edge_rooms_leave_all(edge_member_t *member)
{
    if (!member || !member->rooms)
        return;
    while (member->links)
        s_unlink(member->rooms, member->links);
}

size_t edge_rooms_leave_if(edge_member_t *member, edge_rooms_drop_fn *drop, void *arg)
{
    if (!member || !member->rooms)
        return 0;
    size_t n = 0;
    for (s_link_t *l = member->links, *next; l; l = next) {
        next = l->m_next;
        if (drop(arg, l->entry->name, l->entry->len)) {
            s_unlink(member->rooms, l);
            n++;
        }
    }
    return n;
}

/* Most rooms are matched by one or two entries (the room, maybe a pattern); more are counted
 * in a second scan of the patterns. */
#define S_MAX_HITS 8

/* The entries matching a room: the exact entry and matching patterns, up to S_MAX_HITS of them
 * in hits; returns how many match in all (more than S_MAX_HITS means: scan again). With
 * flagged_only, entries without flagged memberships are left out. */
static size_t s_matches(edge_rooms_t *self, const char *room, size_t len, bool flagged_only,
                        const s_entry_t **hits)
{
    size_t n = 0;
    if (len <= WIRE_ROOM_MAX) {
        const s_entry_t *e = s_find_room(self, room, len, s_hash(self, room, len));
        if (e && e->nmembers && (!flagged_only || e->nflagged))
            hits[n++] = e;
    }
    for (const s_entry_t *p = self->patterns; p; p = p->next) {
        if ((flagged_only && !p->nflagged) || !wire_pattern_match(p->name, p->len, room, len))
            continue;
        if (n < S_MAX_HITS)
            hits[n] = p;
        n++;
    }
    return n;
}

/* Pass 1 over one entry: stamps each member with gen and ORs its memberships' flags. */
static void s_gather(const s_entry_t *e, uint64_t gen, bool flagged_only)
{
    for (const s_link_t *l = e->members; l; l = l->e_next) {
        if (flagged_only && !l->flags)
            continue;
        edge_member_t *m = l->member;
        if (m->stamp != gen) {
            m->stamp = gen;
            m->vflags = l->flags;
        } else {
            m->vflags |= l->flags;
        }
    }
}

/* Pass 2 over one entry: calls fn once for each member stamped gen (restamping it done) whose
 * flags pass mask (0 = every member). */
static size_t s_call(const s_entry_t *e, uint64_t gen, uint64_t done, unsigned mask,
                     edge_rooms_visit_fn *fn, void *arg)
{
    size_t n = 0;
    for (const s_link_t *l = e->members; l; l = l->e_next) {
        edge_member_t *m = l->member;
        if (m->stamp != gen)
            continue;
        m->stamp = done;
        if (mask && !(m->vflags & mask))
            continue;
        fn(arg, m->conn, m->vflags);
        n++;
    }
    return n;
}

/* The visit behind edge_rooms_visit() (mask 0) and edge_rooms_visit_flagged(). */
static size_t s_visit(edge_rooms_t *self, const char *room, size_t len, unsigned mask,
                      edge_rooms_visit_fn *fn, void *arg)
{
    bool flagged_only = mask != 0;
    const s_entry_t *hits[S_MAX_HITS];
    size_t nhits = s_matches(self, room, len, flagged_only, hits);
    if (nhits == 0)
        return 0;
    /* Two generations per visit: one marks "reached, flags gathered", the next "called". A
     * member reached through several subscriptions is called once, with all their flags. */
    uint64_t gen = self->gen + 1, done = self->gen + 2;
    self->gen += 2;
    if (nhits == 1) {
        /* One entry: each member appears once, its flags are its membership's. */
        size_t n = 0;
        for (const s_link_t *l = hits[0]->members; l; l = l->e_next) {
            if (mask && !(l->flags & mask))
                continue;
            l->member->stamp = done;
            l->member->vflags = l->flags;
            fn(arg, l->member->conn, l->flags);
            n++;
        }
        return n;
    }
    if (nhits <= S_MAX_HITS) {
        for (size_t i = 0; i < nhits; i++)
            s_gather(hits[i], gen, flagged_only);
        size_t n = 0;
        for (size_t i = 0; i < nhits; i++)
            n += s_call(hits[i], gen, done, mask, fn, arg);
        return n;
    }
    /* Many matching patterns: walk them again instead of remembering them. */
    const s_entry_t *exact = NULL;
    if (len <= WIRE_ROOM_MAX) {
        exact = s_find_room(self, room, len, s_hash(self, room, len));
        if (exact && (!exact->nmembers || (flagged_only && !exact->nflagged)))
            exact = NULL;
    }
    if (exact)
        s_gather(exact, gen, flagged_only);
    for (const s_entry_t *p = self->patterns; p; p = p->next)
        if ((!flagged_only || p->nflagged) && wire_pattern_match(p->name, p->len, room, len))
            s_gather(p, gen, flagged_only);
    size_t n = exact ? s_call(exact, gen, done, mask, fn, arg) : 0;
    for (const s_entry_t *p = self->patterns; p; p = p->next)
        if ((!flagged_only || p->nflagged) && wire_pattern_match(p->name, p->len, room, len))
            n += s_call(p, gen, done, mask, fn, arg);
    return n;
}

size_t edge_rooms_visit(edge_rooms_t *self, const char *room, size_t len, edge_rooms_visit_fn *fn,
                        void *arg)
{
    return s_visit(self, room, len, 0, fn, arg);
}

size_t edge_rooms_visit_flagged(edge_rooms_t *self, const char *room, size_t len, unsigned mask,
                                edge_rooms_visit_fn *fn, void *arg)
{
    return mask ? s_visit(self, room, len, mask, fn, arg) : 0;
}

void **edge_rooms_data(edge_rooms_t *self, const char *room, size_t len)
{
    if (!wire_room_valid(room, len))
        return NULL;
    uint64_t hash = s_hash(self, room, len);
    s_entry_t *e = s_find_room(self, room, len, hash);
    if (!e || e->nmembers == 0) {
        if (!s_pattern_covers(self, room, len))
            return NULL;
        if (!e && !(e = s_entry_add(self, room, len, false, hash)))
            return NULL;
    }
    return &e->data;
}

void edge_rooms_each(edge_rooms_t *self, edge_rooms_each_fn *fn, void *arg)
{
    for (base_map_node_t *n = base_map_first(self->map); n; n = base_map_next(self->map, n)) {
        s_entry_t *e = s_entry_of(n);
        if (e->data)
            fn(arg, e->name, e->len, e->data);
    }
}

size_t edge_rooms_count(const edge_rooms_t *self)
{
    return self->nrooms;
}

size_t edge_rooms_pattern_count(const edge_rooms_t *self)
{
    return self->npatterns;
}

size_t edge_rooms_membership_count(const edge_rooms_t *self)
{
    return self->nmemberships;
}

size_t edge_rooms_entry_count(const edge_rooms_t *self)
{
    return base_map_size(self->map);
}
