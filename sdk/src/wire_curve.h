/*
 * wire_curve.h: CURVE keys for the ZeroMQ links, read the same way by every component.
 *
 * Keys travel as Z85 text (40 characters for 32 bytes) or live in certificate files in czmq's
 * zcert format (a public file NAME, safe to copy, and a secret file NAME_secret holding both
 * keys, mode 0600), which is what weft-keygen writes and what the router's allowlist directory
 * holds. The router is the CURVE server; publishers (libweft), edges and tools are clients. This
 * module resolves a client's settings (the server's public key as Z85 text or a certificate
 * path, the client's own pair as Z85 text or a secret certificate path) into three Z85 keys and
 * applies them to a socket. It owns no socket and keeps no state; part of the weft_wire object
 * library, so libweft, the router, the edge and the tools read keys with one piece of code.
 */
#ifndef WIRE_CURVE_H
#define WIRE_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#define WIRE_CURVE_Z85_LEN 40 /* Z85 text of a 32-byte key */

/* One client's keys, NUL-terminated Z85 text. */
typedef struct wire_curve_keys {
    char server[WIRE_CURVE_Z85_LEN + 1];     /* the router's public key */
    char public_key[WIRE_CURVE_Z85_LEN + 1]; /* this client's public key */
    char secret_key[WIRE_CURVE_Z85_LEN + 1]; /* this client's secret key */
    bool loose_mode; /* the secret certificate file is readable or writable by group/others */
} wire_curve_keys_t;

/* True when text is exactly 40 characters of valid Z85. */
bool wire_curve_z85_valid(const char *text);

/* Reads a public key given as 40 Z85 characters or as the path of a certificate file (public or
 * secret; only its public key is used) into out. Returns 0, or -1 with the reason in err. */
int wire_curve_public_key(const char *key_or_path, char out[WIRE_CURVE_Z85_LEN + 1], char *err,
                          size_t errlen);

/* Reads a secret certificate file (zcert format) into pub and sec. *loose is set when the file
 * is readable or writable by group or others (the caller warns). Returns 0, or -1 with the
 * reason in err (missing, unreadable, not a certificate, no secret key in it). */
int wire_curve_secret_cert(const char *path, char pub[WIRE_CURVE_Z85_LEN + 1],
                           char sec[WIRE_CURVE_Z85_LEN + 1], bool *loose, char *err, size_t errlen);

/*
 * Resolves a client's settings into keys. server: Z85 text or a certificate path. The client's
 * pair comes either from public_key and secret_key (Z85 text, both) or from cert (a secret
 * certificate path), never both. NULL and "" mean unset. Returns 1 when nothing is set (no
 * CURVE), 0 with keys filled, or -1 with "what: why" in err when only part is set or a key is
 * bad.
 */
int wire_curve_client_keys(const char *server, const char *public_key, const char *secret_key,
                           const char *cert, wire_curve_keys_t *keys, char *err, size_t errlen);

/* Makes sock (not yet connected) a CURVE client with keys. Returns 0, or -1 (errno set by
 * ZeroMQ). */
int wire_curve_client_apply(void *sock, const wire_curve_keys_t *keys);

#endif
