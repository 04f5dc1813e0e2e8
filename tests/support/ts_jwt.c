/*
 * ts_jwt.c: HS* token minting for tests (ts_jwt.h).
 */
#include "ts_jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
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

char *ts_jwt_hs(char *out, size_t cap, const char *alg, const char *secret, const char *header,
                const char *claims)
{
    size_t hl = strlen(header), cl = strlen(claims);
    if ((hl + cl + 2) / 3 * 4 + 8 + 4 * 64 / 3 + 8 > cap)
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
    const EVP_MD *md = strcmp(alg, "HS256") == 0   ? EVP_sha256()
                       : strcmp(alg, "HS384") == 0 ? EVP_sha384()
                       : strcmp(alg, "HS512") == 0 ? EVP_sha512()
                                                   : NULL;
    if (!md)
        return out;
    unsigned char sig[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(md, secret, (int)strlen(secret), (const unsigned char *)out, input_len, sig, &n))
        return NULL;
    ts_jwt_b64url(sig, n, p);
    return out;
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
