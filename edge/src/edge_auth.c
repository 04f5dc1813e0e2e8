/*
 * edge_auth.c: the edge's authentication and each connection's auth state (edge_auth.h).
 */
#include "edge_auth.h"

#include <stdlib.h>
#include <string.h>

#define S_US 1000000LL /* microseconds a second */

struct edge_auth {
    edge_jwt_t *jwt;    /* the verifier (auth = jwt with a key), else NULL */
    edge_perm_t *anon;  /* anonymous_rooms (anonymous mode), else NULL */
    bool anon_all;      /* anonymous_rooms is "*": every room, no check */
    char **autojoin;    /* auto-join templates (edge_auth_split()) */
    size_t nautojoin;   /* entries in autojoin */
    int64_t timeout_us; /* auth_timeout_ms */
    int64_t leeway_us;  /* jwt_leeway */
};

const char *edge_auth_refusal_name(int reason)
{
    static const char *const own[] = {"forbidden", "auth_timeout", "auth_required", "sub_changed"};
    if (reason >= 0 && reason < EDGE_JWT__COUNT)
        return edge_jwt_err_name((edge_jwt_err_t)reason);
    if (reason >= EDGE_JWT__COUNT && reason < EDGE_REFUSE__COUNT)
        return own[reason - EDGE_JWT__COUNT];
    return "unknown";
}

const char *edge_auth_refusal_text(int reason)
{
    static const char *const own[] = {"room not allowed", EDGE_AUTH_TIMEOUT_TEXT,
                                      EDGE_AUTH_REQUIRED_TEXT, EDGE_AUTH_SUB_CHANGED_TEXT};
    if (reason >= 0 && reason < EDGE_JWT__COUNT)
        return edge_jwt_err_text((edge_jwt_err_t)reason);
    if (reason >= EDGE_JWT__COUNT && reason < EDGE_REFUSE__COUNT)
        return own[reason - EDGE_JWT__COUNT];
    return "refused";
}

char **edge_auth_split(const char *list, size_t *n)
{
    size_t len = list ? strlen(list) : 0;
    size_t max = 1;
    for (size_t i = 0; i < len; i++)
        max += list[i] == ',';
    /* The pointers, then a copy of the text that the items point into. */
    char **items = malloc((max + 1) * sizeof *items + len + 1);
    if (!items)
        return NULL;
    char *text = (char *)(items + max + 1);
    memcpy(text, list ? list : "", len + 1);
    *n = 0;
    for (char *item = strtok(text, ","); item; item = strtok(NULL, ",")) {
        while (*item == ' ' || *item == '\t')
            item++;
        char *end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*item)
            items[(*n)++] = item;
    }
    items[*n] = NULL;
    return items;
}

edge_auth_t *edge_auth_new(const edge_config_t *conf, char *err, size_t errlen)
{
    edge_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->timeout_us = (int64_t)conf->auth_timeout_ms * 1000;
    self->leeway_us = (int64_t)conf->jwt_leeway * S_US;
    self->autojoin = edge_auth_split(conf->autojoin, &self->nautojoin);
    if (!self->autojoin)
        goto oom;
    if (edge_config_tokens(conf)) {
        edge_jwt_opts_t opts = {
            .secret_file = conf->jwt_secret_file,
            .secret_env = conf->jwt_secret_env,
            .pem_file = conf->jwt_public_key,
            .jwks_file = conf->jwt_jwks,
            .algs = conf->jwt_algs,
            .issuer = conf->jwt_issuer,
            .audience = conf->jwt_audience,
            .rooms_claim = conf->jwt_rooms_claim,
            .leeway_s = conf->jwt_leeway,
            .exp_optional = !conf->jwt_require_exp,
        };
        self->jwt = edge_jwt_new(&opts, err, errlen);
        if (!self->jwt) {
            edge_auth_destroy(&self);
            return NULL;
        }
        return self;
    }
    size_t n;
    char **rooms = edge_auth_split(conf->anonymous_rooms, &n);
    if (!rooms)
        goto oom;
    self->anon_all = n == 1 && strcmp(rooms[0], "*") == 0;
    self->anon = edge_perm_new(NULL, (const char *const *)rooms, n);
    free(rooms);
    if (!self->anon) {
        snprintf(err, errlen, "anonymous_rooms: '%s' is not a list of rooms and patterns",
                 conf->anonymous_rooms);
        edge_auth_destroy(&self);
        return NULL;
    }
    return self;
oom:
    snprintf(err, errlen, "out of memory");
    edge_auth_destroy(&self);
    return NULL;
}

void edge_auth_destroy(edge_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_auth_t *self = *self_p;
    edge_jwt_destroy(&self->jwt);
    edge_perm_destroy(&self->anon);
    free(self->autojoin);
    free(self);
    *self_p = NULL;
}

bool edge_auth_tokens(const edge_auth_t *self)
{
    return self->jwt != NULL;
}

