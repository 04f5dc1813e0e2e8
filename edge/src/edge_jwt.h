/*
 * edge_jwt.h: verification of the JSON Web Tokens that browsers and other clients present to the
 * edge (RFC 7519), against keys from the configuration: a shared secret (HS256/384/512), a PEM
 * public key (RSA: RS256/384/512 and PS256/384/512; EC: ES256/384/512 by its curve) or a JWKS
 * file (RFC 7517) whose keys are chosen by the token's "kid".
 *
 * Security rules kept here, in one place:
 * - Each key is bound to the algorithm family it was configured for, so an HS token is never
 *   checked with an RSA or EC public key used as an HMAC secret (the RS/HS confusion), "alg":
 *   "none" is refused, and so is any algorithm outside the optional configured list.
 * - A token longer than EDGE_JWT_TOKEN_MAX is refused before any parsing; the three parts must be
 *   strict base64url (no padding, no other characters) and the header and claims JSON objects
 *   without duplicate keys.
 * - The signature is checked before any claim is read, so a forged token is reported as
 *   bad_signature whatever its claims say (claims that are not a JSON object at all are
 *   refused as malformed first).
 * - exp (required by default) and nbf with a leeway, iss and aud when configured, and a sub that
 *   can form the room "user:<sub>".
 *
 * libjwt (1.10, Debian 12) checks the HS, RS and ES signatures; OpenSSL does what libjwt 1.10
 * lacks: the PS algorithms and turning JWKS keys into public keys. The secret never comes from a
 * literal in the configuration (which gets printed): it comes from a file or an environment
 * variable.
 *
 * The clock is injected (now, in seconds of the wall clock) so that tests are deterministic.
 * Not thread-safe: the edge uses one verifier from its loop thread; a reload (on SIGHUP) happens
 * on that thread too, between verifications.
 */
#ifndef EDGE_JWT_H
#define EDGE_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDGE_JWT_TOKEN_MAX 8192 /* longer tokens are refused before any parsing (too_big) */
#define EDGE_JWT_SUB_MAX 123    /* "user:" + sub must be a room name (WIRE_ROOM_MAX = 128) */
#define EDGE_JWT_ROOMS_MAX 256  /* entries of the rooms claim */
#define EDGE_JWT_SECRET_MIN 32  /* bytes: RFC 7518 §3.2 wants a secret as long as the hash */
/* exp and nbf beyond 9999-12-31T23:59:59Z (either sign) are malformed: the edge turns exp into
 * microseconds (edge_auth.c), which must fit in an int64_t. */
#define EDGE_JWT_DATE_MAX 253402300799LL

/* Why a token was refused, with a stable name each (counters, logs, close reasons). */
#define EDGE_JWT_ERR_MAP(X)                                                                        \
    X(OK, "ok", "valid")                                                                           \
    X(TOO_BIG, "too_big", "token too big")                                                         \
    X(MALFORMED, "malformed", "malformed token")                                                   \
    X(ALG_NONE, "alg_none", "unsigned token (alg none)")                                           \
    X(ALG_MISMATCH, "alg_mismatch", "algorithm not allowed for this key")                          \
    X(UNKNOWN_KID, "unknown_kid", "unknown key id")                                                \
    X(NO_KEY, "no_key", "no key to check this token")                                              \
    X(BAD_SIGNATURE, "bad_signature", "bad signature")                                             \
    X(MISSING_EXP, "missing_exp", "token without expiry")                                          \
    X(EXPIRED, "expired", "token expired")                                                         \
    X(NOT_YET_VALID, "not_yet_valid", "token not yet valid")                                       \
    X(BAD_ISS, "bad_iss", "wrong issuer")                                                          \
    X(BAD_AUD, "bad_aud", "wrong audience")                                                        \
    X(MISSING_SUB, "missing_sub", "token without subject")                                         \
    X(BAD_SUB, "bad_sub", "subject not usable as a room name")                                     \
    X(BAD_ROOMS, "bad_rooms", "rooms claim not a list of room names or patterns")

