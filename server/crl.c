/*
 * The CRL, shared through the store. Two locks: "refresh" serialises this
 * process's regenerations (the store's row lock does so across
 * replicas), "lock" guards the installed copy for readers, who never wait
 * for a signature.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crl.h"
#include "kk_log.h"

/* Regeneration attempts that lose a race with another replica. */
#define CRL_TRIES 4

struct crl {
	struct store *store;
	struct ca *ca;
	pthread_mutex_t refresh; /* one regeneration at a time */
	pthread_mutex_t lock;    /* guards the members below */
	unsigned char *der;      /* the installed CRL; NULL: none yet */
	size_t len;
	int64_t number;
	time_t next_update;
	int due; /* the last regeneration failed */
};

enum kk_status
crl_new(struct store *st, struct ca *ca, struct crl **out)
{
	struct crl *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->store = st;
	c->ca = ca;
	pthread_mutex_init(&c->refresh, NULL);
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return KK_OK;
}

void
crl_free(struct crl *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->refresh);
	pthread_mutex_destroy(&c->lock);
	free(c->der);
	free(c);
}

/* Installs s's CRL, taking its DER, unless the installed one is as new. */
static void
install(struct crl *c, struct crl_state *s)
{
	pthread_mutex_lock(&c->lock);
	if (s->number > c->number) {
		free(c->der);
		c->der = s->der;
		c->len = s->der_len;
		c->number = s->number;
		c->next_update = s->next_update;
		s->der = NULL;
		s->der_len = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Whether the stored CRL s needs regenerating, the store holding
 * revoked revoked certificates. */
static int
stale(const struct crl_state *s, int64_t revoked, time_t now)
{
	return s->revoked != revoked || s->next_update - now < CRL_REFRESH;
}

/*
 * One attempt at crl_refresh: under the stored CRL's lock, reads the
 * revoked list and, if the stored CRL does not list it all, signs and
 * stores the next one, in one transaction. A replica that waited for the
 * lock while another regenerated fails to serialize (KK_ERACE) and the
 * next attempt finds the new CRL.
 */
static enum kk_status
regenerate(struct crl *c, time_t now)
{
	struct crl_state *cur = NULL, next = {0};
	struct cert **certs = NULL;
	struct ca_revoked *rev = NULL;
	unsigned char *der = NULL;
	size_t n = 0, len = 0;
	enum kk_status st;
	int in_tx = 0;

	if ((st = store_begin(c->store)) != KK_OK)
		goto out;
	in_tx = 1;
	st = store_crl_get(c->store, ca_issuer_id(c->ca), &cur);
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	if ((st = store_cert_list(c->store, NULL, ACME_STATUS_REVOKED, NULL,
	         &certs, &n)) != KK_OK)
		goto out;
	if (cur != NULL && !stale(cur, (int64_t)n, now)) {
		/* Another replica (or this one, earlier) made it. */
		store_rollback(c->store);
		in_tx = 0;
		install(c, cur);
		goto out;
	}
	if (n > 0 && (rev = calloc(n, sizeof(*rev))) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rev[i].serial_hex = certs[i]->serial;
		rev[i].revoked_at = certs[i]->revoked_at;
		rev[i].reason = certs[i]->reason;
	}
	if ((st = store_counter_next(c->store, "crl_number", &next.number)) !=
	        KK_OK ||
	    (st = ca_crl(c->ca, rev, n, (long)next.number, now,
	         now + CRL_VALIDITY, &der, &len)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((next.issuer = strdup(ca_issuer_id(c->ca))) == NULL ||
	    (next.der = malloc(len)) == NULL)
		goto out;
	memcpy(next.der, der, len);
	next.der_len = len;
	next.this_update = now;
	next.next_update = now + CRL_VALIDITY;
	next.revoked = (int64_t)n;
	if ((st = store_crl_put(c->store, &next)) != KK_OK)
		goto out;
	in_tx = 0; /* a failed commit has ended the transaction too */
	if ((st = store_commit(c->store)) != KK_OK)
		goto out;
	install(c, &next);
out:
	if (in_tx)
		store_rollback(c->store);
	for (size_t i = 0; i < n; i++)
		cert_free(certs[i]);
	free(certs);
	free(rev);
	OPENSSL_free(der);
	free(next.issuer);
	free(next.der);
	crl_state_free(cur);
	return st;
}

enum kk_status
crl_refresh(struct crl *c, time_t now)
{
	enum kk_status st;
	int i;

	pthread_mutex_lock(&c->refresh);
	for (i = 0; i < CRL_TRIES; i++) {
		st = regenerate(c, now);
		/* Lost a race: two first CRLs inserted at once, or a
		 * serialization failure behind another regeneration. */
		if (st != KK_ERACE && st != KK_EEXIST && st != KK_ECONFLICT)
			break;
	}
	if (st == KK_ERACE)
		st = KK_EAGAIN;
	pthread_mutex_lock(&c->lock);
	c->due = st != KK_OK;
	pthread_mutex_unlock(&c->lock);
	if (st != KK_OK)
		kk_log("CRL: cannot regenerate: %s; retrying shortly",
		    kk_strerror(st));
	pthread_mutex_unlock(&c->refresh);
	return st;
}

void
crl_maintain(struct crl *c, time_t now)
{
	struct crl_state *cur = NULL;
	enum kk_status st;
	int64_t revoked = 0;
	int due;

	pthread_mutex_lock(&c->lock);
	due = c->due || c->der == NULL;
	pthread_mutex_unlock(&c->lock);
	if (!due) {
		st = store_crl_get(c->store, ca_issuer_id(c->ca), &cur);
		if (st == KK_OK)
			st = store_cert_count(
			    c->store, ACME_STATUS_REVOKED, &revoked);
		if (st == KK_ENOTFOUND)
			due = 1;
		else if (st == KK_OK && stale(cur, revoked, now))
			due = 1;
		else if (st == KK_OK)
			install(c, cur);
		/* Otherwise the store is out of reach: next time. */
	}
	crl_state_free(cur);
	if (due)
		crl_refresh(c, now);
}

/* Copies the installed CRL; KK_ENOTFOUND when there is none. */
static enum kk_status
copy(struct crl *c, unsigned char **der, size_t *len)
{
	enum kk_status st = KK_ENOTFOUND;

	pthread_mutex_lock(&c->lock);
	if (c->der != NULL) {
		st = KK_ENOMEM;
		if ((*der = malloc(c->len)) != NULL) {
			memcpy(*der, c->der, c->len);
			*len = c->len;
			st = KK_OK;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return st;
}

enum kk_status
crl_get(struct crl *c, unsigned char **der, size_t *len)
{
	struct crl_state *cur = NULL;
	enum kk_status st;

	*der = NULL;
	*len = 0;
	/* The stored CRL, which another replica may have renewed. */
	st = store_crl_get(c->store, ca_issuer_id(c->ca), &cur);
	if (st == KK_OK)
		install(c, cur);
	crl_state_free(cur);
	if (st == KK_ENOTFOUND && (st = crl_refresh(c, time(NULL))) != KK_OK)
		return st;
	/* A store out of reach: the last CRL read, if any. */
	if ((st = copy(c, der, len)) == KK_ENOTFOUND)
		st = KK_EAGAIN;
	return st;
}
