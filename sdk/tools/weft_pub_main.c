/*
 * weft_pub_main.c: weft-pub, publish events from the command line or from a script.
 *
 *   weft-pub [options] ROOM TYPE JSON     publish one event
 *   weft-pub [options] -                  publish one event per JSON line on stdin
 *
 * It exits 0 only when the router acknowledged every event, so scripts can rely on it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weft.h"

#define EXIT_USAGE 2

/* Command-line settings. */
typedef struct pub_args {
    const char *endpoint; /* router intake endpoint */
    bool critical;        /* WEFT_CRITICAL for the event(s) */
    const char *key;      /* coalesce key or NULL */
    int timeout_ms;       /* how long to wait for buffer space and for the final acks */
    const char *id;       /* publisher id or NULL for the default */
    bool from_stdin;      /* read JSON lines instead of ROOM TYPE JSON */
    const char *room;     /* single-event mode */
    const char *type;     /* single-event mode */
    const char *json;     /* single-event mode */
    const char *curve_server; /* CURVE: the router's public key or certificate file */
    const char *curve_cert;   /* CURVE: this agent's secret certificate file */
} pub_args_t;

/* Prints usage to out. */
static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: weft-pub [options] ROOM TYPE JSON\n"
            "       weft-pub [options] -        (or --stdin)\n"
            "Publish events to a Weft router. With '-', read one JSON object per line from stdin:\n"
            "  {\"room\":\"project:1\",\"type\":\"task.progress\",\"data\":{...},"
            "\"critical\":false,\"key\":\"k\"}\n"
            "(critical and key optional; a bad line is reported with its number and skipped).\n"
            "\n"
            "Options:\n"
            "  --endpoint E      router intake endpoint (default tcp://127.0.0.1:5555)\n"
            "  --critical        publish with WEFT_CRITICAL (deliver at once)\n"
            "  --key K           coalesce key\n"
            "  --timeout-ms N    wait at most N ms for buffer space and for the final acks\n"
            "                    (default 5000)\n"
            "  --id ID           publisher id (default <hostname>-<pid>)\n"
            "  --stdin           same as '-'\n"
            "  --curve-server-key K  the router's public key (Z85) or certificate file (CURVE)\n"
            "  --curve-cert F    this agent's secret certificate file (weft-keygen NAME_secret)\n"
            "  --help            this text\n"
            "\n"
            "Prints 'published=N acked=N refused=N invalid=N' to stderr at the end. Exit status:\n"
            "0 when every event was acknowledged, 1 otherwise, 2 on a usage error.\n");
}

/* Parses a non-negative int; returns -1 when not one. */
static int s_parse_ms(const char *text)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > 86400000L)
        return -1;
    return (int)v;
}

