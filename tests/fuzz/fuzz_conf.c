/*
 * fuzz_conf.c: libFuzzer target for the config file parser (sdk/base/base_conf.c) through the
 * real tables of weft-edge (edge_config.c, then edge_config_finish(): the class list, the origin
 * list, the auth settings) and weft-router (rtr_config.c).
 *
 * Input: one selector byte (bit 0: the edge's table or the router's), then a config file's text.
 * base_conf_load() takes a path, so the text is written to a memfd and loaded through
 * /proc/self/fd. A file that loads must print (base_conf_print) to text that loads again into
 * the same printed text: --print-config's output is a valid config.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base_conf.h"
#include "edge_config.h"
#include "fuzz_frames.h"
#include "rtr_config.h"

static int s_fd = -1;
static char s_path[64];

/* Replaces the memfd's content with len bytes. */
static void s_write(const void *data, size_t len)
{
    if (ftruncate(s_fd, 0) < 0 || (len && pwrite(s_fd, data, len, 0) != (ssize_t)len))
        abort();
}

/* Prints conf through table into a malloc'd string. */
static char *s_print(const base_conf_entry_t *table, const void *conf, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    base_conf_print(table, conf, f);
    fclose(f);
    return text;
}

/* Loads the memfd into conf (defaults first). Returns base_conf_load()'s result. */
static int s_load(const base_conf_entry_t *table, void *conf, char *err, size_t errlen)
{
    FUZZ_CHECK(base_conf_defaults(table, conf, err, errlen) == 0);
    return base_conf_load(table, conf, s_path, err, errlen);
}

/* Loads, prints, reloads the print, and checks the second print is the first. */
static void s_table(const base_conf_entry_t *table, void *conf, void *conf2, bool edge,
                    const uint8_t *data, size_t size)
{
    char err[1024] = "";
    s_write(data, size);
    int rc = s_load(table, conf, err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0] != '\0');
    if (rc == 0) {
        size_t len1 = 0, len2 = 0;
        char *p1 = s_print(table, conf, &len1);
        s_write(p1, len1);
        char err2[1024] = "";
        int rc2 = s_load(table, conf2, err2, sizeof err2);
        if (rc2 != 0)
            fprintf(stderr, "printed config does not load: %s\n--\n%s--\n", err2, p1);
        FUZZ_CHECK(rc2 == 0);
        char *p2 = s_print(table, conf2, &len2);
        FUZZ_CHECK(len1 == len2 && memcmp(p1, p2, len1) == 0);
        free(p1);
        free(p2);
        base_conf_free(table, conf2);
        if (edge) {
            char why[1024] = "";
            if (edge_config_finish(conf, why, sizeof why) < 0)
                FUZZ_CHECK(why[0] != '\0');
        }
    }
    base_conf_free(table, conf);
    base_conf_free(table, conf); /* documented safe twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_fd < 0) {
        s_fd = memfd_create("fuzz_conf", 0);
        if (s_fd < 0)
            abort();
        snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    }
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        rtr_config_t a, b;
        s_table(rtr_config_table(), &a, &b, false, data + 1, size - 1);
    } else {
        edge_config_t a, b;
        s_table(edge_config_table, &a, &b, true, data + 1, size - 1);
    }
    return 0;
}
