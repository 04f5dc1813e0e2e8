/*
 * bench_ws.h: the small WebSocket codec of weft-bench (RFC 6455): its clients' side, and the few
 * server pieces the floor server (bench_floor.h) needs.
 *
 * weft-bench opens up to 50,000 WebSocket connections from one or two cores, so it carries its
 * own minimal client instead of libwebsockets' (docs/performance.md has the measurements behind
 * that choice). It needs little: the opening handshake (a GET with a random key; the answer must
 * be "101" with the matching Sec-WebSocket-Accept, SHA-1 and base64 from OpenSSL), a reader for
 * the server's frames (never masked: text, continuation, ping, pong, close; binary is passed on
 * so that the caller can complain) and an encoder for the client's frames (always masked, always
 * final). No extension is negotiated, so the reserved bits must be zero.
 *
 * The reader works on the caller's buffer: a complete unfragmented frame (the common case) is
 * handed to the callback in place, without a copy. Only a message that arrives in fragments is
 * assembled, in a buffer the reader state owns and keeps for reuse. The state is a public value
 * type so that it can be embedded in each connection without an allocation of its own.
 */
#ifndef BENCH_WS_H
#define BENCH_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_WS_KEY_LEN 24       /* base64 of 16 random bytes */
#define BENCH_WS_ACCEPT_LEN 28    /* base64 of a SHA-1 digest */
#define BENCH_WS_MAX_HEADER 14    /* largest frame header: 2 + 8 length + 4 mask */
#define BENCH_WS_SERVER_HEADER 10 /* largest server frame header: 2 + 8 length, no mask */

/* Frame opcodes. */
enum bench_ws_op {
    BENCH_WS_CONT = 0x0,
    BENCH_WS_TEXT = 0x1,
    BENCH_WS_BINARY = 0x2,
    BENCH_WS_CLOSE = 0x8,
    BENCH_WS_PING = 0x9,
    BENCH_WS_PONG = 0xA,
};

/* Writes the base64 handshake key made from 16 bytes (a then b, little-endian) into key
 * (BENCH_WS_KEY_LEN + 1 bytes, NUL-terminated). A key derived from a per-run nonce and the
 * connection number need not be stored: it can be made again to check the answer. */
void bench_ws_key(uint64_t a, uint64_t b, char *key);

/* Writes the Sec-WebSocket-Accept value expected for key into accept (BENCH_WS_ACCEPT_LEN + 1
 * bytes). Returns 0, or -1 when OpenSSL fails. */
int bench_ws_accept(const char *key, char *accept);

/* Writes the opening GET request for host:port/path with key into buf, with an
 * "Authorization: Bearer" header when token is set (NULL or "": none). Returns its length, or -1
 * when cap is too small. */
int bench_ws_request(char *buf, size_t cap, const char *host, int port, const char *path,
                     const char *key, const char *token);

/*
 * Checks the server's answer to the opening request, buf holding the first len bytes received.
 * Returns the length of the HTTP header (the bytes after it are WebSocket frames) when it is
 * complete and says "101" with Sec-WebSocket-Accept equal to accept; 0 when the header is not
 * complete yet; -1 when it is not an acceptable answer (*status gets the HTTP status, 0 when the
 * status line itself is malformed).
 */
ssize_t bench_ws_response(const char *buf, size_t len, const char *accept, int *status);

/* Encodes one final, masked client frame with mask key mask into out. Returns the frame length,
 * or 0 when cap is too small. */
size_t bench_ws_encode(uint8_t *out, size_t cap, unsigned opcode, const void *payload, size_t len,
                       uint32_t mask);

/* ---- Server side (the floor server) ------------------------------------------------------ */

/*
 * Answers an opening request: buf holds the first len bytes received. When the request's header
 * is complete and is a GET with a Sec-WebSocket-Key, writes the "101 Switching Protocols" answer
 * with its Sec-WebSocket-Accept into out (cap bytes), sets *used to the request's length and
 * returns the answer's length. Returns 0 while the header is incomplete, -1 when it is not an
 * acceptable request (or out is too small).
 */
int bench_ws_answer(const char *buf, size_t len, char *out, size_t cap, size_t *used);

/* Writes the header of a final, unmasked server frame of len payload bytes into out (at least
 * BENCH_WS_SERVER_HEADER bytes). Returns the header's length: 2, 4 or 10. */
size_t bench_ws_server_header(uint8_t *out, unsigned opcode, uint64_t len);

/* One client frame as bench_ws_client_frame() found it. */
typedef struct bench_ws_cframe {
    unsigned opcode;    /* BENCH_WS_* */
    int fin;            /* 1 for the last frame of a message */
    size_t payload_off; /* where the (still masked) payload starts in the buffer */
    size_t payload_len; /* its length */
    uint8_t mask[4];    /* the masking key */
} bench_ws_cframe_t;

/*
 * Reads the client frame at the start of buf (len bytes). Returns the frame's total length when
 * it is complete, 0 when more bytes are needed, -1 when it breaks the protocol (not masked,
 * reserved bits, a payload over max_payload), with a static description in *err.
 */
ssize_t bench_ws_client_frame(const uint8_t *buf, size_t len, size_t max_payload,
                              bench_ws_cframe_t *f, const char **err);

/* Unmasks a client frame's payload in place (p is buf + f->payload_off). */
void bench_ws_unmask(uint8_t *p, const bench_ws_cframe_t *f);

/* ---- Client side: reading the server's frames -------------------------------------------- */

/* Reader state of one connection; zero-initialised is ready. */
typedef struct bench_wsr {
    uint8_t *frag;     /* assembly buffer for a fragmented message (owned, reused) */
    uint32_t frag_len; /* bytes assembled so far */
    uint32_t frag_cap; /* size of frag */
    uint8_t frag_op;   /* opcode of the message being assembled, 0 when none */
} bench_wsr_t;

/*
 * Called once per complete message (text or binary, assembled when fragmented) and once per
 * control frame (close, ping, pong), with its payload. Return 0 to go on, nonzero to stop
 * reading (the frame still counts as consumed).
 */
typedef int bench_wsr_fn(void *arg, unsigned opcode, const uint8_t *payload, size_t len);

/*
 * Consumes every complete frame at the start of buf. Returns the number of bytes consumed; the
 * caller keeps the rest and offers it again, followed by more bytes. *need gets the total size of
 * the incomplete frame that remains (0 when even its header is incomplete or nothing remains), so
 * the caller can tell that its buffer is too small for it. Returns -1 on a protocol violation or a
 * message larger than max_msg, with a static description in *err.
 */
ssize_t bench_wsr_feed(bench_wsr_t *r, const uint8_t *buf, size_t len, size_t max_msg,
                       bench_wsr_fn *fn, void *arg, size_t *need, const char **err);

/* Frees the assembly buffer and resets the state (for a connection that is closed or reused). */
void bench_wsr_reset(bench_wsr_t *r);

#endif
