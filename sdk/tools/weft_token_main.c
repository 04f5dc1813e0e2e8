/*
 * weft_token_main.c: weft-token, mint a JSON Web Token the edge accepts, for development, demos
 * and tests (docs/security.md). Production tokens come from the application's login service;
 * this tool signs with the same key the edge verifies with, so it is only as secret as that key.
 *
 *   weft-token --secret-file F [--sub 42] [--rooms 'project:*,team:1'] [--ttl 3600]
 *              [--iss X] [--aud Y] [--alg HS256]
 *   weft-token --key private.pem [--alg RS256|ES256] ...
 *
 * It prints the token and a newline on stdout. The secret file is read like the edge reads it
 * (one trailing newline dropped), so both sides hold the same bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#include "token_mint.h"

#define EXIT_USAGE 2
#define TOKEN_TTL_DEFAULT 3600 /* seconds */

/* Command-line settings. */
typedef struct token_args {
    const char *secret_file; /* HS*: the shared secret */
    const char *key_file;    /* RS and ES algorithms: a PEM private key */
    const char *alg;         /* algorithm name, or NULL for the key's default */
    token_mint_claims_t c;   /* the claims */
} token_args_t;

/* Prints usage to out. */
static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: weft-token --secret-file FILE [options]\n"
            "       weft-token --key PRIVATE.pem [options]\n"
            "Mint a JSON Web Token for weft-edge (development, demos, tests) and print it.\n"
            "\n"
            "Key (exactly one):\n"
            "  --secret-file F   HS256/384/512 shared secret, >= 32 bytes (the edge's\n"
            "                    jwt_secret_file; one trailing newline is ignored)\n"
            "  --key F           PEM private key for RS256/384/512 or ES256/384/512 (the edge\n"
            "                    holds the public key: jwt_public_key or jwt_jwks)\n"
            "Options:\n"
            "  --alg A           HS256 (default with --secret-file), HS384, HS512, RS256 (default\n"
            "                    with --key), RS384, RS512, ES256, ES384, ES512\n"
            "  --sub S           subject, the user id (default \"dev\"; '' leaves it out)\n"
            "  --rooms LIST      comma-separated rooms and trailing-'*' patterns the token\n"
            "                    allows, e.g. 'project:*,team:1' (a JSON array claim)\n"
            "  --rooms-claim C   name of that claim (default \"rooms\", the edge's\n"
            "                    jwt_rooms_claim)\n"
            "  --ttl SECONDS     lifetime: exp = now + SECONDS (default 3600; negative mints an\n"
            "                    expired token, for tests); iat = nbf = now\n"
            "  --no-exp          no exp claim (the edge refuses it unless jwt_require_exp = false)\n"
            "  --iss X           issuer claim (the edge's jwt_issuer)\n"
            "  --aud Y           audience claim (the edge's jwt_audience)\n"
            "  --kid K           key id in the header (for an edge that uses a JWKS)\n"
            "  --help            this text\n"
            "\n"
            "Exit status: 0 with the token on stdout, 1 when signing fails, 2 on a usage error,\n"
            "an unreadable key file or a secret shorter than 32 bytes.\n");
}

/* The libjwt algorithm for a name, JWT_ALG_INVAL for an unknown or unsupported one. */
static jwt_alg_t s_alg(const char *name)
{
    static const struct {
        const char *name;
        jwt_alg_t alg;
    } table[] = {
        {"HS256", JWT_ALG_HS256}, {"HS384", JWT_ALG_HS384}, {"HS512", JWT_ALG_HS512},
        {"RS256", JWT_ALG_RS256}, {"RS384", JWT_ALG_RS384}, {"RS512", JWT_ALG_RS512},
        {"ES256", JWT_ALG_ES256}, {"ES384", JWT_ALG_ES384}, {"ES512", JWT_ALG_ES512},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].alg;
    return JWT_ALG_INVAL;
}

