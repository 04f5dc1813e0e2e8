/*
 * sim_agent.h: the traffic of one simulated agent, for weft-sim.
 *
 * Each agent `agent-<i>` belongs to project `project:<i % projects>` and produces a plausible
 * stream: status changes, task progress rising to 100 then a completion and a new task, CPU and
 * memory metrics, log lines, and rare critical errors. The stream depends only on the seed and the
 * agent's index, so a run can be reproduced and the generator can be tested. No I/O, no clock.
 */
#ifndef SIM_AGENT_H
#define SIM_AGENT_H

#include <stdint.h>

#include "weft.h"

#define SIM_JSON_MAX 512 /* largest payload the generator writes, NUL included */

/* One event to publish. */
typedef struct sim_event {
    char room[WEFT_ROOM_MAX + 1]; /* agent:<i>, project:<p> or global */
    char type[WEFT_TYPE_MAX + 1]; /* event type */
    char key[WEFT_KEY_MAX + 1];   /* coalesce key, "" for none */
    char json[SIM_JSON_MAX];      /* the payload, a JSON object */
    int flags;                    /* 0 or WEFT_CRITICAL */
} sim_event_t;

typedef struct sim_agent sim_agent_t;

/* Creates agent number `index` (project index % projects, projects >= 1) seeded with `seed`. */
sim_agent_t *sim_agent_new(unsigned index, unsigned projects, uint64_t seed);

/* Frees the agent and nulls *self_p. NULL-safe. */
void sim_agent_destroy(sim_agent_t **self_p);

/* The agent's id, "agent-<i>", also its publisher id and coalesce key. */
const char *sim_agent_id(const sim_agent_t *self);

/* The agent's project number. */
unsigned sim_agent_project(const sim_agent_t *self);

/* Produces the agent's next event into ev. */
void sim_agent_next(sim_agent_t *self, sim_event_t *ev);

#endif
