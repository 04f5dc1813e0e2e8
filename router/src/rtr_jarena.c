/*
 * rtr_jarena.c: bump-pointer arena behind jansson's allocation hooks (see rtr_jarena.h).
 */
#include "rtr_jarena.h"

#include <assert.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define RTR_JARENA_ALIGN 16 /* what malloc guarantees on x86-64 (alignof(max_align_t)) */

struct rtr_jarena {
    unsigned char *base; /* the arena's memory, cap bytes */
    size_t cap;          /* bytes at base, a multiple of RTR_JARENA_ALIGN */
    size_t used;         /* bytes handed out since the last enter */
    size_t live;         /* arena blocks handed out and not yet freed */
    size_t peak;         /* largest used at a leave */
    uint64_t overflows;  /* allocations that went to malloc for lack of room */
    bool entered;        /* some thread has it entered */
};

/* jansson's hooks carry no context, so the arena in use is per thread. This and the once-flag
 * below are the module's only global state, and neither can be avoided with that hook API.
 * initial-exec: the core is linked into executables, never dlopen()ed, so the hooks (about 40
 * calls per parse) read the variable directly instead of calling __tls_get_addr (-fPIC). */
static _Thread_local rtr_jarena_t *s_current __attribute__((tls_model("initial-exec")));
static pthread_once_t s_install_once = PTHREAD_ONCE_INIT;

/* jansson's malloc: a bump in this thread's arena, else malloc. */
static void *s_alloc(size_t size)
{
    rtr_jarena_t *a = s_current;
    if (a) {
        size_t need = (size + RTR_JARENA_ALIGN - 1) & ~(size_t)(RTR_JARENA_ALIGN - 1);
        if (need >= size && need <= a->cap - a->used) {
            void *p = a->base + a->used;
            a->used += need;
            a->live++;
            return p;
        }
        a->overflows++;
    }
    return malloc(size);
}

/* jansson's free: arena blocks are released all at once by leave, anything else is free()d. */
static void s_free(void *ptr)
{
    rtr_jarena_t *a = s_current;
    if (a && (uintptr_t)ptr - (uintptr_t)a->base < a->cap) {
        a->live--;
        return;
    }
    free(ptr);
}

/* Installs the hooks; run once through pthread_once. */
static void s_install(void)
{
    json_set_alloc_funcs(s_alloc, s_free);
}

/* Creates an arena. */
rtr_jarena_t *rtr_jarena_new(size_t cap)
{
    cap = (cap + RTR_JARENA_ALIGN - 1) & ~(size_t)(RTR_JARENA_ALIGN - 1);
    if (cap == 0)
        cap = RTR_JARENA_ALIGN;
    rtr_jarena_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->base = aligned_alloc(RTR_JARENA_ALIGN, cap);
    if (!self->base) {
        free(self);
        return NULL;
    }
    self->cap = cap;
    return self;
}

/* Frees the arena. */
void rtr_jarena_destroy(rtr_jarena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_jarena_t *self = *self_p;
    assert(!self->entered);
    free(self->base);
    free(self);
    *self_p = NULL;
}

/* Installs jansson's hooks once per process. */
void rtr_jarena_install(void)
{
    pthread_once(&s_install_once, s_install);
}

/* Makes self this thread's arena. */
void rtr_jarena_enter(rtr_jarena_t *self)
{
    if (!self)
        return;
    assert(!self->entered && !s_current);
    self->entered = true;
    self->used = 0;
    s_current = self;
}

/* Stops using self and resets it. */
void rtr_jarena_leave(rtr_jarena_t *self)
{
    if (!self)
        return;
    assert(s_current == self);
    assert(self->live == 0); /* a value parsed in the arena outlived it: programmer error */
    if (self->used > self->peak)
        self->peak = self->used;
    self->used = 0;
    self->entered = false;
    s_current = NULL;
}

/* Bytes handed out since the last enter. */
size_t rtr_jarena_used(const rtr_jarena_t *self)
{
    return self->used;
}

/* Largest use seen at a leave. */
size_t rtr_jarena_peak(const rtr_jarena_t *self)
{
    return self->peak;
}

/* Allocations that went to malloc. */
uint64_t rtr_jarena_overflows(const rtr_jarena_t *self)
{
    return self->overflows;
}
