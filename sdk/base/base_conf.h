/*
 * base_conf.h: table-driven configuration for the daemons.
 *
 * Each daemon describes every setting once, in a table of base_conf_entry_t: name, type, offset in
 * its config struct, default, bounds and help. Defaults live only in that table. This module fills
 * the struct from the defaults, then a config file ("key = value" lines, '#' comments), then
 * command-line flags ("--key value" or "--key=value"; '-' and '_' are interchangeable), so flags
 * override the file. Errors read "file:line: key: what is wrong" or "--key: what is wrong".
 */
#ifndef BASE_CONF_H
#define BASE_CONF_H

#include <stddef.h>
#include <stdio.h>

typedef enum base_conf_type {
    BASE_CONF_INT,    /* int; min/max bounds */
    BASE_CONF_SIZE,   /* size_t; accepts k, m, g suffixes (powers of 1024); min/max bounds */
    BASE_CONF_STR,    /* char * (owned by the struct, freed by base_conf_free); max = length */
    BASE_CONF_BOOL,   /* bool; true/false/yes/no/on/off/1/0 */
    BASE_CONF_DOUBLE, /* double; min/max bounds */
    BASE_CONF_LEVEL   /* int log level: error, warn, notice, info, debug */
} base_conf_type_t;

typedef struct base_conf_entry {
    const char *name;      /* key in files, flag name on the command line */
    base_conf_type_t type; /* how the value is parsed and stored */
    size_t offset;         /* offsetof() the field in the config struct */
    const char *def;       /* default, as text (NULL for an empty string) */
    double min;            /* lower bound (numbers) */
    double max;            /* upper bound (numbers), max length (strings; 0 = 4096) */
    const char *help;      /* one line for --help */
} base_conf_entry_t;

/* What the caller should do after base_conf_from_args(). */
typedef enum base_conf_action {
    BASE_CONF_RUN = 0,  /* configuration complete: start */
    BASE_CONF_EXIT_OK,  /* --help, --version, --check-config or --print-config handled */
    BASE_CONF_EXIT_ERR  /* an error was printed to errout */
} base_conf_action_t;

/* Tables end with an entry whose name is NULL. */

/* Sets every field to its default. Returns 0, or -1 with err filled (a bad default is a bug). */
int base_conf_defaults(const base_conf_entry_t *table, void *conf, char *err, size_t errlen);

/* Sets one key from text. Returns 0, or -1 with "key: reason" in err. */
int base_conf_set(const base_conf_entry_t *table, void *conf, const char *key, const char *value,
                  char *err, size_t errlen);

/* Loads a file of "key = value" lines. Returns 0, or -1 with "path:line: key: reason" in err. */
int base_conf_load(const base_conf_entry_t *table, void *conf, const char *path, char *err,
                   size_t errlen);

/*
 * Builds the configuration from defaults, the file named by --config (if any), then flags.
 * Handles --help, --version, --check-config and --print-config itself (printing to out).
 * Unknown flags and stray arguments are errors.
 */
base_conf_action_t base_conf_from_args(const base_conf_entry_t *table, void *conf, int argc,
                                       char **argv, const char *summary, const char *version,
                                       FILE *out, FILE *errout);

/* Prints the configuration as a loadable file. */
void base_conf_print(const base_conf_entry_t *table, const void *conf, FILE *out);

/* Prints usage with every key, its default and help. */
void base_conf_help(const base_conf_entry_t *table, const char *prog, const char *summary,
                    FILE *out);

/* Frees the strings the table owns in conf. Safe to call twice. */
void base_conf_free(const base_conf_entry_t *table, void *conf);

#endif
