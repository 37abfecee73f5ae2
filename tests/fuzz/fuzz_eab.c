/*
 * fuzz_eab: eab_parse and eab_verify on an externalAccountBinding object,
 * under a fixed MAC key, account key and URL (the seeds are made with
 * them, so mutations reach the MAC and the payload checks). A binding that
 * verifies must carry the MAC computed here independently, must stop
 * verifying under another key, another account key or another URL; and
 * eab_build's output for the parsed kid always verifies.
 */
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "fuzz_keys.h"

#include "eab.h"
#include "json.h"

#define FUZZ_EAB_URL "https://fuzz.example/acme/new-account"

static const unsigned char mac_key[32] = "kakuin-fuzz-eab-mac-key-32bytes!";
static EVP_PKEY *account, *other;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	account = fuzz_key(FUZZ_KEY_P256);
	other = fuzz_key(FUZZ_KEY_ED25519);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE], key2[32];
	unsigned int maclen = 0;
	struct eab e, e2;
	cJSON *obj = NULL, *built = NULL;
	enum kk_status st;

	memset(&e, 0, sizeof(e));
	if (json_parse((const char *)data, size, &obj) != KK_OK)
		return 0;
	if ((st = eab_parse(obj, &e)) != KK_OK) {
		FUZZ_ASSERT(
		    e.kid == NULL && e.mac == NULL, "output on failure");
		goto out;
	}
	FUZZ_ASSERT(e.kid != NULL && e.url != NULL && e.signing_input != NULL,
	    "incomplete parse");
	st = eab_verify(&e, mac_key, sizeof(mac_key), account, FUZZ_EAB_URL);
	if (st == KK_OK) {
		FUZZ_ASSERT(HMAC(EVP_sha256(), mac_key, sizeof(mac_key),
		                (const unsigned char *)e.signing_input,
		                strlen(e.signing_input), mac, &maclen) != NULL,
		    "hmac");
		FUZZ_ASSERT(
		    maclen == e.mac_len && memcmp(mac, e.mac, maclen) == 0,
		    "verified without the right MAC");
		FUZZ_ASSERT(strcmp(e.url, FUZZ_EAB_URL) == 0, "url");
		memcpy(key2, mac_key, sizeof(key2));
		key2[0] ^= 1;
		FUZZ_ASSERT(eab_verify(&e, key2, sizeof(key2), account,
		                FUZZ_EAB_URL) == KK_ESIG,
		    "verified under another MAC key");
		FUZZ_ASSERT(eab_verify(&e, mac_key, sizeof(mac_key), other,
		                FUZZ_EAB_URL) == KK_EKEY,
		    "verified for another account key");
		FUZZ_ASSERT(eab_verify(&e, mac_key, sizeof(mac_key), account,
		                FUZZ_EAB_URL "x") == KK_EINVAL,
		    "verified for another URL");
	} else {
		FUZZ_ASSERT(st == KK_ESIG || st == KK_EKEY || st == KK_EINVAL ||
		                st == KK_ENOMEM || st == KK_ECRYPTO,
		    "status %d", (int)st);
	}
	FUZZ_ASSERT(
	    eab_verify(&e, mac_key, 8, account, FUZZ_EAB_URL) == KK_EKEY,
	    "a short MAC key was used");

	/* Building for the parsed kid and url always verifies. */
	FUZZ_ASSERT(eab_build(e.kid, mac_key, sizeof(mac_key), account, e.url,
	                &built) == KK_OK,
	    "eab_build");
	FUZZ_ASSERT(eab_parse(built, &e2) == KK_OK, "own binding refused");
	FUZZ_ASSERT(
	    eab_verify(&e2, mac_key, sizeof(mac_key), account, e.url) == KK_OK,
	    "own binding does not verify");
	FUZZ_ASSERT(strcmp(e2.kid, e.kid) == 0, "kid changed");
	eab_clear(&e2);
	cJSON_Delete(built);
out:
	eab_clear(&e);
	cJSON_Delete(obj);
	return 0;
}
