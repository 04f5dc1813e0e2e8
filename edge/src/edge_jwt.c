/*
 * edge_jwt.c: JWT verification for the edge (see edge_jwt.h).
 *
 * The token is split and its header and claims decoded here, strictly, before libjwt sees it:
 * libjwt 1.10 reports every failure as EINVAL and would take an RSA key's PEM text as an HMAC
 * secret if the header asked for HS256, so the choice of key and algorithm is made here and
 * libjwt (or OpenSSL, for PS*) is only asked whether the signature holds for that key. The claims
 * are read from this file's own parse of the payload, never from libjwt's.
 */
#include "edge_jwt.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire_envelope.h"

#define S_FILE_MAX (1024 * 1024) /* bytes of a key file or JWKS */
#define S_KID_MAX 256            /* bytes of a key id */
#define S_RSA_BITS_MIN 2048      /* smaller RSA keys are refused at load */

/* The algorithms this verifier knows, in the order of s_algs[]. */
typedef enum s_alg {
    S_HS256,
    S_HS384,
    S_HS512,
    S_RS256,
    S_RS384,
    S_RS512,
    S_PS256,
    S_PS384,
    S_PS512,
    S_ES256,
    S_ES384,
    S_ES512,
    S_ALG__COUNT
} s_alg_t;

#define S_BIT(a) (1u << (a))
#define S_FAMILY_HS (S_BIT(S_HS256) | S_BIT(S_HS384) | S_BIT(S_HS512))
#define S_FAMILY_RSA                                                                               \
    (S_BIT(S_RS256) | S_BIT(S_RS384) | S_BIT(S_RS512) | S_BIT(S_PS256) | S_BIT(S_PS384) |          \
     S_BIT(S_PS512))

/* Name, libjwt's code (JWT_ALG_INVAL: checked with OpenSSL here) and digest of each algorithm. */
static const struct {
    const char *name; /* the "alg" header value */
    jwt_alg_t jwt;    /* libjwt's algorithm, or JWT_ALG_INVAL for the PS family */
    const char *md;   /* digest name for OpenSSL (PS family) */
} s_algs[S_ALG__COUNT] = {
    [S_HS256] = {"HS256", JWT_ALG_HS256, "SHA256"}, [S_HS384] = {"HS384", JWT_ALG_HS384, "SHA384"},
    [S_HS512] = {"HS512", JWT_ALG_HS512, "SHA512"}, [S_RS256] = {"RS256", JWT_ALG_RS256, "SHA256"},
    [S_RS384] = {"RS384", JWT_ALG_RS384, "SHA384"}, [S_RS512] = {"RS512", JWT_ALG_RS512, "SHA512"},
    [S_PS256] = {"PS256", JWT_ALG_INVAL, "SHA256"}, [S_PS384] = {"PS384", JWT_ALG_INVAL, "SHA384"},
    [S_PS512] = {"PS512", JWT_ALG_INVAL, "SHA512"}, [S_ES256] = {"ES256", JWT_ALG_ES256, "SHA256"},
    [S_ES384] = {"ES384", JWT_ALG_ES384, "SHA384"}, [S_ES512] = {"ES512", JWT_ALG_ES512, "SHA512"},
};

/* One key and the algorithms it may check. */
typedef struct s_key {
    char *kid;            /* the JWKS key id; NULL for a secret, a PEM file or a key without one */
    unsigned algs;        /* S_BIT() of each algorithm this key checks (never crosses families) */
    unsigned char *bytes; /* the secret, or the public key's PEM text (NUL-terminated) for libjwt */
    size_t len;           /* bytes of the secret or PEM text, without the NUL */
    EVP_PKEY *pkey;       /* the public key (PS checks); NULL for a secret */
} s_key_t;

/* The keys of one load: swapped whole on reload. */
typedef struct s_keyset {
    s_key_t *keys; /* array of n keys */
    size_t n;      /* keys loaded */
} s_keyset_t;

