/*
 * fuzz_jwt.c: libFuzzer target for the token and claims path of the edge: edge_jwt_verify()
 * (edge/src/edge_jwt.c) through edge_auth_verify(), then the identity's room rules
 * (edge_auth.c, edge_perm.c): the connection state, permission checks, auto-join, expiry.
 *
 * The verifiers are built once from real edge configurations over fixed keys in tests/fuzz/keys/
 * (public halves only; make-corpus.py made them and signed the seed tokens, then dropped the
 * private halves): an HS256 secret file with issuer and audience, an RSA PEM (RS256, PS256;
 * exp optional; rooms claim "grants"), an EC P-256 PEM and a JWKS with both keys by kid.
 *
 * Input: one mode byte, then the rest. mode & 3 picks the verifier. With mode & 4 the rest is
 * "header JSON \n claims JSON" (no newline: claims only, under {"alg":"HS256","typ":"JWT"})
 * that the harness encodes and signs with the HS256 secret, so the fuzzer reaches the claim
 * checks behind the signature; otherwise the rest is the token itself. The clock is fixed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base_conf.h"
#include "edge_auth.h"
#include "edge_config.h"
#include "fuzz_frames.h"
#include "ts_jwt.h"
#include "wire_envelope.h"

#define S_NOW_S 1700000000LL /* the seed tokens are valid at this time (exp 2000000000) */
#define S_US 1000000LL
#define S_AUTHS 4

static edge_auth_t *s_auths[S_AUTHS];
static char s_secret[256]; /* NUL-terminated */

/* One edge configuration: defaults, then key = value pairs; the auth it gives. */
static edge_auth_t *s_auth(const char *const *kv)
{
    edge_config_t conf;
    char err[512];
    if (base_conf_defaults(edge_config_table, &conf, err, sizeof err) < 0)
        goto fail;
    for (; kv[0]; kv += 2)
        if (base_conf_set(edge_config_table, &conf, kv[0], kv[1], err, sizeof err) < 0)
            goto fail;
    if (edge_config_finish(&conf, err, sizeof err) < 0)
        goto fail;
    edge_auth_t *auth = edge_auth_new(&conf, err, sizeof err);
    if (!auth)
        goto fail;
    edge_config_free(&conf);
    return auth;
fail:
    fprintf(stderr, "fuzz_jwt: setup: %s\n", err);
    abort();
}

/* Builds the four verifiers and reads the HS secret (as the edge does: one newline dropped). */
static void s_setup(void)
{
    const char *hs[] = {"auth", "jwt", "jwt_secret_file", WEFT_FUZZ_KEYS "/hs.secret",
                        "jwt_issuer", "weft-fuzz", "jwt_audience", "weft", "jwt_leeway", "30",
                        "autojoin", "user:{sub},global,team:{sub}", NULL};
    const char *rs[] = {"auth", "jwt", "jwt_public_key", WEFT_FUZZ_KEYS "/rsa.pem", "jwt_algs",
                        "RS256,PS256", "jwt_require_exp", "false", "jwt_rooms_claim", "grants",
                        "autojoin", "user:{sub},lobby", NULL};
    const char *es[] = {"auth", "jwt", "jwt_public_key", WEFT_FUZZ_KEYS "/ec.pem", NULL};
    const char *jwks[] = {"auth", "jwt", "jwt_jwks", WEFT_FUZZ_KEYS "/jwks.json", NULL};
    s_auths[0] = s_auth(hs);
    s_auths[1] = s_auth(rs);
    s_auths[2] = s_auth(es);
    s_auths[3] = s_auth(jwks);
    FILE *f = fopen(WEFT_FUZZ_KEYS "/hs.secret", "r");
    if (!f)
        abort();
    size_t n = fread(s_secret, 1, sizeof s_secret - 1, f);
    fclose(f);
    if (n && s_secret[n - 1] == '\n')
        n--;
    s_secret[n] = '\0';
}

/* Signs "header JSON \n claims JSON" (no newline: claims alone under the default header) with
 * the HS256 secret through the tests' minting helper (tests/support/ts_jwt.c), which takes the
 * parts as C strings: a NUL byte ends a part early. Returns the token (malloc'd). */
