/*
 * fuzz_frames.h: what the fuzz targets share: splitting one input into ZeroMQ-like frames for
 * the multi-frame targets, and FUZZ_CHECK for the invariants each harness asserts.
 *
 * Format: a sequence of frames, each a 2-byte big-endian length and that many bytes; a length
 * past the end of the input takes what is left. Every frame is copied into its own allocation
 * of exactly its size, so that ASan catches a parser reading one byte past a frame (which in
 * the fuzzer's single buffer would land in the next frame unnoticed).
 */
#ifndef FUZZ_FRAMES_H
#define FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FRAMES_MAX 16

typedef struct fuzz_frames {
    size_t n;                          /* frames found */
    const void *data[FUZZ_FRAMES_MAX]; /* each its own exact-size allocation (NULL when empty) */
    size_t len[FUZZ_FRAMES_MAX];
} fuzz_frames_t;

/* Splits d (n bytes) into at most FUZZ_FRAMES_MAX frames; release with fuzz_frames_free(). */
static inline void fuzz_frames_split(const uint8_t *d, size_t n, fuzz_frames_t *f)
{
    memset(f, 0, sizeof *f);
    size_t off = 0;
    while (off + 2 <= n && f->n < FUZZ_FRAMES_MAX) {
        size_t want = (size_t)d[off] << 8 | d[off + 1];
        off += 2;
        size_t len = want <= n - off ? want : n - off;
        /* malloc(0) may return NULL: an empty frame is (NULL, 0), as zmq_msg_data may give. */
        void *copy = len ? malloc(len) : NULL;
        if (len && !copy)
            abort();
        if (len)
            memcpy(copy, d + off, len);
        f->data[f->n] = copy;
        f->len[f->n] = len;
        f->n++;
        off += len;
    }
}

/* Frees the frames' copies. */
static inline void fuzz_frames_free(fuzz_frames_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free((void *)f->data[i]);
    f->n = 0;
}

/* Reports a broken invariant as a crash, so that libFuzzer saves the input. */
static inline void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

/* Checks an invariant of the code under test (never an assert: it must hold in every build). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(#cond, __FILE__, __LINE__);                                                  \
    } while (0)

#endif