struct edge_jwt {
    char *secret_file; /* copies of the options (NULL when unset) */
    char *secret_env;  /* ... */
    char *pem_file;    /* ... */
    char *jwks_file;   /* ... */
    char *issuer;      /* ... */
    char *audience;    /* ... */
    char *rooms_claim; /* the rooms claim's name ("rooms" by default) */
    unsigned algs;     /* S_BIT() of every configured algorithm (all when unset) */
    int64_t leeway_s;  /* clock skew allowed on exp and nbf */
    bool exp_optional; /* true: a token without exp is accepted */
    s_keyset_t keyset; /* the keys in use */
};

/* The names and sentences of the results, from the X-macro table. */
static const char *const s_err_names[] = {
#define S_ERR_NAME(name, str, text) str,
    EDGE_JWT_ERR_MAP(S_ERR_NAME)
#undef S_ERR_NAME
};
static const char *const s_err_texts[] = {
#define S_ERR_TEXT(name, str, text) text,
    EDGE_JWT_ERR_MAP(S_ERR_TEXT)
#undef S_ERR_TEXT
};

const char *edge_jwt_err_name(edge_jwt_err_t err)
{
    return (unsigned)err < EDGE_JWT__COUNT ? s_err_names[err] : "unknown";
}

const char *edge_jwt_err_text(edge_jwt_err_t err)
{
    return (unsigned)err < EDGE_JWT__COUNT ? s_err_texts[err] : "unknown";
}

/* Writes a load error into err (when there is room). Always returns -1. */
__attribute__((format(printf, 3, 4))) static int s_fail(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The algorithm named name (len bytes), or S_ALG__COUNT when unknown. */
static s_alg_t s_alg_find(const char *name, size_t len)
{
    for (int a = 0; a < S_ALG__COUNT; a++)
        if (strlen(s_algs[a].name) == len && memcmp(s_algs[a].name, name, len) == 0)
            return (s_alg_t)a;
    return S_ALG__COUNT;
}

/* Value of a base64url character, or -1. */
static int s_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/*
 * Decodes strict unpadded base64url (RFC 7515 §2) into out (at least len * 3 / 4 bytes).
 * Refuses other characters, padding, an impossible length and non-zero unused bits, so that
 * one token has exactly one spelling. Returns the decoded length, or -1.
 */
static long s_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = s_b64_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return n;
}

/* Frees one key's contents. */
static void s_key_free(s_key_t *k)
{
    free(k->kid);
    if (k->bytes)
        OPENSSL_clear_free(k->bytes, k->len + 1);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* Frees a key set's keys and empties it. */
static void s_keyset_free(s_keyset_t *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        s_key_free(&ks->keys[i]);
    free(ks->keys);
    ks->keys = NULL;
    ks->n = 0;
}

/* Reads a whole file (at most S_FILE_MAX bytes) into a NUL-terminated buffer. */
static int s_read_file(const char *what, const char *path, unsigned char **buf, size_t *len,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return s_fail(err, errlen, "%s %s: %s", what, path, strerror(errno));
    unsigned char *b = malloc(S_FILE_MAX + 1);
    if (!b) {
        fclose(f);
        return s_fail(err, errlen, "%s %s: out of memory", what, path);
    }
    size_t n = fread(b, 1, S_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > S_FILE_MAX) {
        OPENSSL_clear_free(b, S_FILE_MAX + 1);
        return s_fail(err, errlen, "%s %s: %s", what, path, bad ? "read error" : "too large");
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* Keeps a copy of a secret as the one HS key. */
static int s_secret_key(const char *what, const char *where, const unsigned char *secret,
                        size_t len, s_keyset_t *ks, char *err, size_t errlen)
{
    if (len < EDGE_JWT_SECRET_MIN)
        return s_fail(err, errlen, "%s %s: the secret has %zu bytes, at least %d are needed", what,
                      where, len, EDGE_JWT_SECRET_MIN);
    ks->keys = calloc(1, sizeof(s_key_t));
    unsigned char *copy = malloc(len + 1);
    if (!ks->keys || !copy) {
        free(ks->keys);
        ks->keys = NULL;
        free(copy);
        return s_fail(err, errlen, "%s %s: out of memory", what, where);
    }
    memcpy(copy, secret, len);
    copy[len] = '\0';
    ks->keys[0] = (s_key_t){.algs = S_FAMILY_HS, .bytes = copy, .len = len};
    ks->n = 1;
    return 0;
}

/* Loads the secret from a file (a trailing newline, as editors write one, is not part of it). */
static int s_load_secret_file(const char *path, s_keyset_t *ks, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    if (s_read_file("secret_file", path, &buf, &len, err, errlen) < 0)
        return -1;
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    int rc = s_secret_key("secret_file", path, buf, len, ks, err, errlen);
    OPENSSL_clear_free(buf, S_FILE_MAX + 1);
    return rc;
}

/* Loads the secret from an environment variable. */
static int s_load_secret_env(const char *name, s_keyset_t *ks, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v)
        return s_fail(err, errlen, "secret_env %s: not set", name);
    return s_secret_key("secret_env", name, (const unsigned char *)v, strlen(v), ks, err, errlen);
}

/*
 * The algorithms a public key may check: RS and PS for RSA keys of at least S_RSA_BITS_MIN bits,
 * the one ES algorithm of an EC key's curve. 0 with a message for anything else.
 */
static unsigned s_pkey_algs(EVP_PKEY *pkey, char *why, size_t whylen)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < S_RSA_BITS_MIN) {
            snprintf(why, whylen, "RSA key of %d bits, at least %d needed", EVP_PKEY_get_bits(pkey),
                     S_RSA_BITS_MIN);
            return 0;
        }
        return S_FAMILY_RSA;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            NULL))
            group[0] = '\0';
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
            return S_BIT(S_ES256);
        if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
            return S_BIT(S_ES384);
        if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
            return S_BIT(S_ES512);
        snprintf(why, whylen, "EC curve %s not supported", group[0] ? group : "(unknown)");
        return 0;
    }
    snprintf(why, whylen, "key type not supported (RSA or EC public keys only)");
    return 0;
}

