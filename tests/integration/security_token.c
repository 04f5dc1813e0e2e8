/*
 * security_token.c: weft-token mints what the edge's own verifier (edge_jwt) accepts, with
 * exactly the claims asked for, and refuses bad input with exit status 2 and a clear message.
 * The tool runs as a separate process (argv[1] is its path); keys are made by the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "edge_jwt.h"

static const char *g_tool;     /* path of weft-token */
static char g_dir[] = "/tmp/weft-token-test.XXXXXX";
static char g_out[16384];      /* stdout of the last run */
static char g_err[4096];       /* stderr of the last run */

/* A path inside the test's directory (one static buffer per slot). */
static const char *s_path(const char *name)
{
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_dir, name);
    return buf[slot];
}

/* Writes len bytes to a file of the test directory. */
static void s_write(const char *name, const char *bytes, size_t len)
{
    FILE *f = fopen(s_path(name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Reads a file of the test directory into buf (NUL-terminated). */
static void s_slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs weft-token with args (shell words, quoted by the caller); returns its exit status. */
static int s_run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", g_tool, args, s_path("out"), s_path("err"));
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    s_slurp(s_path("out"), g_out, sizeof g_out);
    s_slurp(s_path("err"), g_err, sizeof g_err);
    return WEXITSTATUS(st);
}

/* Verifies the last token printed with opts at time now; the token ends with one newline. */
static edge_jwt_err_t s_verify(edge_jwt_opts_t opts, int64_t now, edge_jwt_claims_t *out)
{
    size_t len = strlen(g_out);
    assert_true(len > 1);
    assert_int_equal(g_out[len - 1], '\n');
    char err[256] = "";
    edge_jwt_t *v = edge_jwt_new(&opts, err, sizeof err);
    if (!v)
        fail_msg("edge_jwt_new: %s", err);
    edge_jwt_err_t rc = edge_jwt_verify(v, g_out, len - 1, now, out);
    edge_jwt_destroy(&v);
    return rc;
}

/* Makes the test directory, two HS secrets (one with a trailing newline) and a short one. */
static int s_setup(void **state)
{
    (void)state;
    if (!mkdtemp(g_dir))
        return -1;
    s_write("secret", "0123456789abcdef0123456789abcdef0123456789abcdef\n", 49);
    s_write("other", "fedcba9876543210fedcba9876543210fedcba9876543210", 48);
    s_write("short", "0123456789abcdef0123456789abcde", 31);
    return 0;
}

/* Removes the test directory. */
static int s_teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* HS256 with every claim: the edge's verifier accepts it and reads back what was asked for. */
static void test_hs256_claims(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "--secret-file '%s' --sub 42 --rooms 'project:*, team:1' --ttl 600 "
             "--iss https://id.example --aud weft",
             s_path("secret"));
    int64_t before = time(NULL);
    assert_int_equal(s_run(args), 0);
    int64_t after = time(NULL);
    assert_string_equal(g_err, "");
    edge_jwt_claims_t c = {0};
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret"),
                                                .issuer = "https://id.example",
                                                .audience = "weft", .algs = "HS256"},
                              after, &c),
                     EDGE_JWT_OK);
    assert_string_equal(c.sub, "42");
    assert_in_range(c.exp, before + 600, after + 600);
    assert_int_equal(c.nrooms, 2);
    assert_string_equal(c.rooms[0], "project:*");
    assert_string_equal(c.rooms[1], "team:1");
    edge_jwt_claims_clear(&c);
    // Another secret, another issuer, another audience: each refused for its own reason.
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("other")}, after, &c),
                     EDGE_JWT_BAD_SIGNATURE);
    assert_int_equal(
        s_verify((edge_jwt_opts_t){.secret_file = s_path("secret"), .issuer = "x"}, after, &c),
        EDGE_JWT_BAD_ISS);
    assert_int_equal(
        s_verify((edge_jwt_opts_t){.secret_file = s_path("secret"), .audience = "x"}, after, &c),
        EDGE_JWT_BAD_AUD);
    // Not valid before it was minted (nbf = now), expired after ttl.
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret")}, before - 60, &c),
                     EDGE_JWT_NOT_YET_VALID);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret")}, after + 700, &c),
                     EDGE_JWT_EXPIRED);
}

/* HS384 and HS512, a custom rooms claim, no exp, and a negative ttl (already expired). Checked
 * at the time after each run: nbf is the second of minting, which a busy machine may tick past. */
