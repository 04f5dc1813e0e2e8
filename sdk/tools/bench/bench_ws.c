/*
 * bench_ws.c: minimal WebSocket codec for weft-bench's clients and floor server (see bench_ws.h).
 */
#include "bench_ws.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 section 1.3 */
#define WS_MAX_RESPONSE 8192 /* a longer HTTP answer without its end is not an answer */

void bench_ws_key(uint64_t a, uint64_t b, char *key)
{
    unsigned char raw[16];
    for (int i = 0; i < 8; i++) {
        raw[i] = (unsigned char)(a >> (8 * i));
        raw[8 + i] = (unsigned char)(b >> (8 * i));
    }
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw); /* writes 24 chars and a NUL */
}

int bench_ws_accept(const char *key, char *accept)
{
    char text[BENCH_WS_KEY_LEN + sizeof WS_GUID];
    size_t klen = strnlen(key, BENCH_WS_KEY_LEN + 1);
    if (klen != BENCH_WS_KEY_LEN)
        return -1;
    memcpy(text, key, klen);
    memcpy(text + klen, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(text, klen + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
        mdlen != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)accept, md, 20); /* 28 chars and a NUL */
    return 0;
}

int bench_ws_request(char *buf, size_t cap, const char *host, int port, const char *path,
                     const char *key, const char *token)
{
    /* A non-browser client presents its token in a header (docs/security.md): it never reaches
     * a log the way a query string does. */
    bool bearer = token && token[0];
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "\r\n",
                     path, host, port, key, bearer ? "Authorization: Bearer " : "",
                     bearer ? token : "", bearer ? "\r\n" : "");
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Finds the value of header name (case-insensitive) in the header block [p, end); sets *vlen. */
static const char *s_header(const char *p, const char *end, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

ssize_t bench_ws_response(const char *buf, size_t len, const char *accept, int *status)
{
    *status = 0;
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > WS_MAX_RESPONSE ? -1 : 0;
    size_t hlen = (size_t)(end - buf) + 4;
    /* "HTTP/1.1 101 Switching Protocols" */
    if (hlen < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        code = code * 10 + (buf[i] - '0');
    }
    *status = code;
    if (code != 101)
        return -1;
    size_t vlen = 0;
    const char *v = s_header(buf, end + 2, "Sec-WebSocket-Accept", &vlen);
    if (!v || vlen != BENCH_WS_ACCEPT_LEN || memcmp(v, accept, vlen) != 0)
        return -1;
    return (ssize_t)hlen;
}

int bench_ws_answer(const char *buf, size_t len, char *out, size_t cap, size_t *used)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > WS_MAX_RESPONSE ? -1 : 0;
    if (len < 4 || memcmp(buf, "GET ", 4) != 0)
        return -1;
    size_t vlen = 0;
    const char *v = s_header(buf, end + 2, "Sec-WebSocket-Key", &vlen);
    char key[BENCH_WS_KEY_LEN + 1], accept[BENCH_WS_ACCEPT_LEN + 1];
    if (!v || vlen != BENCH_WS_KEY_LEN)
        return -1;
    memcpy(key, v, vlen);
    key[vlen] = '\0';
    if (bench_ws_accept(key, accept) < 0)
        return -1;
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n",
                     accept);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    *used = (size_t)(end - buf) + 4;
    return n;
}

size_t bench_ws_server_header(uint8_t *out, unsigned opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int b = 0; b < 8; b++)
        out[2 + b] = (uint8_t)(len >> (56 - 8 * b));
    return 10;
}

ssize_t bench_ws_client_frame(const uint8_t *buf, size_t len, size_t max_payload,
                              bench_ws_cframe_t *f, const char **err)
{
    *err = NULL;
    if (len < 2)
        return 0;
    if (buf[0] & 0x70) {
        *err = "reserved bits set (no extension was negotiated)";
        return -1;
    }
    if (!(buf[1] & 0x80)) {
        *err = "unmasked frame from a client";
        return -1;
    }
    uint64_t plen = buf[1] & 0x7F;
    size_t hdr = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        hdr = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int b = 0; b < 8; b++)
            plen = (plen << 8) | buf[2 + b];
        hdr = 10;
    }
    if (plen > max_payload) {
        *err = "client frame larger than the limit";
        return -1;
    }
    if (len < hdr + 4 + plen)
        return 0;
    f->opcode = buf[0] & 0x0F;
    f->fin = (buf[0] & 0x80) != 0;
    memcpy(f->mask, buf + hdr, 4);
    f->payload_off = hdr + 4;
    f->payload_len = (size_t)plen;
    return (ssize_t)(hdr + 4 + plen);
}

