/*
 * wire_curve.c: reading CURVE keys (Z85 text or zcert files) and making a socket a CURVE client.
 */
#include "wire_curve.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

/* True when s is NULL or empty: the setting is unset. */
static bool s_unset(const char *s)
{
    return !s || !*s;
}

/* True when text is exactly 40 characters of valid Z85. */
bool wire_curve_z85_valid(const char *text)
{
    uint8_t bin[32];
    return text && strlen(text) == WIRE_CURVE_Z85_LEN && zmq_z85_decode(bin, text) != NULL;
}

/* Loads a zcert file, saying why in err when it cannot. Why the stat first: zcert_load gives
 * the same NULL for a missing file, an unreadable one and one that is not a certificate. */
static zcert_t *s_load(const char *path, struct stat *st, char *err, size_t errlen)
{
    if (stat(path, st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    fclose(f);
    zcert_t *cert = zcert_load(path);
    if (!cert)
        snprintf(err, errlen, "%s: not a CURVE certificate (zcert format, as weft-keygen writes)",
                 path);
    return cert;
}

/* Public key from Z85 text or a certificate file. */
int wire_curve_public_key(const char *key_or_path, char out[WIRE_CURVE_Z85_LEN + 1], char *err,
                          size_t errlen)
{
    if (s_unset(key_or_path)) {
        snprintf(err, errlen, "no key given");
        return -1;
    }
    if (wire_curve_z85_valid(key_or_path)) {
        memcpy(out, key_or_path, WIRE_CURVE_Z85_LEN + 1);
        return 0;
    }
    if (strlen(key_or_path) == WIRE_CURVE_Z85_LEN && !strchr(key_or_path, '/')) {
        snprintf(err, errlen, "'%s' is not a valid Z85 key", key_or_path);
        return -1;
    }
    struct stat st;
    zcert_t *cert = s_load(key_or_path, &st, err, errlen);
    if (!cert)
        return -1;
    snprintf(out, WIRE_CURVE_Z85_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

/* Both keys from a secret certificate file. */
int wire_curve_secret_cert(const char *path, char pub[WIRE_CURVE_Z85_LEN + 1],
                           char sec[WIRE_CURVE_Z85_LEN + 1], bool *loose, char *err, size_t errlen)
{
    if (s_unset(path)) {
        snprintf(err, errlen, "no certificate path given");
        return -1;
    }
    struct stat st;
    zcert_t *cert = s_load(path, &st, err, errlen);
    if (!cert)
        return -1;
    static const uint8_t zero[32];
    int rc = -1;
    if (memcmp(zcert_secret_key(cert), zero, sizeof zero) == 0)
        snprintf(err, errlen, "%s: holds no secret key (give the NAME_secret file)", path);
    else {
        snprintf(pub, WIRE_CURVE_Z85_LEN + 1, "%s", zcert_public_txt(cert));
        snprintf(sec, WIRE_CURVE_Z85_LEN + 1, "%s", zcert_secret_txt(cert));
        *loose = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
        rc = 0;
    }
    zcert_destroy(&cert);
    return rc;
}

/* A client's settings resolved into three keys. */
int wire_curve_client_keys(const char *server, const char *public_key, const char *secret_key,
                           const char *cert, wire_curve_keys_t *keys, char *err, size_t errlen)
{
    memset(keys, 0, sizeof *keys);
    bool pair = !s_unset(public_key) || !s_unset(secret_key);
    if (s_unset(server) && !pair && s_unset(cert))
        return 1;
    char why[512] = "";
    if (s_unset(server)) {
        snprintf(err, errlen, "server key: unset, but the client's own keys are set");
        return -1;
    }
    if (!pair && s_unset(cert)) {
        snprintf(err, errlen, "client keys: unset, but the server key is set");
        return -1;
    }
    if (pair && !s_unset(cert)) {
        snprintf(err, errlen, "client keys: give a certificate or a key pair, not both");
        return -1;
    }
    if (wire_curve_public_key(server, keys->server, why, sizeof why) < 0) {
        snprintf(err, errlen, "server key: %s", why);
        return -1;
    }
    if (!pair) {
        if (wire_curve_secret_cert(cert, keys->public_key, keys->secret_key, &keys->loose_mode, why,
                                   sizeof why) < 0) {
            snprintf(err, errlen, "client certificate: %s", why);
            return -1;
        }
        return 0;
    }
    if (!wire_curve_z85_valid(public_key) || !wire_curve_z85_valid(secret_key)) {
        snprintf(err, errlen, "client keys: public and secret key must both be 40 Z85 characters");
        return -1;
    }
    memcpy(keys->public_key, public_key, WIRE_CURVE_Z85_LEN + 1);
    memcpy(keys->secret_key, secret_key, WIRE_CURVE_Z85_LEN + 1);
    return 0;
}

/* Sets the three CURVE client options (as Z85 text, which ZeroMQ accepts with length 40). */
int wire_curve_client_apply(void *sock, const wire_curve_keys_t *keys)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, keys->server, WIRE_CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, keys->public_key, WIRE_CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys->secret_key, WIRE_CURVE_Z85_LEN) != 0)
        return -1;
    return 0;
}