static void test_hs_variants(void **state)
{
    (void)state;
    char args[1024];
    edge_jwt_claims_t c = {0};
    snprintf(args, sizeof args, "--secret-file '%s' --alg HS512 --rooms agent:7 --rooms-claim wr",
             s_path("secret"));
    assert_int_equal(s_run(args), 0);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret"),
                                                .algs = "HS512", .rooms_claim = "wr"},
                              time(NULL), &c),
                     EDGE_JWT_OK);
    assert_string_equal(c.sub, "dev");
    assert_int_equal(c.nrooms, 1);
    assert_string_equal(c.rooms[0], "agent:7");
    edge_jwt_claims_clear(&c);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret"), .algs = "HS256"},
                              time(NULL), &c),
                     EDGE_JWT_ALG_MISMATCH);

    snprintf(args, sizeof args, "--secret-file '%s' --alg HS384 --no-exp", s_path("secret"));
    assert_int_equal(s_run(args), 0);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret")}, time(NULL), &c),
                     EDGE_JWT_MISSING_EXP);

    snprintf(args, sizeof args, "--secret-file '%s' --ttl -120", s_path("secret"));
    assert_int_equal(s_run(args), 0);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret")}, time(NULL), &c),
                     EDGE_JWT_EXPIRED);

    snprintf(args, sizeof args, "--secret-file '%s' --sub ''", s_path("secret"));
    assert_int_equal(s_run(args), 0);
    assert_int_equal(s_verify((edge_jwt_opts_t){.secret_file = s_path("secret")}, time(NULL), &c),
                     EDGE_JWT_MISSING_SUB);
}

/* ES256 from a PEM private key; the edge checks it with the public half. */
static void test_es256_key(void **state)
{
    (void)state;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    FILE *f = fopen(s_path("ec.pem"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    f = fopen(s_path("ec.pub"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
    fclose(f);
    EVP_PKEY_free(pkey);

    char args[1024];
    snprintf(args, sizeof args, "--key '%s' --alg ES256 --sub 7", s_path("ec.pem"));
    assert_int_equal(s_run(args), 0);
    edge_jwt_claims_t c = {0};
    assert_int_equal(s_verify((edge_jwt_opts_t){.pem_file = s_path("ec.pub")}, time(NULL), &c),
                     EDGE_JWT_OK);
    assert_string_equal(c.sub, "7");
    edge_jwt_claims_clear(&c);
    // The default for --key is RS256, which an EC key cannot sign: exit 1 with the reason.
    snprintf(args, sizeof args, "--key '%s'", s_path("ec.pem"));
    assert_int_equal(s_run(args), 1);
    assert_string_equal(g_out, "");
    assert_non_null(strstr(g_err, "failed (is it a private key for RS256?)"));
}

/* Usage errors, a missing file and a short secret: exit 2, nothing on stdout, a clear message. */
static void test_refusals(void **state)
{
    (void)state;
    char args[1024];
    char want[1024];
    snprintf(args, sizeof args, "--secret-file '%s'", s_path("missing"));
    assert_int_equal(s_run(args), 2);
    assert_string_equal(g_out, "");
    snprintf(want, sizeof want, "weft-token: %s: No such file or directory\n", s_path("missing"));
    assert_string_equal(g_err, want);

    snprintf(args, sizeof args, "--secret-file '%s'", s_path("short"));
    assert_int_equal(s_run(args), 2);
    assert_string_equal(g_out, "");
    snprintf(want, sizeof want,
             "weft-token: %s: secret is 31 bytes, the edge wants at least 32\n", s_path("short"));
    assert_string_equal(g_err, want);

    assert_int_equal(s_run(""), 2);
    assert_string_equal(g_err,
                        "weft-token: give exactly one of --secret-file and --key (try --help)\n");
    snprintf(args, sizeof args, "--secret-file '%s' --alg RS256", s_path("secret"));
    assert_int_equal(s_run(args), 2);
    assert_string_equal(g_err, "weft-token: RS256 needs --key (a PEM private key)\n");
    snprintf(args, sizeof args, "--secret-file '%s' --alg none", s_path("secret"));
    assert_int_equal(s_run(args), 2);
    assert_string_equal(g_err, "weft-token: unknown algorithm 'none' (try --help)\n");
    snprintf(args, sizeof args, "--secret-file '%s' --ttl 1h", s_path("secret"));
    assert_int_equal(s_run(args), 2);
    assert_string_equal(g_err, "weft-token: --ttl wants whole seconds, not '1h'\n");
    assert_string_equal(g_out, "");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: security_token PATH-TO-weft-token\n");
        return 2;
    }
    g_tool = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256_claims),
        cmocka_unit_test(test_hs_variants),
        cmocka_unit_test(test_es256_key),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
