/*
 * bench_report.c: medians, table and JSON of weft-bench's figures (see bench_report.h).
 */
#include "bench_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One row of BENCH_METRICS. */
typedef struct metric_desc {
    const char *json;  /* key in JSON */
    const char *label; /* text in the table */
    const char *unit;  /* unit, "" for counts */
    int decimals;      /* decimals shown in the table */
} metric_desc_t;

static const metric_desc_t s_metrics[BENCH_M__COUNT] = {
#define BENCH__METRIC_DESC(id, json, label, unit, dec) {json, label, unit, dec},
    BENCH_METRICS(BENCH__METRIC_DESC)
#undef BENCH__METRIC_DESC
};

void bench_sample_init(bench_sample_t *s)
{
    for (int i = 0; i < BENCH_M__COUNT; i++)
        s->v[i] = NAN;
}

/* qsort comparator for doubles. */
static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const double *v, size_t n)
{
    double tmp[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof tmp / sizeof tmp[0]; i++)
        if (!isnan(v[i]))
            tmp[k++] = v[i];
    if (k == 0)
        return NAN;
    qsort(tmp, k, sizeof tmp[0], s_cmp);
    return (k % 2) ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

void bench_sample_median(const bench_sample_t *runs, size_t n, bench_sample_t *out)
{
    double col[64];
    if (n > 64)
        n = 64;
    for (int m = 0; m < BENCH_M__COUNT; m++) {
        for (size_t i = 0; i < n; i++)
            col[i] = runs[i].v[m];
        out->v[m] = bench_median(col, n);
    }
}

/* Formats one value for the table. */
static void s_fmt(char *buf, size_t cap, double v, int decimals)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.*f", decimals, v);
}

void bench_report_table(FILE *out, const char *title, const bench_sample_t *runs, size_t n)
{
    bench_sample_t med;
    bench_sample_median(runs, n, &med);
    fprintf(out, "\n%s\n", title);
    fprintf(out, "  %-38s %14s", "metric", n > 1 ? "median" : "value");
    if (n > 1)
        for (size_t i = 0; i < n; i++)
            fprintf(out, " %12s%zu", "run ", i + 1);
    fprintf(out, "\n");
    char cell[64], label[80];
    for (int m = 0; m < BENCH_M__COUNT; m++) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any = any || !isnan(runs[i].v[m]);
        if (!any)
            continue;
        const metric_desc_t *d = &s_metrics[m];
        if (d->unit[0])
            snprintf(label, sizeof label, "%s (%s)", d->label, d->unit);
        else
            snprintf(label, sizeof label, "%s", d->label);
        s_fmt(cell, sizeof cell, med.v[m], d->decimals);
        fprintf(out, "  %-38s %14s", label, cell);
        if (n > 1)
            for (size_t i = 0; i < n; i++) {
                s_fmt(cell, sizeof cell, runs[i].v[m], d->decimals);
                fprintf(out, " %13s", cell);
            }
        fprintf(out, "\n");
    }
}

json_t *bench_report_sample_json(const bench_sample_t *s)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (int m = 0; m < BENCH_M__COUNT; m++) {
        double v = s->v[m];
        json_t *val;
        if (isnan(v) || isinf(v))
            val = json_null();
        else if (s_metrics[m].decimals == 0 && fabs(v) < 9e15 && v == floor(v))
            val = json_integer((json_int_t)v);
        else
            val = json_real(v);
        if (json_object_set_new(obj, s_metrics[m].json, val) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *bench_report_json(const bench_sample_t *runs, size_t n)
{
    bench_sample_t med;
    bench_sample_median(runs, n, &med);
    json_t *obj = json_object(), *arr = json_array();
    json_t *m = bench_report_sample_json(&med);
    if (!obj || !arr || !m)
        goto err;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, bench_report_sample_json(&runs[i])) != 0)
            goto err;
    json_object_set_new(obj, "median", m);
    json_object_set_new(obj, "runs", arr);
    return obj;
err:
    json_decref(obj);
    json_decref(arr);
    json_decref(m);
    return NULL;
}
