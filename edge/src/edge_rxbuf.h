/*
 * edge_rxbuf.h: reassembly of one client message from WebSocket fragments, under max_message.
 *
 * lws hands a message to the edge in pieces: the fragments of a fragmented message, and parts of
 * one frame larger than its receive buffer. A piece says whether it is the message's first,
 * whether its frame is final and how many bytes of the current frame are still to come. The
 * common case, a message that arrives whole, is passed through without a copy; otherwise the
 * pieces are gathered in a buffer that grows by doubling up to max_message and is given back
 * after a large message, so an idle connection holds none.
 *
 * Why count the rest of the current frame: a client announcing a huge frame is refused at its
 * first bytes, not after the edge has buffered max_message of it.
 *
 * Why count frames: a message of many tiny (or empty) fragments stays under max_message while
 * costing a callback per fragment; a message of more than max_fragments frames is refused.
 *
 * Plain data, no lws: the caller embeds an edge_rxbuf_t (zeroed) in its connection state.
 */
#ifndef EDGE_RXBUF_H
#define EDGE_RXBUF_H

#include <stdbool.h>
#include <stddef.h>

/* One connection's reassembly buffer. Zero it to start; the fields are private. */
typedef struct edge_rxbuf {
    unsigned char *buf; /* the message gathered so far, or NULL */
    size_t len;         /* bytes of the current message in buf */
    size_t cap;         /* bytes allocated for buf */
    unsigned frames;    /* frames of the current message completed so far */
} edge_rxbuf_t;

/* One piece of a message, as the WebSocket layer reports it. */
typedef struct edge_rxpiece {
    const void *data; /* the piece's bytes */
    size_t len;       /* how many */
    bool first;       /* the first piece of a message */
    bool final;       /* the last piece of a message (final fragment, nothing of it remaining) */
    size_t remaining; /* bytes of the current frame still to come after this piece */
} edge_rxpiece_t;

/* What edge_rxbuf_add() made of a piece. */
typedef enum edge_rx_rc {
    EDGE_RX_MORE = 0, /* kept: the message goes on */
    EDGE_RX_MESSAGE,  /* the message is complete: handle it, then call edge_rxbuf_done() */
    EDGE_RX_TOO_BIG,  /* the message would exceed max: close with 1009 */
    EDGE_RX_TOO_MANY, /* the message would have more than max_frames frames: close with 1008 */
    EDGE_RX_NOMEM     /* out of memory: close */
} edge_rx_rc_t;

/* Adds a piece to the message under way. On EDGE_RX_MESSAGE, *msg and *msg_len give the whole
 * message: the piece itself when it was the whole message (no copy), else the buffer, valid
 * until edge_rxbuf_done(). max: the largest message allowed, in bytes; max_frames: the most
 * frames (fragments) one message may have. */
edge_rx_rc_t edge_rxbuf_add(edge_rxbuf_t *rx, const edge_rxpiece_t *piece, size_t max,
                            unsigned max_frames, const char **msg, size_t *msg_len);

/* Ends a complete message: starts the next one empty, and frees a buffer larger than keep. */
void edge_rxbuf_done(edge_rxbuf_t *rx, size_t keep);

/* Frees the buffer (the connection closed). The struct may be reused. */
void edge_rxbuf_free(edge_rxbuf_t *rx);

#endif
