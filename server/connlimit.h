/*
 * connlimit.h - how many connections each peer address has open, so that
 * one address cannot hold every worker of the HTTPS listener.
 */
#ifndef CONNLIMIT_H
#define CONNLIMIT_H

#include <stddef.h>
#include <sys/socket.h>

#include "kk_status.h"

struct connlimit;

/*
 * A table of at most slots distinct addresses, each allowed per_addr open
 * connections. slots bounds the memory: a listener that counts only the
 * connections its workers serve needs no more slots than workers.
 */
enum kk_status connlimit_new(
    size_t slots, int per_addr, struct connlimit **out);
void connlimit_free(struct connlimit *cl);

/*
 * Counts a connection from the IPv4 or IPv6 address sa (the port is
 * ignored; an IPv4-mapped IPv6 address counts as the IPv4 one). Returns 1
 * when it is admitted, and connlimit_leave() must then be called once when
 * it closes; 0 when the address has per_addr connections open already, the
 * table is full or sa is of another family. Safe from any thread.
 */
int connlimit_enter(struct connlimit *cl, const struct sockaddr *sa);
void connlimit_leave(struct connlimit *cl, const struct sockaddr *sa);

/* How many connections sa has open now (for tests and logs). */
int connlimit_count(struct connlimit *cl, const struct sockaddr *sa);

#endif
