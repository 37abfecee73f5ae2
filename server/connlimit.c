/*
 * connlimit.c - a fixed table of (address, open connections), searched
 * linearly: it holds at most one entry per worker, and a worker count is
 * in the hundreds, so a scan under one mutex costs less than the TLS
 * handshake it guards.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "connlimit.h"

struct slot {
	unsigned char addr[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	int open;               /* 0: the slot is free */
};

struct connlimit {
	pthread_mutex_t mu;
	int per_addr;
	size_t n;
	struct slot slots[];
};

/* The address of sa as 16 bytes; 0 if it is neither IPv4 nor IPv6. */
static int
addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		memcpy(key, mapped, sizeof(mapped));
		memcpy(key + 12, &in4->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(key, &in6->sin6_addr, 16);
		return 1;
	}
	return 0;
}

/* The slot of key, or NULL. Called with mu held. */
static struct slot *
find(struct connlimit *cl, const unsigned char key[16])
{
	for (size_t i = 0; i < cl->n; i++)
		if (cl->slots[i].open > 0 &&
		    memcmp(cl->slots[i].addr, key, 16) == 0)
			return &cl->slots[i];
	return NULL;
}

enum kk_status
connlimit_new(size_t slots, int per_addr, struct connlimit **out)
{
	struct connlimit *cl;

	*out = NULL;
	if (slots == 0 || per_addr < 1)
		return KK_EINVAL;
	if ((cl = calloc(1, sizeof(*cl) + slots * sizeof(cl->slots[0]))) ==
	    NULL)
		return KK_ENOMEM;
	if (pthread_mutex_init(&cl->mu, NULL) != 0) {
		free(cl);
		return KK_ENOMEM;
	}
	cl->per_addr = per_addr;
	cl->n = slots;
	*out = cl;
	return KK_OK;
}

void
connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

int
connlimit_enter(struct connlimit *cl, const struct sockaddr *sa)
{
	unsigned char key[16];
	struct slot *s;
	int ok = 0;

	if (!addr_key(sa, key))
		return 0;
	pthread_mutex_lock(&cl->mu);
	if ((s = find(cl, key)) == NULL) {
		for (size_t i = 0; i < cl->n && s == NULL; i++)
			if (cl->slots[i].open == 0)
				s = &cl->slots[i];
		if (s != NULL)
			memcpy(s->addr, key, 16);
	}
	if (s != NULL && s->open < cl->per_addr) {
		s->open++;
		ok = 1;
	}
	pthread_mutex_unlock(&cl->mu);
	return ok;
}

void
connlimit_leave(struct connlimit *cl, const struct sockaddr *sa)
{
	unsigned char key[16];
	struct slot *s;

	if (!addr_key(sa, key))
		return;
	pthread_mutex_lock(&cl->mu);
	if ((s = find(cl, key)) != NULL)
		s->open--;
	pthread_mutex_unlock(&cl->mu);
}

int
connlimit_count(struct connlimit *cl, const struct sockaddr *sa)
{
	unsigned char key[16];
	struct slot *s;
	int n = 0;

	if (!addr_key(sa, key))
		return 0;
	pthread_mutex_lock(&cl->mu);
	if ((s = find(cl, key)) != NULL)
		n = s->open;
	pthread_mutex_unlock(&cl->mu);
	return n;
}
