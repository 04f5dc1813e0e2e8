/*
 * sdk_opts.c: the publisher's options (see sdk_opts.h). weft_pub_opts_init_sized(), the public
 * entry point for the defaults, lives here with them.
 */
#include "sdk_opts.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sdk_log.h"
#include "wire_envelope.h"

#define S_HEARTBEAT_MIN_MS 10                /* smallest heartbeat_ms accepted */
#define S_PAYLOAD_LIMIT (256u * 1024 * 1024) /* largest max_payload accepted */

/* The options weft.h documents as defaults. */
static const weft_pub_opts_t s_opts_default = {
    .publisher_id = NULL,
    .max_buffered = 10000,
    .max_buffered_bytes = 16u * 1024 * 1024,
    .block_ms = 0,
    .heartbeat_ms = 1000,
    .linger_ms = 2000,
    .max_payload = WEFT_PAYLOAD_DEFAULT_MAX,
};

void sdk_opts_default_id(char *buf, size_t size)
{
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "agent");
    host[sizeof host - 1] = '\0';
    char pid[24];
    int pid_len = snprintf(pid, sizeof pid, "-%ld", (long)getpid());
    /* Truncate the hostname, not the pid: the pid is what tells two agents on a host apart. */
    size_t host_max = size - 1 - (size_t)pid_len;
    snprintf(buf, size, "%.*s%s", (int)host_max, host, pid);
    for (char *p = buf; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            *p = '_';
    }
}

void sdk_opts_copy_out(void *theirs, size_t size, const void *ours, size_t ours_size)
{
    size_t n = size < ours_size ? size : ours_size;
    memcpy(theirs, ours, n);
    if (size > n)
        memset((unsigned char *)theirs + n, 0, size - n);
}

/* True when the `len` bytes at p are all zero. */
static bool s_all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

/* Fills the caller's options, of its compiled size, with the defaults documented in weft.h. */
int weft_pub_opts_init_sized(weft_pub_opts_t *opts, size_t size)
{
    if (!opts || size < SDK_OPTS_V0_SIZE)
        return WEFT_EINVAL;
    sdk_opts_copy_out(opts, size, &s_opts_default, sizeof s_opts_default);
    return 0;
}

int sdk_opts_read(weft_pub_opts_t *o, const weft_pub_opts_t *opts, size_t size)
{
    *o = s_opts_default;
    if (!opts)
        return 0;
    if (size < SDK_OPTS_V0_SIZE) {
        sdk_log(WEFT_LOG_ERROR,
                "weft_pub_new: options of %zu bytes, fewer than the %zu of weft.h v0", size,
                (size_t)SDK_OPTS_V0_SIZE);
        return -1;
    }
    if (size > sizeof *o &&
        !s_all_zero((const unsigned char *)opts + sizeof *o, size - sizeof *o)) {
        sdk_log(WEFT_LOG_ERROR,
                "weft_pub_new: the options set fields beyond the %zu bytes libweft %s knows",
                sizeof *o, WEFT_VERSION_STRING);
        return -1;
    }
    memcpy(o, opts, size < sizeof *o ? size : sizeof *o);
    return 0;
}

int sdk_opts_check(const weft_pub_opts_t *o)
{
    if (o->publisher_id && !wire_pubid_valid(o->publisher_id, strlen(o->publisher_id))) {
        sdk_log(WEFT_LOG_ERROR,
                "weft_pub_new: invalid publisher_id '%s': must match [A-Za-z0-9_.:-]{1,64}",
                o->publisher_id);
        return -1;
    }
    if (o->max_buffered == 0 || o->max_buffered_bytes == 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: max_buffered and max_buffered_bytes must be > 0");
        return -1;
    }
    if (o->block_ms < 0 || o->linger_ms < 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: block_ms and linger_ms must be >= 0");
        return -1;
    }
    if (o->heartbeat_ms < S_HEARTBEAT_MIN_MS) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: heartbeat_ms must be >= %d", S_HEARTBEAT_MIN_MS);
        return -1;
    }
    if (o->max_payload < 2 || o->max_payload > S_PAYLOAD_LIMIT) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: max_payload must be in [2, %u]",
                (unsigned)S_PAYLOAD_LIMIT);
        return -1;
    }
    return 0;
}
