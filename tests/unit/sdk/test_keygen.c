/*
 * test_keygen.c: weft-keygen's work (keygen.c). A pair is written as NAME (0644) and
 * NAME_secret (0600) in zcert format, with its metadata; the public key printed is the one in
 * the files and the two files belong together; nothing is ever overwritten; bad metadata is
 * refused before anything is written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keygen.h"
#include "wire_curve.h"

static char g_dir[] = "/tmp/weft-keygen-test.XXXXXX";

/* A path in the test directory (two static slots). */
static const char *s_path(const char *name)
{
    static char buf[2][256];
    static int slot;
    slot ^= 1;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_dir, name);
    return buf[slot];
}

/* The permission bits of path. */
static unsigned s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Files, modes, metadata, and keys that read back as one pair. */
static void test_write_pair(void **state)
{
    (void)state;
    char meta_text[] = "rooms=project:*";
    keygen_meta_t meta;
    assert_int_equal(keygen_meta_parse(meta_text, &meta), 0);
    char pub[41], err[256];
    mode_t old = umask(077); /* the public file is 0644 whatever the umask */
    assert_int_equal(keygen_write(s_path("agent"), "agent one", &meta, 1, pub, err, sizeof err), 0);
    umask(old);
    assert_int_equal(s_mode(s_path("agent")), 0644);
    assert_int_equal(s_mode(s_path("agent_secret")), 0600);
    assert_true(wire_curve_z85_valid(pub));

    char from_public[41], from_secret[41], sec[41];
    bool loose = true;
    assert_int_equal(wire_curve_public_key(s_path("agent"), from_public, err, sizeof err), 0);
    assert_string_equal(from_public, pub);
    assert_int_equal(
        wire_curve_secret_cert(s_path("agent_secret"), from_secret, sec, &loose, err, sizeof err),
        0);
    assert_string_equal(from_secret, pub);
    assert_false(loose);
    /* The secret key is the public key's partner. */
    uint8_t sec_bin[32], pub_bin[32];
    char derived[41];
    assert_non_null(zmq_z85_decode(sec_bin, sec));
    assert_non_null(zmq_z85_decode(pub_bin, pub));
    assert_int_equal(zmq_curve_public(derived, sec), 0);
    assert_string_equal(derived, pub);

    /* The public file holds no secret, and carries the metadata. */
    zcert_t *cert = zcert_load(s_path("agent"));
    assert_non_null(cert);
    assert_string_equal(zcert_meta(cert, "name"), "agent one");
    assert_string_equal(zcert_meta(cert, "rooms"), "project:*");
    zcert_destroy(&cert);
    FILE *f = fopen(s_path("agent"), "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_null(strstr(text, "secret-key"));
    assert_null(strstr(text, sec));
}

/* An existing public or secret file stops the write; neither file changes. */
static void test_no_overwrite(void **state)
{
    (void)state;
    char pub[41], again[41], err[256];
    assert_int_equal(keygen_write(s_path("edge"), NULL, NULL, 0, pub, err, sizeof err), 0);
    assert_int_equal(keygen_write(s_path("edge"), NULL, NULL, 0, again, err, sizeof err), -1);
    assert_non_null(strstr(err, "edge_secret: already exists"));
    char check[41];
    assert_int_equal(wire_curve_public_key(s_path("edge"), check, err, sizeof err), 0);
    assert_string_equal(check, pub);

    /* Only the public file exists: refused, and no secret file is left behind. */
    FILE *f = fopen(s_path("lone"), "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(keygen_write(s_path("lone"), NULL, NULL, 0, again, err, sizeof err), -1);
    assert_non_null(strstr(err, "lone: already exists"));
    assert_int_equal(access(s_path("lone_secret"), F_OK), -1);
}

/* Bad metadata is refused before any file is created. */
static void test_bad_meta(void **state)
{
    (void)state;
    char pub[41], err[256];
    keygen_meta_t bad_key = {"no spaces", "v"};
    keygen_meta_t bad_value = {"k", "say \"hi\""};
    keygen_meta_t name_twice = {"name", "x"};
    assert_int_equal(keygen_write(s_path("m1"), NULL, &bad_key, 1, pub, err, sizeof err), -1);
    assert_non_null(strstr(err, "--meta 'no spaces'"));
    assert_int_equal(keygen_write(s_path("m1"), NULL, &bad_value, 1, pub, err, sizeof err), -1);
    assert_int_equal(keygen_write(s_path("m1"), "n", &name_twice, 1, pub, err, sizeof err), -1);
    assert_int_equal(access(s_path("m1"), F_OK), -1);
    assert_int_equal(access(s_path("m1_secret"), F_OK), -1);
    char no_eq[] = "novalue";
    keygen_meta_t m;
    assert_int_equal(keygen_meta_parse(no_eq, &m), -1);
}

/* Creates the scratch directory. */
static int s_setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) ? 0 : -1;
}

/* Removes the scratch directory. */
static int s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_pair),
        cmocka_unit_test(test_no_overwrite),
        cmocka_unit_test(test_bad_meta),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
