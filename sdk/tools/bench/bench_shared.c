/*
 * bench_shared.c: the shared control block of weft-bench (see bench_shared.h).
 */
#include "bench_shared.h"

#include <sys/mman.h>

/* The mapping's size for nrooms rooms. */
static size_t s_size(size_t nrooms)
{
    return sizeof(bench_ctl_t) + nrooms * sizeof(_Atomic uint64_t);
}

bench_ctl_t *bench_ctl_new(size_t nrooms, size_t nworkers)
{
    if (nworkers == 0 || nworkers > BENCH_MAX_WORKERS)
        return NULL;
    /* Anonymous shared memory is zero-filled, which is every field's initial value. */
    void *p = mmap(NULL, s_size(nrooms), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    bench_ctl_t *ctl = p;
    ctl->nrooms = nrooms;
    ctl->nworkers = nworkers;
    atomic_store(&ctl->window_start_ns, UINT64_MAX);
    atomic_store(&ctl->window_end_ns, UINT64_MAX);
    return ctl;
}

void bench_ctl_destroy(bench_ctl_t **ctl_p)
{
    if (!ctl_p || !*ctl_p)
        return;
    munmap(*ctl_p, s_size((*ctl_p)->nrooms));
    *ctl_p = NULL;
}
