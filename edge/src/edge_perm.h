/*
 * edge_perm.h: which rooms one client may read, from its verified identity (pure: no lws, no
 * JWT parsing; tests build it from plain strings).
 *
 * An authenticated client (a sub) may read:
 * - "global";
 * - "user:<sub>", its own user room, and no other room in the "user:" namespace: a grant in
 *   the claim (even "*" or "user:*") never opens another user's room;
 * - every room matched by an entry of its rooms claim: exact names and trailing-'*' patterns.
 * An anonymous client (edge_perm_new() with sub NULL, when the edge runs with auth = none) may
 * read what the configured allowlist matches, with the same matcher, and no "user:" room.
 *
 * A pattern subscription ("team:*") is allowed only when EVERY room it can match is allowed:
 * "team:*" under a claim of "team:*" or "*", but not "user:4*" for sub 42 (it would match
 * "user:43"), and not "*" for anyone (it matches other users' rooms).
 *
 * Auto-join: templates such as "user:{sub}" and "global" give the rooms a client joins when it
 * authenticates; only rooms the client is allowed come out (a template for another namespace
 * needs a matching claim entry), so every joined room passes the same check as a subscribe.
 *
 * Immutable after edge_perm_new(): one object per identity (a refresh builds a new one and the
 * edge re-checks the current subscriptions against it); the anonymous one may be shared by every
 * anonymous connection. Not thread-safe to destroy while in use.
 */
#ifndef EDGE_PERM_H
#define EDGE_PERM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct edge_perm edge_perm_t;

/* Receives one auto-join room (len bytes, NUL-terminated) from edge_perm_autojoin(). */
typedef void(edge_perm_room_fn)(void *arg, const char *room, size_t len);

/*
 * Creates the rules of one identity: sub (NUL-terminated, a valid room suffix) for an
 * authenticated client, or NULL for an anonymous one; rooms: n room names or trailing-'*'
 * patterns (the claim, or the anonymous allowlist), copied. Invalid entries are refused: returns
 * NULL when sub or an entry is invalid, or on OOM.
 */
edge_perm_t *edge_perm_new(const char *sub, const char *const *rooms, size_t n);

/* Frees the rules, nulls *self_p. NULL-safe. */
void edge_perm_destroy(edge_perm_t **self_p);

/* The subject the rules were built for, or NULL for anonymous rules. */
const char *edge_perm_sub(const edge_perm_t *self);

/*
 * True when the client may subscribe to name (len bytes): a room it is allowed, or a
 * trailing-'*' pattern all of whose rooms it is allowed. False for anything that is not a valid
 * room name or pattern.
 */
bool edge_perm_allows(const edge_perm_t *self, const char *name, size_t len);

/* True when tpl is a usable auto-join template: a room name once each "{sub}" is filled in. */
bool edge_perm_template_valid(const char *tpl);

/*
 * Expands the n auto-join templates for this identity and calls fn once for each resulting
 * room the client is allowed, in template order, skipping duplicates. A template with "{sub}"
 * gives nothing for anonymous rules; an invalid template gives nothing. Returns the number of
 * rooms given to fn.
 */
size_t edge_perm_autojoin(const edge_perm_t *self, const char *const *templates, size_t n,
                          edge_perm_room_fn *fn, void *arg);

#endif
