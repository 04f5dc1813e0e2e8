/*
 * test_edge_jwt.c: JWT verification against keys the test makes at run time (an HS secret, RSA
 * and EC key pairs from OpenSSL's EVP API, written as PEM and JWKS files into a temporary
 * directory): valid HS/RS/PS/ES tokens through a secret, a PEM key and a JWKS with kid, tokens
 * minted by libjwt itself, every refusal with its exact code, the leeway boundaries, reload
 * keeping the old keys, and load errors.
 *
 * Tokens are signed here with OpenSSL from literal header and claims JSON, so that broken ones
 * (alg none, duplicate keys, a rooms claim of numbers) can be made as easily as good ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_jwt.h"
#include "ts_jwt.h"

#define NOW 1700000000LL /* the injected clock */
#define SECRET "0123456789abcdef0123456789abcdef"
#define SECRET2 "fedcba9876543210fedcba9876543210"

static char g_dir[64];       /* the temporary directory of the key files */
static EVP_PKEY *g_rsa;      /* an RSA-2048 key pair */
static EVP_PKEY *g_rsa2;     /* another one */
static EVP_PKEY *g_ec;       /* a P-256 key pair */
static char g_tok[20000];    /* the last token minted */
static char g_claims[12000]; /* scratch for claims JSON */

/* The path of a file in the temporary directory (a static buffer per call slot). */
static const char *path(const char *name)
{
    static char bufs[4][256];
    static int slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, 256, "%s/%s", g_dir, name);
    return b;
}

/* Writes text to a file of the temporary directory. */
static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path(name), "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
}

/* Writes a key's public half as PEM. */
static void write_pub_pem(const char *name, EVP_PKEY *pkey)
{
    assert_int_equal(ts_jwt_write_pub_pem(path(name), pkey), 0);
}

/* A JWK of an RSA public key. */
static void jwk_rsa(char *out, size_t cap, EVP_PKEY *pkey, const char *kid, const char *alg)
{
    assert_int_equal(ts_jwt_jwk_rsa(out, cap, pkey, kid, alg), 0);
}

/* A JWK of a P-256 public key. */
static void jwk_ec(char *out, size_t cap, EVP_PKEY *pkey, const char *kid)
{
    assert_int_equal(ts_jwt_jwk_ec(out, cap, pkey, kid), 0);
}

/*
 * Mints header.payload.signature into g_tok: the header and claims JSON as given, signed for
 * alg ("HS*" with secret, "RS*"/"PS*"/"ES256" with pkey, anything else: no signature).
 */
static const char *mint(const char *header, const char *claims, const char *alg, const char *secret,
                        EVP_PKEY *pkey)
{
    assert_non_null(ts_jwt_sign(g_tok, sizeof g_tok, alg, secret, pkey, header, claims));
    return g_tok;
}

/* Claims JSON of sub 42 expiring a minute after NOW, with a rooms claim. */
static const char *claims_ok(void)
{
    snprintf(g_claims, sizeof(g_claims),
             "{\"sub\":\"42\",\"exp\":%lld,\"rooms\":[\"news\",\"team:*\"]}", NOW + 60);
    return g_claims;
}

/* Claims JSON from a format with one %lld (given NOW + delta) or none. */
static const char *claims_fmt(const char *fmt, long long t)
{
    snprintf(g_claims, sizeof(g_claims), fmt, t);
    return g_claims;
}

/* A verifier from options; fails the test with the load error. */
static edge_jwt_t *verifier(edge_jwt_opts_t o)
{
    char err[256] = "";
    edge_jwt_t *v = edge_jwt_new(&o, err, sizeof(err));
    if (!v)
        fail_msg("edge_jwt_new: %s", err);
    return v;
}

/* The load error of options that must not load. */
static const char *load_error(edge_jwt_opts_t o)
{
    static char err[256];
    err[0] = '\0';
    edge_jwt_t *v = edge_jwt_new(&o, err, sizeof(err));
    assert_null(v);
    assert_true(err[0] != '\0');
    return err;
}

/* Verifies token at NOW; returns the code (the claims are released). */
static edge_jwt_err_t check(const edge_jwt_t *v, const char *token)
{
    edge_jwt_claims_t c;
    edge_jwt_err_t rc = edge_jwt_verify(v, token, strlen(token), NOW, &c);
    if (rc != EDGE_JWT_OK) {
        assert_null(c.rooms); /* nothing to release on a refusal */
        assert_int_equal(c.sub[0], '\0');
    }
    edge_jwt_claims_clear(&c);
    return rc;
}

/* The code of a token with the usual claims, header hdr, signed for alg with a key pair. */
static edge_jwt_err_t pk(const edge_jwt_t *v, const char *hdr, const char *alg, EVP_PKEY *pkey)
{
    return check(v, mint(hdr, claims_ok(), alg, NULL, pkey));
}

