/*
 * rtr_curve.c: the router's CURVE server side: certificate, zauth allowlist, reload on change,
 * and refusals counted from the sockets' handshake monitors (see rtr_curve.h).
 */
#include "rtr_curve.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "base_limit.h"
#include "wire_curve.h"

/* libzmq 4.3 lists this option among its draft API but honours it in release builds. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define RTR_CURVE_SOCKETS 3       /* intake, fan-out, history */
#define RTR_CURVE_MON_HWM 100000  /* monitor events queued between ticks */
#define RTR_CURVE_MON_BATCH 10000 /* monitor events read per socket per tick */
#define RTR_CURVE_FNV_OFFSET 14695981039346656037ULL
#define RTR_CURVE_FNV_PRIME 1099511628211ULL

struct rtr_curve {
    base_log_t *log;                         /* borrowed logger (NULL: silent) */
    rtr_stats_t *stats;                      /* borrowed counters */
    void *ctx;                               /* czmq's context (czmq owns it) */
    zactor_t *auth;                          /* the zauth actor answering ZAP requests */
    char *clients_dir;                       /* the allowlist directory */
    uint64_t dir_sig;                        /* fingerprint of clients_dir when last loaded */
    char public_key[WIRE_CURVE_Z85_LEN + 1]; /* the router's public key */
    char secret_key[WIRE_CURVE_Z85_LEN + 1]; /* the router's secret key */
    void *mon[RTR_CURVE_SOCKETS];            /* PAIR sockets reading each server's monitor */
    char mon_name[RTR_CURVE_SOCKETS][16];    /* the socket each monitor watches */
    int nmon;                                /* monitors in use */
    base_limit_t deny_limit[RTR_CURVE_DENY__COUNT]; /* one log limiter per refusal reason */
};

/* Folds bytes into an FNV-1a hash. */
static uint64_t s_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * RTR_CURVE_FNV_PRIME;
    return h;
}

/* A fingerprint of the directory's entries (name, inode, size, mtime in ns), order-independent
 * (entries are summed), so any added, removed or rewritten file changes it. 0: unreadable. */
static uint64_t s_dir_sig(const char *path, size_t *files)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    uint64_t sum = 1;
    *files = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char file[4096];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, de->d_name);
        if (stat(file, &st) != 0)
            continue;
        uint64_t h = s_fnv(RTR_CURVE_FNV_OFFSET, de->d_name, strlen(de->d_name));
        int64_t fields[4] = {(int64_t)st.st_ino, (int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                             (int64_t)st.st_mtim.tv_nsec};
        sum += s_fnv(h, fields, sizeof fields);
        (*files)++;
    }
    closedir(dir);
    return sum;
}

/* Points zauth at the allowlist directory; the CURVE command rebuilds its certificate store. */
static int s_load_allowlist(rtr_curve_t *self)
{
    size_t files = 0;
    self->dir_sig = s_dir_sig(self->clients_dir, &files);
    if (zstr_sendx(self->auth, "CURVE", self->clients_dir, NULL) != 0 ||
        zsock_wait(self->auth) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "curve: cannot configure zauth");
        return -1;
    }
    base_log(self->log, WEFT_LOG_NOTICE, "curve: allowlist %s loaded (%zu file(s))",
             self->clients_dir, files);
    return 0;
}

/* Loads the router's own certificate; logs why not. */
static int s_load_cert(rtr_curve_t *self, const char *secret_path)
{
    char err[512];
    bool loose = false;
    if (wire_curve_secret_cert(secret_path, self->public_key, self->secret_key, &loose, err,
                               sizeof err) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "curve_secret_key: %s", err);
        return -1;
    }
    if (loose)
        base_log(self->log, WEFT_LOG_WARN,
                 "curve_secret_key: %s is readable or writable by group or others (chmod 600 it)",
                 secret_path);
    return 0;
}

/* Builds the server side; see rtr_curve.h. */
rtr_curve_t *rtr_curve_new(const char *secret_path, const char *clients_dir, int io_threads,
                           rtr_stats_t *stats, base_log_t *log)
{
    rtr_curve_t *self = calloc(1, sizeof *self);
    if (!self) {
        base_log(log, WEFT_LOG_ERROR, "out of memory setting up CURVE");
        return NULL;
    }
    self->log = log;
    self->stats = stats;
    if (s_load_cert(self, secret_path) < 0)
        goto err;
    struct stat st;
    if (!clients_dir || !*clients_dir) {
        base_log(log, WEFT_LOG_ERROR,
                 "curve_clients_dir: required with curve_secret_key (the allowlist of client "
                 "public certificates)");
        goto err;
    }
    if (stat(clients_dir, &st) != 0) {
        base_log(log, WEFT_LOG_ERROR, "curve_clients_dir: %s: %s", clients_dir, strerror(errno));
        goto err;
    }
    if (!S_ISDIR(st.st_mode)) {
        base_log(log, WEFT_LOG_ERROR, "curve_clients_dir: %s: not a directory", clients_dir);
        goto err;
    }
    self->clients_dir = strdup(clients_dir);
    if (!self->clients_dir)
        goto err;
    /* The daemon owns its signals (a signalfd in main.c): czmq must not install handlers. */
    zsys_handler_set(NULL);
    zsys_set_io_threads((size_t)io_threads);
    self->ctx = zsys_init();
    if (!self->ctx) {
        base_log(log, WEFT_LOG_ERROR, "curve: cannot start czmq");
        goto err;
    }
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        base_log(log, WEFT_LOG_ERROR, "curve: cannot start zauth (another ZAP handler running?)");
        goto err;
    }
    if (s_load_allowlist(self) < 0)
        goto err;
    base_log(log, WEFT_LOG_NOTICE, "curve: on, router public key %s", self->public_key);
    return self;
