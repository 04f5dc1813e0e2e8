/*
 * edge_session.c: the client protocol of one connection (edge_session.h): set-up and welcome,
 * the op dispatch of its messages, its authentication timer, and its end.
 *
 * Client limits: each connection has a token bucket (edge_bucket.h) checked before a message is
 * even parsed, and a cap on its subscriptions.
 *
 * Authentication (edge_auth.h): an identity verified at the upgrade comes in through
 * edge_session_open(); without one the connection must send {"op":"auth"} first. Each
 * connection has one timer (the arm hook) for its auth deadline or its token's expiry, so
 * nothing is checked per event; a subscribe is checked against the identity's rules
 * (edge_perm.h) once. Anonymous connections (no token mode) use the same timer for their idle
 * deadline instead: a first valid op within idle_timeout_ms, or close 4002.
 */
#include "edge_session.h"

#include <stdlib.h>
#include <string.h>

#include "base_clock.h"
#include "edge_frame.h"
#include "edge_proto.h"

struct edge_session {
    const edge_config_t *conf;  /* borrowed */
    base_log_t *log;            /* borrowed */
    edge_writer_t *writer;      /* borrowed */
    edge_pipeline_t *pipe;      /* borrowed */
    edge_auth_t *auth;          /* borrowed */
    edge_stats_t *stats;        /* borrowed */
    edge_session_arm_fn *arm;   /* the connection's timer */
    int64_t (*now)(void);       /* monotonic microseconds */
    int64_t (*wall)(void);      /* wall-clock microseconds */
    edge_frame_t *welcome;      /* the welcome frame, shared by clients without an identity yet */
    edge_frame_t *rate_limited; /* the rate_limited error, shared likewise */
    base_limit_t client_limit;  /* logs about misbehaving clients */
    base_limit_t auth_limit;    /* logs about refused tokens and rooms */
    base_limit_t error_limit;   /* logs about error frames sent */
    base_limit_t close_limit;   /* logs about closes */
};

/* The monotonic clock in microseconds (lws_now_usecs() reads the same clock). */
static int64_t s_mono_us(void)
{
    return (int64_t)base_clock_us();
}

/* The wall clock in microseconds (token times are wall-clock seconds). */
static int64_t s_now_us(void)
{
    return (int64_t)(base_clock_wall_ns() / 1000);
}

edge_session_t *edge_session_new(const edge_session_opts_t *opts)
{
    edge_session_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const edge_config_t *conf = opts->conf;
    self->conf = conf;
    self->log = opts->log;
    self->writer = opts->writer;
    self->pipe = opts->pipe;
    self->auth = opts->auth;
    self->stats = opts->stats;
    self->arm = opts->arm;
    self->now = opts->now ? opts->now : s_mono_us;
    self->wall = opts->wall ? opts->wall : s_now_us;
    self->welcome = edge_proto_welcome(conf->edge_id, conf->max_message,
                                       edge_auth_tokens(self->auth) ? "required" : "none", NULL, 0);
    edge_req_t limited;
    memset(&limited, 0, sizeof limited);
    edge_req_fail(&limited, EDGE_ERR_RATE_LIMITED,
                  "over %d messages a minute (burst %d): message ignored", conf->rate_limit_per_min,
                  conf->rate_limit_burst);
    self->rate_limited = edge_proto_error(&limited);
    if (!self->welcome || !self->rate_limited)
        edge_session_destroy(&self);
    return self;
}

void edge_session_destroy(edge_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_session_t *self = *self_p;
    edge_frame_unref(&self->welcome);
    edge_frame_unref(&self->rate_limited);
    free(self);
    *self_p = NULL;
}

void edge_session_close(edge_session_t *self, edge_conn_t *conn, edge_close_t kind,
                        const char *reason)
{
    base_log_limited(self->log, &self->close_limit, WEFT_LOG_INFO, "closing a connection: %d %s",
                     edge_close_code(kind), reason);
    edge_writer_close(self->writer, &conn->client.out, kind, reason);
}

void edge_session_lws_closed(edge_session_t *self, edge_conn_t *conn, const unsigned char *reason,
                             size_t len)
{
    if (len < 2 || !edge_wconn_live(&conn->client.out))
        return;
    int code = reason[0] << 8 | reason[1];
    if (code == 1002)
        self->stats->closes[EDGE_CLOSE_PROTOCOL]++;
    else if (code == 1007)
        self->stats->closes[EDGE_CLOSE_BAD_UTF8]++;
    else
        self->stats->lws_closes_other++;
    base_log_limited(self->log, &self->client_limit, WEFT_LOG_INFO,
                     "lws closed a connection with %d (%s)", code,
                     code == 1002   ? "malformed frame"
                     : code == 1007 ? "invalid UTF-8 in a text frame"
                                    : "other");
}