#define HS256_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_edge_jwt.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    g_rsa = EVP_RSA_gen(2048);
    g_rsa2 = EVP_RSA_gen(2048);
    g_ec = EVP_EC_gen("P-256");
    if (!g_rsa || !g_rsa2 || !g_ec)
        return -1;
    write_file("secret", SECRET "\n");
    write_pub_pem("rsa.pem", g_rsa);
    write_pub_pem("ec.pem", g_ec);
    static char jwks[8000], k1[2000], k2[2000];
    jwk_rsa(k1, sizeof(k1), g_rsa, "r1", "RS256");
    jwk_ec(k2, sizeof(k2), g_ec, "e1");
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s,{\"kty\":\"oct\",\"k\":\"AAAA\"}]}", k1, k2);
    write_file("jwks.json", jwks);
    jwk_rsa(k1, sizeof(k1), g_rsa, "a", NULL);
    jwk_rsa(k2, sizeof(k2), g_rsa2, "b", NULL);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", k1, k2);
    write_file("jwks2.json", jwks);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_rsa);
    EVP_PKEY_free(g_rsa2);
    EVP_PKEY_free(g_ec);
    const char *files[] = {"secret",   "rsa.pem",     "ec.pem",   "jwks.json", "jwks2.json",
                           "priv.pem", "rsa1024.pem", "bad.json", "secret2"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path(files[i]));
    rmdir(g_dir);
    return 0;
}

static void test_hs_secret_file(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_file = path("secret")});
    assert_int_equal(edge_jwt_key_count(v), 1);
    const char *t = mint(HS256_HDR, claims_ok(), "HS256", SECRET, NULL);
    edge_jwt_claims_t c;
    assert_int_equal(edge_jwt_verify(v, t, strlen(t), NOW, &c), EDGE_JWT_OK);
    assert_string_equal(c.sub, "42");
    assert_int_equal(c.exp, NOW + 60);
    assert_int_equal(c.nrooms, 2);
    assert_string_equal(c.rooms[0], "news");
    assert_string_equal(c.rooms[1], "team:*");
    edge_jwt_claims_clear(&c);
    assert_null(c.rooms);
    edge_jwt_claims_clear(&c);
    assert_int_equal(check(v, mint("{\"alg\":\"HS384\"}", claims_ok(), "HS384", SECRET, NULL)),
                     EDGE_JWT_OK);
    assert_int_equal(check(v, mint("{\"alg\":\"HS512\"}", claims_ok(), "HS512", SECRET, NULL)),
                     EDGE_JWT_OK);
    /* Signed with another secret. */
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET2, NULL)),
                     EDGE_JWT_BAD_SIGNATURE);
    /* The token is not read past len. */
    t = mint(HS256_HDR, claims_ok(), "HS256", SECRET, NULL);
    char padded[2048];
    snprintf(padded, sizeof(padded), "%sGARBAGE", t);
    assert_int_equal(edge_jwt_verify(v, padded, strlen(t), NOW, &c), EDGE_JWT_OK);
    edge_jwt_claims_clear(&c);
    edge_jwt_destroy(&v);
    assert_null(v);
    edge_jwt_destroy(&v);
}

static void test_hs_secret_env(void **state)
{
    (void)state;
    setenv("TEST_EDGE_JWT_SECRET", SECRET2, 1);
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_env = "TEST_EDGE_JWT_SECRET"});
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET2, NULL)), EDGE_JWT_OK);
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_BAD_SIGNATURE);
    edge_jwt_destroy(&v);
    unsetenv("TEST_EDGE_JWT_SECRET");
    assert_string_equal(load_error((edge_jwt_opts_t){.secret_env = "TEST_EDGE_JWT_SECRET"}),
                        "secret_env TEST_EDGE_JWT_SECRET: not set");
}

