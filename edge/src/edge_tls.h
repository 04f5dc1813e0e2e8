/*
 * edge_tls.h: the edge's certificate files (docs/configuration.md "TLS").
 *
 * lws loads the certificate and key itself (ssl_cert_filepath, ssl_private_key_filepath) and
 * reloads them with lws_tls_cert_updated(), but it reports a bad file only to its log, and on
 * a reload not at all. So the edge checks the files first, here, with OpenSSL: at start (a bad
 * file refuses to start, "tls_key: ...") and before each reload on SIGHUP (a bad file keeps the
 * certificate in use). The optional chain file (intermediate certificates sent after the
 * leaf) is not something lws loads: edge_tls_set_chain() adds it to lws's SSL_CTX.
 *
 * Pure OpenSSL, no lws. Not thread-safe (OpenSSL's error queue of the calling thread).
 */
#ifndef EDGE_TLS_H
#define EDGE_TLS_H

#include <stddef.h>

/*
 * Checks that cert is a PEM file of one or more certificates, key a PEM private key without a
 * passphrase that matches the first of them, and chain (NULL or "" = none) a PEM file of one or
 * more certificates. Returns 0, or -1 with "tls_<key>: what is wrong" in err.
 */
int edge_tls_check(const char *cert, const char *key, const char *chain, char *err, size_t errlen);

/*
 * Replaces the extra chain certificates of ssl_ctx (an OpenSSL SSL_CTX *, given as void * so
 * that this header needs no OpenSSL) with those of chain (NULL or "" = none). Returns 0, or -1
 * with "tls_chain: what is wrong" in err (the context then has no extra chain).
 */
int edge_tls_set_chain(void *ssl_ctx, const char *chain, char *err, size_t errlen);

/* Writes "subject, expires <date>" of cert's first certificate into buf (for the log).
 * Returns 0, or -1 (buf then says why). */
int edge_tls_describe(const char *cert, char *buf, size_t len);

#endif
