/*
 * sim_agent.c: the simulated agent's state machine and payloads (see sim_agent.h).
 *
 * The state is a status (idle, working, blocked), the current task and its progress, and slowly
 * drifting CPU and memory figures. Each call rolls a number and emits the matching event; some
 * events are consequences of earlier ones (a task at 100% completes, then the agent goes idle; an
 * error blocks the agent) and are queued as "pending" so they come out on the following calls.
 * The mix, per 1000 rolls: 5 errors, 300 task steps, 150 CPU, 100 memory, 50 status changes,
 * 395 log lines.
 */
#include "sim_agent.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sim_status { SIM_IDLE, SIM_WORKING, SIM_BLOCKED };

/* Follow-up events the next calls must emit first. */
enum sim_pending { SIM_NONE, SIM_COMPLETE, SIM_GO_IDLE, SIM_GO_BLOCKED };

struct sim_agent {
    char id[32];              /* "agent-<i>" */
    unsigned index;           /* i */
    unsigned project;         /* i % projects */
    uint64_t rng;             /* xorshift64* state, never 0 */
    enum sim_status status;   /* current status */
    enum sim_pending pending; /* follow-up owed by the next call */
    unsigned task_no;         /* tasks started so far; names the current task */
    int pct;                  /* progress of the current task, 0..100 */
    double cpu;               /* CPU percentage, drifts */
    double mem_mb;            /* resident memory in MiB, drifts */
    unsigned log_no;          /* log lines emitted, numbers the messages */
};

static const char *const s_status_names[] = {"idle", "working", "blocked"};

static const char *const s_log_levels[] = {"debug", "info", "info", "info", "warn"};

static const char *const s_log_messages[] = {
    "reading repository index",   "calling tool search_code",       "tool call finished",
    "waiting for model response", "model response received",        "writing patch to workspace",
    "running unit tests",         "retrying request after backoff",
};

static const char *const s_error_codes[] = {"E_TOOL_TIMEOUT", "E_MODEL_OVERLOADED",
                                            "E_PATCH_CONFLICT", "E_OUT_OF_QUOTA"};