/* Fills k from a public key (taking it over): its algorithms and its PEM text for libjwt. */
static int s_key_from_pkey(s_key_t *k, EVP_PKEY *pkey, char *why, size_t whylen)
{
    k->pkey = pkey;
    k->algs = s_pkey_algs(pkey, why, whylen);
    if (!k->algs)
        return -1;
    BIO *mem = BIO_new(BIO_s_mem());
    char *data;
    long n;
    if (!mem || !PEM_write_bio_PUBKEY(mem, pkey) || (n = BIO_get_mem_data(mem, &data)) <= 0 ||
        !(k->bytes = malloc((size_t)n + 1))) {
        BIO_free(mem);
        snprintf(why, whylen, "cannot write the key as PEM");
        return -1;
    }
    memcpy(k->bytes, data, (size_t)n);
    k->bytes[n] = '\0';
    k->len = (size_t)n;
    BIO_free(mem);
    return 0;
}

/* Loads one PEM public key. */
static int s_load_pem(const char *path, s_keyset_t *ks, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    if (s_read_file("pem_file", path, &buf, &len, err, errlen) < 0)
        return -1;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_clear_free(buf, S_FILE_MAX + 1);
    if (!pkey)
        return s_fail(err, errlen, "pem_file %s: not a PEM public key", path);
    ks->keys = calloc(1, sizeof(s_key_t));
    if (!ks->keys) {
        EVP_PKEY_free(pkey);
        return s_fail(err, errlen, "pem_file %s: out of memory", path);
    }
    char why[128];
    ks->n = 1;
    if (s_key_from_pkey(&ks->keys[0], pkey, why, sizeof(why)) < 0) {
        s_keyset_free(ks);
        return s_fail(err, errlen, "pem_file %s: %s", path, why);
    }
    return 0;
}