static void test_rsa_pem(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.pem_file = path("rsa.pem")});
    const char *algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    for (size_t i = 0; i < 6; i++) {
        char hdr[64];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
        assert_int_equal(check(v, mint(hdr, claims_ok(), algs[i], NULL, g_rsa)), EDGE_JWT_OK);
        /* The other RSA key's signature. */
        assert_int_equal(check(v, mint(hdr, claims_ok(), algs[i], NULL, g_rsa2)),
                         EDGE_JWT_BAD_SIGNATURE);
    }
    /* A PS token claiming to be RS (and the other way round) does not verify. */
    assert_int_equal(pk(v, "{\"alg\":\"RS256\"}", "PS256", g_rsa), EDGE_JWT_BAD_SIGNATURE);
    assert_int_equal(pk(v, "{\"alg\":\"PS256\"}", "RS256", g_rsa), EDGE_JWT_BAD_SIGNATURE);
    /* RS/HS confusion: an HS256 token whose secret is the public key's PEM text. */
    FILE *f = fopen(path("rsa.pem"), "r");
    char pem[4096] = "";
    size_t n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    pem[n] = '\0';
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", pem, NULL)),
                     EDGE_JWT_ALG_MISMATCH);
    assert_int_equal(pk(v, "{\"alg\":\"ES256\"}", "ES256", g_ec), EDGE_JWT_ALG_MISMATCH);
    edge_jwt_destroy(&v);

    /* algs narrows what the key checks: RS512 is no longer accepted. */
    v = verifier((edge_jwt_opts_t){.pem_file = path("rsa.pem"), .algs = "RS256, PS256"});
    assert_int_equal(pk(v, "{\"alg\":\"RS256\"}", "RS256", g_rsa), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"PS256\"}", "PS256", g_rsa), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"RS512\"}", "RS512", g_rsa), EDGE_JWT_ALG_MISMATCH);
    edge_jwt_destroy(&v);
}

static void test_ec_pem(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.pem_file = path("ec.pem")});
    assert_int_equal(pk(v, "{\"alg\":\"ES256\",\"typ\":\"jwt\"}", "ES256", g_ec), EDGE_JWT_OK);
    /* A P-256 key checks ES256 only. */
    assert_int_equal(pk(v, "{\"alg\":\"ES384\"}", "ES256", g_ec), EDGE_JWT_ALG_MISMATCH);
    assert_int_equal(pk(v, "{\"alg\":\"RS256\"}", "RS256", g_rsa), EDGE_JWT_ALG_MISMATCH);
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_ALG_MISMATCH);
    /* Tampered claims under the original signature. */
    char good[sizeof g_tok];
    snprintf(good, sizeof(good), "%s",
             mint("{\"alg\":\"ES256\"}", claims_ok(), "ES256", NULL, g_ec));
    const char *forged =
        mint("{\"alg\":\"ES256\"}", claims_fmt("{\"sub\":\"1\",\"exp\":%lld}", NOW + 60), "ES256",
             NULL, g_ec);
    char mixed[4096];
    const char *gsig = strrchr(good, '.');
    snprintf(mixed, sizeof(mixed), "%.*s%s", (int)(strrchr(forged, '.') - forged), forged, gsig);
    assert_int_equal(check(v, mixed), EDGE_JWT_BAD_SIGNATURE);
    edge_jwt_destroy(&v);
}

static void test_jwks_kid(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.jwks_file = path("jwks.json")});
    assert_int_equal(edge_jwt_key_count(v), 2); /* the "oct" key is skipped */
    assert_int_equal(pk(v, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "RS256", g_rsa), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", g_ec), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"ES256\",\"kid\":\"zz\"}", "ES256", g_ec),
                     EDGE_JWT_UNKNOWN_KID);
    /* The kid names a key of another algorithm. */
    assert_int_equal(pk(v, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", "RS256", g_rsa),
                     EDGE_JWT_ALG_MISMATCH);
    /* r1 is bound to RS256 by its "alg". */
    assert_int_equal(pk(v, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", "PS256", g_rsa),
                     EDGE_JWT_ALG_MISMATCH);
    assert_int_equal(
        check(v, mint("{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims_ok(), "HS256", SECRET, NULL)),
        EDGE_JWT_ALG_MISMATCH);
    /* Without kid: the one key that fits the algorithm. */
    assert_int_equal(pk(v, "{\"alg\":\"ES256\"}", "ES256", g_ec), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"RS256\"}", "RS256", g_rsa), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"RS384\"}", "RS384", g_rsa), EDGE_JWT_ALG_MISMATCH);
    edge_jwt_destroy(&v);

    /* Two RSA keys: without a kid the choice would be a guess. */
    v = verifier((edge_jwt_opts_t){.jwks_file = path("jwks2.json")});
    assert_int_equal(pk(v, "{\"alg\":\"RS256\"}", "RS256", g_rsa), EDGE_JWT_NO_KEY);
    assert_int_equal(pk(v, "{\"alg\":\"PS256\",\"kid\":\"b\"}", "PS256", g_rsa2), EDGE_JWT_OK);
    assert_int_equal(pk(v, "{\"alg\":\"RS256\",\"kid\":\"b\"}", "RS256", g_rsa),
                     EDGE_JWT_BAD_SIGNATURE);
    edge_jwt_destroy(&v);
}

/* Mints a token with libjwt itself (typ JWT, its own encoding) for the given key. */
static char *libjwt_mint(jwt_alg_t alg, const unsigned char *key, int keylen, const char *kid)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_set_alg(j, alg, key, keylen), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "user-7"), 0);
    assert_int_equal(jwt_add_grant_int(j, "exp", (long)(NOW + 10)), 0);
    assert_int_equal(jwt_add_grants_json(j, "{\"rooms\":[\"a:*\"]}"), 0);
    if (kid)
        assert_int_equal(jwt_add_header(j, "kid", kid), 0);
    char *t = jwt_encode_str(j);
    assert_non_null(t);
    jwt_free(j);
    return t;
}

