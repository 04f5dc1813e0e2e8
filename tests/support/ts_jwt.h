/*
 * ts_jwt.h: mints HS256/384/512 JSON Web Tokens for tests, from header and claims JSON given as
 * text (so that a test can mint any malformed or hostile token it wants).
 */
#ifndef TS_JWT_H
#define TS_JWT_H

#include <stddef.h>

/* Unpadded base64url of n bytes into out (4 * ceil(n / 3) + 1 bytes at least). */
void ts_jwt_b64url(const void *in, size_t n, char *out);

/*
 * Writes header.claims.signature into out (cap bytes), signed with HMAC of alg ("HS256",
 * "HS384", "HS512") over secret; any other alg gives an empty signature. Returns out, or NULL
 * when it does not fit.
 */
char *ts_jwt_hs(char *out, size_t cap, const char *alg, const char *secret, const char *header,
                const char *claims);

/* Writes secret and a newline to path (as an edge's jwt_secret_file holds it). Returns 0 or -1. */
int ts_jwt_secret_file(const char *path, const char *secret);

#endif
