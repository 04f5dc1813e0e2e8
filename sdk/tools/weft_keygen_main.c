/*
 * weft_keygen_main.c: weft-keygen, which writes a CURVE key pair for the router, an edge, an
 * agent or a tool (docs/security.md, "Agent side: CURVE keys"). The work is in keygen.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "keygen.h"

#define EXIT_USAGE 2

/* Prints usage to out. */
static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: weft-keygen [--name N] [--meta KEY=VALUE ...] DIR/NAME\n"
            "Write a CURVE key pair in czmq's certificate format: DIR/NAME, the public\n"
            "certificate (mode 0644: copy it into the router's curve_clients_dir to allow this\n"
            "key, or give it to clients as the router's key), and DIR/NAME_secret, both keys\n"
            "(mode 0600: keep it on this machine only). Existing files are never overwritten.\n"
            "Prints the public key (Z85) on stdout.\n"
            "\n"
            "Options:\n"
            "  --name N          metadata name (who holds the key)\n"
            "  --meta KEY=VALUE  further metadata, repeatable (KEY: [A-Za-z0-9_-]{1,64})\n"
            "  --help            this text\n"
            "\n"
            "Exit status: 0 on success, 1 when the files cannot be written (or exist), 2 on a\n"
            "usage error.\n");
}

/* Parses the arguments, writes the pair, prints the public key. */
int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"name", required_argument, NULL, 'n'},
        {"meta", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL;
    keygen_meta_t meta[KEYGEN_META_MAX];
    size_t n = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'm':
            if (n == KEYGEN_META_MAX || keygen_meta_parse(optarg, &meta[n]) < 0) {
                fprintf(stderr, "weft-keygen: --meta wants KEY=VALUE (at most %d)\n",
                        KEYGEN_META_MAX);
                return EXIT_USAGE;
            }
            n++;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "weft-keygen: unknown option or missing value: %s (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "weft-keygen: give exactly one output path DIR/NAME (see --help)\n");
        return EXIT_USAGE;
    }
    char pub[41], err[4600];
    if (keygen_write(argv[optind], name, meta, n, pub, err, sizeof err) < 0) {
        fprintf(stderr, "weft-keygen: %s\n", err);
        return 1;
    }
    printf("%s\n", pub);
    return 0;
}
