/*
 * edge_ipcap.c: connections per client address and their cap (see edge_ipcap.h).
 */
#include "edge_ipcap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base_map.h"

#define S_EXEMPT_MAX 16 /* addresses in an exempt list */

struct edge_ipcap_entry {
    base_map_node_t node; /* in the table, keyed by addr */
    edge_ipaddr_t addr;   /* the client address */
    unsigned conns;       /* its open connections (> 0 while in the table) */
};

struct edge_ipcap {
    base_map_t *map;                    /* edge_ipcap_entry_t by address */
    unsigned max;                       /* connections per address; 0 = unlimited */
    edge_ipaddr_t exempt[S_EXEMPT_MAX]; /* addresses never capped */
    int nexempt;                        /* how many */
};

/* Maps a 4-byte IPv4 address into addr. */
static void s_map_v4(const void *v4, edge_ipaddr_t *addr)
{
    memset(addr->b, 0, 10);
    addr->b[10] = 0xff;
    addr->b[11] = 0xff;
    memcpy(addr->b + 12, v4, 4);
}

int edge_ipaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, edge_ipaddr_t *addr)
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        s_map_v4(&((const struct sockaddr_in *)sa)->sin_addr, addr);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(addr->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

int edge_ipaddr_parse(const char *text, edge_ipaddr_t *addr)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        s_map_v4(&v4, addr);
        return 0;
    }
    return inet_pton(AF_INET6, text, addr->b) == 1 ? 0 : -1;
}

/* Parses list into out (at most S_EXEMPT_MAX); returns how many, or -1 with err set. */
static int s_parse_list(const char *list, edge_ipaddr_t *out, char *err, size_t errlen)
{
    int n = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        char item[64];
        edge_ipaddr_t addr;
        bool ok = len < sizeof item;
        if (ok) {
            memcpy(item, p, len);
            item[len] = '\0';
            ok = edge_ipaddr_parse(item, &addr) == 0;
        }
        if (!ok) {
            snprintf(err, errlen, "'%.*s' is not an IP address", (int)(len < 64 ? len : 64), p);
            return -1;
        }
        if (n == S_EXEMPT_MAX) {
            snprintf(err, errlen, "more than %d addresses", S_EXEMPT_MAX);
            return -1;
        }
        out[n++] = addr;
        p += len;
    }
    return n;
}

int edge_ipcap_check_list(const char *list, char *err, size_t errlen)
{
    edge_ipaddr_t scratch[S_EXEMPT_MAX];
    return s_parse_list(list, scratch, err, errlen) < 0 ? -1 : 0;
}

edge_ipcap_t *edge_ipcap_new(int max, const char *exempt, char *err, size_t errlen)
{
    edge_ipcap_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->max = max > 0 ? (unsigned)max : 0;
    self->nexempt = s_parse_list(exempt, self->exempt, err, errlen);
    self->map = self->nexempt >= 0 ? base_map_new() : NULL;
    if (!self->map) {
        if (self->nexempt >= 0)
            snprintf(err, errlen, "out of memory");
        edge_ipcap_destroy(&self);
    }
    return self;
}

void edge_ipcap_destroy(edge_ipcap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_ipcap_t *self = *self_p;
    if (self->map) {
        for (base_map_node_t *n = base_map_first(self->map), *next; n; n = next) {
            next = base_map_next(self->map, n);
            free(n); /* the node is the entry's first member */
        }
        base_map_destroy(&self->map);
    }
    free(self);
    *self_p = NULL;
}

/* True when addr is never counted. */
static bool s_exempt(const edge_ipcap_t *self, const edge_ipaddr_t *addr)
{
    if (self->max == 0)
        return true;
    for (int i = 0; i < self->nexempt; i++)
        if (memcmp(self->exempt[i].b, addr->b, 16) == 0)
            return true;
    return false;
}

/* The entry of addr with its hash, or NULL. */
static edge_ipcap_entry_t *s_find(const edge_ipcap_t *self, const edge_ipaddr_t *addr,
                                  uint64_t *hash)
{
    *hash = base_map_hash(self->map, addr->b, 16, 0);
    for (base_map_node_t *n = base_map_bucket(self->map, *hash); n; n = n->next) {
        edge_ipcap_entry_t *e = (edge_ipcap_entry_t *)n;
        if (n->hash == *hash && memcmp(e->addr.b, addr->b, 16) == 0)
            return e;
    }
    return NULL;
}

bool edge_ipcap_full(const edge_ipcap_t *self, const edge_ipaddr_t *addr)
{
    return !s_exempt(self, addr) && edge_ipcap_count(self, addr) >= self->max;
}

edge_ipcap_entry_t *edge_ipcap_add(edge_ipcap_t *self, const edge_ipaddr_t *addr)
{
    if (s_exempt(self, addr))
        return NULL;
    uint64_t hash;
    edge_ipcap_entry_t *e = s_find(self, addr, &hash);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        e->addr = *addr;
        e->node.hash = hash;
        base_map_insert(self->map, &e->node); /* a failed growth only lengthens chains */
    }
    e->conns++;
    return e;
}

void edge_ipcap_remove(edge_ipcap_t *self, edge_ipcap_entry_t **entry_p)
{
    if (!entry_p || !*entry_p)
        return;
    edge_ipcap_entry_t *e = *entry_p;
    *entry_p = NULL;
    if (--e->conns > 0)
        return;
    base_map_remove(self->map, &e->node);
    free(e);
}

unsigned edge_ipcap_count(const edge_ipcap_t *self, const edge_ipaddr_t *addr)
{
    uint64_t hash;
    edge_ipcap_entry_t *e = s_find(self, addr, &hash);
    return e ? e->conns : 0;
}

size_t edge_ipcap_size(const edge_ipcap_t *self)
{
    return base_map_size(self->map);
}
