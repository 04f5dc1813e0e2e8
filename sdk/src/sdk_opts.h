/*
 * sdk_opts.h: the publisher's options (weft_pub_opts_t): the defaults weft.h documents, a
 * caller's struct of its compiled size read over them, their checks, the default publisher id,
 * and the copy of a full struct into a caller's struct of another size (weft.h, "Growing without
 * breaking callers").
 */
#ifndef SDK_OPTS_H
#define SDK_OPTS_H

#include <stddef.h>

#include "weft.h"

/* The size of the weft.h 0.1.0 (v0) options: the offset of the first field added since. */
#define SDK_OPTS_V0_SIZE offsetof(weft_pub_opts_t, on_ack)

/* Reads the caller's options of `size` bytes over the defaults into o (opts NULL: the defaults).
 * Logs and returns -1 when size is too small for v0 or the caller sets fields this library does
 * not know; 0 otherwise. */
int sdk_opts_read(weft_pub_opts_t *o, const weft_pub_opts_t *opts, size_t size);

/* Checks the options; logs and returns -1 on the first bad one, 0 when all are valid. */
int sdk_opts_check(const weft_pub_opts_t *o);

/* Builds the default publisher id "<hostname>-<pid>", squeezed into [A-Za-z0-9_.:-]{1,64}. */
void sdk_opts_default_id(char *buf, size_t size);

/* Writes `size` bytes of a caller's struct from ours of `ours_size` bytes: a shorter caller
 * struct gets its prefix, a longer one (a newer weft.h) gets zeros after ours. */
void sdk_opts_copy_out(void *theirs, size_t size, const void *ours, size_t ours_size);

#endif