const char *edge_session_refuse(edge_session_t *self, int reason)
{
    self->stats->auth_refused[reason]++;
    base_log_limited(self->log, &self->auth_limit, WEFT_LOG_INFO, "auth: refused (%s)",
                     edge_auth_refusal_name(reason));
    return edge_auth_refusal_text(reason);
}

/* Arms the connection's auth timer in delay_us; 0 arms nothing (see the arm hook in
 * edge_server.c: a timer is never cancelled). */
static void s_arm_auth(edge_session_t *self, edge_conn_t *conn, int64_t delay_us)
{
    if (delay_us > 0)
        self->arm(conn->client.out.transport, delay_us);
}

/* Sends the answer to req: its error, or its success reply (a subscribe's with the room's
 * position at this edge). */
static void s_answer(edge_session_t *self, edge_conn_t *conn, const edge_req_t *req)
{
    edge_frame_t *reply = NULL;
    if (req->err != EDGE_ERR_NONE) {
        self->stats->errors[req->err]++;
        base_log_limited(self->log, &self->error_limit, WEFT_LOG_INFO, "client error %s: %s",
                         edge_err_name(req->err), req->message);
        reply = edge_proto_error(req);
    } else {
        uint64_t epoch = 0, last = 0;
        bool has_pos = req->op == EDGE_OP_SUBSCRIBE &&
                       edge_pipeline_position(self->pipe, req->room, req->room_len, &epoch, &last);
        reply = edge_proto_reply_at(req, has_pos, epoch, last);
    }
    if (reply)
        edge_writer_send(self->writer, &conn->client.out, reply);
    else
        edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
    edge_frame_unref(&reply);
}

/* A subscribe (with or without since): allowed for the identity, joined, resumed. Returns true
 * when s_answer() answers it, false when it is answered otherwise (a resume's stream) or the
 * connection is closing. */
static bool s_subscribe(edge_session_t *self, edge_conn_t *conn, edge_req_t *req)
{
    if (!edge_auth_conn_allows(self->auth, &conn->auth, req->room, req->room_len)) {
        edge_session_refuse(self, EDGE_REFUSE_FORBIDDEN);
        edge_req_fail(req, EDGE_ERR_FORBIDDEN, "not allowed to read '%s'", req->room);
        return true;
    }
    edge_rooms_rc_t rc = edge_rooms_join_flags(conn->member, req->room, req->room_len,
                                               req->unbatched ? EDGE_ROOMS_F_UNBATCHED : 0);
    if (rc == EDGE_ROOMS_NOMEM) {
        edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        return false;
    }
    if (rc == EDGE_ROOMS_INVALID) /* parse already checked; keep the two in step */
        edge_req_fail(req, EDGE_ERR_INVALID_ROOM, "not a room or pattern");
    else if (rc == EDGE_ROOMS_LIMIT)
        edge_req_fail(req, EDGE_ERR_TOO_MANY_SUBSCRIPTIONS,
                      "at most %d rooms and patterns per connection",
                      self->conf->max_subscriptions);
    else if (req->has_since) {
        /* Joined first, so the live subscription is on its way before history is asked; the
         * resume's stream sends the answer. */
        void *id = edge_req_take_id(req);
        if (edge_pipeline_resume(self->pipe, &conn->client, req->room, req->room_len, &id,
                                 req->since_epoch, req->since_seq) < 0) {
            edge_proto_id_free(&id);
            edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        }
        return false;
    }
    return true;
}

/* The connection and session of an auth callback. */
typedef struct s_auth_ctx {
    edge_session_t *self;
    edge_conn_t *conn;
} s_auth_ctx_t;

/* edge_perm_autojoin() callback: joins one room as an ordinary subscribe would. */
static void s_autojoin_one(void *arg, const char *room, size_t len)
{
    s_auth_ctx_t *ctx = arg;
    if (!edge_wconn_live(&ctx->conn->client.out))
        return;
    edge_req_t req;
    memset(&req, 0, sizeof req);
    req.op = EDGE_OP_SUBSCRIBE;
    memcpy(req.room, room, len + 1);
    req.room_len = len;
    req.has_room = true;
    if (s_subscribe(ctx->self, ctx->conn, &req))
        s_answer(ctx->self, ctx->conn, &req);
}

/* edge_rooms_leave_if() callback after a refresh: leaves what the new token no longer allows,
 * telling the client. */