/* The private half of a key as PEM, for libjwt. */
static int private_pem(EVP_PKEY *pkey, unsigned char *buf, int cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL), 1);
    int n = BIO_read(b, buf, cap - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    BIO_free(b);
    return n;
}

static void test_libjwt_minted(void **state)
{
    (void)state;
    edge_jwt_claims_t c;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_file = path("secret")});
    char *t = libjwt_mint(JWT_ALG_HS256, (const unsigned char *)SECRET, 32, NULL);
    assert_int_equal(edge_jwt_verify(v, t, strlen(t), NOW, &c), EDGE_JWT_OK);
    assert_string_equal(c.sub, "user-7");
    assert_int_equal(c.nrooms, 1);
    assert_string_equal(c.rooms[0], "a:*");
    edge_jwt_claims_clear(&c);
    free(t);
    edge_jwt_destroy(&v);

    unsigned char pem[4096];
    v = verifier((edge_jwt_opts_t){.jwks_file = path("jwks.json")});
    int n = private_pem(g_rsa, pem, sizeof(pem));
    t = libjwt_mint(JWT_ALG_RS256, pem, n, "r1");
    assert_int_equal(check(v, t), EDGE_JWT_OK);
    free(t);
    n = private_pem(g_ec, pem, sizeof(pem));
    t = libjwt_mint(JWT_ALG_ES256, pem, n, "e1");
    assert_int_equal(check(v, t), EDGE_JWT_OK);
    free(t);
    edge_jwt_destroy(&v);
}

static void test_refused_alg_and_shape(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_file = path("secret"), .algs = "HS256"});
    /* alg none, unsigned or with a signature, however spelled. */
    assert_int_equal(check(v, mint("{\"alg\":\"none\"}", claims_ok(), "none", NULL, NULL)),
                     EDGE_JWT_ALG_NONE);
    assert_int_equal(check(v, mint("{\"alg\":\"NONE\"}", claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_ALG_NONE);
    /* Not configured, or unknown. */
    assert_int_equal(check(v, mint("{\"alg\":\"HS512\"}", claims_ok(), "HS512", SECRET, NULL)),
                     EDGE_JWT_ALG_MISMATCH);
    assert_int_equal(check(v, mint("{\"alg\":\"XY999\"}", claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_ALG_MISMATCH);
    /* Shape: parts, base64url, JSON. */
    const char *good = mint(HS256_HDR, claims_ok(), "HS256", SECRET, NULL);
    char t[sizeof g_tok + 8];
    assert_int_equal(check(v, ""), EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, "abc"), EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, "abc.def"), EDGE_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%s.xyz", good);
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED); /* four parts */
    snprintf(t, sizeof(t), "%.*s", (int)(strrchr(good, '.') - good + 1), good);
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED); /* no signature */
    snprintf(t, sizeof(t), "%.*s", (int)strlen(good) - 2, good);
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED); /* truncated: 41 base64 characters */
    snprintf(t, sizeof(t), "%.*s", (int)(strchr(good, '.') - good + 10), good);
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED); /* truncated in the claims */
    snprintf(t, sizeof(t), "%s", good);
    t[3] = '+'; /* base64, not base64url */
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%s=", good); /* padding */
    assert_int_equal(check(v, t), EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, mint("[\"HS256\"]", claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, mint("{\"alg\":\"HS256\"", claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_MALFORMED);
    assert_int_equal(
        check(v, mint("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", claims_ok(), "HS256", SECRET, NULL)),
        EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, mint("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
                                   claims_ok(), "HS256", SECRET, NULL)),
                     EDGE_JWT_MALFORMED);
    assert_int_equal(
        check(v, mint("{\"alg\":\"HS256\",\"alg\":\"none\"}", claims_ok(), "HS256", SECRET, NULL)),
        EDGE_JWT_MALFORMED); /* duplicate keys */
    /* Signed, but the claims are not one JSON object without duplicates. */
    assert_int_equal(check(v, mint(HS256_HDR, "{\"sub\":\"42\",\"sub\":\"1\",\"exp\":1}", "HS256",
                                   SECRET, NULL)),
                     EDGE_JWT_MALFORMED);
    assert_int_equal(check(v, mint(HS256_HDR, "not json", "HS256", SECRET, NULL)),
                     EDGE_JWT_MALFORMED);
    /* Too big: refused on its length alone, even when well signed. */
    char *big = malloc(EDGE_JWT_TOKEN_MAX + 2);
    memset(big, 'A', EDGE_JWT_TOKEN_MAX + 1);
    big[EDGE_JWT_TOKEN_MAX + 1] = '\0';
    assert_int_equal(check(v, big), EDGE_JWT_TOO_BIG);
    big[EDGE_JWT_TOKEN_MAX] = '\0';
    assert_int_equal(check(v, big), EDGE_JWT_MALFORMED); /* at the limit: parsed */
    free(big);
    char *p = g_claims + snprintf(g_claims, sizeof(g_claims),
                                  "{\"sub\":\"42\",\"exp\":%lld,\"x\":\"", NOW + 60);
    memset(p, 'x', 6200);
    strcpy(p + 6200, "\"}");
    const char *huge = mint(HS256_HDR, g_claims, "HS256", SECRET, NULL);
    assert_true(strlen(huge) > EDGE_JWT_TOKEN_MAX);
    assert_int_equal(check(v, huge), EDGE_JWT_TOO_BIG);
    edge_jwt_destroy(&v);
}