typedef enum edge_jwt_err {
#define EDGE_JWT_ERR_ENUM(name, str, text) EDGE_JWT_##name,
    EDGE_JWT_ERR_MAP(EDGE_JWT_ERR_ENUM)
#undef EDGE_JWT_ERR_ENUM
        EDGE_JWT__COUNT
} edge_jwt_err_t;

/* Stable short name of a result ("expired", "bad_signature", ...); "unknown" out of range. */
const char *edge_jwt_err_name(edge_jwt_err_t err);

/* A sentence for a result, for close reasons and HTTP bodies ("token expired", ...). */
const char *edge_jwt_err_text(edge_jwt_err_t err);

/*
 * Where the keys come from and what is checked. Exactly one of secret_file, secret_env,
 * pem_file and jwks_file is set. The strings are copied by edge_jwt_new(); NULL or "" means
 * unset.
 */
typedef struct edge_jwt_opts {
    const char *secret_file; /* HS: a file holding the secret (one trailing newline is dropped) */
    const char *secret_env;  /* HS: the name of an environment variable holding the secret */
    const char *pem_file;    /* RS/PS/ES: a PEM public key (SubjectPublicKeyInfo) */
    const char *jwks_file;   /* a JWKS: {"keys": [{kty, kid, alg?, n/e or crv/x/y}, ...]} */
    const char *algs;        /* comma-separated algorithms accepted (e.g. "RS256,ES256");
                              * unset: every algorithm of the key's family */
    const char *issuer;      /* required "iss" value; unset: not checked */
    const char *audience;    /* required "aud" (a string, or an element of an array); unset:
                              * not checked */
    const char *rooms_claim; /* the claim listing the rooms allowed; unset: "rooms" */
    int64_t leeway_s;        /* seconds of clock skew allowed on exp and nbf (>= 0) */
    bool exp_optional;       /* false (the default): a token without exp is refused */
} edge_jwt_opts_t;

/*
 * What a valid token says. Filled by edge_jwt_verify(); release with edge_jwt_claims_clear().
 * rooms is one allocation owned by the struct (the pointers and the strings).
 */
typedef struct edge_jwt_claims {
    char sub[EDGE_JWT_SUB_MAX + 1]; /* the subject, [A-Za-z0-9_.:-]{1,123} */
    int64_t exp;                    /* expiry, seconds since the epoch; 0 if the token has none */
    char **rooms;                   /* the rooms claim: room names and trailing-'*' patterns */
    size_t nrooms;                  /* entries in rooms (0 when the claim is absent) */
} edge_jwt_claims_t;

typedef struct edge_jwt edge_jwt_t;

/*
 * Creates a verifier and loads its keys. On failure returns NULL and writes why into err
 * (errlen bytes, may be 0), e.g. "jwks_file /etc/weft/jwks.json: key 2: unknown crv".
 */
edge_jwt_t *edge_jwt_new(const edge_jwt_opts_t *opts, char *err, size_t errlen);

/* Frees the verifier and its keys, nulls *self_p. NULL-safe. */
void edge_jwt_destroy(edge_jwt_t **self_p);

/*
 * Loads the keys again from the same file or environment variable (SIGHUP). Returns 0 on
 * success; on failure returns -1, writes why into err and keeps the keys it had.
 */
int edge_jwt_reload(edge_jwt_t *self, char *err, size_t errlen);

/* Number of keys loaded (1 for a secret or a PEM file). */
size_t edge_jwt_key_count(const edge_jwt_t *self);

/*
 * Verifies token (len bytes, not necessarily NUL-terminated) at time now (seconds since the
 * epoch). Returns EDGE_JWT_OK and fills *out, which the caller then releases with
 * edge_jwt_claims_clear(); on any other result *out is left empty (nothing to release).
 */
edge_jwt_err_t edge_jwt_verify(const edge_jwt_t *self, const char *token, size_t len, int64_t now,
                               edge_jwt_claims_t *out);

/* Frees the rooms of a claims struct and empties it. NULL-safe, safe to call twice. */
void edge_jwt_claims_clear(edge_jwt_claims_t *claims);

#endif
