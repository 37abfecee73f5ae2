/*
 * fuzz_jwk: a JWK that jwk_to_pkey accepts serializes back (jwk_from_pkey)
 * to the same required members, reads back as the same key, and has the
 * RFC 7638 thumbprint computed here independently from those members.
 */
#include <openssl/evp.h>

#include "fuzz_common.h"

#include "b64url.h"
#include "json.h"
#include "jwk.h"

static const char *
member(const cJSON *o, const char *name)
{
	const char *v = json_get_string(o, name);

	return v != NULL ? v : "";
}

/* RFC 7638 section 3: the required members, in order, no whitespace. */
static char *
thumbprint_of(const cJSON *jwk)
{
	const char *kty = member(jwk, "kty");
	unsigned char md[32];
	char *canon = NULL, *out = NULL;
	int n;

	if (strcmp(kty, "EC") == 0)
		n = asprintf(&canon,
		    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    member(jwk, "crv"), member(jwk, "x"), member(jwk, "y"));
	else if (strcmp(kty, "RSA") == 0)
		n = asprintf(&canon,
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    member(jwk, "e"), member(jwk, "n"));
	else
		n = asprintf(&canon,
		    "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\"}",
		    member(jwk, "crv"), kty, member(jwk, "x"));
	FUZZ_ASSERT(n > 0, "oom");
	FUZZ_ASSERT(
	    EVP_Digest(canon, strlen(canon), md, NULL, EVP_sha256(), NULL) == 1,
	    "sha256");
	FUZZ_ASSERT(b64url_encode(md, sizeof(md), &out) == KK_OK, "encode");
	free(canon);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const members[] = {"kty", "crv", "x", "y", "n", "e"};
	cJSON *in = NULL, *out = NULL;
	EVP_PKEY *key = NULL, *key2 = NULL;
	char *tp = NULL, *tp2 = NULL, *mine = NULL;
	const char *alg = NULL;
	enum kk_status st;

	if (json_parse((const char *)data, size, &in) != KK_OK)
		return 0;
	st = jwk_to_pkey(in, &key);
	if (st != KK_OK) {
		FUZZ_ASSERT(key == NULL, "key on failure");
		FUZZ_ASSERT(
		    st == KK_EKEY || st == KK_ENOMEM || st == KK_ECRYPTO,
		    "status %d", (int)st);
		goto out;
	}
	FUZZ_ASSERT(key != NULL, "KK_OK without a key");
	FUZZ_ASSERT(jwk_alg_for_key(key, &alg) == KK_OK && alg != NULL,
	    "an accepted key has no algorithm");
	FUZZ_ASSERT(jwk_from_pkey(key, &out) == KK_OK, "cannot serialize");
	/* Canonical members only: each member written is the one read.
	 * (Members another key type uses, such as "y" in an OKP key, are
	 * ignored on input, as RFC 7517 section 4 says.) */
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		const char *a = json_get_string(out, members[i]);
		const char *b = json_get_string(in, members[i]);

		FUZZ_ASSERT(a == NULL || (b != NULL && strcmp(a, b) == 0),
		    "member %s: read \"%s\", written \"%s\"", members[i],
		    b ? b : "(none)", a);
	}
	FUZZ_ASSERT(jwk_to_pkey(out, &key2) == KK_OK, "own output refused");
	FUZZ_ASSERT(jwk_equal(key, key2) == 1, "round trip changed the key");
	FUZZ_ASSERT(jwk_equal(key, NULL) == 0, "equal to NULL");
	FUZZ_ASSERT(jwk_thumbprint(key, &tp) == KK_OK && strlen(tp) == 43,
	    "thumbprint");
	FUZZ_ASSERT(jwk_thumbprint(key2, &tp2) == KK_OK && strcmp(tp, tp2) == 0,
	    "thumbprints of one key differ");
	mine = thumbprint_of(out);
	FUZZ_ASSERT(strcmp(tp, mine) == 0, "thumbprint %s, RFC 7638 gives %s",
	    tp, mine);
out:
	cJSON_Delete(in);
	cJSON_Delete(out);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	free(tp);
	free(tp2);
	free(mine);
	return 0;
}