/* The code of a token signed with SECRET carrying claims. */
static edge_jwt_err_t hs(const edge_jwt_t *v, const char *claims)
{
    return check(v, mint(HS256_HDR, claims, "HS256", SECRET, NULL));
}

static void test_refused_claims(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){
        .secret_file = path("secret"), .issuer = "https://id.example", .audience = "weft"});
    const char *base = "{\"iss\":\"https://id.example\",\"aud\":\"weft\",\"sub\":\"42\",%s}";
    char c[512];
#define CLAIMS(extra) (snprintf(c, sizeof(c), base, extra), c)
    char exp[64];
    snprintf(exp, sizeof(exp), "\"exp\":%lld", NOW + 60);
    assert_int_equal(hs(v, CLAIMS(exp)), EDGE_JWT_OK);
    /* exp */
    assert_int_equal(hs(v, CLAIMS("\"nbf\":1")), EDGE_JWT_MISSING_EXP);
    assert_int_equal(hs(v, CLAIMS("\"exp\":\"2100-01-01\"")), EDGE_JWT_MALFORMED);
    /* Dates whose microseconds do not fit an int64_t (fuzz_jwt: exp * 1e6 overflowed in
     * edge_auth): malformed, whatever the sign or JSON type; the last second of 9999 is fine. */
    assert_int_equal(hs(v, CLAIMS("\"exp\":9223372036854775807")), EDGE_JWT_MALFORMED);
    assert_int_equal(hs(v, CLAIMS("\"exp\":253402300800")), EDGE_JWT_MALFORMED);
    assert_int_equal(hs(v, CLAIMS("\"exp\":9.0e15")), EDGE_JWT_MALFORMED);
    assert_int_equal(hs(v, CLAIMS("\"exp\":253402300799")), EDGE_JWT_OK);
    snprintf(exp, sizeof(exp), "\"exp\":%lld,\"nbf\":-253402300800", NOW + 60);
    assert_int_equal(hs(v, CLAIMS(exp)), EDGE_JWT_MALFORMED);
    snprintf(exp, sizeof(exp), "\"exp\":%lld", NOW + 60);
    assert_int_equal(hs(v, claims_fmt("{\"iss\":\"https://id.example\",\"aud\":\"weft\",\"sub\":"
                                      "\"42\",\"exp\":%lld}",
                                      NOW - 1)),
                     EDGE_JWT_EXPIRED);
    assert_int_equal(hs(v, claims_fmt("{\"iss\":\"https://id.example\",\"aud\":\"weft\",\"sub\":"
                                      "\"42\",\"exp\":%lld.5}",
                                      NOW + 10)),
                     EDGE_JWT_OK);
    /* nbf */
    char nbf[128];
    snprintf(nbf, sizeof(nbf), "\"exp\":%lld,\"nbf\":%lld", NOW + 60, NOW + 5);
    assert_int_equal(hs(v, CLAIMS(nbf)), EDGE_JWT_NOT_YET_VALID);
    /* iss */
    snprintf(c, sizeof(c), "{\"aud\":\"weft\",\"sub\":\"42\",%s}", exp);
    assert_int_equal(hs(v, c), EDGE_JWT_BAD_ISS);
    snprintf(c, sizeof(c), "{\"iss\":\"https://evil.example\",\"aud\":\"weft\",\"sub\":\"42\",%s}",
             exp);
    assert_int_equal(hs(v, c), EDGE_JWT_BAD_ISS);
    /* aud: a string or an array that names "weft" */
    const char *auds[] = {"\"other\"", "[\"a\",\"b\"]", "[]", "7", "[\"a\",\"weft\"]"};
    edge_jwt_err_t want[] = {EDGE_JWT_BAD_AUD, EDGE_JWT_BAD_AUD, EDGE_JWT_BAD_AUD, EDGE_JWT_BAD_AUD,
                             EDGE_JWT_OK};
    for (int i = 0; i < 5; i++) {
        snprintf(c, sizeof(c), "{\"iss\":\"https://id.example\",\"aud\":%s,\"sub\":\"42\",%s}",
                 auds[i], exp);
        assert_int_equal(hs(v, c), want[i]);
    }
    snprintf(c, sizeof(c), "{\"iss\":\"https://id.example\",\"sub\":\"42\",%s}", exp);
    assert_int_equal(hs(v, c), EDGE_JWT_BAD_AUD);
    /* sub: a string that can form user:<sub> */
    const char *subs[] = {"", ",\"sub\":\"\"", ",\"sub\":42", ",\"sub\":\"a b\"",
                          ",\"sub\":\"a/b\""};
    edge_jwt_err_t wsub[] = {EDGE_JWT_MISSING_SUB, EDGE_JWT_MISSING_SUB, EDGE_JWT_MISSING_SUB,
                             EDGE_JWT_BAD_SUB, EDGE_JWT_BAD_SUB};
    for (int i = 0; i < 5; i++) {
        snprintf(c, sizeof(c), "{\"iss\":\"https://id.example\",\"aud\":\"weft\",%s%s}", exp,
                 subs[i]);
        assert_int_equal(hs(v, c), wsub[i]);
    }
    char longsub[EDGE_JWT_SUB_MAX + 2];
    memset(longsub, 's', sizeof(longsub) - 1);
    longsub[EDGE_JWT_SUB_MAX + 1] = '\0';
    snprintf(c, sizeof(c), "{\"iss\":\"https://id.example\",\"aud\":\"weft\",%s,\"sub\":\"%s\"}",
             exp, longsub);
    assert_int_equal(hs(v, c), EDGE_JWT_BAD_SUB);
    longsub[EDGE_JWT_SUB_MAX] = '\0';
    snprintf(c, sizeof(c), "{\"iss\":\"https://id.example\",\"aud\":\"weft\",%s,\"sub\":\"%s\"}",
             exp, longsub);
    assert_int_equal(hs(v, c), EDGE_JWT_OK);
    /* rooms: an array of room names and patterns, or absent */
    const char *rooms[] = {"\"news\"", "[\"a b\"]", "[1]", "[\"a*b\"]", "null", "[]"};
    edge_jwt_err_t wrooms[] = {EDGE_JWT_BAD_ROOMS, EDGE_JWT_BAD_ROOMS, EDGE_JWT_BAD_ROOMS,
                               EDGE_JWT_BAD_ROOMS, EDGE_JWT_OK,        EDGE_JWT_OK};
    for (int i = 0; i < 6; i++) {
        snprintf(c, sizeof(c),
                 "{\"iss\":\"https://id.example\",\"aud\":\"weft\",\"sub\":\"42\",%s,\"rooms\":%s}",
                 exp, rooms[i]);
        assert_int_equal(hs(v, c), wrooms[i]);
    }
    edge_jwt_destroy(&v);

    /* More than EDGE_JWT_ROOMS_MAX entries; and a rooms claim under another name. */
    v = verifier((edge_jwt_opts_t){.secret_file = path("secret"), .rooms_claim = "weft_rooms"});
    char *p = g_claims + sprintf(g_claims, "{\"sub\":\"42\",%s,\"weft_rooms\":[", exp);
    for (int i = 0; i <= EDGE_JWT_ROOMS_MAX; i++)
        p += sprintf(p, "%s\"r%d\"", i ? "," : "", i);
    strcpy(p, "]}");
    assert_int_equal(hs(v, g_claims), EDGE_JWT_BAD_ROOMS);
    edge_jwt_claims_t out;
    const char *t = mint(HS256_HDR,
                         claims_fmt("{\"sub\":\"42\",\"exp\":%lld,\"rooms\":[\"x\"],"
                                    "\"weft_rooms\":[\"y:*\"]}",
                                    NOW + 1),
                         "HS256", SECRET, NULL);
    assert_int_equal(edge_jwt_verify(v, t, strlen(t), NOW, &out), EDGE_JWT_OK);
    assert_int_equal(out.nrooms, 1);
    assert_string_equal(out.rooms[0], "y:*");
    edge_jwt_claims_clear(&out);
    edge_jwt_destroy(&v);

    /* exp optional: accepted without, and reported as 0. */
    v = verifier((edge_jwt_opts_t){.secret_file = path("secret"), .exp_optional = true});
    t = mint(HS256_HDR, "{\"sub\":\"42\"}", "HS256", SECRET, NULL);
    assert_int_equal(edge_jwt_verify(v, t, strlen(t), NOW, &out), EDGE_JWT_OK);
    assert_int_equal(out.exp, 0);
    assert_int_equal(out.nrooms, 0);
    assert_null(out.rooms);
    edge_jwt_claims_clear(&out);
    edge_jwt_destroy(&v);
