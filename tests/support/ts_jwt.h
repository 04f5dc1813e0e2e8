/*
 * ts_jwt.h: mints JSON Web Tokens for tests (HS*, RS*, PS*, ES256) from header and claims JSON
 * given as text, so that a test can mint any malformed or hostile token it wants, and writes the
 * key files an edge reads (secret, PEM public key, JWKS entries).
 */
#ifndef TS_JWT_H
#define TS_JWT_H

#include <stddef.h>

#include <openssl/evp.h>

/* Unpadded base64url of n bytes into out (4 * ceil(n / 3) + 1 bytes at least). */
void ts_jwt_b64url(const void *in, size_t n, char *out);

/*
 * Writes header.claims.signature into out (cap bytes), signed with HMAC of alg ("HS256",
 * "HS384", "HS512") over secret; any other alg gives an empty signature. Returns out, or NULL
 * when it does not fit.
 */
char *ts_jwt_hs(char *out, size_t cap, const char *alg, const char *secret, const char *header,
                const char *claims);

/*
 * Like ts_jwt_hs() for every algorithm family: "HS*" signs with secret, "RS*" and "PS*" with the
 * RSA key pkey, "ES256" with the P-256 key pkey (as JWS wants it: r || s); any other alg gives an
 * empty signature. Returns out, or NULL when it does not fit or signing fails.
 */
char *ts_jwt_sign(char *out, size_t cap, const char *alg, const char *secret, EVP_PKEY *pkey,
                  const char *header, const char *claims);

/* Writes the public half of pkey to path as PEM (an edge's jwt_public_key). Returns 0 or -1. */
int ts_jwt_write_pub_pem(const char *path, EVP_PKEY *pkey);

/* Writes a JWK of an RSA public key into out (alg NULL: no "alg" member). Returns 0 or -1. */
int ts_jwt_jwk_rsa(char *out, size_t cap, EVP_PKEY *pkey, const char *kid, const char *alg);

/* Writes a JWK of a P-256 public key into out. Returns 0 or -1. */
int ts_jwt_jwk_ec(char *out, size_t cap, EVP_PKEY *pkey, const char *kid);

/* Writes secret and a newline to path (as an edge's jwt_secret_file holds it). Returns 0 or -1. */
int ts_jwt_secret_file(const char *path, const char *secret);

#endif