/* Parses argv into a. Returns 0 to run, 1 when --help was printed, -1 on a usage error. */
static int s_parse_args(int argc, char **argv, pub_args_t *a)
{
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"critical", no_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},      {"timeout-ms", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},       {"stdin", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"curve-server-key", required_argument, NULL, 'S'},
        {"curve-cert", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    *a = (pub_args_t){.endpoint = "tcp://127.0.0.1:5555", .timeout_ms = 5000};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            a->endpoint = optarg;
            break;
        case 'c':
            a->critical = true;
            break;
        case 'k':
            a->key = optarg;
            break;
        case 'i':
            a->id = optarg;
            break;
        case 's':
            a->from_stdin = true;
            break;
        case 'S':
            a->curve_server = optarg;
            break;
        case 'C':
            a->curve_cert = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 1;
        case 't':
            a->timeout_ms = s_parse_ms(optarg);
            if (a->timeout_ms < 0) {
                fprintf(stderr, "weft-pub: --timeout-ms: '%s' is not a number of ms\n", optarg);
                return -1;
            }
            break;
        default:
            fprintf(stderr, "weft-pub: unknown option or missing value: %s (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    int rest = argc - optind;
    if (rest == 1 && strcmp(argv[optind], "-") == 0) {
        a->from_stdin = true;
        rest = 0;
    }
    if (a->from_stdin && rest == 0)
        return 0;
    if (!a->from_stdin && rest == 3) {
        a->room = argv[optind];
        a->type = argv[optind + 1];
        a->json = argv[optind + 2];
        return 0;
    }
    fprintf(stderr, "weft-pub: expected ROOM TYPE JSON, or '-' to read stdin (see --help)\n");
    return -1;
}

/* Passes the SDK's warnings and errors to stderr. */
static void s_log(int level, const char *message, void *arg)
{
    (void)arg;
    if (level <= WEFT_LOG_WARN)
        fprintf(stderr, "weft-pub: %s\n", message);
}

/* Publishes one event and reports a failure with its context. Returns the SDK's code. */
static int s_publish(weft_pub_t *pub, const char *where, const char *room, const char *type,
                     const char *key, const char *json, bool critical)
{
    int rc = weft_publish_key(pub, room, type, key, json, critical ? WEFT_CRITICAL : 0);
    if (rc != 0)
        fprintf(stderr, "weft-pub: %s%s (%s)\n", where, weft_strerror(rc), weft_err_name(rc));
    return rc;
}

/* Publishes the event described by one stdin line. Returns 0, or -1 when the line was bad. */
static int s_publish_line(weft_pub_t *pub, const pub_args_t *a, const char *line,
                          unsigned long lineno)
{
    char where[64];
    snprintf(where, sizeof where, "line %lu: ", lineno);
    json_error_t jerr;
    json_t *doc = json_loads(line, 0, &jerr);
    if (!json_is_object(doc)) {
        if (doc)
            fprintf(stderr, "weft-pub: %snot a JSON object\n", where);
        else
            fprintf(stderr, "weft-pub: %snot JSON: %s (column %d)\n", where, jerr.text,
                    jerr.column);
        json_decref(doc);
        return -1;
    }
    const char *problem = NULL;
    const char *field;
    json_t *value;
    json_object_foreach(doc, field, value)
    {
        if (strcmp(field, "room") != 0 && strcmp(field, "type") != 0 &&
            strcmp(field, "data") != 0 && strcmp(field, "critical") != 0 &&
            strcmp(field, "key") != 0) {
            fprintf(stderr, "weft-pub: %sunknown field \"%s\"\n", where, field);
            json_decref(doc);
            return -1;
        }
    }
    json_t *room = json_object_get(doc, "room");
    json_t *type = json_object_get(doc, "type");
    json_t *data = json_object_get(doc, "data");
    json_t *critical = json_object_get(doc, "critical");
    json_t *key = json_object_get(doc, "key");
    if (!json_is_string(room))
        problem = room ? "\"room\" must be a string" : "missing \"room\"";
    else if (!json_is_string(type))
        problem = type ? "\"type\" must be a string" : "missing \"type\"";
    else if (!json_is_object(data))
        problem = data ? "\"data\" must be an object" : "missing \"data\"";
    else if (critical && !json_is_boolean(critical))
        problem = "\"critical\" must be true or false";
    else if (key && !json_is_string(key))
        problem = "\"key\" must be a string";
    if (problem) {
        fprintf(stderr, "weft-pub: %s%s\n", where, problem);
        json_decref(doc);
        return -1;
    }
    char *payload = json_dumps(data, JSON_COMPACT);
    int rc = -1;
    if (!payload) {
        fprintf(stderr, "weft-pub: %sout of memory\n", where);
    } else {
        s_publish(pub, where, json_string_value(room), json_string_value(type),
                  key ? json_string_value(key) : a->key, payload,
                  critical ? json_is_true(critical) : a->critical);
        rc = 0; /* the SDK counted any failure in its own stats */
    }
    free(payload);
    json_decref(doc);
    return rc;
}

/* Parses arguments, publishes, closes (waiting for the acks), prints the summary. */
int main(int argc, char **argv)
{
    pub_args_t a;
    int parsed = s_parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;

    weft_log_set(s_log, NULL);
    weft_pub_opts_t opts;
    weft_pub_opts_init(&opts);
    opts.publisher_id = a.id;
    opts.block_ms = a.timeout_ms; /* a script would rather wait than lose events */
    opts.curve_server_key = a.curve_server;
    opts.curve_cert = a.curve_cert;
    weft_pub_t *pub = weft_pub_new(a.endpoint, &opts);
    if (!pub) {
        fprintf(stderr, "weft-pub: cannot create a publisher for %s\n", a.endpoint);
        return EXIT_USAGE;
    }

    unsigned long bad_lines = 0;
    if (a.from_stdin) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        unsigned long lineno = 0;
        while ((len = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = '\0';
            if (strspn(line, " \t") == (size_t)len)
                continue; /* blank lines are fine */
            if (s_publish_line(pub, &a, line, lineno) < 0)
                bad_lines++;
        }
        free(line);
    } else {
        s_publish(pub, "", a.room, a.type, a.key, a.json, a.critical);
    }

    weft_log_set(NULL, NULL); /* the loss, if any, is reported below */
    weft_pub_stats_t st;
    int closed = weft_pub_close(&pub, a.timeout_ms, &st);
    if (closed != 0)
        fprintf(stderr, "weft-pub: %" PRIu64 " events not acknowledged within %d ms by %s\n",
                st.lost, a.timeout_ms, a.endpoint);
    fprintf(stderr,
            "published=%" PRIu64 " acked=%" PRIu64 " refused=%" PRIu64 " invalid=%" PRIu64 "\n",
            st.published, st.acked, st.refused, st.invalid + bad_lines);
    bool all_acked = closed == 0 && st.acked == st.published && st.refused == 0 &&
                     st.invalid == 0 && bad_lines == 0;
    return all_acked ? 0 : 1;
}