static char *s_sign(const uint8_t *d, size_t n, size_t *len)
{
    size_t cap = (n + 64) * 4 / 3 + 128;
    char *text = malloc(n + 1), *tok = malloc(cap);
    if (!text || !tok)
        abort();
    memcpy(text, d, n);
    text[n] = '\0';
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", *claims = text;
    char *nl = memchr(text, '\n', n);
    if (nl) {
        *nl = '\0';
        hdr = text;
        claims = nl + 1;
    }
    if (!ts_jwt_hs(tok, cap, "HS256", s_secret, hdr, claims))
        abort();
    free(text);
    *len = strlen(tok);
    return tok;
}

typedef struct s_join {
    const edge_auth_t *auth;
    const edge_auth_conn_t *st;
    size_t n;
} s_join_t;

/* Every auto-joined room must be a room the connection may subscribe to. */
static void s_joined(void *arg, const char *room, size_t len)
{
    s_join_t *j = arg;
    FUZZ_CHECK(strlen(room) == len && wire_room_valid(room, len));
    FUZZ_CHECK(edge_auth_conn_allows(j->auth, j->st, room, len));
    j->n++;
}

/* A verified identity: the rules edge_perm.h promises, then expiry and refresh. */
static void s_identity(const edge_auth_t *auth, edge_auth_id_t *id, const char *tok, size_t len)
{
    int64_t now_us = S_NOW_S * S_US;
    edge_auth_conn_t st;
    int64_t delay = edge_auth_conn_open(auth, &st, id, now_us);
    FUZZ_CHECK(st.state == EDGE_AUTH_OK && id->perm == NULL && delay >= 0);
    const char *sub = edge_perm_sub(edge_auth_conn_perm(auth, &st));
    FUZZ_CHECK(sub && strlen(sub) >= 1 && strlen(sub) <= EDGE_JWT_SUB_MAX);

    char room[WIRE_ROOM_MAX + 8];
    int n = snprintf(room, sizeof room, "user:%s", sub);
    FUZZ_CHECK(wire_room_valid(room, (size_t)n));
    FUZZ_CHECK(edge_auth_conn_allows(auth, &st, room, (size_t)n));
    FUZZ_CHECK(edge_auth_conn_allows(auth, &st, "global", 6));
    /* Never another user's room, nor a pattern that could match one. */
    FUZZ_CHECK(!edge_auth_conn_allows(auth, &st, "*", 1));
    FUZZ_CHECK(!edge_auth_conn_allows(auth, &st, "user:*", 6));
    if (n < WIRE_ROOM_MAX) {
        room[n] = 'x';
        FUZZ_CHECK(!edge_auth_conn_allows(auth, &st, room, (size_t)n + 1));
    }
    static const char *const probes[] = {"team:1", "team:*", "lobby", "project:a:b", "a*", ""};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
        (void)edge_auth_conn_allows(auth, &st, probes[i], strlen(probes[i]));

    s_join_t j = {auth, &st, 0};
    FUZZ_CHECK(edge_auth_autojoin(auth, &st, s_joined, &j) == j.n);

    /* The token was valid now: nothing is due yet. */
    int64_t again = 0;
    FUZZ_CHECK(edge_auth_conn_due(auth, &st, now_us, &again) == EDGE_AUTH_DUE_NONE);

    /* The same token again is a refresh of the same subject. */
    edge_auth_id_t id2;
    FUZZ_CHECK(edge_auth_verify(auth, tok, len, now_us, &id2) == EDGE_JWT_OK);
    FUZZ_CHECK(edge_auth_conn_auth(auth, &st, &id2, now_us, &again) == EDGE_AUTH_REFRESHED);
    FUZZ_CHECK(id2.perm == NULL);
    edge_auth_conn_clear(&st);
    edge_auth_conn_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_auths[0])
        s_setup();
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const edge_auth_t *auth = s_auths[mode & 3];
    char *tok = NULL;
    size_t len = size - 1;
    if (mode & 4) {
        auth = s_auths[0];
        tok = s_sign(data + 1, size - 1, &len);
    } else {
        tok = malloc(len ? len : 1);
        if (!tok)
            abort();
        memcpy(tok, data + 1, len);
    }
    edge_auth_id_t id;
    int rc = edge_auth_verify(auth, tok, len, S_NOW_S * S_US, &id);
    FUZZ_CHECK(rc >= 0 && rc < EDGE_JWT__COUNT);
    FUZZ_CHECK(strcmp(edge_auth_refusal_name(rc), "unknown") != 0);
    if (rc == EDGE_JWT_OK)
        s_identity(auth, &id, tok, len);
    else
        FUZZ_CHECK(id.perm == NULL);
    edge_auth_id_clear(&id);
    free(tok);
    return 0;
}