/* Decodes a base64url JWK member into a fresh buffer. Returns its length, or -1. */
static long s_jwk_bytes(json_t *jwk, const char *member, unsigned char **out)
{
    const char *s = json_string_value(json_object_get(jwk, member));
    if (!s || !*s)
        return -1;
    size_t len = strlen(s);
    *out = malloc(len * 3 / 4 + 1);
    if (!*out)
        return -1;
    long n = s_b64url_decode(s, len, *out);
    if (n <= 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

/* Builds an EVP_PKEY from OSSL parameters (a public key of the named type). */
static EVP_PKEY *s_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* An RSA public key from a JWK's n and e. */
static EVP_PKEY *s_jwk_rsa(json_t *jwk, char *why, size_t whylen)
{
    unsigned char *n = NULL, *e = NULL;
    long nlen = s_jwk_bytes(jwk, "n", &n), elen = s_jwk_bytes(jwk, "e", &e);
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (nlen < 0 || elen < 0) {
        snprintf(why, whylen, "RSA key without valid n and e");
        goto done;
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
        !(pkey = s_pkey_fromdata("RSA", bld)))
        snprintf(why, whylen, "RSA key not usable");
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return pkey;
}

/* An EC public key from a JWK's crv, x and y. */
static EVP_PKEY *s_jwk_ec(json_t *jwk, char *why, size_t whylen)
{
    static const struct {
        const char *crv;  /* JWK name */
        const char *name; /* OpenSSL group */
        long size;        /* bytes of a coordinate */
    } curves[] = {
        {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    int c = -1;
    for (int i = 0; crv && i < 3; i++)
        if (strcmp(crv, curves[i].crv) == 0)
            c = i;
    if (c < 0) {
        snprintf(why, whylen, "unknown crv");
        return NULL;
    }
    unsigned char *x = NULL, *y = NULL;
    long xlen = s_jwk_bytes(jwk, "x", &x), ylen = s_jwk_bytes(jwk, "y", &y);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    unsigned char point[1 + 2 * 66];
    if (xlen != curves[c].size || ylen != curves[c].size) {
        snprintf(why, whylen, "EC key without valid x and y");
        goto done;
    }
    /* The uncompressed point encoding: 0x04 || x || y. */
    point[0] = 0x04;
    memcpy(point + 1, x, (size_t)xlen);
    memcpy(point + 1 + xlen, y, (size_t)ylen);
    bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[c].name, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                          (size_t)(1 + 2 * xlen)) ||
        !(pkey = s_pkey_fromdata("EC", bld)))
        snprintf(why, whylen, "EC point not on the curve");
done:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pkey;
}

/*
 * Reads one JWK into k. Returns 1 when it was loaded, 0 when it is skipped (an encryption key,
 * a key type or algorithm this verifier does not use), -1 on an error (why says what).
 */
static int s_jwk_load(json_t *jwk, s_key_t *k, char *why, size_t whylen)
{
    if (!json_is_object(jwk)) {
        snprintf(why, whylen, "not an object");
        return -1;
    }
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    json_t *jalg = json_object_get(jwk, "alg");
    json_t *jkid = json_object_get(jwk, "kid");
    if (!kty) {
        snprintf(why, whylen, "no kty");
        return -1;
    }
    if ((use && strcmp(use, "sig") != 0) || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
        return 0;
    unsigned want = ~0u;
    if (jalg) {
        const char *alg = json_string_value(jalg);
        s_alg_t a = alg ? s_alg_find(alg, strlen(alg)) : S_ALG__COUNT;
        if (a == S_ALG__COUNT)
            return 0;
        want = S_BIT(a);
    }
    if (jkid && (!json_is_string(jkid) || json_string_length(jkid) == 0 ||
                 json_string_length(jkid) > S_KID_MAX)) {
        snprintf(why, whylen, "kid not a string of 1..%d bytes", S_KID_MAX);
        return -1;
    }
    EVP_PKEY *pkey =
        strcmp(kty, "RSA") == 0 ? s_jwk_rsa(jwk, why, whylen) : s_jwk_ec(jwk, why, whylen);
    if (!pkey)
        return -1;
    if (s_key_from_pkey(k, pkey, why, whylen) < 0) {
        s_key_free(k);
        return -1;
    }
    /* An alg the key type cannot check is a configuration error, not a key to skip: "kty":
     * "RSA", "alg": "HS256" is exactly the confusion this module exists to refuse. */
    if (!(k->algs & want)) {
        snprintf(why, whylen, "alg %s does not fit the key", json_string_value(jalg));
        s_key_free(k);
        return -1;
    }
    k->algs &= want;
    if (jkid && !(k->kid = strdup(json_string_value(jkid)))) {
        snprintf(why, whylen, "out of memory");
        s_key_free(k);
        return -1;
    }
    return 1;
}

/* Loads the signature keys of a JWKS file; duplicate kids are refused. */
static int s_load_jwks(const char *path, s_keyset_t *ks, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    if (s_read_file("jwks_file", path, &buf, &len, err, errlen) < 0)
        return -1;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!root)
        return s_fail(err, errlen, "jwks_file %s: line %d: %s", path, jerr.line, jerr.text);
    json_t *keys = json_object_get(root, "keys");
    size_t count = json_array_size(keys);
    int rc = 0;
    if (!json_is_array(keys) || count == 0) {
        rc = s_fail(err, errlen, "jwks_file %s: no \"keys\" array", path);
        goto done;
    }
    if (!(ks->keys = calloc(count, sizeof(s_key_t)))) {
        rc = s_fail(err, errlen, "jwks_file %s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        char why[128] = "";
        int got = s_jwk_load(json_array_get(keys, i), &ks->keys[ks->n], why, sizeof(why));
        if (got < 0) {
            rc = s_fail(err, errlen, "jwks_file %s: key %zu: %s", path, i + 1, why);
            goto done;
        }
        if (got == 0)
            continue;
        const char *kid = ks->keys[ks->n].kid;
        for (size_t j = 0; kid && j < ks->n; j++)
            if (ks->keys[j].kid && strcmp(ks->keys[j].kid, kid) == 0) {
                rc = s_fail(err, errlen, "jwks_file %s: key %zu: kid \"%s\" used twice", path,
                            i + 1, kid);
                s_key_free(&ks->keys[ks->n]);
                goto done;
            }
        ks->n++;
    }
    if (ks->n == 0)
        rc = s_fail(err, errlen, "jwks_file %s: no RSA or EC signature key", path);
done:
    if (rc < 0)
        s_keyset_free(ks);
    json_decref(root);
    return rc;
}

/* Loads the configured keys into ks, restricted to the configured algorithms. */
static int s_load(const edge_jwt_t *self, s_keyset_t *ks, char *err, size_t errlen)
{
    int rc;
    if (self->secret_file)
        rc = s_load_secret_file(self->secret_file, ks, err, errlen);
    else if (self->secret_env)
        rc = s_load_secret_env(self->secret_env, ks, err, errlen);
    else if (self->pem_file)
        rc = s_load_pem(self->pem_file, ks, err, errlen);
    else
        rc = s_load_jwks(self->jwks_file, ks, err, errlen);
    if (rc < 0)
        return -1;
    unsigned usable = 0;
    for (size_t i = 0; i < ks->n; i++)
        usable |= (ks->keys[i].algs &= self->algs);
    if (!usable) {
        s_keyset_free(ks);
        return s_fail(err, errlen, "algs: no configured key can check any of these algorithms");
    }
    return 0;
}

/* A copy of an optional string option: NULL when unset or empty. */
static int s_opt_dup(const char *v, char **out)
{
    *out = NULL;
    if (!v || !*v)
        return 0;
    *out = strdup(v);
    return *out ? 0 : -1;
}

/* Parses the comma-separated algorithm list into S_BIT()s (all algorithms when unset). */
static int s_parse_algs(const char *list, unsigned *mask, char *err, size_t errlen)
{
    if (!list || !*list) {
        *mask = (1u << S_ALG__COUNT) - 1;
        return 0;
    }
    *mask = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        s_alg_t a = s_alg_find(p, n);
        if (a == S_ALG__COUNT)
            return s_fail(err, errlen, "algs: unknown or refused algorithm \"%.*s\"", (int)n, p);
        *mask |= S_BIT(a);
        p += strcspn(p, ",");
        p += strspn(p, ", ");
    }
    return 0;
}

edge_jwt_t *edge_jwt_new(const edge_jwt_opts_t *opts, char *err, size_t errlen)
{
    int sources = (opts->secret_file && *opts->secret_file) +
                  (opts->secret_env && *opts->secret_env) + (opts->pem_file && *opts->pem_file) +
                  (opts->jwks_file && *opts->jwks_file);
    if (sources != 1) {
        s_fail(err, errlen,
               "exactly one of secret_file, secret_env, pem_file and jwks_file "
               "must be set (%d are)",
               sources);
        return NULL;
    }
    if (opts->leeway_s < 0) {
        s_fail(err, errlen, "leeway: must not be negative");
        return NULL;
    }
    edge_jwt_t *self = calloc(1, sizeof(*self));
    if (!self) {
        s_fail(err, errlen, "out of memory");
        return NULL;
    }
    if (s_opt_dup(opts->secret_file, &self->secret_file) < 0 ||
        s_opt_dup(opts->secret_env, &self->secret_env) < 0 ||
        s_opt_dup(opts->pem_file, &self->pem_file) < 0 ||
        s_opt_dup(opts->jwks_file, &self->jwks_file) < 0 ||
        s_opt_dup(opts->issuer, &self->issuer) < 0 ||
        s_opt_dup(opts->audience, &self->audience) < 0 ||
        s_opt_dup(opts->rooms_claim && *opts->rooms_claim ? opts->rooms_claim : "rooms",
                  &self->rooms_claim) < 0) {
        s_fail(err, errlen, "out of memory");
        goto err;
    }
    self->leeway_s = opts->leeway_s;
    self->exp_optional = opts->exp_optional;
    if (s_parse_algs(opts->algs, &self->algs, err, errlen) < 0 ||
        s_load(self, &self->keyset, err, errlen) < 0)
        goto err;
    return self;
err:
    edge_jwt_destroy(&self);
    return NULL;
}

void edge_jwt_destroy(edge_jwt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_jwt_t *self = *self_p;
    s_keyset_free(&self->keyset);
    free(self->secret_file);
    free(self->secret_env);
    free(self->pem_file);
    free(self->jwks_file);
    free(self->issuer);
    free(self->audience);
    free(self->rooms_claim);
    free(self);
    *self_p = NULL;
}

int edge_jwt_reload(edge_jwt_t *self, char *err, size_t errlen)
{
    s_keyset_t fresh = {0};
    if (s_load(self, &fresh, err, errlen) < 0)
        return -1;
    s_keyset_free(&self->keyset);
    self->keyset = fresh;
    return 0;
}

size_t edge_jwt_key_count(const edge_jwt_t *self)
{
    return self->keyset.n;
}

/*
 * Picks the key for a token: by kid when the token names one, else the only key, else the only
 * key that may check alg (several would make the choice a guess).
 */
static edge_jwt_err_t s_pick_key(const edge_jwt_t *self, const char *kid, s_alg_t alg,
                                 const s_key_t **out)
{
    const s_keyset_t *ks = &self->keyset;
    const s_key_t *key = NULL;
    if (kid && self->jwks_file) {
        for (size_t i = 0; i < ks->n && !key; i++)
            if (ks->keys[i].kid && strcmp(ks->keys[i].kid, kid) == 0)
                key = &ks->keys[i];
        if (!key)
            return EDGE_JWT_UNKNOWN_KID;
    } else if (ks->n == 1) {
        key = &ks->keys[0];
    } else {
        size_t fit = 0;
        for (size_t i = 0; i < ks->n; i++)
            if (ks->keys[i].algs & S_BIT(alg)) {
                key = &ks->keys[i];
                fit++;
            }
        if (fit == 0)
            return EDGE_JWT_ALG_MISMATCH;
        if (fit > 1)
            return EDGE_JWT_NO_KEY;
    }
    if (!(key->algs & S_BIT(alg)))
        return EDGE_JWT_ALG_MISMATCH;
    *out = key;
    return EDGE_JWT_OK;
}

/* Checks an RSASSA-PSS signature (RFC 7518 §3.5: MGF1 with the same hash, salt = hash size). */
static bool s_pss_verify(const s_key_t *key, s_alg_t alg, const char *input, size_t inlen,
                         const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok =
        ctx &&
        EVP_DigestVerifyInit_ex(ctx, &pctx, s_algs[alg].md, NULL, NULL, key->pkey, NULL) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, inlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Checks the signature of token with key: libjwt for HS/RS/ES, OpenSSL for PS. */
static bool s_signature_ok(const s_key_t *key, s_alg_t alg, const char *token, size_t len,
                           size_t signed_len, const unsigned char *sig, size_t siglen)
{
    if (s_algs[alg].jwt == JWT_ALG_INVAL)
        return s_pss_verify(key, alg, token, signed_len, sig, siglen);
    char copy[EDGE_JWT_TOKEN_MAX + 1]; /* libjwt wants a C string */
    memcpy(copy, token, len);
    copy[len] = '\0';
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, copy, key->bytes, (int)key->len);
    bool ok = rc == 0 && jwt && jwt_get_alg(jwt) == s_algs[alg].jwt;
    jwt_free(jwt);
    return ok;
}

/* Decodes one base64url part into a JSON object (no duplicate keys). NULL when it is not one. */
static json_t *s_json_part(const char *b64, size_t len)
{
    unsigned char buf[EDGE_JWT_TOKEN_MAX];
    long n = s_b64url_decode(b64, len, buf);
    if (n <= 0)
        return NULL;
    json_t *v = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Reads a NumericDate claim (RFC 7519 §2) into *t. 0 absent, 1 present, -1 not a number or
 * beyond EDGE_JWT_DATE_MAX. */
static int s_numeric_date(json_t *claims, const char *name, int64_t *t)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -EDGE_JWT_DATE_MAX || i > EDGE_JWT_DATE_MAX)
            return -1;
        *t = (int64_t)i;
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Found by fuzzing: a far-future exp passed here and overflowed exp * 1e6 later. */
        if (!(d >= (double)-EDGE_JWT_DATE_MAX && d <= (double)EDGE_JWT_DATE_MAX))
            return -1;
        *t = (int64_t)d;
        return 1;
    }
    return -1;
}

