/*
 * conntrack.c - tickets for tracked connections, hung on their SSL objects
 * (ex_data, freed with the SSL however the connection ends) and on a list
 * that a watchdog thread walks every WATCH_MS to shut down the sockets of
 * requests past their deadline. Shutting a socket down, unlike closing it,
 * leaves the descriptor to its owner, who sees every later read fail.
 *
 * civetweb frees a connection's SSL before it closes the socket, so a
 * ticket's descriptor is the connection's for as long as the ticket is
 * on the list: the watchdog never shuts down a reused descriptor.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conntrack.h"
#include "connlimit.h"
#include "kk_deadline.h"

#define WATCH_MS 200

struct ticket {
	struct conntrack *ct;
	struct ticket *next;
	struct sockaddr_storage peer;
	int fd;
	int armed;   /* a request is being read */
	int expired; /* and its deadline passed */
	struct timespec deadline;
};

struct conntrack {
	struct connlimit *conns;
	int deadline_ms;
	pthread_mutex_t mu; /* guards the list and every ticket on it */
	pthread_cond_t wake;
	int stop;
	pthread_t watchdog;
	struct ticket *list;
	unsigned long refusals; /* since conntrack_refusals() last asked */
};

/* Index of the ticket in an SSL's ex_data, and of ct in the SSL_CTX's. */
static int ssl_idx = -1;
static int ctx_idx = -1;

/* The ticket of the connection this thread serves (see conntrack.h), or
 * whether that connection was refused. */
static _Thread_local struct ticket *current;
static _Thread_local int refused;

static void
arm(struct ticket *t)
{
	kk_deadline_in_ms(&t->deadline, t->ct->deadline_ms);
	t->armed = 1;
}

static void *
watchdog(void *arg)
{
	struct conntrack *ct = arg;
	struct timespec now, until;
	struct ticket *t;

	pthread_mutex_lock(&ct->mu);
	while (!ct->stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (t = ct->list; t != NULL; t = t->next)
			if (t->armed &&
			    !kk_deadline_after(&t->deadline, &now)) {
				t->armed = 0;
				t->expired = 1;
				shutdown(t->fd, SHUT_RDWR);
			}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WATCH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ct->wake, &ct->mu, &until);
	}
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

static void
ticket_free(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct ticket *t = ptr, **pp;
	struct conntrack *ct;

	if (t == NULL)
		return;
	ct = t->ct;
	pthread_mutex_lock(&ct->mu);
	for (pp = &ct->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&ct->mu);
	connlimit_leave(ct->conns, (struct sockaddr *)&t->peer);
	if (current == t)
		current = NULL;
	free(t);
}

/*
 * OpenSSL calls this when the server side of a handshake starts, on the
 * worker that took the connection, before reading anything from it.
 */
static void
on_info(const SSL *ssl, int where, int ret)
{
	struct conntrack *ct;
	struct ticket *t;
	socklen_t len;
	int fd;

	/* Also called for TLS 1.3 post-handshake messages: once is enough. */
	if ((where & SSL_CB_HANDSHAKE_START) == 0 ||
	    SSL_get_ex_data(ssl, ssl_idx) != NULL)
		return;
	current = NULL;
	refused = 0;
	ct = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
	if (ct == NULL || (fd = SSL_get_fd(ssl)) < 0)
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto refuse;
	len = sizeof(t->peer);
	if (getpeername(fd, (struct sockaddr *)&t->peer, &len) != 0 ||
	    !connlimit_enter(ct->conns, (struct sockaddr *)&t->peer)) {
		free(t);
		goto refuse;
	}
	t->ct = ct;
	t->fd = fd;
	/* The callback is given a const SSL; ex_data is ours to set. */
	if (SSL_set_ex_data((SSL *)ssl, ssl_idx, t) != 1) {
		connlimit_leave(ct->conns, (struct sockaddr *)&t->peer);
		free(t);
		goto refuse;
	}
	pthread_mutex_lock(&ct->mu);
	arm(t);
	t->next = ct->list;
	ct->list = t;
	pthread_mutex_unlock(&ct->mu);
	current = t;
	return;
refuse:
	shutdown(fd, SHUT_RDWR);
	refused = 1;
	pthread_mutex_lock(&ct->mu);
	ct->refusals++;
	pthread_mutex_unlock(&ct->mu);
}

enum kk_status
conntrack_new(
    size_t slots, int per_addr, int deadline_ms, struct conntrack **out)
{
	struct conntrack *ct = NULL;
	enum kk_status st;

	*out = NULL;
	if (ssl_idx < 0)
		ssl_idx =
		    SSL_get_ex_new_index(0, NULL, NULL, NULL, ticket_free);
	if (ctx_idx < 0)
		ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ssl_idx < 0 || ctx_idx < 0 || deadline_ms <= 0)
		return KK_EINVAL;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return KK_ENOMEM;
	ct->deadline_ms = deadline_ms;
	if ((st = connlimit_new(slots, per_addr, &ct->conns)) != KK_OK) {
		free(ct);
		return st;
	}
	pthread_mutex_init(&ct->mu, NULL);
	pthread_cond_init(&ct->wake, NULL);
	if (pthread_create(&ct->watchdog, NULL, watchdog, ct) != 0) {
		pthread_cond_destroy(&ct->wake);
		pthread_mutex_destroy(&ct->mu);
		connlimit_free(ct->conns);
		free(ct);
		return KK_ENOMEM;
	}
	*out = ct;
	return KK_OK;
}

void
conntrack_free(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	ct->stop = 1;
	pthread_cond_signal(&ct->wake);
	pthread_mutex_unlock(&ct->mu);
	pthread_join(ct->watchdog, NULL);
	pthread_cond_destroy(&ct->wake);
	pthread_mutex_destroy(&ct->mu);
	connlimit_free(ct->conns);
	free(ct);
}

enum kk_status
conntrack_attach(struct conntrack *ct, SSL_CTX *ctx)
{
	if (SSL_CTX_set_ex_data(ctx, ctx_idx, ct) != 1)
		return KK_ENOMEM;
	SSL_CTX_set_info_callback(ctx, on_info);
	return KK_OK;
}

int
conntrack_attached(SSL_CTX *ctx)
{
	return ctx != NULL && SSL_CTX_get_info_callback(ctx) == on_info;
}

void
conntrack_request_read(void)
{
	if (current == NULL)
		return;
	pthread_mutex_lock(&current->ct->mu);
	current->armed = 0;
	pthread_mutex_unlock(&current->ct->mu);
}

void
conntrack_request_done(void)
{
	if (current == NULL)
		return;
	pthread_mutex_lock(&current->ct->mu);
	if (!current->expired)
		arm(current);
	pthread_mutex_unlock(&current->ct->mu);
}

int
conntrack_expired(void)
{
	int expired;

	if (current == NULL)
		return 0;
	pthread_mutex_lock(&current->ct->mu);
	expired = current->expired;
	pthread_mutex_unlock(&current->ct->mu);
	return expired;
}

int
conntrack_refused(void)
{
	return refused;
}

unsigned long
conntrack_refusals(struct conntrack *ct)
{
	unsigned long n;

	pthread_mutex_lock(&ct->mu);
	n = ct->refusals;
	ct->refusals = 0;
	pthread_mutex_unlock(&ct->mu);
	return n;
}
