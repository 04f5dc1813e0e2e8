/*
 * bench_token.c: minting the bench clients' token (see bench_token.h).
 */
#include "bench_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "token_mint.h"

char *bench_token_mint(const char *secret_file, const char *room_prefix, long long ttl_s,
                       base_log_t *log)
{
    size_t keylen = 0;
    jwt_t *jwt = NULL;
    char *token = NULL, rooms[256];
    unsigned char *key = token_mint_read_key("weft-bench", secret_file, true, &keylen);
    if (!key)
        goto done;
    snprintf(rooms, sizeof rooms, "%s*", room_prefix);
    token_mint_claims_t c = {.sub = "weft-bench", .rooms = rooms, .rooms_claim = "rooms",
                             .ttl = ttl_s};
    if (jwt_new(&jwt) != 0 || jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen) != 0 ||
        token_mint_claims("weft-bench", jwt, &c, time(NULL)) != 0)
        goto done;
    token = jwt_encode_str(jwt);
done:
    if (!token)
        base_log(log, WEFT_LOG_ERROR, "--auth-secret %s: cannot mint a token (see above)",
                 secret_file);
    jwt_free(jwt);
    token_mint_free_key(key, keylen);
    return token;
}
