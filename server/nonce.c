#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64url.h"
#include "nonce.h"

#define NONCE_MAC_LEN 16 /* bytes of HMAC-SHA256 kept */
#define NONCE_RAW_LEN (8 + NONCE_MAC_LEN)

struct nonce_pool {
	pthread_mutex_t lock;
	unsigned char key[32];
	/* HMAC-SHA256 keyed with key, fetched and set up once: each MAC is
	 * a copy of it. EVP_Q_mac fetched both algorithms and keyed a new
	 * context on every call, which cost more than the MAC. Only read
	 * after nonce_pool_new, so the copies need no lock. */
	EVP_MAC_CTX *mac;
	uint64_t next; /* sequence number of the next nonce to issue */
	unsigned char unused[NONCE_WINDOW / 8];
	struct store *shared; /* set: nonces live there instead */
};

static int
nonce_mac(const struct nonce_pool *np, const unsigned char seq[8],
    unsigned char mac[NONCE_MAC_LEN])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	size_t len = 0;
	EVP_MAC_CTX *c;
	int rc = -1;

	if ((c = EVP_MAC_CTX_dup(np->mac)) == NULL)
		return -1;
	if (EVP_MAC_update(c, seq, 8) == 1 &&
	    EVP_MAC_final(c, full, &len, sizeof(full)) == 1 &&
	    len >= NONCE_MAC_LEN) {
		memcpy(mac, full, NONCE_MAC_LEN);
		rc = 0;
	}
	EVP_MAC_CTX_free(c);
	return rc;
}

/* The keyed HMAC-SHA256 context every nonce_mac copies. */
static int
mac_setup(struct nonce_pool *np)
{
	OSSL_PARAM params[2];
	EVP_MAC *hmac;

	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	np->mac = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac); /* the context holds its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (np->mac == NULL ||
	    EVP_MAC_init(np->mac, np->key, sizeof(np->key), params) != 1)
		return -1;
	return 0;
}

enum kk_status
nonce_pool_new(struct nonce_pool **out)
{
	struct nonce_pool *np;

	*out = NULL;
	if ((np = calloc(1, sizeof(*np))) == NULL)
		return KK_ENOMEM;
	/* A random start keeps nonces from telling how busy we are. */
	if (RAND_bytes(np->key, sizeof(np->key)) != 1 ||
	    RAND_bytes((unsigned char *)&np->next, 4) != 1 ||
	    mac_setup(np) != 0) {
		EVP_MAC_CTX_free(np->mac);
		OPENSSL_cleanse(np->key, sizeof(np->key));
		free(np);
		return KK_ECRYPTO;
	}
	pthread_mutex_init(&np->lock, NULL);
	*out = np;
	return KK_OK;
}

void
nonce_pool_free(struct nonce_pool *np)
{
	if (np == NULL)
		return;
	pthread_mutex_destroy(&np->lock);
	EVP_MAC_CTX_free(np->mac);
	OPENSSL_cleanse(np->key, sizeof(np->key));
	free(np);
}

void
nonce_pool_share(struct nonce_pool *np, struct store *st)
{
	np->shared = st;
}

/* A random nonce of the same length, recorded in the shared store. */
static enum kk_status
shared_issue(struct nonce_pool *np, char buf[NONCE_LEN + 1])
{
	unsigned char raw[NONCE_RAW_LEN];
	char *enc = NULL;
	enum kk_status st;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return KK_ECRYPTO;
	if ((st = b64url_encode(raw, sizeof(raw), &enc)) != KK_OK)
		return st;
	memcpy(buf, enc, NONCE_LEN);
	buf[NONCE_LEN] = '\0';
	free(enc);
	return store_nonce_put(np->shared, buf, time(NULL) + NONCE_TTL);
}

enum kk_status
nonce_issue(struct nonce_pool *np, char buf[NONCE_LEN + 1])
{
	unsigned char raw[NONCE_RAW_LEN];
	uint64_t seq;
	char *enc = NULL;
	enum kk_status st;

	if (np->shared != NULL)
		return shared_issue(np, buf);

	pthread_mutex_lock(&np->lock);
	seq = np->next++;
	np->unused[(seq % NONCE_WINDOW) / 8] |= 1u << (seq % 8);
	pthread_mutex_unlock(&np->lock);

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(seq >> (56 - 8 * i));
	if (nonce_mac(np, raw, raw + 8) != 0)
		return KK_ECRYPTO;
	if ((st = b64url_encode(raw, sizeof(raw), &enc)) != KK_OK)
		return st;
	memcpy(buf, enc, NONCE_LEN);
	buf[NONCE_LEN] = '\0';
	free(enc);
	return KK_OK;
}

enum kk_status
nonce_redeem(struct nonce_pool *np, const char *nonce)
{
	unsigned char *raw = NULL, mac[NONCE_MAC_LEN];
	size_t len = 0;
	uint64_t seq = 0;
	enum kk_status st = KK_EINVAL;
	unsigned bit;

	if (nonce == NULL || strlen(nonce) != NONCE_LEN ||
	    b64url_decode(nonce, NONCE_LEN, &raw, &len) != KK_OK ||
	    len != NONCE_RAW_LEN)
		goto out;
	if (np->shared != NULL) {
		st = store_nonce_take(np->shared, nonce, time(NULL));
		if (st == KK_ENOTFOUND)
			st = KK_EINVAL;
		else if (st != KK_OK)
			st = KK_EAGAIN; /* the store failed, not the nonce */
		goto out;
	}
	if (nonce_mac(np, raw, mac) != 0 ||
	    CRYPTO_memcmp(mac, raw + 8, NONCE_MAC_LEN) != 0)
		goto out;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | raw[i];

	pthread_mutex_lock(&np->lock);
	bit = 1u << (seq % 8);
	/* Issued, not yet slid out of the window, and not redeemed. */
	if (seq < np->next && np->next - seq <= NONCE_WINDOW &&
	    (np->unused[(seq % NONCE_WINDOW) / 8] & bit)) {
		np->unused[(seq % NONCE_WINDOW) / 8] &= ~bit;
		st = KK_OK;
	}
	pthread_mutex_unlock(&np->lock);
out:
	free(raw);
	return st;
}
