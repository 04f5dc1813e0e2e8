/*
 * bench_token.h: the JSON Web Token weft-bench's clients present with --auth-secret.
 *
 * The spawned edges run --auth jwt with the HS256 secret file; the bench mints one token with that
 * secret (token_mint.h, the same code as weft-token) whose rooms claim opens every room of the
 * session (its prefix and '*'), and every client sends it in an "Authorization: Bearer" header
 * on the upgrade. Authentication happens once per connection, so the figures per event stay
 * comparable with anonymous runs.
 */
#ifndef BENCH_TOKEN_H
#define BENCH_TOKEN_H

#include "base_log.h"

/* Mints an HS256 token signed with the secret in secret_file (read like the edge reads it), with
 * sub "weft-bench", rooms claim ["<room_prefix>*"] and a lifetime of ttl_s seconds. Returns a new
 * string (free() it), or NULL with the reason logged. */
char *bench_token_mint(const char *secret_file, const char *room_prefix, long long ttl_s,
                       base_log_t *log);

#endif
