/*
 * edge_jdepth.h: a cheap pre-scan of a client message's JSON nesting depth.
 *
 * jansson parses recursively; a 64 KiB message of "[[[[..." costs a deep recursion and an
 * allocation per level before it fails. edge_proto_parse() calls edge_jdepth_over() first, a
 * single pass without allocation, and refuses anything nested deeper than the protocol needs
 * (docs/protocol.md: EDGE_JDEPTH_MAX levels) with the error too_deep, before jansson sees it.
 */
#ifndef EDGE_JDEPTH_H
#define EDGE_JDEPTH_H

#include <stdbool.h>
#include <stddef.h>

/* The deepest nesting of objects and arrays a client message may have (the op object is 1). */
#define EDGE_JDEPTH_MAX 32

/* True when text (len bytes, not NUL-terminated) opens more than max nested objects or arrays
 * at once. Brackets inside strings do not count; the text need not be valid JSON (whatever is
 * not too deep goes on to the real parser, which judges it). */
bool edge_jdepth_over(const char *text, size_t len, unsigned max);

#endif
