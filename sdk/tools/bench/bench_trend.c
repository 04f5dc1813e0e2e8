/*
 * bench_trend.c: samples of one process over a soak run and their slope (see bench_trend.h).
 */
#include "bench_trend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bench_trend {
    char *name;                 /* "router", "edge 0", ... */
    bench_trend_point_t *pts;   /* samples, oldest first */
    size_t n;                   /* samples held */
    size_t cap;                 /* room in pts */
};

bench_trend_t *bench_trend_new(const char *name)
{
    bench_trend_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->name = strdup(name);
    if (!self->name) {
        free(self);
        return NULL;
    }
    return self;
}

void bench_trend_destroy(bench_trend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->name);
    free((*self_p)->pts);
    free(*self_p);
    *self_p = NULL;
}

const char *bench_trend_name(const bench_trend_t *self)
{
    return self->name;
}

int bench_trend_add(bench_trend_t *self, double t_s, int pid, uint64_t rss_kib, int fds)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        bench_trend_point_t *p = realloc(self->pts, cap * sizeof *p);
        if (!p)
            return -1;
        self->pts = p;
        self->cap = cap;
    }
    self->pts[self->n++] = (bench_trend_point_t){t_s, pid, rss_kib, fds};
    return 0;
}

size_t bench_trend_count(const bench_trend_t *self)
{
    return self->n;
}

const bench_trend_point_t *bench_trend_at(const bench_trend_t *self, size_t i)
{
    return i < self->n ? &self->pts[i] : NULL;
}

double bench_trend_slope(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    /* Centred sums: RSS in KiB and times in minutes are far from zero, and the textbook
     * n*Sxy - Sx*Sy loses digits to cancellation there. */
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    return sxx > 0 ? sxy / sxx : NAN;
}

void bench_trend_summary(const bench_trend_t *self, double from_s, bench_trend_summary_t *out)
{
    memset(out, 0, sizeof *out);
    out->slope_kib_min = NAN;
    if (self->n == 0)
        return;
    out->points = self->n;
    out->rss_first = self->pts[0].rss_kib;
    out->rss_last = self->pts[self->n - 1].rss_kib;
    out->fd_min = out->fd_max = self->pts[0].fds;
    out->incarnations = 1;
    for (size_t i = 0; i < self->n; i++) {
        const bench_trend_point_t *p = &self->pts[i];
        if (p->rss_kib > out->rss_max)
            out->rss_max = p->rss_kib;
        if (p->fds < out->fd_min)
            out->fd_min = p->fds;
        if (p->fds > out->fd_max)
            out->fd_max = p->fds;
        if (i > 0 && p->pid != self->pts[i - 1].pid)
            out->incarnations++;
    }
    double *x = malloc(self->n * sizeof *x), *y = malloc(self->n * sizeof *y);
    if (x && y) {
        int pid = self->pts[self->n - 1].pid;
        size_t k = 0;
        for (size_t i = 0; i < self->n; i++)
            if (self->pts[i].t_s >= from_s && self->pts[i].pid == pid) {
                x[k] = self->pts[i].t_s / 60.0;
                y[k++] = (double)self->pts[i].rss_kib;
            }
        out->slope_points = k;
        out->slope_kib_min = bench_trend_slope(x, y, k);
    }
    free(x);
    free(y);
}
