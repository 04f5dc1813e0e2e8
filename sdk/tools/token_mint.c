/*
 * token_mint.c: minting JSON Web Tokens for the tools (see token_mint.h).
 */
#include "token_mint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

unsigned char *token_mint_read_key(const char *prog, const char *path, bool secret, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(TOKEN_MINT_KEY_MAX + 1);
    size_t n = 0;
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto err;
    }
    n = fread(buf, 1, TOKEN_MINT_KEY_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "%s: %s: read error\n", prog, path);
        goto err;
    }
    if (n > TOKEN_MINT_KEY_MAX) {
        fprintf(stderr, "%s: %s: larger than %d bytes, not a key\n", prog, path,
                TOKEN_MINT_KEY_MAX);
        goto err;
    }
    fclose(f);
    f = NULL;
    // The edge drops one trailing newline (echo > file); sign with the bytes it verifies with.
    if (secret && n && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    if (secret && n < TOKEN_MINT_SECRET_MIN) {
        fprintf(stderr, "%s: %s: secret is %zu bytes, the edge wants at least %d\n", prog, path,
                n, TOKEN_MINT_SECRET_MIN);
        goto err;
    }
    *len = n;
    return buf;
err:
    token_mint_free_key(buf, n);
    if (f)
        fclose(f);
    return NULL;
}

void token_mint_free_key(unsigned char *key, size_t len)
{
    if (!key)
        return;
    // The key is secret: do not leave it in freed memory.
    explicit_bzero(key, len);
    free(key);
}

/* The rooms list as a JSON object {"<claim>": [...]}, a new string; NULL after printing why. */
static char *s_rooms_json(const char *prog, const char *claim, const char *list)
{
    json_t *rooms = json_array();
    json_t *obj = json_object();
    char *copy = strdup(list);
    char *out = NULL;
    if (!rooms || !obj || !copy) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        // Spaces around entries are a typing habit, never part of a room name.
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (n && json_array_append_new(rooms, json_string(tok)) != 0) {
            fprintf(stderr, "%s: --rooms: '%s' is not valid UTF-8\n", prog, tok);
            goto done;
        }
    }
    if (json_object_set(obj, claim, rooms) != 0) {
        fprintf(stderr, "%s: --rooms-claim: '%s' is not valid UTF-8\n", prog, claim);
        goto done;
    }
    out = json_dumps(obj, JSON_COMPACT);
    if (!out)
        fprintf(stderr, "%s: out of memory\n", prog);
done:
    free(copy);
    json_decref(rooms);
    json_decref(obj);
    return out;
}

int token_mint_claims(const char *prog, jwt_t *jwt, const token_mint_claims_t *c, time_t now)
{
    int rc = 0;
    if (*c->sub)
        rc |= jwt_add_grant(jwt, "sub", c->sub);
    if (c->iss)
        rc |= jwt_add_grant(jwt, "iss", c->iss);
    if (c->aud)
        rc |= jwt_add_grant(jwt, "aud", c->aud);
    rc |= jwt_add_grant_int(jwt, "iat", (long)now);
    rc |= jwt_add_grant_int(jwt, "nbf", (long)now);
    if (!c->no_exp)
        rc |= jwt_add_grant_int(jwt, "exp", (long)(now + c->ttl));
    if (c->kid)
        rc |= jwt_add_header(jwt, "kid", c->kid);
    if (c->rooms) {
        char *json = s_rooms_json(prog, c->rooms_claim, c->rooms);
        if (!json)
            return 1;
        rc |= jwt_add_grants_json(jwt, json);
        free(json);
    }
    if (rc) {
        fprintf(stderr, "%s: could not add the claims\n", prog);
        return 1;
    }
    return 0;
}
