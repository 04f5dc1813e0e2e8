/*
 * token_mint.h: minting JSON Web Tokens with libjwt, shared by the tools that need one: weft-token
 * (the command-line minter) and weft-bench (--auth-secret: its clients present a token).
 *
 * Both read a key file the way the edge reads it (an HS* secret loses one trailing newline and
 * must be at least TOKEN_MINT_SECRET_MIN bytes) and put the same claims in the token, so a token
 * one of them makes is exactly what the other would make. Problems are printed on stderr with
 * the calling program's name in front; tools only, never linked into the daemons or libweft.
 */
#ifndef TOKEN_MINT_H
#define TOKEN_MINT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jwt.h>

#define TOKEN_MINT_SECRET_MIN 32       /* bytes; the edge refuses shorter secrets (edge_jwt.h) */
#define TOKEN_MINT_KEY_MAX (64 * 1024) /* a secret or PEM key file larger than this is a mistake */

/* The claims of a token. */
typedef struct token_mint_claims {
    const char *sub;         /* subject; "" leaves the claim out */
    const char *rooms;       /* comma-separated rooms/patterns, or NULL for no rooms claim */
    const char *rooms_claim; /* name of the rooms claim (the edge's jwt_rooms_claim) */
    long long ttl;           /* exp = now + ttl (negative: already expired, for tests) */
    bool no_exp;             /* leave exp out (tests of jwt_require_exp) */
    const char *iss;         /* issuer or NULL */
    const char *aud;         /* audience or NULL */
    const char *kid;         /* header "kid" (JWKS key selection) or NULL */
} token_mint_claims_t;

/*
 * Reads a whole key file into a new buffer (*len bytes, NUL-terminated; free it with
 * token_mint_free_key). With secret, one trailing newline is dropped (as the edge does) and a
 * secret shorter than TOKEN_MINT_SECRET_MIN bytes is refused. NULL after printing "prog: why".
 */
unsigned char *token_mint_read_key(const char *prog, const char *path, bool secret, size_t *len);

/* Wipes (the key is secret) and frees a buffer from token_mint_read_key. NULL-safe. */
void token_mint_free_key(unsigned char *key, size_t len);

/* Adds the claims c to jwt, at time now (iat = nbf = now). Returns 0, or 1 after printing why. */
int token_mint_claims(const char *prog, jwt_t *jwt, const token_mint_claims_t *c, time_t now);

#endif