/* xorshift64*: small, fast, and the same sequence on every platform. */
static uint64_t s_rand(sim_agent_t *self)
{
    uint64_t x = self->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A uniform integer in [0, n). */
static unsigned s_below(sim_agent_t *self, unsigned n)
{
    return (unsigned)((s_rand(self) >> 11) % n);
}

/* Moves value by up to +-step, kept within [lo, hi]. */
static double s_drift(sim_agent_t *self, double value, double step, double lo, double hi)
{
    double delta = ((double)s_below(self, 2001) / 1000.0 - 1.0) * step;
    value += delta;
    return value < lo ? lo : value > hi ? hi : value;
}

/* Creates an idle agent with its own random stream. */
sim_agent_t *sim_agent_new(unsigned index, unsigned projects, uint64_t seed)
{
    if (projects == 0)
        return NULL;
    sim_agent_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->id, sizeof self->id, "agent-%u", index);
    self->index = index;
    self->project = index % projects;
    /* splitmix64 of (seed, index): distinct, well-mixed streams per agent. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (index + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    self->rng = z ? z : 0x9E3779B97F4A7C15ULL;
    self->status = SIM_IDLE;
    self->cpu = 5.0 + s_below(self, 20);
    self->mem_mb = 200.0 + s_below(self, 600);
    return self;
}

/* Frees the agent. */
void sim_agent_destroy(sim_agent_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* The agent id. */
const char *sim_agent_id(const sim_agent_t *self)
{
    return self->id;
}

/* The project number. */
unsigned sim_agent_project(const sim_agent_t *self)
{
    return self->project;
}

/* Fills the routing fields of ev. */
static void s_route(sim_event_t *ev, const char *room, const char *type, const char *key, int flags)
{
    snprintf(ev->room, sizeof ev->room, "%s", room);
    snprintf(ev->type, sizeof ev->type, "%s", type);
    snprintf(ev->key, sizeof ev->key, "%s", key ? key : "");
    ev->flags = flags;
}

/* Changes the status and describes the change (room project:<p>, key = agent id). */
static void s_status(sim_agent_t *self, enum sim_status to, sim_event_t *ev)
{
    enum sim_status from = self->status;
    self->status = to;
    char room[32];
    snprintf(room, sizeof room, "project:%u", self->project);
    s_route(ev, room, "agent.status_changed", self->id, 0);
    snprintf(ev->json, sizeof ev->json,
             "{\"agent\":\"%s\",\"status\":\"%s\",\"previous\":\"%s\",\"task\":\"task-%u-%u\"}",
             self->id, s_status_names[to], s_status_names[from], self->index, self->task_no);
}

/* Starts a new task: status working, progress 0. */
static void s_start_task(sim_agent_t *self, sim_event_t *ev)
{
    self->task_no++;
    self->pct = 0;
    s_status(self, SIM_WORKING, ev);
}

/* Unblocks the agent: back to its task, or to a new one if the old one had finished. */
static void s_resume(sim_agent_t *self, sim_event_t *ev)
{
    if (self->pct >= 100 || self->task_no == 0)
        s_start_task(self, ev);
    else
        s_status(self, SIM_WORKING, ev);
}

/* One step of the current task (room project:<p>, key = task id). */
static void s_progress(sim_agent_t *self, sim_event_t *ev)
{
    self->pct += 1 + (int)s_below(self, 15);
    if (self->pct >= 100) {
        self->pct = 100;
        self->pending = SIM_COMPLETE;
    }
    char room[32], key[48];
    snprintf(room, sizeof room, "project:%u", self->project);
    snprintf(key, sizeof key, "task-%u-%u", self->index, self->task_no);
    s_route(ev, room, "task.progress", key, 0);
    snprintf(ev->json, sizeof ev->json, "{\"agent\":\"%s\",\"task\":\"%s\",\"pct\":%d}", self->id,
             key, self->pct);
}

/* The current task finished (room global). */
static void s_complete(sim_agent_t *self, sim_event_t *ev)
{
    s_route(ev, "global", "task.completed", NULL, 0);
    snprintf(ev->json, sizeof ev->json,
             "{\"agent\":\"%s\",\"project\":%u,\"task\":\"task-%u-%u\",\"duration_s\":%u}",
             self->id, self->project, self->index, self->task_no, 30 + s_below(self, 600));
    self->pending = SIM_GO_IDLE;
}

/* A failure the dashboards must show at once (room global, WEFT_CRITICAL). */
static void s_error(sim_agent_t *self, sim_event_t *ev)
{
    s_route(ev, "global", "agent.error", NULL, WEFT_CRITICAL);
    snprintf(ev->json, sizeof ev->json,
             "{\"agent\":\"%s\",\"project\":%u,\"code\":\"%s\",\"message\":\"task task-%u-%u "
             "failed\"}",
             self->id, self->project, s_error_codes[s_below(self, 4)], self->index, self->task_no);
    if (self->status != SIM_BLOCKED)
        self->pending = SIM_GO_BLOCKED;
}

/* A CPU or memory sample (room agent:<i>, key = agent id). */
static void s_metric(sim_agent_t *self, bool cpu, sim_event_t *ev)
{
    char room[32];
    snprintf(room, sizeof room, "agent:%u", self->index);
    if (cpu) {
        double busy = self->status == SIM_WORKING ? 60.0 : 10.0;
        self->cpu = s_drift(self, (self->cpu * 3 + busy) / 4, 8.0, 0.0, 100.0);
        s_route(ev, room, "metrics.cpu", self->id, 0);
        snprintf(ev->json, sizeof ev->json, "{\"agent\":\"%s\",\"cpu_pct\":%.1f}", self->id,
                 self->cpu);
    } else {
        self->mem_mb = s_drift(self, self->mem_mb, 24.0, 64.0, 8192.0);
        s_route(ev, room, "metrics.memory", self->id, 0);
        snprintf(ev->json, sizeof ev->json, "{\"agent\":\"%s\",\"rss_mb\":%.0f}", self->id,
                 self->mem_mb);
    }
}

/* A log line (room agent:<i>). */
static void s_log_line(sim_agent_t *self, sim_event_t *ev)
{
    char room[32];
    snprintf(room, sizeof room, "agent:%u", self->index);
    s_route(ev, room, "log.line", NULL, 0);
    self->log_no++;
    const char *level = s_log_levels[s_below(self, 5)];
    const char *message = s_log_messages[s_below(self, 8)];
    snprintf(ev->json, sizeof ev->json,
             "{\"agent\":\"%s\",\"n\":%u,\"level\":\"%s\",\"message\":\"%s\"}", self->id,
             self->log_no, level, message);
}

/* Emits an owed follow-up event, or rolls for the next one. */
void sim_agent_next(sim_agent_t *self, sim_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    enum sim_pending pending = self->pending;
    self->pending = SIM_NONE;
    switch (pending) {
    case SIM_COMPLETE:
        s_complete(self, ev);
        return;
    case SIM_GO_IDLE:
        s_status(self, SIM_IDLE, ev);
        return;
    case SIM_GO_BLOCKED:
        s_status(self, SIM_BLOCKED, ev);
        return;
    case SIM_NONE:
        break;
    }
    unsigned roll = s_below(self, 1000);
    if (roll < 5) {
        s_error(self, ev);
    } else if (roll < 305) {
        /* A task step: idle agents pick up work, blocked ones get unblocked. */
        if (self->status == SIM_WORKING)
            s_progress(self, ev);
        else if (self->status == SIM_IDLE)
            s_start_task(self, ev);
        else
            s_resume(self, ev);
    } else if (roll < 455) {
        s_metric(self, true, ev);
    } else if (roll < 555) {
        s_metric(self, false, ev);
    } else if (roll < 605) {
        if (self->status == SIM_WORKING)
            s_status(self, SIM_BLOCKED, ev);
        else if (self->status == SIM_BLOCKED)
            s_resume(self, ev);
        else
            s_start_task(self, ev);
    } else {
        s_log_line(self, ev);
    }
}