static bool s_drop_forbidden(void *arg, const char *name, size_t len)
{
    s_auth_ctx_t *ctx = arg;
    if (edge_auth_conn_allows(ctx->self->auth, &ctx->conn->auth, name, len))
        return false;
    edge_pipeline_unresume(ctx->self->pipe, &ctx->conn->client, name, len);
    edge_frame_t *frame = edge_proto_unsubscribed(name, len, "forbidden");
    if (frame)
        edge_writer_send(ctx->self->writer, &ctx->conn->client.out, frame);
    edge_frame_unref(&frame);
    return true;
}

/* Sends the answer of an accepted identity; on the first one joins the auto-join rooms, on a
 * refresh leaves the rooms no longer allowed. */
static void s_authenticated(edge_session_t *self, edge_conn_t *conn, edge_auth_rc_t rc,
                            const void *id)
{
    edge_frame_t *frame = edge_proto_authenticated(
        edge_perm_sub(edge_auth_conn_perm(self->auth, &conn->auth)), conn->auth.exp, id);
    if (!frame) {
        edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        return;
    }
    edge_writer_send(self->writer, &conn->client.out, frame);
    edge_frame_unref(&frame);
    s_auth_ctx_t ctx = {self, conn};
    if (rc == EDGE_AUTH_FIRST) {
        self->stats->auth_ok++;
        edge_auth_autojoin(self->auth, &conn->auth, s_autojoin_one, &ctx);
    } else {
        self->stats->auth_refreshes++;
        edge_rooms_leave_if(conn->member, s_drop_forbidden, &ctx);
    }
}

/* {"op":"auth"}: verifies the token and authenticates or refreshes the connection; a refusal
 * gets error unauthorized and close 4001 with the reason. */
static void s_on_auth(edge_session_t *self, edge_conn_t *conn, edge_req_t *req)
{
    int64_t now = self->wall();
    edge_auth_id_t id;
    int rc = edge_auth_verify(self->auth, req->token, req->token_len, now, &id);
    if (rc < 0) {
        edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        return;
    }
    const char *why;
    if (rc == EDGE_JWT_OK) {
        int64_t delay = 0;
        edge_auth_rc_t arc = edge_auth_conn_auth(self->auth, &conn->auth, &id, now, &delay);
        if (arc != EDGE_AUTH_SUB_CHANGED) {
            s_arm_auth(self, conn, delay);
            s_authenticated(self, conn, arc, req->id);
            return;
        }
        why = edge_session_refuse(self, EDGE_REFUSE_SUB_CHANGED);
    } else {
        why = edge_session_refuse(self, rc);
    }
    edge_req_fail(req, EDGE_ERR_UNAUTHORIZED, "%s", why);
    s_answer(self, conn, req);
    edge_writer_close_after(self->writer, &conn->client.out, EDGE_CLOSE_AUTH, why);
}

void edge_session_message(edge_session_t *self, edge_conn_t *conn, const char *text, size_t len)
{
    self->stats->msgs_in++;
    /* The limit comes first: a flood costs one bucket check per message, not a parse. */
    edge_bucket_rc_t limit = edge_bucket_take(&conn->bucket, self->now());
    if (limit != EDGE_BUCKET_OK) {
        self->stats->errors[EDGE_ERR_RATE_LIMITED]++;
        if (limit == EDGE_BUCKET_ABUSE) {
            base_log_limited(self->log, &self->client_limit, WEFT_LOG_INFO,
                             "closing a client that kept sending over its rate limit");
            edge_session_close(self, conn, EDGE_CLOSE_POLICY, "rate limit exceeded");
        } else {
            edge_writer_send(self->writer, &conn->client.out, self->rate_limited);
        }
        return;
    }
    edge_req_t req;
    bool answer = true;
    if (edge_proto_parse(text, len, &req) == 0 &&
        !edge_auth_conn_gate(&conn->auth, req.op == EDGE_OP_AUTH)) {
        edge_req_fail(&req, EDGE_ERR_AUTH_REQUIRED, "%s",
                      edge_session_refuse(self, EDGE_REFUSE_REQUIRED));
        s_answer(self, conn, &req);
        edge_writer_close_after(self->writer, &conn->client.out, EDGE_CLOSE_AUTH,
                                EDGE_AUTH_REQUIRED_TEXT);
        answer = false;
    } else if (req.err == EDGE_ERR_NONE) {
        switch (req.op) {
        case EDGE_OP_SUBSCRIBE:
            answer = s_subscribe(self, conn, &req);
            break;
        case EDGE_OP_UNSUBSCRIBE: {
            edge_pipeline_unresume(self->pipe, &conn->client, req.room, req.room_len);
            edge_rooms_rc_t rc = edge_rooms_leave(conn->member, req.room, req.room_len);
            if (rc == EDGE_ROOMS_NOT_MEMBER)
                edge_req_fail(&req, EDGE_ERR_NOT_SUBSCRIBED, "not subscribed to '%s'", req.room);
            else if (rc == EDGE_ROOMS_INVALID)
                edge_req_fail(&req, EDGE_ERR_INVALID_ROOM, "not a room or pattern");
            break;
        }
        case EDGE_OP_AUTH:
            s_on_auth(self, conn, &req);
            answer = false;
            break;
        case EDGE_OP_PING:
        case EDGE_OP_NONE:
            break;
        }
    }
    if (req.err == EDGE_ERR_NONE)
        conn->idle_until = 0; /* a valid op: not idle */
    if (answer)
        s_answer(self, conn, &req);
    edge_req_clear(&req);
}

