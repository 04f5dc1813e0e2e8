/*
 * edge_rxbuf.c: reassembly of one client message from WebSocket fragments (see edge_rxbuf.h).
 */
#include "edge_rxbuf.h"

#include <stdlib.h>
#include <string.h>

#define S_FIRST_CAP 4096 /* the first buffer of a fragmented message */

/* Adds a piece; see the header for the cases. */
edge_rx_rc_t edge_rxbuf_add(edge_rxbuf_t *rx, const edge_rxpiece_t *piece, size_t max,
                            unsigned max_frames, const char **msg, size_t *msg_len)
{
    size_t len = piece->len;
    if (piece->first) {
        rx->len = 0;
        rx->frames = 0;
    }
    if (len > max || rx->len > max - len || piece->remaining > max - rx->len - len)
        return EDGE_RX_TOO_BIG;
    /* A piece that ends its frame completes one more fragment of the message. */
    if (piece->remaining == 0 && ++rx->frames > max_frames)
        return EDGE_RX_TOO_MANY;
    if (piece->first && piece->final) { /* the common case: no copy */
        *msg = piece->data;
        *msg_len = len;
        return EDGE_RX_MESSAGE;
    }
    if (rx->len + len > rx->cap) {
        size_t cap = rx->cap ? rx->cap : S_FIRST_CAP;
        while (cap < rx->len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        unsigned char *buf = realloc(rx->buf, cap);
        if (!buf)
            return EDGE_RX_NOMEM;
        rx->buf = buf;
        rx->cap = cap;
    }
    if (len)
        memcpy(rx->buf + rx->len, piece->data, len);
    rx->len += len;
    if (!piece->final)
        return EDGE_RX_MORE;
    *msg = (const char *)rx->buf;
    *msg_len = rx->len;
    return EDGE_RX_MESSAGE;
}

/* Starts the next message; a buffer grown past keep goes back to the allocator. */
void edge_rxbuf_done(edge_rxbuf_t *rx, size_t keep)
{
    rx->len = 0;
    rx->frames = 0;
    if (rx->cap > keep)
        edge_rxbuf_free(rx);
}

/* Frees the buffer. */
void edge_rxbuf_free(edge_rxbuf_t *rx)
{
    free(rx->buf);
    rx->buf = NULL;
    rx->cap = rx->len = 0;
    rx->frames = 0;
}
