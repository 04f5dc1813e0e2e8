/*
 * base_conf.c: table-driven configuration parsing (see base_conf.h).
 */
#include "base_conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const s_levels[] = {"error", "warn", "notice", "info", "debug"};

/* Compares a key with an entry name treating '-' and '_' alike; klen bytes of key. */
static bool s_key_eq(const char *name, const char *key, size_t klen)
{
    size_t i = 0;
    for (; i < klen && name[i]; i++) {
        char a = name[i] == '-' ? '_' : name[i];
        char b = key[i] == '-' ? '_' : key[i];
        if (a != b)
            return false;
    }
    return i == klen && name[i] == '\0';
}

static const base_conf_entry_t *s_find(const base_conf_entry_t *table, const char *key, size_t klen)
{
    for (const base_conf_entry_t *e = table; e->name; e++)
        if (s_key_eq(e->name, key, klen))
            return e;
    return NULL;
}

static int s_parse_number(const char *value, bool size_suffix, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || errno || !isfinite(v))
        return -1;
    if (size_suffix && *end) {
        bool unit = true;
        switch (tolower((unsigned char)*end)) {
        case 'k': v *= 1024.0; end++; break;
        case 'm': v *= 1024.0 * 1024.0; end++; break;
        case 'g': v *= 1024.0 * 1024.0 * 1024.0; end++; break;
        default: unit = false; break;
        }
        /* "16k", "16kb", "16KiB" and "4096b" all mean what they say. */
        if (unit && tolower((unsigned char)*end) == 'i')
            end++;
        if (tolower((unsigned char)*end) == 'b')
            end++;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int s_apply(const base_conf_entry_t *e, void *conf, const char *value, char *err,
                   size_t errlen)
{
    char *field = (char *)conf + e->offset;
    double v = 0;
    switch (e->type) {
    case BASE_CONF_INT:
    case BASE_CONF_SIZE:
    case BASE_CONF_DOUBLE:
        if (s_parse_number(value, e->type == BASE_CONF_SIZE, &v) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a number", e->name, value);
            return -1;
        }
        if (e->type != BASE_CONF_DOUBLE && v != floor(v)) {
            snprintf(err, errlen, "%s: '%s' is not a whole number", e->name, value);
            return -1;
        }
        if (v < e->min || v > e->max) {
            snprintf(err, errlen, "%s: %s is out of range [%.15g, %.15g]", e->name, value, e->min,
                     e->max);
            return -1;
        }
        if (e->type == BASE_CONF_INT)
            *(int *)field = (int)v;
        else if (e->type == BASE_CONF_SIZE)
            *(size_t *)field = (size_t)v;
        else
            *(double *)field = v;
        return 0;
    case BASE_CONF_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(bool *)field = true;
                return 0;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(bool *)field = false;
                return 0;
            }
        }
        snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", e->name, value);
        return -1;
    }
    case BASE_CONF_LEVEL:
        for (int i = 0; i < 5; i++)
            if (strcasecmp(value, s_levels[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        snprintf(err, errlen, "%s: '%s' is not a log level (error, warn, notice, info, debug)",
                 e->name, value);
        return -1;
    case BASE_CONF_STR: {
        size_t max = e->max > 0 ? (size_t)e->max : 4096;
        if (strlen(value) > max) {
            snprintf(err, errlen, "%s: longer than %zu characters", e->name, max);
            return -1;
        }
        char *copy = strdup(value);
        if (!copy) {
            snprintf(err, errlen, "%s: out of memory", e->name);
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    }
    snprintf(err, errlen, "%s: unknown setting type", e->name);
    return -1;
}

int base_conf_defaults(const base_conf_entry_t *table, void *conf, char *err, size_t errlen)
{
    for (const base_conf_entry_t *e = table; e->name; e++) {
        if (e->type == BASE_CONF_STR)
            *(char **)((char *)conf + e->offset) = NULL;
        if (s_apply(e, conf, e->def ? e->def : "", err, errlen) < 0)
            return -1;
    }
    return 0;
}

int base_conf_set(const base_conf_entry_t *table, void *conf, const char *key, const char *value,
                  char *err, size_t errlen)
{
    const base_conf_entry_t *e = s_find(table, key, strlen(key));
    if (!e) {
        snprintf(err, errlen, "%s: unknown setting", key);
        return -1;
    }
    return s_apply(e, conf, value, err, errlen);
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int base_conf_load(const base_conf_entry_t *table, void *conf, const char *path, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[4200];
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        /* A line that does not fit is an error: read in pieces, the rest of a long comment
         * would be parsed as a setting of its own. */
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            int c = getc(f);
            if (c != EOF) {
                snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno,
                         sizeof line - 2);
                rc = -1;
                break;
            }
        }
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        char why[512];
        if (base_conf_set(table, conf, key, value, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void s_format(const base_conf_entry_t *e, const void *conf, char *buf, size_t len)
{
    const char *field = (const char *)conf + e->offset;
    switch (e->type) {
    case BASE_CONF_INT: snprintf(buf, len, "%d", *(const int *)field); break;
    case BASE_CONF_SIZE: snprintf(buf, len, "%zu", *(const size_t *)field); break;
    case BASE_CONF_DOUBLE: snprintf(buf, len, "%g", *(const double *)field); break;
    case BASE_CONF_BOOL: snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false"); break;
    case BASE_CONF_LEVEL: {
        int l = *(const int *)field;
        snprintf(buf, len, "%s", l >= 0 && l < 5 ? s_levels[l] : "?");
        break;
    }
    case BASE_CONF_STR: {
        const char *s = *(char *const *)field;
        snprintf(buf, len, "\"%s\"", s ? s : "");
        break;
    }
    }
}

void base_conf_print(const base_conf_entry_t *table, const void *conf, FILE *out)
{
    char buf[4200];
    for (const base_conf_entry_t *e = table; e->name; e++) {
        s_format(e, conf, buf, sizeof buf);
        fprintf(out, "%s = %s\n", e->name, buf);
    }
}

void base_conf_help(const base_conf_entry_t *table, const char *prog, const char *summary,
                    FILE *out)
{
    fprintf(out, "Usage: %s [--config FILE] [--KEY VALUE ...]\n%s\n\nOptions:\n", prog, summary);
    fprintf(out, "  --config FILE        read settings from FILE (key = value lines); flags win\n");
    fprintf(out, "  --check-config       validate the configuration and exit\n");
    fprintf(out, "  --print-config       print the effective configuration and exit\n");
    fprintf(out, "  --help, --version\n\nSettings (file key = flag name):\n");
    for (const base_conf_entry_t *e = table; e->name; e++)
        fprintf(out, "  --%-22s %s (default: %s)\n", e->name, e->help, e->def ? e->def : "\"\"");
}

void base_conf_free(const base_conf_entry_t *table, void *conf)
{
    for (const base_conf_entry_t *e = table; e->name; e++) {
        if (e->type == BASE_CONF_STR) {
            char **field = (char **)((char *)conf + e->offset);
            free(*field);
            *field = NULL;
        }
    }
}

base_conf_action_t base_conf_from_args(const base_conf_entry_t *table, void *conf, int argc,
                                       char **argv, const char *summary, const char *version,
                                       FILE *out, FILE *errout)
{
    char err[600];
    const char *prog = argc > 0 ? argv[0] : "weft";
    if (base_conf_defaults(table, conf, err, sizeof err) < 0) {
        fprintf(errout, "%s: bad built-in default: %s\n", prog, err);
        return BASE_CONF_EXIT_ERR;
    }
    bool check = false, print = false;
    /* The file first, wherever --config appears, so that flags override it. */
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(errout, "%s: --config: missing file name\n", prog);
                return BASE_CONF_EXIT_ERR;
            }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
        if (path && base_conf_load(table, conf, path, err, sizeof err) < 0) {
            fprintf(errout, "%s: %s\n", prog, err);
            return BASE_CONF_EXIT_ERR;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0)
            continue;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            base_conf_help(table, prog, summary, out);
            return BASE_CONF_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "%s %s\n", prog, version);
            return BASE_CONF_EXIT_OK;
        }
        if (strcmp(arg, "--check-config") == 0) {
            check = true;
            continue;
        }
        if (strcmp(arg, "--print-config") == 0) {
            print = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(errout, "%s: unexpected argument '%s' (see --help)\n", prog, arg);
            return BASE_CONF_EXIT_ERR;
        }
        const char *key = arg + 2;
        const char *eq = strchr(key, '=');
        size_t klen = eq ? (size_t)(eq - key) : strlen(key);
        const base_conf_entry_t *e = s_find(table, key, klen);
        if (!e) {
            fprintf(errout, "%s: --%.*s: unknown option (see --help)\n", prog, (int)klen, key);
            return BASE_CONF_EXIT_ERR;
        }
        const char *value = NULL;
        if (eq)
            value = eq + 1;
        else if (e->type == BASE_CONF_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        if (!value) {
            fprintf(errout, "%s: --%s: missing value\n", prog, e->name);
            return BASE_CONF_EXIT_ERR;
        }
        if (s_apply(e, conf, value, err, sizeof err) < 0) {
            fprintf(errout, "%s: --%s\n", prog, err);
            return BASE_CONF_EXIT_ERR;
        }
    }
    if (print) {
        base_conf_print(table, conf, out);
        return BASE_CONF_EXIT_OK;
    }
    if (check) {
        fprintf(out, "configuration OK\n");
        return BASE_CONF_EXIT_OK;
    }
    return BASE_CONF_RUN;
}
