/*
 * eckey.c - see eckey.h.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "eckey.h"

static const char *const groups[] = {"prime256v1", "secp384r1", "secp521r1"};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

/*
 * One key holding only the parameters of each curve, made on first use
 * and never changed or freed after: the process's immutable cache, read
 * by any thread (EVP_PKEY_copy_parameters only reads its source).
 */
static EVP_PKEY *templates[N_GROUPS];
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static void
templates_make(void)
{
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[2];

	for (size_t i = 0; i < N_GROUPS; i++) {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)groups[i], 0);
		params[1] = OSSL_PARAM_construct_end();
		/* A failure leaves the slot empty: that curve takes the
		 * slow way. */
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ==
		        NULL ||
		    EVP_PKEY_paramgen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
		    EVP_PKEY_paramgen(ctx, &templates[i]) != 1)
			templates[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
}

/* EVP_PKEY_fromdata with the group's name: every curve OpenSSL knows. */
static enum kk_status
slow_way(
    const char *group, const unsigned char *point, size_t len, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	enum kk_status st = KK_EKEY;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		st = KK_OK;
	EVP_PKEY_CTX_free(ctx);
	return st;
}

enum kk_status
eckey_from_point(
    const char *group, const unsigned char *point, size_t len, EVP_PKEY **out)
{
	EVP_PKEY *key = NULL;
	enum kk_status st = KK_EKEY;
	size_t i;

	*out = NULL;
	if (group == NULL || point == NULL || len == 0)
		return KK_EKEY;
	(void)pthread_once(&templates_once, templates_make);
	for (i = 0; i < N_GROUPS && strcmp(groups[i], group) != 0; i++)
		;
	if (i == N_GROUPS || templates[i] == NULL) {
		st = slow_way(group, point, len, out);
		goto out;
	}
	if ((key = EVP_PKEY_new()) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	/*
	 * EC_POINT_oct2point underneath, as with EVP_PKEY_fromdata: it
	 * refuses coordinates outside the field and points off the curve.
	 */
	if (EVP_PKEY_copy_parameters(key, templates[i]) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(key, point, len) != 1)
		goto out;
	*out = key;
	key = NULL;
	st = KK_OK;
out:
	if (st != KK_OK)
		ERR_clear_error();
	EVP_PKEY_free(key);
	return st;
}
