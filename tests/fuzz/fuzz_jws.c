/*
 * fuzz_jws: jws_parse and jws_verify on a flattened JWS. The seeds are
 * signed with the fixed keys of fuzz_keys.h (a "kid" names one of them) or
 * carry their own "jwk", so that mutations reach verification. Invariants:
 * a parsed JWS has exactly one of kid and jwk; a signature verifies only
 * under the key's own algorithm, and stops verifying when one bit of it
 * changes; and what jws_sign makes from
 * the parsed header values and payload parses back to the same values.
 */
#include "fuzz_common.h"
#include "fuzz_keys.h"

#include "jwk.h"
#include "jws.h"

static EVP_PKEY *keys[4];
static const char *const kids[4] = {"p256", "p384", "ed25519", "rsa2048"};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	keys[0] = fuzz_key(FUZZ_KEY_P256);
	keys[1] = fuzz_key(FUZZ_KEY_P384);
	keys[2] = fuzz_key(FUZZ_KEY_ED25519);
	keys[3] = fuzz_key(FUZZ_KEY_RSA2048);
	return 0;
}

/* jws_sign with the parsed values, then jws_parse: the same values. */
static void
resign(const struct jws *j, EVP_PKEY *key, const char *kid)
{
	struct jws k;
	char *text = NULL;

	FUZZ_ASSERT(jws_sign(key, kid, j->nonce, j->url, j->payload,
	                j->payload_len, &text) == KK_OK,
	    "cannot sign");
	FUZZ_ASSERT(jws_parse(text, strlen(text), &k) == KK_OK,
	    "own JWS refused: %s", text);
	FUZZ_ASSERT(jws_verify(&k, key) == KK_OK, "own JWS does not verify");
	FUZZ_ASSERT(k.payload_len == j->payload_len &&
	                memcmp(k.payload, j->payload, j->payload_len) == 0,
	    "payload changed");
	FUZZ_ASSERT((k.nonce == NULL) == (j->nonce == NULL) &&
	                (k.nonce == NULL || strcmp(k.nonce, j->nonce) == 0),
	    "nonce changed");
	FUZZ_ASSERT((k.url == NULL) == (j->url == NULL) &&
	                (k.url == NULL || strcmp(k.url, j->url) == 0),
	    "url changed");
	FUZZ_ASSERT(kid == NULL ? k.jwk != NULL && jwk_equal(k.jwk, key)
	                        : k.kid != NULL && strcmp(k.kid, kid) == 0,
	    "signer changed");
	jws_clear(&k);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jws j;
	EVP_PKEY *key = NULL;
	enum kk_status st;
	size_t i;

	st = jws_parse((const char *)data, size, &j);
	if (st != KK_OK) {
		FUZZ_ASSERT(j.alg == NULL && j.kid == NULL && j.jwk == NULL &&
		                j.payload == NULL && j.sig == NULL,
		    "output on failure");
		return 0;
	}
	FUZZ_ASSERT(
	    j.alg != NULL && j.protected_hdr != NULL && j.signing_input != NULL,
	    "incomplete parse");
	FUZZ_ASSERT((j.kid == NULL) != (j.jwk == NULL), "kid and jwk");
	FUZZ_ASSERT(j.payload != NULL && j.payload[j.payload_len] == '\0',
	    "payload not terminated");
	FUZZ_ASSERT(strchr(j.signing_input, '.') != NULL, "signing input");
	for (i = 0; jws_algorithms[i] != NULL; i++)
		if (strcmp(jws_algorithms[i], j.alg) == 0)
			break;
	FUZZ_ASSERT(jws_algorithms[i] != NULL, "accepted alg %s", j.alg);

	if (j.jwk != NULL)
		key = j.jwk;
	else
		for (i = 0, key = keys[0]; i < 4; i++)
			if (strcmp(j.kid, kids[i]) == 0)
				key = keys[i];
	st = jws_verify(&j, key);
	if (st == KK_OK) {
		const char *key_alg = NULL;

		/* No algorithm confusion: what verifies is the key's own. */
		FUZZ_ASSERT(jwk_alg_for_key(key, &key_alg) == KK_OK &&
		                strcmp(key_alg, j.alg) == 0,
		    "%s verified with a %s key", j.alg,
		    key_alg ? key_alg : "?");
		FUZZ_ASSERT(j.sig_len > 0, "empty signature verified");
		j.sig[j.sig_len / 2] ^= 0x01;
		st = jws_verify(&j, key);
		FUZZ_ASSERT(
		    st == KK_ESIG, "a changed signature gave %d", (int)st);
		j.sig[j.sig_len / 2] ^= 0x01;
		/* Re-sign with the fast keys only (RSA costs milliseconds). */
		if (j.jwk != NULL && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
			resign(&j, keys[0], NULL);
		else if (j.kid != NULL)
			resign(&j, keys[2], j.kid);
	} else {
		FUZZ_ASSERT(st == KK_ESIG || st == KK_EALG || st == KK_ENOMEM ||
		                st == KK_ECRYPTO,
		    "status %d", (int)st);
	}
	jws_clear(&j);
	FUZZ_ASSERT(j.alg == NULL && j.jwk == NULL, "jws_clear");
	return 0;
}