#undef CLAIMS
}

static void test_leeway_boundaries(void **state)
{
    (void)state;
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_file = path("secret"), .leeway_s = 30});
    assert_int_equal(hs(v, claims_fmt("{\"sub\":\"42\",\"exp\":%lld}", NOW - 30)), EDGE_JWT_OK);
    assert_int_equal(hs(v, claims_fmt("{\"sub\":\"42\",\"exp\":%lld}", NOW - 31)),
                     EDGE_JWT_EXPIRED);
    char c[128];
    snprintf(c, sizeof(c), "{\"sub\":\"42\",\"exp\":%lld,\"nbf\":%lld}", NOW + 99, NOW + 30);
    assert_int_equal(hs(v, c), EDGE_JWT_OK);
    snprintf(c, sizeof(c), "{\"sub\":\"42\",\"exp\":%lld,\"nbf\":%lld}", NOW + 99, NOW + 31);
    assert_int_equal(hs(v, c), EDGE_JWT_NOT_YET_VALID);
    edge_jwt_destroy(&v);
    /* No leeway: valid through its exp second, expired one second later. */
    v = verifier((edge_jwt_opts_t){.secret_file = path("secret")});
    assert_int_equal(hs(v, claims_fmt("{\"sub\":\"42\",\"exp\":%lld}", NOW)), EDGE_JWT_OK);
    assert_int_equal(hs(v, claims_fmt("{\"sub\":\"42\",\"exp\":%lld}", NOW - 1)), EDGE_JWT_EXPIRED);
    edge_jwt_destroy(&v);
}

