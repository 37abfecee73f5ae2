/*
 * The CRL cache. Two locks: "refresh" serialises regenerations (reading
 * the store, signing) so that they install in order, "lock" guards the
 * installed DER for readers, who never wait for a signature.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crl.h"
#include "kk_log.h"

struct crl {
	struct store *store;
	struct ca *ca;
	pthread_mutex_t refresh; /* one regeneration at a time */
	pthread_mutex_t lock;    /* guards the three members below */
	unsigned char *der;
	size_t len;
	time_t next_update;
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
	OPENSSL_free(c->der);
	free(c);
}

enum kk_status
crl_refresh(struct crl *c, time_t now)
{
	struct cert **certs = NULL;
	struct ca_revoked *rev = NULL;
	unsigned char *der = NULL;
	size_t n = 0, len = 0;
	int64_t number = 0;
	enum kk_status st;
	int in_tx = 0;

	pthread_mutex_lock(&c->refresh);
	/*
	 * The revoked list and the CRL number are read in one transaction,
	 * so that replicas sharing the store cannot interleave either: of
	 * two regenerating at once, the one whose counter update comes
	 * second fails (PostgreSQL: SERIALIZABLE) and retries, and a higher
	 * number never carries an older list.
	 */
	if ((st = store_begin(c->store)) != KK_OK)
		goto out;
	in_tx = 1;
	if ((st = store_cert_list(c->store, NULL, ACME_STATUS_REVOKED, NULL,
	         &certs, &n)) != KK_OK)
		goto out;
	if (n > 0 && (rev = calloc(n, sizeof(*rev))) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rev[i].serial_hex = certs[i]->serial;
		rev[i].revoked_at = certs[i]->revoked_at;
		rev[i].reason = certs[i]->reason;
	}
	if ((st = store_counter_next(c->store, "crl_number", &number)) != KK_OK)
		goto out;
	in_tx = 0; /* a failed commit has ended the transaction too */
	if ((st = store_commit(c->store)) != KK_OK)
		goto out;
	if ((st = ca_crl(c->ca, rev, n, (long)number, now, now + CRL_VALIDITY,
	         &der, &len)) != KK_OK)
		goto out;
	pthread_mutex_lock(&c->lock);
	OPENSSL_free(c->der);
	c->der = der;
	c->len = len;
	c->next_update = now + CRL_VALIDITY;
	pthread_mutex_unlock(&c->lock);
	der = NULL;
out:
	if (in_tx)
		store_rollback(c->store);
	if (st != KK_OK) {
		kk_log("CRL: cannot regenerate: %s; retrying shortly",
		    kk_strerror(st));
		pthread_mutex_lock(&c->lock);
		c->next_update = 0;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&c->refresh);
	for (size_t i = 0; i < n; i++)
		cert_free(certs[i]);
	free(certs);
	free(rev);
	OPENSSL_free(der);
	return st;
}

void
crl_maintain(struct crl *c, time_t now)
{
	time_t next;

	pthread_mutex_lock(&c->lock);
	next = c->next_update;
	pthread_mutex_unlock(&c->lock);
	if (next - now < CRL_REFRESH)
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
	enum kk_status st;

	*der = NULL;
	*len = 0;
	if ((st = copy(c, der, len)) != KK_ENOTFOUND)
		return st;
	if ((st = crl_refresh(c, time(NULL))) != KK_OK)
		return st;
	return copy(c, der, len);
}