void bench_ws_unmask(uint8_t *p, const bench_ws_cframe_t *f)
{
    for (size_t j = 0; j < f->payload_len; j++)
        p[j] ^= f->mask[j & 3];
}

size_t bench_ws_encode(uint8_t *out, size_t cap, unsigned opcode, const void *payload, size_t len,
                       uint32_t mask)
{
    size_t hdr = len < 126 ? 6 : len <= 0xFFFF ? 8 : 14;
    if (cap < hdr || cap - hdr < len)
        return 0;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    size_t i = 2;
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        i = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int b = 0; b < 8; b++)
            out[2 + b] = (uint8_t)((uint64_t)len >> (56 - 8 * b));
        i = 10;
    }
    uint8_t key[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                      (uint8_t)mask};
    memcpy(out + i, key, 4);
    i += 4;
    const uint8_t *p = payload;
    for (size_t j = 0; j < len; j++)
        out[i + j] = p[j] ^ key[j & 3];
    return i + len;
}

/* Appends len bytes to the assembly buffer, growing it (amortised doubling). 0 or -1 on OOM. */
static int s_frag_append(bench_wsr_t *r, const uint8_t *p, size_t len)
{
    size_t want = (size_t)r->frag_len + len;
    if (want > r->frag_cap) {
        size_t cap = r->frag_cap ? r->frag_cap : 1024;
        while (cap < want)
            cap *= 2;
        if (cap > UINT32_MAX)
            return -1;
        uint8_t *grown = realloc(r->frag, cap);
        if (!grown)
            return -1;
        r->frag = grown;
        r->frag_cap = (uint32_t)cap;
    }
    if (len)
        memcpy(r->frag + r->frag_len, p, len);
    r->frag_len = (uint32_t)want;
    return 0;
}

ssize_t bench_wsr_feed(bench_wsr_t *r, const uint8_t *buf, size_t len, size_t max_msg,
                       bench_wsr_fn *fn, void *arg, size_t *need, const char **err)
{
    size_t off = 0;
    *need = 0;
    *err = NULL;
    while (len - off >= 2) {
        const uint8_t *p = buf + off;
        size_t avail = len - off;
        unsigned fin = p[0] & 0x80, op = p[0] & 0x0F;
        if (p[0] & 0x70) {
            *err = "reserved bits set (no extension was negotiated)";
            return -1;
        }
        if (p[1] & 0x80) {
            *err = "masked frame from the server";
            return -1;
        }
        uint64_t plen = p[1] & 0x7F;
        size_t hdr = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = ((uint64_t)p[2] << 8) | p[3];
            hdr = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int b = 0; b < 8; b++)
                plen = (plen << 8) | p[2 + b];
            hdr = 10;
            if (plen >> 63) {
                *err = "64-bit length with the top bit set";
                return -1;
            }
        }
        bool control = op >= 0x8;
        if (control && (!fin || plen > 125)) {
            *err = "control frame fragmented or longer than 125 bytes";
            return -1;
        }
        if ((op > BENCH_WS_BINARY && op < BENCH_WS_CLOSE) || op > BENCH_WS_PONG) {
            *err = "reserved opcode";
            return -1;
        }
        if (plen > max_msg || (op == BENCH_WS_CONT && r->frag_len + plen > max_msg)) {
            *err = "message larger than the limit";
            return -1;
        }
        if (avail - hdr < plen) {
            *need = hdr + (size_t)plen;
            break;
        }
        const uint8_t *payload = p + hdr;
        size_t n = (size_t)plen;
        off += hdr + n;
        int stop = 0;
        if (control) {
            stop = fn(arg, op, payload, n);
        } else if (op == BENCH_WS_CONT) {
            if (!r->frag_op) {
                *err = "continuation frame without a message to continue";
                return -1;
            }
            if (s_frag_append(r, payload, n) < 0) {
                *err = "out of memory assembling a fragmented message";
                return -1;
            }
            if (fin) {
                unsigned mop = r->frag_op;
                size_t mlen = r->frag_len;
                r->frag_op = 0;
                r->frag_len = 0; /* the buffer stays for the next fragmented message */
                stop = fn(arg, mop, r->frag, mlen);
            }
        } else {
            if (r->frag_op) {
                *err = "new message inside a fragmented one";
                return -1;
            }
            if (fin) {
                stop = fn(arg, op, payload, n);
            } else {
                r->frag_op = (uint8_t)op;
                r->frag_len = 0;
                if (s_frag_append(r, payload, n) < 0) {
                    *err = "out of memory assembling a fragmented message";
                    return -1;
                }
            }
        }
        if (stop)
            break;
    }
    return (ssize_t)off;
}

void bench_wsr_reset(bench_wsr_t *r)
{
    free(r->frag);
    memset(r, 0, sizeof *r);
}
