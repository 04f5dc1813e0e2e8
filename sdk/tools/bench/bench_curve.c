/*
 * bench_curve.c: key pairs and daemon flags for weft-bench --curve (see bench_curve.h).
 */
#include "bench_curve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keygen.h"

#define BENCH_CURVE_PATH 512  /* a path in the key directory */
#define BENCH_CURVE_ARGS 8192 /* the composed flags */

struct bench_curve {
    char dir[BENCH_CURVE_PATH];         /* the private key directory (removed at the end) */
    char router_args[BENCH_CURVE_ARGS]; /* user's router flags + CURVE ones */
    char edge_args[BENCH_CURVE_ARGS];   /* user's edge flags + CURVE ones */
    wire_curve_keys_t keys;             /* the publisher's client keys */
};

/* Writes DIR/name and DIR/name_secret; lists the public file in the allowlist when listed. */
static int s_pair(bench_curve_t *self, const char *name, bool listed, base_log_t *log)
{
    char base[BENCH_CURVE_PATH + 64], pub[41], err[600];
    snprintf(base, sizeof base, "%s/%s", self->dir, name);
    if (keygen_write(base, name, NULL, 0, pub, err, sizeof err) < 0) {
        base_log(log, WEFT_LOG_ERROR, "--curve: %s", err);
        return -1;
    }
    if (!listed)
        return 0;
    /* The allowlist holds the public file only (a hard link: same directory tree). */
    char listed_path[BENCH_CURVE_PATH + 64];
    snprintf(listed_path, sizeof listed_path, "%s/clients/%s", self->dir, name);
    if (link(base, listed_path) != 0) {
        base_log(log, WEFT_LOG_ERROR, "--curve: cannot list %s", name);
        return -1;
    }
    return 0;
}

/* Generates the keys and composes the flags; see bench_curve.h. */
bench_curve_t *bench_curve_new(const char *router_args, const char *edge_args, base_log_t *log)
{
    bench_curve_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(self->dir, sizeof self->dir, "%s/weft-bench-curve.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char clients[BENCH_CURVE_PATH + 16];
    if (!mkdtemp(self->dir)) {
        base_log(log, WEFT_LOG_ERROR, "--curve: cannot create a key directory");
        self->dir[0] = '\0';
        goto err;
    }
    snprintf(clients, sizeof clients, "%s/clients", self->dir);
    if (mkdir(clients, 0700) != 0 || s_pair(self, "router", false, log) < 0 ||
        s_pair(self, "edge", true, log) < 0 || s_pair(self, "bench", true, log) < 0)
        goto err;
    snprintf(self->router_args, sizeof self->router_args,
             "%s --curve_secret_key %s/router_secret --curve_clients_dir %s",
             router_args ? router_args : "", self->dir, clients);
    snprintf(self->edge_args, sizeof self->edge_args,
             "%s --router_public_key %s/router --curve_secret_key %s/edge_secret",
             edge_args ? edge_args : "", self->dir, self->dir);
    char server[BENCH_CURVE_PATH + 16], cert[BENCH_CURVE_PATH + 16], err[600];
    snprintf(server, sizeof server, "%s/router", self->dir);
    snprintf(cert, sizeof cert, "%s/bench_secret", self->dir);
    if (wire_curve_client_keys(server, NULL, NULL, cert, &self->keys, err, sizeof err) != 0) {
        base_log(log, WEFT_LOG_ERROR, "--curve: %s", err);
        goto err;
    }
    base_log(log, WEFT_LOG_INFO, "--curve: keys in %s", self->dir);
    return self;
err:
    bench_curve_destroy(&self);
    return NULL;
}

/* Removes the key directory. */
void bench_curve_destroy(bench_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_curve_t *self = *self_p;
    if (self->dir[0]) {
        static const char *const files[] = {"router",       "router_secret", "edge",
                                            "edge_secret",  "bench",         "bench_secret",
                                            "clients/edge", "clients/bench", "clients"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[BENCH_CURVE_PATH + 32];
            snprintf(path, sizeof path, "%s/%s", self->dir, files[i]);
            remove(path); /* best effort: a missing file is fine */
        }
        rmdir(self->dir);
    }
    explicit_bzero(&self->keys, sizeof self->keys);
    free(self);
    *self_p = NULL;
}

/* The router's extra flags. */
const char *bench_curve_router_args(const bench_curve_t *self)
{
    return self->router_args;
}

/* The edges' extra flags. */
const char *bench_curve_edge_args(const bench_curve_t *self)
{
    return self->edge_args;
}

/* The publisher's keys. */
const wire_curve_keys_t *bench_curve_keys(const bench_curve_t *self)
{
    return &self->keys;
}
