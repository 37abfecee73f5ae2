/*
 * testutil.h - helpers shared by the protocol unit tests (each test file is
 * its own executable, so these are static and included, not linked).
 */
#ifndef PROTOCOL_TESTUTIL_H
#define PROTOCOL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "b64url.h"

#define UNUSED_HELPER __attribute__((unused))

/* The parsed tests/vectors/jose.json; cJSON_Delete when done. */
static UNUSED_HELPER cJSON *
load_vectors(void)
{
	FILE *f = fopen(KAKUIN_VECTORS_DIR "/jose.json", "rb");
	char buf[16384];
	size_t n;
	cJSON *v;

	cr_assert_not_null(
	    f, "cannot open %s", KAKUIN_VECTORS_DIR "/jose.json");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	cr_assert(n > 0 && n < sizeof(buf) - 1);
	buf[n] = '\0';
	v = cJSON_Parse(buf);
	cr_assert_not_null(v);
	return v;
}

/* A string found by a path of member names in the vectors. */
static UNUSED_HELPER const char *
vec_str(const cJSON *v, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(v, a);

	if (b != NULL)
		o = cJSON_GetObjectItemCaseSensitive(o, b);
	cr_assert(cJSON_IsString(o), "vector %s.%s missing", a, b ? b : "");
	return o->valuestring;
}

/* A fresh key: "P-256", "P-384", "ED25519" or "RSA-<bits>". */
static UNUSED_HELPER EVP_PKEY *
gen_key(const char *kind)
{
	EVP_PKEY *k;

	if (strncmp(kind, "RSA-", 4) == 0)
		k = EVP_PKEY_Q_keygen(
		    NULL, NULL, "RSA", (size_t)strtoul(kind + 4, NULL, 10));
	else if (strcmp(kind, "ED25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
	cr_assert_not_null(k, "keygen %s", kind);
	return k;
}

/* base64url of a C string; free() the result. */
static UNUSED_HELPER char *
b64s(const char *s)
{
	char *out = NULL;

	cr_assert_eq(
	    b64url_encode((const unsigned char *)s, strlen(s), &out), KK_OK);
	return out;
}

/* base64url-decoded bytes of s; free() the result. */
static UNUSED_HELPER unsigned char *
unb64(const char *s, size_t *len)
{
	unsigned char *out = NULL;

	cr_assert_eq(b64url_decode(s, strlen(s), &out, len), KK_OK,
	    "bad base64url in test data: %s", s);
	return out;
}

#endif
