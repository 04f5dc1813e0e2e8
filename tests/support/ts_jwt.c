/*
 * ts_jwt.c: token minting and key files for tests (ts_jwt.h). Signing is done here with OpenSSL
 * directly, not with libjwt, so that the edge's verifier is checked against an independent
 * implementation.
 */
#include "ts_jwt.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void ts_jwt_b64url(const void *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *b = in;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n)
            v |= b[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* The digest of an algorithm name ("RS384" -> SHA-384); NULL for an unknown size. */
static const EVP_MD *s_md(const char *alg)
{
    const char *bits = alg[0] && alg[1] ? alg + 2 : "";
    return strcmp(bits, "256") == 0   ? EVP_sha256()
           : strcmp(bits, "384") == 0 ? EVP_sha384()
           : strcmp(bits, "512") == 0 ? EVP_sha512()
                                      : NULL;
}

/* Signs input with an RSA or EC key; an ES signature is turned from DER into r || s. */
static int s_sign_pkey(const char *alg, EVP_PKEY *pkey, const EVP_MD *md, const char *input,
                       size_t len, unsigned char *sig, size_t *siglen)
{
    if (!pkey)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = ctx && EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) == 1;
    if (ok && alg[0] == 'P')
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    if (alg[0] != 'E')
        return 0;
    const unsigned char *der = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)*siglen);
    if (!es)
        return -1;
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    *siglen = 64;
    return ok ? 0 : -1;
}

char *ts_jwt_sign(char *out, size_t cap, const char *alg, const char *secret, EVP_PKEY *pkey,
                  const char *header, const char *claims)
{
    size_t hl = strlen(header), cl = strlen(claims);
    /* header and claims in base64url, two dots, the signature (HMAC: at most 64 bytes, RSA:
     * 512), NUL */
    size_t sig_max = alg[0] == 'H' ? 64 : alg[0] == 'R' || alg[0] == 'P' || alg[0] == 'E' ? 512 : 0;
    if ((hl + 2) / 3 * 4 + (cl + 2) / 3 * 4 + 2 + (sig_max + 2) / 3 * 4 + 1 > cap)
        return NULL;
    char *p = out;
    ts_jwt_b64url(header, hl, p);
    p += strlen(p);
    *p++ = '.';
    ts_jwt_b64url(claims, cl, p);
    p += strlen(p);
    size_t input_len = (size_t)(p - out);
    *p++ = '.';
    *p = '\0';
    const EVP_MD *md = s_md(alg);
    if (!md || !strchr("HRPE", alg[0]) || alg[1] != 'S')
        return out;
    unsigned char sig[512];
    size_t siglen = sizeof sig;
    if (alg[0] == 'H') {
        unsigned int n = 0;
        if (!secret ||
            !HMAC(md, secret, (int)strlen(secret), (const unsigned char *)out, input_len, sig, &n))
            return NULL;
        siglen = n;
    } else if (s_sign_pkey(alg, pkey, md, out, input_len, sig, &siglen) != 0) {
        return NULL;
    }
    ts_jwt_b64url(sig, siglen, p);
    return out;
}

char *ts_jwt_hs(char *out, size_t cap, const char *alg, const char *secret, const char *header,
                const char *claims)
{
    return ts_jwt_sign(out, cap, alg[0] == 'H' ? alg : "none", secret, NULL, header, claims);
}

int ts_jwt_write_pub_pem(const char *path, EVP_PKEY *pkey)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = PEM_write_PUBKEY(f, pkey) == 1;
    return fclose(f) != 0 || !ok ? -1 : 0;
}

/* The base64url of a big-number parameter of a key, left-padded to pad bytes (0: minimal). */
static int s_b64_param(EVP_PKEY *pkey, const char *param, int pad, char *out)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        return -1;
    unsigned char buf[600];
    int n = BN_num_bytes(bn) <= (int)sizeof buf
                ? (pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf))
                : -1;
    BN_free(bn);
    if (n <= 0)
        return -1;
    ts_jwt_b64url(buf, (size_t)n, out);
    return 0;
}

int ts_jwt_jwk_rsa(char *out, size_t cap, EVP_PKEY *pkey, const char *kid, const char *alg)
{
    char n[810], e[16];
    if (s_b64_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0, n) != 0 ||
        s_b64_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0, e) != 0)
        return -1;
    int len = snprintf(out, cap,
                       "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\"%s%s%s,\"n\":\"%s\","
                       "\"e\":\"%s\"}",
                       kid, alg ? ",\"alg\":\"" : "", alg ? alg : "", alg ? "\"" : "", n, e);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}

int ts_jwt_jwk_ec(char *out, size_t cap, EVP_PKEY *pkey, const char *kid)
{
    char x[64], y[64];
    if (s_b64_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, x) != 0 ||
        s_b64_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y) != 0)
        return -1;
    int len = snprintf(out, cap,
                       "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"%s\","
                       "\"y\":\"%s\"}",
                       kid, x, y);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}

/* Writes the secret file an edge reads (jwt_secret_file). */
int ts_jwt_secret_file(const char *path, const char *secret)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(secret, f) < 0 || fputc('\n', f) == EOF;
    return fclose(f) != 0 || rc ? -1 : 0;
}
