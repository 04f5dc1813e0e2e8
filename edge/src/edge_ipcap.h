/*
 * edge_ipcap.h: WebSocket connections per client IP address, and the cap on them
 * (max_conns_per_ip).
 *
 * One entry per address with at least one open connection, in a seeded hash map (base_map.h):
 * O(1) per connect and per close, and bounded, since an entry goes when its last connection
 * does (so there are never more entries than connections). Addresses in the exempt list (by
 * default the loopback addresses, where a local proxy's connections come from) are never capped
 * nor counted.
 *
 * Addresses are kept as 16 bytes, IPv4 as IPv4-mapped IPv6, so that a dual-stack socket's
 * "::ffff:10.0.0.1" and "10.0.0.1" are one client. Plain data, no lws: the server takes the
 * peer's address from the socket. Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_IPCAP_H
#define EDGE_IPCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A client address: IPv6, or IPv4 mapped into IPv6 (::ffff:a.b.c.d). */
typedef struct edge_ipaddr {
    uint8_t b[16];
} edge_ipaddr_t;

typedef struct edge_ipcap edge_ipcap_t;

/* One counted connection's entry (edge_ipcap_add()), handed back to edge_ipcap_remove(). */
typedef struct edge_ipcap_entry edge_ipcap_entry_t;

/* Fills addr from a socket address (AF_INET or AF_INET6). Returns 0, or -1 for other families. */
int edge_ipaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, edge_ipaddr_t *addr);

/* Parses text (an IPv4 or IPv6 literal) into addr. Returns 0, or -1 when it is not one. */
int edge_ipaddr_parse(const char *text, edge_ipaddr_t *addr);

/* Checks an exempt list (comma-separated IP literals, spaces allowed; "" = none). Returns 0, or
 * -1 with "'x' is not an IP address" in err. */
int edge_ipcap_check_list(const char *list, char *err, size_t errlen);

/* A table capping connections per address at max (0 = unlimited), exempting the addresses in
 * exempt (as edge_ipcap_check_list()). NULL when out of memory or the list is bad (why in err). */
edge_ipcap_t *edge_ipcap_new(int max, const char *exempt, char *err, size_t errlen);

/* Frees the table and whatever entries are left, nulls *self_p. NULL-safe. */
void edge_ipcap_destroy(edge_ipcap_t **self_p);

/* True when one more connection from addr would pass the cap (never for exempt addresses or
 * when unlimited). */
bool edge_ipcap_full(const edge_ipcap_t *self, const edge_ipaddr_t *addr);

/* Counts one more connection from addr. Returns its entry for edge_ipcap_remove(), or NULL when
 * the address is not counted (exempt, unlimited) or out of memory (then it is not capped). */
edge_ipcap_entry_t *edge_ipcap_add(edge_ipcap_t *self, const edge_ipaddr_t *addr);

/* Uncounts the connection of *entry_p (the entry goes with its address's last connection) and
 * nulls *entry_p. NULL-safe. */
void edge_ipcap_remove(edge_ipcap_t *self, edge_ipcap_entry_t **entry_p);

/* Connections counted for addr. */
unsigned edge_ipcap_count(const edge_ipcap_t *self, const edge_ipaddr_t *addr);

/* Addresses with counted connections (the table's size). */
size_t edge_ipcap_size(const edge_ipcap_t *self);

#endif
