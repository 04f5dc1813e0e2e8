/*
 * bench_zsub.c: router-only counting subscriber (see bench_zsub.h).
 */
#include "bench_zsub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "base_clock.h"
#include "bench_acct.h"
#include "wire_envelope.h"

#define DRAIN_BUDGET 4096 /* messages per pass before the control block is looked at again */
#define POLL_MS 10        /* how often the control block is read when idle */

/* Maps a topic frame to the bench room index; -1 when it is not one of ours. */
static long s_room_of(const bench_zsub_conf_t *conf, const zmq_msg_t *topic)
{
    const char *room;
    size_t len;
    if (wire_topic_room(zmq_msg_data((zmq_msg_t *)topic), zmq_msg_size((zmq_msg_t *)topic), &room,
                        &len) != WIRE_OK)
        return -1;
    size_t plen = strlen(conf->prefix);
    if (len <= plen || memcmp(room, conf->prefix, plen) != 0)
        return -1;
    size_t idx = 0;
    for (size_t i = plen; i < len; i++) {
        if (room[i] < '0' || room[i] > '9')
            return -1;
        idx = idx * 10 + (size_t)(room[i] - '0');
        if (idx >= conf->nrooms)
            return -1;
    }
    return (long)idx;
}

/* Receives one three-frame message and accounts it. Returns 1 when a message was read, 0 when
 * none was waiting, -1 on a socket error. */
static int s_recv_one(const bench_zsub_conf_t *conf, void *sub, bench_acct_t *acct)
{
    zmq_msg_t parts[3];
    int n = 0, more = 1;
    int rc = 0;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *m = n < 3 ? &parts[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sub, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            rc = (n == 0 && errno == EAGAIN) ? 0 : -1;
            break;
        }
        more = zmq_msg_more(m);
        if (n >= 3)
            zmq_msg_close(m);
        n++;
        rc = 1;
    }
    bench_result_t *res = bench_acct_result(acct);
    if (rc == 1) {
        uint64_t now = base_clock_wall_ns();
        wire_header_t h;
        long room = n == 3 ? s_room_of(conf, &parts[0]) : -1;
        if (n != 3 ||
            wire_header_decode(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), &h) != WIRE_OK) {
            res->bad_frames++;
        } else if (h.kind != WIRE_KIND_EVENT) {
            /* The router's room heads (kind 3, once a second per recently active room) carry
             * the room's last seq: not an event, and counting one would be a duplicate. */
        } else if (room < 0) {
            res->stray++;
        } else {
            bench_acct_frame(acct, false, now);
            res->bytes +=
                zmq_msg_size(&parts[0]) + zmq_msg_size(&parts[1]) + zmq_msg_size(&parts[2]);
            bench_acct_event(acct, (size_t)room, h.epoch, h.seq, h.ts_ns, now,
                             (h.flags & WIRE_FLAG_CRITICAL) != 0);
        }
    }
    for (int i = 0; i < n && i < 3; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

/* Records a fatal error in the worker's slot. */
static int s_fatal(bench_ctl_t *ctl, int worker, const char *what)
{
    snprintf(ctl->workers[worker].error, sizeof ctl->workers[worker].error, "%s: %s", what,
             zmq_strerror(errno));
    atomic_store(&ctl->workers[worker].fatal, 1);
    return -1;
}

int bench_zsub_run(const bench_zsub_conf_t *conf, bench_ctl_t *ctl, base_log_t *log)
{
    uint32_t *stream_room = malloc((conf->nrooms ? conf->nrooms : 1) * sizeof *stream_room);
    if (!stream_room)
        return -1;
    for (size_t i = 0; i < conf->nrooms; i++)
        stream_room[i] = (uint32_t)i;
    bench_acct_t *acct = bench_acct_new(ctl, conf->worker, conf->nrooms, stream_room);
    free(stream_room);
    void *ctx = zmq_ctx_new();
    void *sub = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    int rc = -1;
    if (!acct || !sub) {
        s_fatal(ctl, conf->worker, "cannot create the SUB socket");
        goto done;
    }
    int zero = 0;
    /* No local limit: drops must come from the router's fan-out HWM, which is what is measured. */
    if (zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) != 0) {
        s_fatal(ctl, conf->worker, "cannot set the SUB socket's options");
        goto done;
    }
    if (zmq_connect(sub, conf->fanout) != 0) {
        s_fatal(ctl, conf->worker, "cannot connect to the fan-out");
        goto done;
    }
    if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, conf->prefix, strlen(conf->prefix)) != 0) {
        s_fatal(ctl, conf->worker, "cannot subscribe");
        goto done;
    }
    base_log(log, WEFT_LOG_INFO, "router-only subscriber on %s", conf->fanout);
    bench_worker_slot_t *slot = &ctl->workers[conf->worker];
    int round = 0;
    while (atomic_load_explicit(&ctl->phase, memory_order_acquire) != BENCH_PHASE_EXIT) {
        int want = atomic_load_explicit(&ctl->connect_round, memory_order_acquire);
        if (want != round) {
            /* One subscription covers every room: all streams are "subscribed" at once. */
            round = want;
            for (size_t i = 0; i < conf->nrooms; i++)
                bench_acct_alive(acct, i);
            atomic_store(&slot->open, conf->nrooms);
            atomic_store(&slot->failed, 0);
        }
        zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, POLL_MS) < 0 && errno != EINTR) {
            s_fatal(ctl, conf->worker, "zmq_poll");
            goto done;
        }
        for (int k = 0; k < DRAIN_BUDGET; k++) {
            int got = s_recv_one(conf, sub, acct);
            if (got < 0 && errno != EINTR) {
                s_fatal(ctl, conf->worker, "zmq_msg_recv");
                goto done;
            }
            if (got <= 0)
                break;
        }
        bench_acct_tick(acct);
        atomic_store_explicit(&slot->connect_round, round, memory_order_release);
    }
    rc = 0;
done:
    if (sub)
        zmq_close(sub);
    if (ctx)
        zmq_ctx_term(ctx);
    bench_acct_destroy(&acct);
    return rc;
}