int edge_session_open(edge_session_t *self, edge_conn_t *conn, void *transport, edge_auth_id_t *id)
{
    memset(conn, 0, sizeof *conn);
    if (edge_writer_open(self->writer, &conn->client.out, transport) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "ws: out of memory for a new connection");
        return -1;
    }
    conn->member = edge_member_new(edge_pipeline_rooms(self->pipe), &conn->client);
    if (!conn->member) {
        base_log(self->log, WEFT_LOG_ERROR, "ws: out of memory for a new connection");
        edge_writer_closed(self->writer, &conn->client.out);
        return -1;
    }
    edge_member_set_max(conn->member, (size_t)self->conf->max_subscriptions);
    edge_bucket_init(&conn->bucket, self->conf->rate_limit_per_min, self->conf->rate_limit_burst,
                     self->conf->rate_limit_close_after, self->now());
    self->stats->conns_current++;
    self->stats->conns_total++;
    edge_auth_id_t none = {0};
    s_arm_auth(self, conn,
               edge_auth_conn_open(self->auth, &conn->auth, id ? id : &none, self->wall()));
    /* With tokens the auth deadline covers a silent connection; anonymous ones get this. */
    if (!edge_auth_tokens(self->auth) && self->conf->idle_timeout_ms > 0) {
        int64_t idle = (int64_t)self->conf->idle_timeout_ms * 1000;
        conn->idle_until = self->now() + idle;
        s_arm_auth(self, conn, idle);
    }
    if (conn->auth.state != EDGE_AUTH_OK) {
        edge_writer_send(self->writer, &conn->client.out, self->welcome);
        return 0;
    }
    edge_frame_t *welcome = edge_proto_welcome(self->conf->edge_id, self->conf->max_message, "ok",
                                               edge_perm_sub(conn->auth.perm), conn->auth.exp);
    if (!welcome) {
        edge_session_close(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        return 0;
    }
    edge_writer_send(self->writer, &conn->client.out, welcome);
    edge_frame_unref(&welcome);
    self->stats->auth_ok++;
    s_auth_ctx_t ctx = {self, conn};
    edge_auth_autojoin(self->auth, &conn->auth, s_autojoin_one, &ctx);
    return 0;
}

void edge_session_timer(edge_session_t *self, edge_conn_t *conn)
{
    if (!edge_wconn_live(&conn->client.out))
        return;
    if (conn->idle_until && edge_member_count(conn->member) == 0) {
        int64_t left = conn->idle_until - self->now();
        if (left > 0) {
            s_arm_auth(self, conn, left); /* fired early */
            return;
        }
        conn->idle_until = 0;
        edge_session_close(self, conn, EDGE_CLOSE_IDLE, "idle");
        return;
    }
    int64_t delay = 0;
    switch (edge_auth_conn_due(self->auth, &conn->auth, self->wall(), &delay)) {
    case EDGE_AUTH_DUE_NONE:
        s_arm_auth(self, conn, delay);
        break;
    case EDGE_AUTH_DUE_TIMEOUT:
        edge_session_close(self, conn, EDGE_CLOSE_AUTH,
                           edge_session_refuse(self, EDGE_REFUSE_TIMEOUT));
        break;
    case EDGE_AUTH_DUE_EXPIRED:
        edge_session_close(self, conn, EDGE_CLOSE_AUTH,
                           edge_session_refuse(self, EDGE_JWT_EXPIRED));
        break;
    }
}

bool edge_session_closed(edge_session_t *self, edge_conn_t *conn)
{
    if (!edge_writer_closed(self->writer, &conn->client.out))
        return false; /* open failed, or closed came twice */
    edge_pipeline_forget(self->pipe, &conn->client);
    edge_member_destroy(&conn->member);
    edge_rxbuf_free(&conn->rx);
    edge_auth_conn_clear(&conn->auth);
    self->stats->conns_current--;
    return true;
}
