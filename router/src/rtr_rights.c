/*
 * rtr_rights.c: the rights table (rtr_rights.h): file parsing and the per-event check.
 *
 * Each entry keeps its identity and its two pattern lists as the comma-separated text of the
 * file, validated at load: the check walks that text in place, so it never allocates and costs
 * O(patterns). Entries sit in a seeded base_map keyed by identity.
 */
#include "rtr_rights.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base_map.h"
#include "wire_envelope.h"

#define RTR_RIGHTS_ID_MAX 64     /* identities: a publisher id or a 40-character z85 key */
#define RTR_RIGHTS_LINE_MAX 8192 /* longest line of a rights file */

typedef struct s_entry {
    base_map_node_t node; /* in rtr_rights.map, hashed on id */
    size_t id_len;        /* bytes in id */
    size_t rooms_len;     /* bytes in rooms */
    size_t types_len;     /* bytes in types */
    char *rooms;          /* comma-separated room patterns (points into text) */
    char *types;          /* comma-separated type patterns (points into text) */
    char text[];          /* id, rooms, types, each NUL-terminated */
} s_entry_t;

struct rtr_rights {
    base_map_t *map;    /* identity -> s_entry_t */
    bool default_allow; /* verdict for a publisher with neither an entry nor metadata */
};

/* Formats an error message into err. */
__attribute__((format(printf, 3, 4))) static void s_err(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Creates an empty table. */
rtr_rights_t *rtr_rights_new(bool default_allow)
{
    rtr_rights_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = base_map_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    self->default_allow = default_allow;
    return self;
}

/* Frees every entry and the table. */
void rtr_rights_destroy(rtr_rights_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_rights_t *self = *self_p;
    for (base_map_node_t *n = base_map_first(self->map), *next; n; n = next) {
        next = base_map_next(self->map, n);
        free(n); /* node is the entry's first member */
    }
    base_map_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

/* The entry for id, or NULL. */
static const s_entry_t *s_find(const rtr_rights_t *self, const char *id, size_t len)
{
    uint64_t hash = base_map_hash(self->map, id, len, 0);
    for (base_map_node_t *n = base_map_bucket(self->map, hash); n; n = n->next) {
        const s_entry_t *e = (const s_entry_t *)n;
        if (n->hash == hash && e->id_len == len && memcmp(e->text, id, len) == 0)
            return e;
    }
    return NULL;
}

/* True for an event-type pattern: a type, or a type prefix [a-z0-9_.]{0,63} followed by '*'. */
static bool s_type_pattern_valid(const char *p, size_t len)
{
    if (wire_pattern_is_prefix(p, len))
        return len == 1 || (len <= WIRE_TYPE_MAX && wire_type_valid(p, len - 1));
    return wire_type_valid(p, len);
}

/* Checks every pattern of a comma-separated list; names the first bad one in err. */
static int s_list_check(const char *list, size_t len, bool types, char *err, size_t errlen)
{
    if (len == 0) {
        s_err(err, errlen, "empty %s list", types ? "types" : "rooms");
        return -1;
    }
    const char *p = list, *end = list + len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        bool ok = types ? s_type_pattern_valid(p, n) : wire_pattern_valid(p, n);
        if (!ok) {
            s_err(err, errlen, "invalid %s pattern '%.*s'", types ? "type" : "room", (int)n, p);
            return -1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* True when name matches one of the list's patterns. */
bool rtr_rights_list_match(const char *list, size_t list_len, const char *name, size_t len)
{
    const char *p = list, *end = list + list_len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        if (n > 0 && wire_pattern_match(p, n, name, len))
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* Splits the next space-separated token off *s; returns its length (0 at the end). */
static size_t s_token(const char **s, const char **tok)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    *tok = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        p++;
    *s = p;
    return (size_t)(p - *tok);
}

/* True for an identity: 1..64 printable ASCII characters (publisher ids and z85 keys). */
static bool s_identity_valid(const char *id, size_t len)
{
    if (len == 0 || len > RTR_RIGHTS_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return false;
    return true;
}

/* Parses one line; see rtr_rights.h. */
int rtr_rights_add_line(rtr_rights_t *self, const char *line, char *err, size_t errlen)
{
    const char *s = line, *id, *tok;
    size_t id_len = s_token(&s, &id);
    if (id_len == 0 || id[0] == '#')
        return 0;
    if (!s_identity_valid(id, id_len)) {
        s_err(err, errlen, "invalid identity '%.*s'", (int)(id_len > 64 ? 64 : id_len), id);
        return -1;
    }
    if (s_find(self, id, id_len)) {
        s_err(err, errlen, "publisher '%.*s' listed twice", (int)id_len, id);
        return -1;
    }
    const char *rooms = NULL, *types = NULL;
    size_t rooms_len = 0, types_len = 0, n;
    while ((n = s_token(&s, &tok)) > 0) {
        if (n >= 6 && memcmp(tok, "rooms=", 6) == 0 && !rooms) {
            rooms = tok + 6;
            rooms_len = n - 6;
        } else if (n >= 6 && memcmp(tok, "types=", 6) == 0 && !types) {
            types = tok + 6;
            types_len = n - 6;
        } else {
            s_err(err, errlen, "unexpected '%.*s' (want rooms=... types=..., once each)",
                  (int)(n > 64 ? 64 : n), tok);
            return -1;
        }
    }
    if (!rooms || !types) {
        s_err(err, errlen, "publisher '%.*s' needs both rooms= and types=", (int)id_len, id);
        return -1;
    }
    if (s_list_check(rooms, rooms_len, false, err, errlen) < 0 ||
        s_list_check(types, types_len, true, err, errlen) < 0)
        return -1;
    s_entry_t *e = malloc(sizeof *e + id_len + rooms_len + types_len + 3);
    if (!e) {
        s_err(err, errlen, "out of memory");
        return -1;
    }
    e->id_len = id_len;
    e->rooms_len = rooms_len;
    e->types_len = types_len;
    memcpy(e->text, id, id_len);
    e->text[id_len] = '\0';
    e->rooms = e->text + id_len + 1;
    memcpy(e->rooms, rooms, rooms_len);
    e->rooms[rooms_len] = '\0';
    e->types = e->rooms + rooms_len + 1;
    memcpy(e->types, types, types_len);
    e->types[types_len] = '\0';
    e->node.hash = base_map_hash(self->map, id, id_len, 0);
    /* A failed growth still inserts: chains only get longer. */
    (void)base_map_insert(self->map, &e->node);
    return 0;
}

/* Reads a rights file; see rtr_rights.h. */
rtr_rights_t *rtr_rights_load(const char *path, bool default_allow, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        s_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    rtr_rights_t *self = rtr_rights_new(default_allow);
    if (!self) {
        s_err(err, errlen, "%s: out of memory", path);
        fclose(f);
        return NULL;
    }
    char line[RTR_RIGHTS_LINE_MAX], why[256];
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            s_err(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
                  RTR_RIGHTS_LINE_MAX - 2);
            goto fail;
        }
        if (rtr_rights_add_line(self, line, why, sizeof why) < 0) {
            s_err(err, errlen, "%s:%d: %s", path, lineno, why);
            goto fail;
        }
    }
    if (ferror(f)) {
        s_err(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    return self;
fail:
    fclose(f);
    rtr_rights_destroy(&self);
    return NULL;
}

/* Number of entries. */
size_t rtr_rights_size(const rtr_rights_t *self)
{
    return self ? base_map_size(self->map) : 0;
}

/* Applies two pattern lists (NULL: anything goes on that axis). */
static rtr_rights_verdict_t s_apply(const char *rooms, size_t rooms_len, const char *types,
                                    size_t types_len, const char *room, size_t room_len,
                                    const char *type, size_t type_len)
{
    if (rooms && !rtr_rights_list_match(rooms, rooms_len, room, room_len))
        return RTR_RIGHTS_ROOM;
    if (types && !rtr_rights_list_match(types, types_len, type, type_len))
        return RTR_RIGHTS_TYPE;
    return RTR_RIGHTS_OK;
}

/* The per-event decision; see rtr_rights.h. */
rtr_rights_verdict_t rtr_rights_check(const rtr_rights_t *self, const char *id, size_t id_len,
                                      const char *meta_rooms, const char *meta_types,
                                      const char *room, size_t room_len, const char *type,
                                      size_t type_len)
{
    const s_entry_t *e = self ? s_find(self, id, id_len) : NULL;
    if (e)
        return s_apply(e->rooms, e->rooms_len, e->types, e->types_len, room, room_len, type,
                       type_len);
    if (meta_rooms || meta_types)
        return s_apply(meta_rooms, meta_rooms ? strlen(meta_rooms) : 0, meta_types,
                       meta_types ? strlen(meta_types) : 0, room, room_len, type, type_len);
    return !self || self->default_allow ? RTR_RIGHTS_OK : RTR_RIGHTS_ROOM;
}
