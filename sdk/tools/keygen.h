/*
 * keygen.h: writing one CURVE key pair in czmq's zcert format (weft-keygen's work, kept apart
 * from its main so a unit test runs it).
 *
 * keygen_write("DIR/NAME", ...) writes DIR/NAME, the public certificate (mode 0644, safe to
 * copy into a router's curve_clients_dir), and DIR/NAME_secret, holding both keys (mode 0600,
 * created with that mode, never readable by others even for a moment). It never overwrites:
 * when either file exists nothing is written. Metadata (name, and any key = value) goes into
 * both files' metadata section, where the router can later read publisher rights.
 */
#ifndef KEYGEN_H
#define KEYGEN_H

#include <stddef.h>

#define KEYGEN_META_MAX 32 /* metadata entries besides the name */

/* One metadata entry. */
typedef struct keygen_meta {
    const char *key;   /* [A-Za-z0-9_-]{1,64}, not "name" when name is given */
    const char *value; /* printable text */
} keygen_meta_t;

/*
 * Generates a key pair and writes base (public) and base_secret (secret). name: metadata "name"
 * (NULL: none). meta: n further entries. public_z85: 41 bytes, receives the public key. Returns
 * 0, or -1 with the reason in err (existing file, unwritable directory, bad metadata).
 */
int keygen_write(const char *base, const char *name, const keygen_meta_t *meta, size_t n,
                 char public_z85[41], char *err, size_t errlen);

/* Splits "k=v" into entry (pointing into text, whose '=' becomes NUL). Returns 0 or -1. */
int keygen_meta_parse(char *text, keygen_meta_t *entry);

#endif
