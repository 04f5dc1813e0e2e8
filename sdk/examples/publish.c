/*
 * publish.c: the smallest libweft program, the README example. Publishes one event to room
 * project:1, waits for the router's acknowledgement and exits 0 if it came.
 *
 *   publish [ENDPOINT]        (default tcp://127.0.0.1:5555)
 *
 * It needs nothing but weft.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include <weft.h>

/* Publishes one event and waits for its acknowledgement. */
int main(int argc, char **argv)
{
    const char *endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";

    weft_pub_t *pub = weft_pub_new(endpoint, NULL);
    if (!pub)
        return 1;
    int rc = weft_publish(pub, "project:1", "task.progress", "{\"task\":\"build\",\"pct\":40}", 0);
    if (rc != 0)
        fprintf(stderr, "publish: %s\n", weft_strerror(rc));

    /* Close waits up to 5 s for the router's acknowledgement, then reports what never got one. */
    weft_pub_stats_t final;
    int closed = weft_pub_close(&pub, 5000, &final);
    if (closed != 0)
        fprintf(stderr, "publish: %s: %" PRIu64 " event(s) not acknowledged\n",
                weft_strerror(closed), final.lost);
    if (rc == 0)
        rc = closed;
    return rc == 0 ? 0 : 1;
}
