/*
 * keycache.c - see keycache.h. Direct-mapped: the account id's hash picks
 * the one slot it may live in.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jwk.h"
#include "keycache.h"

struct slot {
	char *id;  /* account id, NULL when the slot is empty */
	char *jwk; /* the stored JWK text key was built from */
	EVP_PKEY *key;
};

struct keycache {
	pthread_mutex_t lock;
	size_t n;
	struct slot *slots;
};

/* FNV-1a: ids are random already, any spread of them will do. */
static size_t
slot_of(const struct keycache *kc, const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)(h % kc->n);
}

static void
slot_clear(struct slot *s)
{
	free(s->id);
	free(s->jwk);
	EVP_PKEY_free(s->key);
	memset(s, 0, sizeof(*s));
}

enum kk_status
keycache_new(size_t slots, struct keycache **out)
{
	struct keycache *kc;

	*out = NULL;
	if (slots == 0)
		return KK_EINVAL;
	if ((kc = calloc(1, sizeof(*kc))) == NULL ||
	    (kc->slots = calloc(slots, sizeof(*kc->slots))) == NULL) {
		free(kc);
		return KK_ENOMEM;
	}
	kc->n = slots;
	pthread_mutex_init(&kc->lock, NULL);
	*out = kc;
	return KK_OK;
}

void
keycache_free(struct keycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < kc->n; i++)
		slot_clear(&kc->slots[i]);
	pthread_mutex_destroy(&kc->lock);
	free(kc->slots);
	free(kc);
}

/* The key of jwk_text, built without the cache. */
static enum kk_status
build(const char *jwk_text, EVP_PKEY **out)
{
	cJSON *jwk = NULL;
	enum kk_status st;

	*out = NULL;
	if (json_parse(jwk_text, strlen(jwk_text), &jwk) != KK_OK)
		return KK_EKEY;
	st = jwk_to_pkey(jwk, out);
	cJSON_Delete(jwk);
	return st;
}

/*
 * Caches key for account_id and jwk_text, in the slot of account_id.
 * Failing to is harmless: the key is built again next time.
 */
static void
put(struct keycache *kc, const char *account_id, const char *jwk_text,
    EVP_PKEY *key)
{
	struct slot fresh = {NULL, NULL, NULL}, old, *s;

	if ((fresh.id = strdup(account_id)) == NULL ||
	    (fresh.jwk = strdup(jwk_text)) == NULL ||
	    EVP_PKEY_up_ref(key) != 1) {
		free(fresh.id);
		free(fresh.jwk);
		return;
	}
	fresh.key = key;
	/* Swapped in; what the slot held is freed after the lock. */
	s = &kc->slots[slot_of(kc, account_id)];
	pthread_mutex_lock(&kc->lock);
	old = *s;
	*s = fresh;
	pthread_mutex_unlock(&kc->lock);
	slot_clear(&old);
}

void
keycache_put(struct keycache *kc, const char *account_id, const char *jwk_text,
    EVP_PKEY *key)
{
	if (account_id != NULL && jwk_text != NULL && key != NULL)
		put(kc, account_id, jwk_text, key);
}

enum kk_status
keycache_get(struct keycache *kc, const char *account_id, const char *jwk_text,
    EVP_PKEY **out)
{
	struct slot *s = &kc->slots[slot_of(kc, account_id)];
	enum kk_status st;

	*out = NULL;
	pthread_mutex_lock(&kc->lock);
	if (s->id != NULL && strcmp(s->id, account_id) == 0 &&
	    strcmp(s->jwk, jwk_text) == 0 && EVP_PKEY_up_ref(s->key) == 1)
		*out = s->key;
	pthread_mutex_unlock(&kc->lock);
	if (*out != NULL)
		return KK_OK;
	/* Built outside the lock: other accounts need not wait for it. */
	if ((st = build(jwk_text, out)) != KK_OK)
		return st;
	put(kc, account_id, jwk_text, *out);
	return KK_OK;
}
