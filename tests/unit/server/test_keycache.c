/*
 * The account key cache: a key is served only for the JWK text it was
 * built from, so a key change is seen at the next lookup.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "jwk.h"
#include "keycache.h"

/* A fresh P-256 key's JWK text (caller frees) and the key itself. */
static char *
new_jwk(EVP_PKEY **key)
{
	cJSON *jwk = NULL;
	char *text;

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert_not_null(*key);
	cr_assert_eq(jwk_from_pkey(*key, &jwk), KK_OK);
	text = cJSON_PrintUnformatted(jwk);
	cr_assert_not_null(text);
	cJSON_Delete(jwk);
	return text;
}

/* keycache_get that must succeed and give a key equal to want. */
static EVP_PKEY *
get_eq(struct keycache *kc, const char *id, const char *text, EVP_PKEY *want)
{
	EVP_PKEY *k = NULL;

	cr_assert_eq(keycache_get(kc, id, text, &k), KK_OK);
	cr_assert(jwk_equal(k, want), "the key of %s's current JWK", id);
	return k;
}

Test(keycache, second_lookup_is_served_from_the_cache)
{
	struct keycache *kc;
	EVP_PKEY *a, *k1, *k2;
	char *ja = new_jwk(&a);

	cr_assert_eq(keycache_new(8, &kc), KK_OK);
	k1 = get_eq(kc, "acct1", ja, a);
	k2 = get_eq(kc, "acct1", ja, a);
	cr_assert_eq(k1, k2, "the same key object, not built again");
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	keycache_free(kc);
	EVP_PKEY_free(a);
	free(ja);
}

/* A key rollover rewrites the stored JWK: the old key must not be served
 * for the account once, even though the account id is the same. */
Test(keycache, key_change_takes_effect_at_once)
{
	struct keycache *kc;
	EVP_PKEY *a, *b, *k;
	char *ja = new_jwk(&a), *jb = new_jwk(&b);

	cr_assert_eq(keycache_new(8, &kc), KK_OK);
	EVP_PKEY_free(get_eq(kc, "acct1", ja, a));
	k = get_eq(kc, "acct1", jb, b);
	cr_assert_not(jwk_equal(k, a), "a stale key was served");
	EVP_PKEY_free(k);
	/* And back: the cache holds the latest text only. */
	EVP_PKEY_free(get_eq(kc, "acct1", ja, a));
	keycache_free(kc);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	free(ja);
	free(jb);
}

/* One slot for two accounts: each lookup still gets its own key, and a
 * key handed out outlives its eviction. */
Test(keycache, bounded_and_evictions_are_safe)
{
	struct keycache *kc;
	EVP_PKEY *a, *b, *ka;
	char *ja = new_jwk(&a), *jb = new_jwk(&b);

	cr_assert_eq(keycache_new(1, &kc), KK_OK);
	ka = get_eq(kc, "acct1", ja, a);
	for (int i = 0; i < 3; i++) {
		EVP_PKEY_free(get_eq(kc, "acct2", jb, b));
		EVP_PKEY_free(get_eq(kc, "acct1", ja, a));
	}
	/* Another account with acct1's text gets acct1's key, not acct2's. */
	EVP_PKEY_free(get_eq(kc, "acct2", ja, a));
	EVP_PKEY_free(get_eq(kc, "acct2", jb, b));
	cr_assert(jwk_equal(ka, a), "an evicted key stays usable");
	EVP_PKEY_free(ka);
	keycache_free(kc);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	free(ja);
	free(jb);
}

Test(keycache, unreadable_jwk_refused_and_not_cached)
{
	struct keycache *kc;
	EVP_PKEY *a, *k = (EVP_PKEY *)1;
	char *ja = new_jwk(&a);

	cr_assert_eq(keycache_new(8, &kc), KK_OK);
	cr_assert_eq(
	    keycache_get(kc, "acct1", "{\"kty\":\"EC\"}", &k), KK_EKEY);
	cr_assert_null(k);
	cr_assert_eq(keycache_get(kc, "acct1", "not json", &k), KK_EKEY);
	cr_assert_null(k);
	EVP_PKEY_free(get_eq(kc, "acct1", ja, a));
	keycache_free(kc);
	cr_assert_eq(keycache_new(0, &kc), KK_EINVAL);
	cr_assert_null(kc);
	EVP_PKEY_free(a);
	free(ja);
}

/* A new account's key goes in as it is; a later rollover still wins. */
Test(keycache, put_serves_the_key_given_until_the_text_changes)
{
	struct keycache *kc;
	EVP_PKEY *a, *b, *k;
	char *ja = new_jwk(&a), *jb = new_jwk(&b);

	cr_assert_eq(keycache_new(8, &kc), KK_OK);
	keycache_put(kc, "acct1", ja, a);
	k = get_eq(kc, "acct1", ja, a);
	cr_assert_eq(k, a, "the very key put, not one built again");
	EVP_PKEY_free(k);
	k = get_eq(kc, "acct1", jb, b);
	cr_assert_neq(k, a);
	EVP_PKEY_free(k);
	keycache_free(kc);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	free(ja);
	free(jb);
}