int edge_auth_reload(edge_auth_t *self, char *err, size_t errlen)
{
    return self->jwt ? edge_jwt_reload(self->jwt, err, errlen) : 0;
}

int edge_auth_verify(const edge_auth_t *self, const char *token, size_t len, int64_t now_us,
                     edge_auth_id_t *out)
{
    memset(out, 0, sizeof *out);
    if (!self->jwt)
        return EDGE_JWT_NO_KEY;
    edge_jwt_claims_t claims;
    edge_jwt_err_t rc = edge_jwt_verify(self->jwt, token, len, now_us / S_US, &claims);
    if (rc != EDGE_JWT_OK)
        return rc;
    /* The verifier has checked sub and every rooms entry: only memory can fail here. */
    out->perm = edge_perm_new(claims.sub, (const char *const *)claims.rooms, claims.nrooms);
    out->exp = claims.exp;
    edge_jwt_claims_clear(&claims);
    return out->perm ? EDGE_JWT_OK : -1;
}

void edge_auth_id_clear(edge_auth_id_t *id)
{
    if (id)
        edge_perm_destroy(&id->perm);
}

/* Makes id the connection's identity (taken) and returns the delay to its expiry (0: none). */
static int64_t s_adopt(const edge_auth_t *self, edge_auth_conn_t *st, edge_auth_id_t *id,
                       int64_t now_us)
{
    edge_perm_destroy(&st->perm);
    st->state = EDGE_AUTH_OK;
    st->perm = id->perm;
    st->exp = id->exp;
    id->perm = NULL;
    if (st->exp == 0) {
        st->deadline_us = 0;
        return 0;
    }
    st->deadline_us = st->exp * S_US + self->leeway_us;
    int64_t delay = st->deadline_us - now_us;
    return delay > 0 ? delay : 1;
}

int64_t edge_auth_conn_open(const edge_auth_t *self, edge_auth_conn_t *st, edge_auth_id_t *id,
                            int64_t now_us)
{
    memset(st, 0, sizeof *st);
    if (!self->jwt) {
        edge_auth_id_clear(id);
        return 0;
    }
    if (id && id->perm)
        return s_adopt(self, st, id, now_us);
    st->state = EDGE_AUTH_PENDING;
    st->deadline_us = now_us + self->timeout_us;
    return self->timeout_us > 0 ? self->timeout_us : 1;
}

edge_auth_rc_t edge_auth_conn_auth(const edge_auth_t *self, edge_auth_conn_t *st,
                                   edge_auth_id_t *id, int64_t now_us, int64_t *delay_us)
{
    if (st->state == EDGE_AUTH_OK) {
        if (strcmp(edge_perm_sub(st->perm), edge_perm_sub(id->perm)) != 0) {
            edge_auth_id_clear(id);
            return EDGE_AUTH_SUB_CHANGED;
        }
        *delay_us = s_adopt(self, st, id, now_us);
        return EDGE_AUTH_REFRESHED;
    }
    *delay_us = s_adopt(self, st, id, now_us);
    return EDGE_AUTH_FIRST;
}

const edge_perm_t *edge_auth_conn_perm(const edge_auth_t *self, const edge_auth_conn_t *st)
{
    if (st->state == EDGE_AUTH_ANON)
        return self->anon_all ? NULL : self->anon;
    return st->perm;
}

bool edge_auth_conn_allows(const edge_auth_t *self, const edge_auth_conn_t *st, const char *name,
                           size_t len)
{
    if (st->state == EDGE_AUTH_ANON && self->anon_all)
        return true;
    const edge_perm_t *perm = edge_auth_conn_perm(self, st);
    return perm && edge_perm_allows(perm, name, len);
}

edge_auth_due_t edge_auth_conn_due(const edge_auth_t *self, const edge_auth_conn_t *st,
                                   int64_t now_us, int64_t *delay_us)
{
    (void)self;
    *delay_us = 0;
    if (st->state == EDGE_AUTH_ANON || st->deadline_us == 0)
        return EDGE_AUTH_DUE_NONE;
    if (now_us < st->deadline_us) {
        /* Fired early (a refresh moved the deadline after the timer was armed): wait again. */
        *delay_us = st->deadline_us - now_us;
        return EDGE_AUTH_DUE_NONE;
    }
    return st->state == EDGE_AUTH_PENDING ? EDGE_AUTH_DUE_TIMEOUT : EDGE_AUTH_DUE_EXPIRED;
}

size_t edge_auth_autojoin(const edge_auth_t *self, const edge_auth_conn_t *st,
                          edge_perm_room_fn *fn, void *arg)
{
    const edge_perm_t *perm = edge_auth_conn_perm(self, st);
    if (!perm)
        return 0;
    return edge_perm_autojoin(perm, (const char *const *)self->autojoin, self->nautojoin, fn, arg);
}

void edge_auth_conn_clear(edge_auth_conn_t *st)
{
    edge_perm_destroy(&st->perm);
    memset(st, 0, sizeof *st);
}
