/*
 * seedgen: writes the generated part of the seed corpora, signed with the
 * fixed keys of fuzz_keys.h so that they verify in the fuzz targets:
 *
 *   fuzz_seedgen DIR    writes DIR/jws/, DIR/eab/, DIR/jwk/, DIR/csr/
 *
 * The corpora in the repository were made with it (DIR = tests/fuzz/corpus);
 * run it again only when the formats change.
 */
#include <sys/stat.h>

#include "fuzz_common.h"
#include "fuzz_keys.h"

#include "eab.h"
#include "jwk.h"
#include "jws.h"

#define URL "https://fuzz.example/acme/new-order"
#define EAB_URL "https://fuzz.example/acme/new-account"

static const char *outdir;

static void
put(const char *target, const char *name, const void *data, size_t len)
{
	char *path = NULL;

	FUZZ_ASSERT(asprintf(&path, "%s/%s", outdir, target) > 0, "oom");
	mkdir(path, 0755);
	free(path);
	FUZZ_ASSERT(
	    asprintf(&path, "%s/%s/%s", outdir, target, name) > 0, "oom");
	fuzz_write(path, data, len);
	free(path);
}

static void
put_jws(const char *name, EVP_PKEY *key, const char *kid, const char *payload)
{
	char *out = NULL;

	FUZZ_ASSERT(
	    jws_sign(key, kid, "bm9uY2U", URL, (const unsigned char *)payload,
	        payload ? strlen(payload) : 0, &out) == KK_OK,
	    "sign");
	put("jws", name, out, strlen(out));
	free(out);
}

int
main(int argc, char **argv)
{
	static const unsigned char mac_key[32] =
	    "kakuin-fuzz-eab-mac-key-32bytes!";
	static const char *const kinds[4] = {
	    "p256", "p384", "ed25519", "rsa2048"};
	const char *pems[4] = {
	    FUZZ_KEY_P256, FUZZ_KEY_P384, FUZZ_KEY_ED25519, FUZZ_KEY_RSA2048};
	EVP_PKEY *keys[4];
	cJSON *j = NULL;
	unsigned char *der = NULL;
	char *text, name[64];
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seedgen DIR\n");
		return 64;
	}
	outdir = argv[1];
	for (int i = 0; i < 4; i++)
		keys[i] = fuzz_key(pems[i]);
	for (int i = 0; i < 4; i++) {
		/* JWS: by kid (the fuzz target maps the kid to the key) and
		 * with an embedded jwk; with a payload and POST-as-GET. */
		snprintf(name, sizeof(name), "kid-%s", kinds[i]);
		put_jws(name, keys[i], kinds[i],
		    "{\"identifiers\":[{\"type\":\"org\",\"value\":"
		    "\"NTRJP-9234567890123\"}]}");
		snprintf(name, sizeof(name), "jwk-%s", kinds[i]);
		put_jws(name, keys[i], NULL, "{\"termsOfServiceAgreed\":true}");
		snprintf(name, sizeof(name), "get-%s", kinds[i]);
		put_jws(name, keys[i], kinds[i], NULL);
		/* JWK: the public key. */
		FUZZ_ASSERT(jwk_from_pkey(keys[i], &j) == KK_OK, "jwk");
		text = cJSON_PrintUnformatted(j);
		put("jwk", kinds[i], text, strlen(text));
		cJSON_free(text);
		cJSON_Delete(j);
		/* CSR: as the client makes them. */
		fuzz_make_csr(keys[i], "NTRJP-9234567890123",
		    "host.fuzz.example", &der, &len);
		put("csr", kinds[i], der, len);
		free(der);
	}
	/* EAB: bindings of the P-256 account key, and one of another key. */
	for (int i = 0; i < 3; i++) {
		FUZZ_ASSERT(eab_build(i == 2 ? "kid-other" : "kid-1", mac_key,
		                sizeof(mac_key), keys[i == 1 ? 2 : 0], EAB_URL,
		                &j) == KK_OK,
		    "eab");
		text = cJSON_PrintUnformatted(j);
		snprintf(name, sizeof(name), "eab-%d", i);
		put("eab", name, text, strlen(text));
		cJSON_free(text);
		cJSON_Delete(j);
	}
	for (int i = 0; i < 4; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}
