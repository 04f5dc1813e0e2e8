/*
 * rtr_jarena.h: a bump-pointer arena for jansson's allocations while the router checks a payload
 * it does not keep.
 *
 * Why: the router parses every event payload once with jansson only to learn that it is a JSON
 * object, then throws the parse away. jansson allocates a block for every value, key, hashtable
 * and token buffer (about 20 blocks, 1.1 KiB, for a 100-byte object) and frees them all again
 * at once; with glibc's malloc that bookkeeping was a sixth of the parse. Inside an arena an
 * allocation is a pointer bump and a free is a range check, and the arena is reset after each
 * payload, so the same few cache lines serve every event.
 *
 * How: jansson takes its allocator as two process-wide function pointers (json_set_alloc_funcs)
 * without a context argument, so the arena in use is found through a thread-local pointer that
 * rtr_jarena_enter() sets and rtr_jarena_leave() clears. rtr_jarena_install() puts the hooks in
 * place once per process; from then on every jansson allocation of every thread goes through
 * them, and outside an entered arena (other threads, heartbeat payloads the router keeps, tests)
 * they are plain malloc and free. An allocation that does not fit in the arena's remaining space
 * falls back to malloc too (counted), and free() recognises arena blocks by address, so a payload
 * of any size parses correctly; only its speed depends on the arena's size.
 *
 * Rule for callers: every jansson value created between enter and leave must be freed (decref'd)
 * before leave, because leave makes the arena's memory reusable. The router's loop thread is the
 * only user, and it keeps nothing it parses inside the arena (heartbeat payloads, which it
 * keeps, are parsed outside). A value that escapes is a programmer error, caught by an assert on
 * the arena's count of live blocks.
 *
 * Thread safety: an arena belongs to the thread that entered it; install is safe from any thread.
 */
#ifndef RTR_JARENA_H
#define RTR_JARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtr_jarena rtr_jarena_t;

/* Creates an arena of cap bytes (rounded up to 16), or NULL when out of memory. */
rtr_jarena_t *rtr_jarena_new(size_t cap);

/* Frees the arena; nulls *self_p. NULL-safe. The arena must not be entered. */
void rtr_jarena_destroy(rtr_jarena_t **self_p);

/* Routes jansson's allocations through the arena hooks, once per process (later calls do
 * nothing). Must run before the first rtr_jarena_enter(); values jansson allocated earlier with
 * the default allocator are still freed correctly. */
void rtr_jarena_install(void);

/* Makes self the calling thread's arena: jansson allocations of this thread come from it until
 * rtr_jarena_leave(). self may be NULL (nothing happens). Arenas do not nest. */
void rtr_jarena_enter(rtr_jarena_t *self);

/* Stops using self on this thread and makes all of it free again. Every value allocated since
 * rtr_jarena_enter() must have been freed. self may be NULL. */
void rtr_jarena_leave(rtr_jarena_t *self);

/* Bytes handed out since the last enter (alignment included); for tests and sizing. */
size_t rtr_jarena_used(const rtr_jarena_t *self);

/* Largest rtr_jarena_used() seen at a leave. */
size_t rtr_jarena_peak(const rtr_jarena_t *self);

/* Allocations that did not fit and went to malloc instead. */
uint64_t rtr_jarena_overflows(const rtr_jarena_t *self);

#endif