err:
    rtr_curve_destroy(&self);
    return NULL;
}

/* Stops zauth and closes the monitors. */
void rtr_curve_destroy(rtr_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_curve_t *self = *self_p;
    for (int i = 0; i < self->nmon; i++)
        zmq_close(self->mon[i]);
    zactor_destroy(&self->auth);
    free(self->clients_dir);
    /* The secret key is not left in freed memory. */
    explicit_bzero(self->secret_key, sizeof self->secret_key);
    free(self);
    *self_p = NULL;
}

/* czmq's context. */
void *rtr_curve_context(const rtr_curve_t *self)
{
    return self->ctx;
}

/* The router's public key. */
const char *rtr_curve_public_key(const rtr_curve_t *self)
{
    return self->public_key;
}

/* Starts a handshake monitor on sock and connects a PAIR to read it. */
static int s_monitor(rtr_curve_t *self, void *sock, const char *name)
{
    if (self->nmon == RTR_CURVE_SOCKETS) {
        base_log(self->log, WEFT_LOG_ERROR, "curve: more than %d server sockets",
                 RTR_CURVE_SOCKETS);
        return -1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://weft-curve-monitor-%s", name);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    void *mon = zmq_socket(self->ctx, ZMQ_PAIR);
    int zero = 0, hwm = RTR_CURVE_MON_HWM;
    if (!mon || zmq_socket_monitor(sock, ep, events) != 0 ||
        zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(mon, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 || zmq_connect(mon, ep) != 0) {
        base_log(self->log, WEFT_LOG_ERROR, "curve: cannot monitor %s: %s", name,
                 zmq_strerror(errno));
        if (mon)
            zmq_close(mon);
        return -1;
    }
    self->mon[self->nmon] = mon;
    snprintf(self->mon_name[self->nmon], sizeof self->mon_name[0], "%s", name);
    self->nmon++;
    return 0;
}

/* Makes sock a CURVE server with an enforced ZAP domain; see rtr_curve.h. */
int rtr_curve_serve(rtr_curve_t *self, void *sock, const char *name)
{
    int one = 1;
    char domain[32];
    snprintf(domain, sizeof domain, "weft-%s", name);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->secret_key, WIRE_CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0) {
        base_log(self->log, WEFT_LOG_ERROR, "curve: cannot make %s a CURVE server: %s", name,
                 zmq_strerror(errno));
        return -1;
    }
    return s_monitor(self, sock, name);
}

/* The refusal reason of a failed handshake event. */
static rtr_curve_deny_t s_reason(uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return RTR_CURVE_DENY_KEY;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return RTR_CURVE_DENY_MECHANISM;
    return RTR_CURVE_DENY_HANDSHAKE;
}

/* Counts and logs one handshake event of socket i. */
static void s_event(rtr_curve_t *self, int i, uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        self->stats->curve_accepted++;
        return;
    }
    rtr_curve_deny_t reason = s_reason(event, value);
    self->stats->curve_denied++;
    self->stats->curve_denied_by[reason]++;
    static const char *const why[RTR_CURVE_DENY__COUNT] = {
        "client key not in curve_clients_dir",
        "peer does not use CURVE",
        "bad CURVE handshake (wrong router public key?)",
    };
    base_log_limited(self->log, &self->deny_limit[reason], WEFT_LOG_WARN,
                     "curve: refused a connection on %s (%s): %s (code %u)", self->mon_name[i],
                     rtr_curve_deny_name(reason), why[reason], value);
}

/* Reads up to RTR_CURVE_MON_BATCH queued events of monitor i. An event is two frames: 6 bytes
 * (u16 event, u32 value, host order) and the endpoint. */
static void s_drain_monitor(rtr_curve_t *self, int i)
{
    for (int n = 0; n < RTR_CURVE_MON_BATCH; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->mon[i], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        bool ok = zmq_msg_size(&msg) == 6;
        if (ok) {
            memcpy(&event, zmq_msg_data(&msg), 2);
            memcpy(&value, (const char *)zmq_msg_data(&msg) + 2, 4);
        }
        while (zmq_msg_more(&msg)) {
            zmq_msg_close(&msg);
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->mon[i], ZMQ_DONTWAIT) < 0)
                break;
        }
        zmq_msg_close(&msg);
        if (ok)
            s_event(self, i, event, value);
    }
}

/* Drains the monitors and reloads the allowlist when its directory changed. */
void rtr_curve_tick(rtr_curve_t *self)
{
    for (int i = 0; i < self->nmon; i++)
        s_drain_monitor(self, i);
    size_t files = 0;
    uint64_t sig = s_dir_sig(self->clients_dir, &files);
    if (sig == self->dir_sig)
        return;
    if (s_load_allowlist(self) == 0)
        self->stats->curve_reloads++;
}
