/*
 * edge_tls.c: checks of the certificate files and the chain (edge_tls.h). Each error names the
 * setting and the file, so an operator sees "tls_key: /etc/weft/key.pem: no private key" and
 * not an OpenSSL error code.
 */
#include "edge_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdbool.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* PEM passphrase callback: there is no one to ask, so an encrypted key fails to load. */
static int s_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Opens path for reading; NULL with "<what>: <path>: <errno text>" in err. */
static FILE *s_open(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        snprintf(err, errlen, "%s: %s: %s", what, path, strerror(errno));
    return f;
}

/* Reads every certificate of path into a new stack; NULL with the reason in err. */
static STACK_OF(X509) * s_read_certs(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = s_open(what, path, err, errlen);
    if (!f)
        return NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x;
    while (certs && (x = PEM_read_X509(f, NULL, s_no_passphrase, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            break;
        }
    }
    fclose(f);
    /* The loop ends on end of file (expected) or on a bad block (reported below). */
    unsigned long e = ERR_peek_last_error();
    bool eof = ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    if (!certs || sk_X509_num(certs) == 0 || (e && !eof)) {
        snprintf(err, errlen, "%s: %s: %s", what, path,
                 !certs                    ? "out of memory"
                 : sk_X509_num(certs) == 0 ? "no PEM certificate in it"
                                           : "a certificate in it does not parse");
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    return certs;
}

int edge_tls_check(const char *cert, const char *key, const char *chain, char *err, size_t errlen)
{
    int rc = -1;
    EVP_PKEY *pkey = NULL;
    STACK_OF(X509) *certs = s_read_certs("tls_cert", cert, err, errlen);
    if (!certs)
        return -1;
    FILE *f = s_open("tls_key", key, err, errlen);
    if (!f)
        goto done;
    pkey = PEM_read_PrivateKey(f, NULL, s_no_passphrase, NULL);
    fclose(f);
    ERR_clear_error();
    if (!pkey) {
        snprintf(err, errlen,
                 "tls_key: %s: no PEM private key in it (or one with a passphrase, which the "
                 "edge cannot ask for)",
                 key);
        goto done;
    }
    if (X509_check_private_key(sk_X509_value(certs, 0), pkey) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls_key: %s does not match the certificate in tls_cert (%s)", key,
                 cert);
        goto done;
    }
    if (chain && chain[0]) {
        STACK_OF(X509) *extra = s_read_certs("tls_chain", chain, err, errlen);
        if (!extra)
            goto done;
        sk_X509_pop_free(extra, X509_free);
    }
    rc = 0;
done:
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int edge_tls_set_chain(void *ssl_ctx, const char *chain, char *err, size_t errlen)
{
    SSL_CTX *ctx = ssl_ctx;
    SSL_CTX_clear_extra_chain_certs(ctx);
    if (!chain || !chain[0])
        return 0;
    STACK_OF(X509) *certs = s_read_certs("tls_chain", chain, err, errlen);
    if (!certs)
        return -1;
    X509 *x;
    while ((x = sk_X509_shift(certs)) != NULL) {
        /* On success the context owns x. */
        if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
            X509_free(x);
            sk_X509_pop_free(certs, X509_free);
            SSL_CTX_clear_extra_chain_certs(ctx);
            ERR_clear_error();
            snprintf(err, errlen, "tls_chain: %s: OpenSSL refused a certificate", chain);
            return -1;
        }
    }
    sk_X509_free(certs);
    return 0;
}

int edge_tls_describe(const char *cert, char *buf, size_t len)
{
    STACK_OF(X509) *certs = s_read_certs("tls_cert", cert, buf, len);
    if (!certs)
        return -1;
    X509 *x = sk_X509_value(certs, 0);
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
    char until[64] = "?";
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem && ASN1_TIME_print(mem, X509_get0_notAfter(x)) == 1) {
        int n = BIO_read(mem, until, (int)sizeof until - 1);
        until[n > 0 ? n : 0] = '\0';
    }
    BIO_free(mem);
    ERR_clear_error();
    snprintf(buf, len, "%s, %d in chain, expires %s", subject, sk_X509_num(certs), until);
    sk_X509_pop_free(certs, X509_free);
    return 0;
}