static void test_reload_keeps_old_keys(void **state)
{
    (void)state;
    char err[256];
    write_file("secret2", SECRET "\n");
    edge_jwt_t *v = verifier((edge_jwt_opts_t){.secret_file = path("secret2")});
    assert_int_equal(hs(v, claims_ok()), EDGE_JWT_OK);
    /* Rotated: the new secret works, the old one no longer. */
    write_file("secret2", SECRET2);
    assert_int_equal(edge_jwt_reload(v, err, sizeof(err)), 0);
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET2, NULL)), EDGE_JWT_OK);
    assert_int_equal(hs(v, claims_ok()), EDGE_JWT_BAD_SIGNATURE);
    /* A bad file: an error, and the keys stay. */
    write_file("secret2", "short\n");
    assert_int_equal(edge_jwt_reload(v, err, sizeof(err)), -1);
    char want[512];
    snprintf(want, sizeof(want), "secret_file %s: the secret has 5 bytes, at least 32 are needed",
             path("secret2"));
    assert_string_equal(err, want);
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET2, NULL)), EDGE_JWT_OK);
    unlink(path("secret2"));
    assert_int_equal(edge_jwt_reload(v, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "secret_file %s: No such file or directory", path("secret2"));
    assert_string_equal(err, want);
    assert_int_equal(check(v, mint(HS256_HDR, claims_ok(), "HS256", SECRET2, NULL)), EDGE_JWT_OK);
    edge_jwt_destroy(&v);

    /* A JWKS replaced by broken JSON keeps both its keys. */
    FILE *f = fopen(path("jwks.json"), "r");
    static char jwks[8000];
    size_t n = fread(jwks, 1, sizeof(jwks) - 1, f);
    fclose(f);
    jwks[n] = '\0';
    write_file("bad.json", jwks);
    v = verifier((edge_jwt_opts_t){.jwks_file = path("bad.json")});
    write_file("bad.json", "{\"keys\":[");
    assert_int_equal(edge_jwt_reload(v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad.json: line 1:"));
    assert_int_equal(edge_jwt_key_count(v), 2);
    assert_int_equal(pk(v, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", g_ec), EDGE_JWT_OK);
    /* A JWKS now holding only the first key: e1 is gone after the reload. */
    char k1[2000];
    jwk_rsa(k1, sizeof(k1), g_rsa, "r1", "RS256");
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", k1);
    write_file("bad.json", jwks);
    assert_int_equal(edge_jwt_reload(v, err, sizeof(err)), 0);
    assert_int_equal(edge_jwt_key_count(v), 1);
    assert_int_equal(pk(v, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", g_ec),
                     EDGE_JWT_UNKNOWN_KID);
    edge_jwt_destroy(&v);
}

static void test_load_errors(void **state)
{
    (void)state;
    assert_string_equal(load_error((edge_jwt_opts_t){0}),
                        "exactly one of secret_file, secret_env, pem_file and jwks_file must be "
                        "set (0 are)");
    assert_non_null(strstr(
        load_error((edge_jwt_opts_t){.secret_file = path("secret"), .pem_file = path("rsa.pem")}),
        "(2 are)"));
    assert_non_null(
        strstr(load_error((edge_jwt_opts_t){.secret_file = path("secret"), .algs = "HS256,none"}),
               "algs: unknown or refused algorithm \"none\""));
    assert_non_null(
        strstr(load_error((edge_jwt_opts_t){.pem_file = path("rsa.pem"), .algs = "HS256"}),
               "no configured key can check"));
    assert_non_null(
        strstr(load_error((edge_jwt_opts_t){.pem_file = path("secret")}), "not a PEM public key"));
    /* A private key where the public one belongs. */
    FILE *f = fopen(path("priv.pem"), "w");
    assert_int_equal(PEM_write_PrivateKey(f, g_ec, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    assert_non_null(strstr(load_error((edge_jwt_opts_t){.pem_file = path("priv.pem")}),
                           "not a PEM public key"));
    /* A weak RSA key. */
    EVP_PKEY *weak = EVP_RSA_gen(1024);
    write_pub_pem("rsa1024.pem", weak);
    EVP_PKEY_free(weak);
    assert_non_null(strstr(load_error((edge_jwt_opts_t){.pem_file = path("rsa1024.pem")}),
                           "RSA key of 1024 bits, at least 2048 needed"));
    /* JWKS: an RSA key bound to HS256 is the confusion itself. */
    char k[2000], jwks[4100];
    jwk_rsa(k, sizeof(k), g_rsa, "r1", "HS256");
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", k);
    write_file("bad.json", jwks);
    assert_non_null(strstr(load_error((edge_jwt_opts_t){.jwks_file = path("bad.json")}),
                           "key 1: alg HS256 does not fit the key"));
    jwk_rsa(k, sizeof(k), g_rsa, "same", NULL);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", k, k);
    write_file("bad.json", jwks);
    const char *e2 = load_error((edge_jwt_opts_t){.jwks_file = path("bad.json")});
    assert_non_null(strstr(e2, "key 2: kid \"same\" used twice"));
    write_file("bad.json", "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\","
                           "\"y\":\"AAAA\"}]}");
    assert_non_null(strstr(load_error((edge_jwt_opts_t){.jwks_file = path("bad.json")}),
                           "key 1: EC key without valid x and y"));
    write_file("bad.json", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}");
    assert_non_null(strstr(load_error((edge_jwt_opts_t){.jwks_file = path("bad.json")}),
                           "no RSA or EC signature key"));
    write_file("bad.json", "{\"keys\":[]}");
    assert_non_null(
        strstr(load_error((edge_jwt_opts_t){.jwks_file = path("bad.json")}), "no \"keys\" array"));
    assert_non_null(strstr(
        load_error((edge_jwt_opts_t){.secret_file = path("secret"), .leeway_s = -1}), "leeway"));
}

static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_OK), "ok");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_EXPIRED), "expired");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_NOT_YET_VALID), "not_yet_valid");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_ALG_NONE), "alg_none");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_ALG_MISMATCH), "alg_mismatch");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_MALFORMED), "malformed");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_TOO_BIG), "too_big");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_MISSING_SUB), "missing_sub");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_BAD_AUD), "bad_aud");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_BAD_ISS), "bad_iss");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_MISSING_EXP), "missing_exp");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_UNKNOWN_KID), "unknown_kid");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_NO_KEY), "no_key");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_BAD_SUB), "bad_sub");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT_BAD_ROOMS), "bad_rooms");
    assert_string_equal(edge_jwt_err_name(EDGE_JWT__COUNT), "unknown");
    assert_string_equal(edge_jwt_err_text(EDGE_JWT_EXPIRED), "token expired");
    /* Every name distinct. */
    for (int i = 0; i < EDGE_JWT__COUNT; i++)
        for (int j = i + 1; j < EDGE_JWT__COUNT; j++)
            assert_string_not_equal(edge_jwt_err_name(i), edge_jwt_err_name(j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs_secret_file),
        cmocka_unit_test(test_hs_secret_env),
        cmocka_unit_test(test_rsa_pem),
        cmocka_unit_test(test_ec_pem),
        cmocka_unit_test(test_jwks_kid),
        cmocka_unit_test(test_libjwt_minted),
        cmocka_unit_test(test_refused_alg_and_shape),
        cmocka_unit_test(test_refused_claims),
        cmocka_unit_test(test_leeway_boundaries),
        cmocka_unit_test(test_reload_keeps_old_keys),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_err_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
