/*
 * edge_perm.c: room permission rules of one identity (see edge_perm.h).
 *
 * The pattern check walks the prefix tree of room names: a pattern "p*" is allowed when every
 * room with prefix p is, that is when p itself (if it is a room) is allowed and, below it, every
 * one-character extension is covered in turn. A claim pattern "q*" with q a prefix of p covers
 * the whole subtree at once, unless the subtree reaches into the "user:" namespace, which claims
 * never open. The walk only goes deeper below rooms that are allowed, so it stops within a few
 * steps of the longest claim entry; the alphabet comes from wire_room_valid(), so it cannot
 * drift from the wire contract.
 */
#include "edge_perm.h"

#include <stdlib.h>
#include <string.h>

#include "wire_envelope.h"

#define S_USER "user:"                  /* the namespace of per-user rooms */
#define S_USER_LEN (sizeof(S_USER) - 1) /* its length */
#define S_GLOBAL "global"               /* the room of every authenticated client */
#define S_SUB_VAR "{sub}"               /* filled in by auto-join templates */

struct edge_perm {
    char *sub;                    /* the subject; NULL for anonymous rules */
    char user[WIRE_ROOM_MAX + 1]; /* "user:<sub>" ("" for anonymous rules) */
    size_t user_len;              /* its length (0 for anonymous rules) */
    char **entries;               /* the claim's (or allowlist's) names and patterns */
    size_t *lens;                 /* their lengths */
    size_t n;                     /* entries */
    char alphabet[256];           /* every character a room name may hold */
    size_t nalpha;                /* characters in alphabet */
};

edge_perm_t *edge_perm_new(const char *sub, const char *const *rooms, size_t n)
{
    if (sub && (strlen(sub) > WIRE_ROOM_MAX - S_USER_LEN || !wire_room_valid(sub, strlen(sub))))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!rooms[i] || !wire_pattern_valid(rooms[i], strlen(rooms[i])))
            return NULL;
    edge_perm_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    if (sub) {
        if (!(self->sub = strdup(sub)))
            goto err;
        self->user_len = S_USER_LEN + strlen(sub);
        memcpy(self->user, S_USER, S_USER_LEN);
        memcpy(self->user + S_USER_LEN, sub, strlen(sub) + 1);
    }
    if (n &&
        (!(self->entries = calloc(n, sizeof(char *))) || !(self->lens = calloc(n, sizeof(size_t)))))
        goto err;
    for (; self->n < n; self->n++) {
        if (!(self->entries[self->n] = strdup(rooms[self->n])))
            goto err;
        self->lens[self->n] = strlen(rooms[self->n]);
    }
    for (int c = 1; c < 256; c++) {
        char ch = (char)c;
        if (wire_room_valid(&ch, 1))
            self->alphabet[self->nalpha++] = ch;
    }
    return self;
err:
    edge_perm_destroy(&self);
    return NULL;
}

void edge_perm_destroy(edge_perm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_perm_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->entries[i]);
    free(self->entries);
    free(self->lens);
    free(self->sub);
    free(self);
    *self_p = NULL;
}

const char *edge_perm_sub(const edge_perm_t *self)
{
    return self->sub;
}

/* True when room (a valid room name) is allowed. */
static bool s_room_allowed(const edge_perm_t *self, const char *room, size_t len)
{
    if (len >= S_USER_LEN && memcmp(room, S_USER, S_USER_LEN) == 0)
        return self->user_len == len && memcmp(room, self->user, len) == 0;
    if (self->sub && len == strlen(S_GLOBAL) && memcmp(room, S_GLOBAL, len) == 0)
        return true;
    for (size_t i = 0; i < self->n; i++)
        if (wire_pattern_match(self->entries[i], self->lens[i], room, len))
            return true;
    return false;
}

/* True when some room with prefix p (len bytes) lies in the "user:" namespace. */
static bool s_reaches_user(const char *p, size_t len)
{
    size_t n = len < S_USER_LEN ? len : S_USER_LEN;
    return memcmp(p, S_USER, n) == 0;
}

/* True when a claim pattern covers every room with prefix p (len bytes). */
static bool s_prefix_granted(const edge_perm_t *self, const char *p, size_t len)
{
    for (size_t i = 0; i < self->n; i++) {
        size_t qlen = self->lens[i] - 1;
        if (wire_pattern_is_prefix(self->entries[i], self->lens[i]) && qlen <= len &&
            memcmp(self->entries[i], p, qlen) == 0)
            return true;
    }
    return false;
}

/* True when every room with prefix p (len bytes, in a WIRE_ROOM_MAX + 1 buffer) is allowed. */
static bool s_covered(const edge_perm_t *self, char *p, size_t len)
{
    if (!s_reaches_user(p, len) && s_prefix_granted(self, p, len))
        return true;
    if (len >= 1 && !s_room_allowed(self, p, len))
        return false;
    if (len == WIRE_ROOM_MAX)
        return true;
    for (size_t i = 0; i < self->nalpha; i++) {
        p[len] = self->alphabet[i];
        if (!s_covered(self, p, len + 1))
            return false;
    }
    return true;
}

bool edge_perm_allows(const edge_perm_t *self, const char *name, size_t len)
{
    if (!wire_pattern_valid(name, len))
        return false;
    if (!wire_pattern_is_prefix(name, len))
        return s_room_allowed(self, name, len);
    char p[WIRE_ROOM_MAX + 1];
    memcpy(p, name, len - 1);
    return s_covered(self, p, len - 1);
}

/*
 * Writes tpl with each "{sub}" replaced by sub into buf (WIRE_ROOM_MAX + 1 bytes). Returns the
 * room's length, or 0 when the result is not a room (or tpl needs a sub and there is none).
 */
static size_t s_expand(const char *tpl, const char *sub, char *buf)
{
    size_t len = 0, var = strlen(S_SUB_VAR);
    while (*tpl) {
        const char *piece = tpl;
        size_t plen = 1;
        if (strncmp(tpl, S_SUB_VAR, var) == 0) {
            if (!sub)
                return 0;
            piece = sub;
            plen = strlen(sub);
            tpl += var;
        } else {
            tpl++;
        }
        if (len + plen > WIRE_ROOM_MAX)
            return 0;
        memcpy(buf + len, piece, plen);
        len += plen;
    }
    buf[len] = '\0';
    return wire_room_valid(buf, len) ? len : 0;
}

bool edge_perm_template_valid(const char *tpl)
{
    char buf[WIRE_ROOM_MAX + 1];
    return tpl && s_expand(tpl, "x", buf) > 0;
}

size_t edge_perm_autojoin(const edge_perm_t *self, const char *const *templates, size_t n,
                          edge_perm_room_fn *fn, void *arg)
{
    size_t given = 0;
    for (size_t i = 0; i < n; i++) {
        char room[WIRE_ROOM_MAX + 1], earlier[WIRE_ROOM_MAX + 1];
        size_t len = s_expand(templates[i], self->sub, room);
        if (!len || !s_room_allowed(self, room, len))
            continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = s_expand(templates[j], self->sub, earlier) == len &&
                  memcmp(earlier, room, len) == 0;
        if (dup)
            continue;
        fn(arg, room, len);
        given++;
    }
    return given;
}