/* Parses the command line into args. Returns 0, or EXIT_USAGE after printing why (-1: --help). */
static int s_parse(int argc, char **argv, token_args_t *args)
{
    enum { OPT_SECRET = 256, OPT_KEY, OPT_ALG, OPT_SUB, OPT_ROOMS, OPT_ROOMS_CLAIM, OPT_TTL,
           OPT_NO_EXP, OPT_ISS, OPT_AUD, OPT_KID, OPT_HELP };
    static const struct option longopts[] = {
        {"secret-file", required_argument, NULL, OPT_SECRET},
        {"key", required_argument, NULL, OPT_KEY},
        {"alg", required_argument, NULL, OPT_ALG},
        {"sub", required_argument, NULL, OPT_SUB},
        {"rooms", required_argument, NULL, OPT_ROOMS},
        {"rooms-claim", required_argument, NULL, OPT_ROOMS_CLAIM},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"no-exp", no_argument, NULL, OPT_NO_EXP},
        {"iss", required_argument, NULL, OPT_ISS},
        {"aud", required_argument, NULL, OPT_AUD},
        {"kid", required_argument, NULL, OPT_KID},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    *args = (token_args_t){.c = {.sub = "dev", .rooms_claim = "rooms", .ttl = TOKEN_TTL_DEFAULT}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_SECRET: args->secret_file = optarg; break;
        case OPT_KEY: args->key_file = optarg; break;
        case OPT_ALG: args->alg = optarg; break;
        case OPT_SUB: args->c.sub = optarg; break;
        case OPT_ROOMS: args->c.rooms = optarg; break;
        case OPT_ROOMS_CLAIM: args->c.rooms_claim = optarg; break;
        case OPT_NO_EXP: args->c.no_exp = true; break;
        case OPT_ISS: args->c.iss = optarg; break;
        case OPT_AUD: args->c.aud = optarg; break;
        case OPT_KID: args->c.kid = optarg; break;
        case OPT_HELP: s_usage(stdout); return -1;
        case OPT_TTL: {
            char *end;
            errno = 0;
            args->c.ttl = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "weft-token: --ttl wants whole seconds, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        default:
            fprintf(stderr, "weft-token: unknown or incomplete option '%s' (try --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "weft-token: unexpected argument '%s' (try --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!args->secret_file == !args->key_file) {
        fprintf(stderr, "weft-token: give exactly one of --secret-file and --key (try --help)\n");
        return EXIT_USAGE;
    }
    if (!args->alg)
        args->alg = args->secret_file ? "HS256" : "RS256";
    jwt_alg_t alg = s_alg(args->alg);
    if (alg == JWT_ALG_INVAL) {
        fprintf(stderr, "weft-token: unknown algorithm '%s' (try --help)\n", args->alg);
        return EXIT_USAGE;
    }
    // The key decides the family: an HMAC secret never signs an RS/ES token and back.
    bool hmac = alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 || alg == JWT_ALG_HS512;
    if (hmac != (args->secret_file != NULL)) {
        fprintf(stderr, "weft-token: %s needs %s\n", args->alg,
                hmac ? "--secret-file" : "--key (a PEM private key)");
        return EXIT_USAGE;
    }
    if (!*args->c.rooms_claim) {
        fprintf(stderr, "weft-token: --rooms-claim must not be empty\n");
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    token_args_t args;
    int rc = s_parse(argc, argv, &args);
    if (rc)
        return rc < 0 ? 0 : rc;

    size_t keylen = 0;
    unsigned char *key =
        token_mint_read_key("weft-token", args.secret_file ? args.secret_file : args.key_file,
                            args.secret_file != NULL, &keylen);
    if (!key)
        return EXIT_USAGE;
    jwt_t *jwt = NULL;
    char *token = NULL;
    rc = 1;
    if (jwt_new(&jwt) != 0) {
        fprintf(stderr, "weft-token: out of memory\n");
        goto done;
    }
    if (jwt_set_alg(jwt, s_alg(args.alg), key, (int)keylen) != 0) {
        fprintf(stderr, "weft-token: cannot use %s for %s\n",
                args.secret_file ? args.secret_file : args.key_file, args.alg);
        goto done;
    }
    if (token_mint_claims("weft-token", jwt, &args.c, time(NULL)) != 0)
        goto done;
    token = jwt_encode_str(jwt);
    if (!token) {
        // libjwt parses a PEM key only when signing: a wrong or mismatched key ends here.
        fprintf(stderr, "weft-token: signing with %s failed (is it a private key for %s?)\n",
                args.key_file ? args.key_file : args.secret_file, args.alg);
        goto done;
    }
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "weft-token: cannot write the token: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(token);
    jwt_free(jwt);
    token_mint_free_key(key, keylen);
    return rc;
}
