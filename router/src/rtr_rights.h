/*
 * rtr_rights.h: publisher rights: which rooms and event types each publisher may publish to.
 *
 * Rights come from a rights file (config rights_file, docs/security.md "Publisher rights"), one
 * line per publisher:
 *
 *     # comment
 *     <identity> rooms=<pattern>[,<pattern>...] types=<pattern>[,<pattern>...]
 *
 * where identity is the publisher's CURVE public key (z85, 40 characters) when the intake runs
 * CURVE, else its publisher id, and a pattern is exact or ends in one '*' (a prefix; "*" alone
 * allows everything). Both keys are required. From a CURVE certificate's metadata, properties
 * "rooms" and "types" in the same comma-separated form grant rights too (a missing one allows
 * everything on that axis). Which applies: the file's entry for the identity, else the
 * certificate's metadata, else the default policy (rights_default when a file is loaded; with
 * no file, allow: the behaviour before rights existed).
 *
 * A loaded table is immutable: a reload (SIGHUP) builds a new one with rtr_rights_load() and the
 * server swaps it in only when the whole file parsed, so a bad edit never opens or closes
 * anything by accident. A check costs one hash lookup and a scan of the entry's patterns, with no
 * allocation. Not thread-safe: owned by the router loop.
 */
#ifndef RTR_RIGHTS_H
#define RTR_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rtr_rights rtr_rights_t;

/* What rtr_rights_check() decided. */
typedef enum rtr_rights_verdict {
    RTR_RIGHTS_OK = 0, /* may publish */
    RTR_RIGHTS_ROOM,   /* the room is not allowed (also: unknown publisher under "deny") */
    RTR_RIGHTS_TYPE    /* the room is allowed, the event type is not */
} rtr_rights_verdict_t;

/* Creates an empty table with the given default for publishers without an entry. NULL on OOM. */
rtr_rights_t *rtr_rights_new(bool default_allow);

/* Reads a rights file into a new table. Returns it, or NULL with "path:line: what" in err. */
rtr_rights_t *rtr_rights_load(const char *path, bool default_allow, char *err, size_t errlen);

/* Frees the table and nulls *self_p. NULL-safe. */
void rtr_rights_destroy(rtr_rights_t **self_p);

/* Parses one line of the file format (comments and blank lines are accepted and add nothing).
 * Returns 0, or -1 with the reason in err (the table is unchanged). */
int rtr_rights_add_line(rtr_rights_t *self, const char *line, char *err, size_t errlen);

/* Number of publishers with an entry. */
size_t rtr_rights_size(const rtr_rights_t *self);

/*
 * Decides whether the publisher known as id (id_len bytes) may publish an event of type to room.
 * meta_rooms and meta_types are its certificate's "rooms" and "types" properties (NUL-terminated)
 * or NULL. self may be NULL (no rights file): then only certificate metadata restricts.
 */
rtr_rights_verdict_t rtr_rights_check(const rtr_rights_t *self, const char *id, size_t id_len,
                                      const char *meta_rooms, const char *meta_types,
                                      const char *room, size_t room_len, const char *type,
                                      size_t type_len);

/* True when name matches one of the comma-separated patterns of list (list_len bytes). */
bool rtr_rights_list_match(const char *list, size_t list_len, const char *name, size_t len);

#endif
