/*
 * keygen.c: one CURVE key pair written as zcert files (see keygen.h).
 */
#include "keygen.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYGEN_PATH_MAX 4096
#define KEYGEN_META_KEY_MAX 64
#define KEYGEN_META_VALUE_MAX 1024

/* True when key is [A-Za-z0-9_-]{1,64}: a name ZPL (zcert's file format) stores as is. */
static bool s_key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > KEYGEN_META_KEY_MAX)
        return false;
    return strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

/* True when value is printable ASCII without a double quote (ZPL quotes values with it). */
static bool s_value_ok(const char *value)
{
    size_t len = strlen(value);
    if (len > KEYGEN_META_VALUE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (value[i] < 0x20 || value[i] > 0x7e || value[i] == '"')
            return false;
    return true;
}

/* Splits "k=v". */
int keygen_meta_parse(char *text, keygen_meta_t *entry)
{
    char *eq = strchr(text, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    entry->key = text;
    entry->value = eq + 1;
    return 0;
}

/* Checks the metadata; fills err on the first bad entry. */
static int s_check_meta(const char *name, const keygen_meta_t *meta, size_t n, char *err,
                        size_t errlen)
{
    if (name && !s_value_ok(name)) {
        snprintf(err, errlen, "--name: printable ASCII without '\"', at most %d characters",
                 KEYGEN_META_VALUE_MAX);
        return -1;
    }
    if (n > KEYGEN_META_MAX) {
        snprintf(err, errlen, "--meta: at most %d entries", KEYGEN_META_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s_key_ok(meta[i].key) || (name && strcmp(meta[i].key, "name") == 0)) {
            snprintf(err, errlen,
                     "--meta '%s': the key must match [A-Za-z0-9_-]{1,64} (and not "
                     "be 'name' with --name)",
                     meta[i].key);
            return -1;
        }
        if (!s_value_ok(meta[i].value)) {
            snprintf(err, errlen, "--meta %s: the value must be printable ASCII without '\"'",
                     meta[i].key);
            return -1;
        }
    }
    return 0;
}

/* Creates path exclusively with mode; the EEXIST case gets its own message. */
static int s_create(const char *path, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EEXIST ? "already exists (not overwritten; remove it first)"
                                 : strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* Generates and writes the pair; see keygen.h. */
int keygen_write(const char *base, const char *name, const keygen_meta_t *meta, size_t n,
                 char public_z85[41], char *err, size_t errlen)
{
    char secret[KEYGEN_PATH_MAX];
    if (!base || !*base ||
        snprintf(secret, sizeof secret, "%s_secret", base) >= (int)sizeof secret) {
        snprintf(err, errlen, "no usable output path");
        return -1;
    }
    if (s_check_meta(name, meta, n, err, errlen) < 0)
        return -1;
    /* Both files are created before anything is written: an existing one stops us before we
     * touch either, and the secret one exists with mode 0600 from its first moment. */
    if (s_create(secret, 0600, err, errlen) < 0)
        return -1;
    if (s_create(base, 0644, err, errlen) < 0) {
        unlink(secret);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot generate a key pair");
        goto err;
    }
    if (name)
        zcert_set_meta(cert, "name", "%s", name);
    for (size_t i = 0; i < n; i++)
        zcert_set_meta(cert, meta[i].key, "%s", meta[i].value);
    /* zconfig_save opens with fopen("w"): the files keep the modes they were created with, set
     * again below in case a umask narrowed the public one. */
    if (zcert_save_secret(cert, secret) != 0 || zcert_save_public(cert, base) != 0 ||
        chmod(secret, 0600) != 0 || chmod(base, 0644) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", base, strerror(errno));
        goto err;
    }
    snprintf(public_z85, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
err:
    zcert_destroy(&cert);
    unlink(secret);
    unlink(base);
    return -1;
}
