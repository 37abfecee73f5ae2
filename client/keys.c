#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "fileio.h"
#include "keys.h"

int
keys_type_valid(const char *name)
{
	static const char *const names[] = {"ec-p256", "ec-p384", "rsa-2048",
	    "rsa-3072", "rsa-4096", "ed25519"};
	size_t i;

	for (i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

const char *
keys_type_of(EVP_PKEY *key)
{
	char group[32];

	if (EVP_PKEY_is_a(key, "ED25519"))
		return "ed25519";
	if (EVP_PKEY_is_a(key, "RSA")) {
		switch (EVP_PKEY_get_bits(key)) {
		case 2048:
			return "rsa-2048";
		case 3072:
			return "rsa-3072";
		case 4096:
			return "rsa-4096";
		}
		return NULL;
	}
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
		if (strcmp(group, "prime256v1") == 0)
			return "ec-p256";
		if (strcmp(group, "secp384r1") == 0)
			return "ec-p384";
	}
	return NULL;
}

enum kk_status
keys_generate(const char *type, EVP_PKEY **out, struct kc_err *err)
{
	*out = NULL;
	if (!keys_type_valid(type))
		return err_set(err, KK_EINVAL, EX_USAGE,
		    "unknown key type '%s' (ec-p256, ec-p384, rsa-2048, "
		    "rsa-3072, rsa-4096, ed25519)",
		    type == NULL ? "" : type);
	if (strcmp(type, "ec-p256") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec-p384") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "ed25519") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		*out = EVP_PKEY_Q_keygen(
		    NULL, NULL, "RSA", (size_t)strtoul(type + 4, NULL, 10));
	if (*out == NULL)
		return err_set(
		    err, KK_ECRYPTO, 1, "cannot generate a %s key", type);
	return KK_OK;
}

enum kk_status
keys_to_pem(EVP_PKEY *key, char **pem, size_t *len)
{
	enum kk_status st = KK_ECRYPTO;
	char *data;
	long n;
	BIO *b;

	*pem = NULL;
	*len = 0;
	b = BIO_new(BIO_s_secmem());
	if (b == NULL)
		return KK_ENOMEM;
	if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		goto out;
	*pem = malloc((size_t)n + 1);
	if (*pem == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*len = (size_t)n;
	st = KK_OK;
out:
	BIO_free(b);
	return st;
}

enum kk_status
keys_write(const char *path, EVP_PKEY *key, struct kc_err *err)
{
	enum kk_status st;
	char *pem;
	size_t len;

	if ((st = keys_to_pem(key, &pem, &len)) != KK_OK)
		return err_set(
		    err, st, 1, "cannot encode the key for %s", path);
	st = file_write_atomic(path, pem, len, 0600, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return st;
}

enum kk_status
keys_read(const char *path, EVP_PKEY **out, struct kc_err *err)
{
	enum kk_status st;
	char *pem;
	size_t len;
	BIO *b;

	*out = NULL;
	if ((st = file_read(path, FILE_MAX_LEN, &pem, &len, err)) != KK_OK)
		return st;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL)
		*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (*out == NULL)
		return err_set(
		    err, KK_EKEY, EX_CONFIG, "%s: not a PEM private key", path);
	return KK_OK;
}
