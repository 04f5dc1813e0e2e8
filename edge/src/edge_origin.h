/*
 * edge_origin.h: the Origin allowlist of the edge (docs/configuration.md "Origins and CORS").
 *
 * A browser sends the page's origin (scheme://host[:port]) with every WebSocket upgrade and with
 * cross-origin requests; the edge refuses upgrades from pages it does not know (HTTP 403) and
 * answers CORS only for the ones it does. The list is comma-separated; each entry is one of
 *   https://app.example.com       exactly this origin (scheme and host compared without case)
 *   https://app.example.com:8443  with a port other than the scheme's default
 *   https:// + *.example.com      (written without the " + ") any host one or more labels
 *                                 below example.com, never example.com itself nor a
 *                                 lookalike such as evil-example.com
 *   *                             any origin, "null" included
 * Default ports are dropped on both sides (https://a.com:443 is https://a.com), as browsers do.
 * The origin "null" (sandboxed frames, file://) matches only "*". An empty list allows every
 * origin: the caller decides what that means (edge_origin_any()).
 *
 * Pure (no lws): parsed once from the configuration, asked once per upgrade or HTTP request.
 * Not thread-safe to build; matching only reads.
 */
#ifndef EDGE_ORIGIN_H
#define EDGE_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#define EDGE_ORIGIN_MAX 256 /* longest origin considered; a longer one never matches */

typedef struct edge_origin edge_origin_t;

/* Parses list (see the banner; NULL or "" = empty). Returns the allowlist, or NULL with
 * "what is wrong" in err (a bad entry, or out of memory). */
edge_origin_t *edge_origin_new(const char *list, char *err, size_t errlen);

/* Frees the allowlist and nulls *self_p. NULL-safe. */
void edge_origin_destroy(edge_origin_t **self_p);

/* True when the list allows every origin: it is empty or holds "*". */
bool edge_origin_any(const edge_origin_t *self);

/* True when the list is empty (nothing was configured). */
bool edge_origin_empty(const edge_origin_t *self);

/* True when origin (len bytes, not NUL-terminated, as sent in the header) is allowed. A
 * malformed origin (a path, a bad port, an empty label) is allowed only by an any-list. */
bool edge_origin_allowed(const edge_origin_t *self, const char *origin, size_t len);

#endif
