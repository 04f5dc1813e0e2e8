/*
 * edge_classes.h: delivery classes, which say how the edge batches each event type.
 *
 * A class names event-type patterns and gives them a batching window, a batch size bound and
 * optionally a coalesce key. The edge's "classes" setting lists them (docs/configuration.md):
 *
 *   status=*.status_changed,agent.status.*:200::agent_id; metrics=metrics.*:500::agent_id;
 *   logs=log.*:1000
 *
 * Each class is name=patterns:window_ms[:max[:key]], classes separated by ';', patterns by ','.
 * A pattern is an event type in which '*' stands for any run of characters (also dots and
 * nothing). An empty max means the edge's max_batch; a key names the top-level field of the
 * event's data whose value identifies what the event is about (used when the publisher set no
 * coalesce key in the envelope). An event belongs to the first class with a matching pattern;
 * events of no class (and classes with window 0) are "immediate": they are never held.
 *
 * Pure: no lws, no ZeroMQ, no clock. Immutable once parsed; not thread-safe to destroy.
 */
#ifndef EDGE_CLASSES_H
#define EDGE_CLASSES_H

#include <stdbool.h>
#include <stddef.h>

#define EDGE_CLASS_MAX 32           /* classes in one list */
#define EDGE_CLASS_PATTERNS_MAX 16  /* patterns in one class */
#define EDGE_CLASS_NAME_MAX 32      /* bytes of a class name: [a-z0-9_]{1,32} */
#define EDGE_CLASS_KEY_MAX 64       /* bytes of a coalesce field name: [A-Za-z0-9_-]{1,64} */
#define EDGE_CLASS_WINDOW_MAX 60000 /* largest window in milliseconds */
#define EDGE_CLASS_BATCH_MAX 10000  /* largest max batch size */

/* One class, as parsed (read-only for users of the list). */
typedef struct edge_class {
    char name[EDGE_CLASS_NAME_MAX + 1]; /* its name, for logs */
    int window_ms;                      /* how long its events may wait for company (0: never) */
    size_t max;                         /* events a batch holding this class may carry (>= 1) */
    char key[EDGE_CLASS_KEY_MAX + 1];   /* coalesce field of the data; "" = no coalescing */
    size_t key_len;                     /* bytes in key */
} edge_class_t;

typedef struct edge_classes edge_classes_t;

/*
 * Parses a class list. default_max (>= 1) replaces an empty max. An empty or all-blank spec is
 * a valid empty list (every event immediate). Returns the list, or NULL with a message naming
 * the class and what is wrong in err (also NULL on OOM, with "out of memory").
 */
edge_classes_t *edge_classes_parse(const char *spec, size_t default_max, char *err, size_t errlen);

/* Frees the list and nulls *self_p. NULL-safe. */
void edge_classes_destroy(edge_classes_t **self_p);

/* Number of classes. */
size_t edge_classes_count(const edge_classes_t *self);

/* Class idx (0 <= idx < count). */
const edge_class_t *edge_classes_get(const edge_classes_t *self, size_t idx);

/* The index of the first class matching the event type (len bytes), or -1 (immediate). */
int edge_classes_match(const edge_classes_t *self, const char *type, size_t len);

/* True when pattern (plen bytes; '*' = any run) matches text (tlen bytes). */
bool edge_class_glob(const char *pattern, size_t plen, const char *text, size_t tlen);

#endif