/* True when the aud claim (a string or an array of strings) names want. */
static bool s_aud_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* Copies the rooms claim (absent: none) into out as one allocation. */
static edge_jwt_err_t s_rooms(json_t *claim, edge_jwt_claims_t *out)
{
    if (!claim || json_is_null(claim))
        return EDGE_JWT_OK;
    size_t n = json_array_size(claim);
    if (!json_is_array(claim) || n > EDGE_JWT_ROOMS_MAX)
        return EDGE_JWT_BAD_ROOMS;
    size_t bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(claim, i);
        if (!json_is_string(v) || !wire_pattern_valid(json_string_value(v), json_string_length(v)))
            return EDGE_JWT_BAD_ROOMS;
        bytes += json_string_length(v) + 1;
    }
    if (n == 0)
        return EDGE_JWT_OK;
    char **rooms = malloc(bytes);
    if (!rooms)
        return EDGE_JWT_BAD_ROOMS;
    char *p = (char *)(rooms + n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(claim, i);
        rooms[i] = p;
        memcpy(p, json_string_value(v), json_string_length(v) + 1);
        p += json_string_length(v) + 1;
    }
    out->rooms = rooms;
    out->nrooms = n;
    return EDGE_JWT_OK;
}

/* Checks the verified claims at time now and fills out. */
static edge_jwt_err_t s_check_claims(const edge_jwt_t *self, json_t *claims, int64_t now,
                                     edge_jwt_claims_t *out)
{
    int64_t exp = 0, nbf = 0;
    int has_exp = s_numeric_date(claims, "exp", &exp);
    int has_nbf = s_numeric_date(claims, "nbf", &nbf);
    if (has_exp < 0 || has_nbf < 0)
        return EDGE_JWT_MALFORMED;
    if (!has_exp && !self->exp_optional)
        return EDGE_JWT_MISSING_EXP;
    /* exp = now - leeway still passes; one second earlier does not. */
    if (has_exp && now - self->leeway_s > exp)
        return EDGE_JWT_EXPIRED;
    if (has_nbf && now + self->leeway_s < nbf)
        return EDGE_JWT_NOT_YET_VALID;
    if (self->issuer) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        if (!iss || strcmp(iss, self->issuer) != 0)
            return EDGE_JWT_BAD_ISS;
    }
    if (self->audience && !s_aud_ok(json_object_get(claims, "aud"), self->audience))
        return EDGE_JWT_BAD_AUD;
    json_t *sub = json_object_get(claims, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0)
        return EDGE_JWT_MISSING_SUB;
    size_t sublen = json_string_length(sub);
    if (sublen > EDGE_JWT_SUB_MAX || !wire_room_valid(json_string_value(sub), sublen))
        return EDGE_JWT_BAD_SUB;
    edge_jwt_err_t rc = s_rooms(json_object_get(claims, self->rooms_claim), out);
    if (rc != EDGE_JWT_OK)
        return rc;
    memcpy(out->sub, json_string_value(sub), sublen + 1);
    out->exp = has_exp ? exp : 0;
    return EDGE_JWT_OK;
}

edge_jwt_err_t edge_jwt_verify(const edge_jwt_t *self, const char *token, size_t len, int64_t now,
                               edge_jwt_claims_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len > EDGE_JWT_TOKEN_MAX)
        return EDGE_JWT_TOO_BIG;
    /* Three non-empty parts: header.payload.signature. */
    const char *dot1 = token ? memchr(token, '.', len) : NULL;
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return EDGE_JWT_MALFORMED;
    size_t hlen = (size_t)(dot1 - token), plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = len - (size_t)(dot2 + 1 - token);
    if (hlen == 0 || plen == 0)
        return EDGE_JWT_MALFORMED;

    json_t *header = s_json_part(token, hlen);
    if (!header)
        return EDGE_JWT_MALFORMED;
    edge_jwt_err_t rc = EDGE_JWT_MALFORMED;
    json_t *claims = NULL;
    const char *alg_name = json_string_value(json_object_get(header, "alg"));
    const char *typ = json_string_value(json_object_get(header, "typ"));
    json_t *kid = json_object_get(header, "kid");
    /* crit names extensions the token needs understood; this verifier knows none. */
    if (!alg_name || (json_object_get(header, "typ") && (!typ || strcasecmp(typ, "JWT") != 0)) ||
        (kid && !json_is_string(kid)) || json_object_get(header, "crit"))
        goto done;
    if (strcasecmp(alg_name, "none") == 0) {
        rc = EDGE_JWT_ALG_NONE;
        goto done;
    }
    s_alg_t alg = s_alg_find(alg_name, strlen(alg_name));
    if (alg == S_ALG__COUNT || !(self->algs & S_BIT(alg))) {
        rc = EDGE_JWT_ALG_MISMATCH;
        goto done;
    }
    const s_key_t *key = NULL;
    if ((rc = s_pick_key(self, json_string_value(kid), alg, &key)) != EDGE_JWT_OK)
        goto done;
    /* Claims that are not a JSON object are refused before the signature check: libjwt would
     * fail on them whatever the signature. Nothing is read from them until it holds. */
    if (!(claims = s_json_part(dot1 + 1, plen))) {
        rc = EDGE_JWT_MALFORMED;
        goto done;
    }
    unsigned char sig[EDGE_JWT_TOKEN_MAX];
    long siglen = slen ? s_b64url_decode(dot2 + 1, slen, sig) : -1;
    if (siglen <= 0) {
        rc = EDGE_JWT_MALFORMED;
        goto done;
    }
    if (!s_signature_ok(key, alg, token, len, hlen + 1 + plen, sig, (size_t)siglen)) {
        rc = EDGE_JWT_BAD_SIGNATURE;
        goto done;
    }
    rc = s_check_claims(self, claims, now, out);
done:
    json_decref(claims);
    json_decref(header);
    if (rc != EDGE_JWT_OK)
        edge_jwt_claims_clear(out);
    return rc;
}

void edge_jwt_claims_clear(edge_jwt_claims_t *claims)
{
    if (!claims)
        return;
    free(claims->rooms);
    memset(claims, 0, sizeof(*claims));
}
