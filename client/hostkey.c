/*
 * hostkey.c - certificate keys in files or in a PKCS#11 token.
 */
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hostkey.h"
#include "keys.h"

#define URI_FILE_MAX 4096

enum kk_status
hostkey_check_uri(const char *uri, const char *key_type, struct kc_err *err)
{
	enum kk_status st;
	struct p11_uri u;
	char *why = NULL;

	if ((st = p11_uri_parse(uri, &u, &why)) != KK_OK) {
		err_set(err, st, EX_USAGE, "--key-uri: %s",
		    why != NULL ? why : kk_strerror(st));
		free(why);
		return st;
	}
	if (u.object == NULL)
		st = err_set(err, KK_EINVAL, EX_USAGE,
		    "--key-uri needs object=LABEL: the label of this "
		    "certificate's keys");
	else if (u.id_len > 0)
		st = err_set(err, KK_EINVAL, EX_USAGE,
		    "--key-uri: leave out id=; each new key gets its own");
	else if (strcmp(key_type, "ed25519") == 0)
		st = err_set(err, KK_EALG, EX_USAGE,
		    "--key-type ed25519 cannot be generated in a token "
		    "(ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096)");
	p11_uri_clear(&u);
	return st;
}

/* A token failure for a person: which key, what went wrong. */
static enum kk_status
token_fail(const char *uri, enum kk_status st, char *why, struct kc_err *err)
{
	char *name = NULL;

	(void)p11_uri_display(uri, &name);
	err_set(err, st, st == KK_EKEY || st == KK_ENOTFOUND ? EX_CONFIG : 1,
	    "key %s: %s", name != NULL ? name : "pkcs11:",
	    why != NULL ? why : kk_strerror(st));
	free(name);
	free(why);
	return st;
}

enum kk_status
hostkey_generate(
    const struct cert_config *cfg, struct hostkey *k, struct kc_err *err)
{
	struct p11_pin pin = {cfg->pin_file, HOSTKEY_PIN_ENV};
	enum kk_status st;
	char *why = NULL;

	memset(k, 0, sizeof(*k));
	if (cfg->key_uri == NULL)
		return keys_generate(cfg->key_type, &k->pkey, err);
	st = p11_key_generate(cfg->key_uri, &pin, cfg->key_type, &k->tok, &why);
	if (st != KK_OK)
		return token_fail(cfg->key_uri, st, why, err);
	k->pkey = p11_key_pkey(k->tok);
	return KK_OK;
}

enum kk_status
hostkey_open(const struct cert_config *cfg, const char *uri, struct hostkey *k,
    struct kc_err *err)
{
	struct p11_pin pin = {cfg->pin_file, HOSTKEY_PIN_ENV};
	enum kk_status st;
	char *why = NULL;

	memset(k, 0, sizeof(*k));
	if ((st = p11_key_open(uri, &pin, &k->tok, &why)) != KK_OK)
		return token_fail(uri, st, why, err);
	k->pkey = p11_key_pkey(k->tok);
	return KK_OK;
}

enum kk_status
hostkey_read_uri(const char *path, char **uri, struct kc_err *err)
{
	enum kk_status st;
	size_t len;

	*uri = NULL;
	if ((st = file_read(path, URI_FILE_MAX, uri, &len, err)) != KK_OK)
		return st;
	(*uri)[strcspn(*uri, "\r\n")] = '\0';
	if (!p11_is_uri(*uri)) {
		free(*uri);
		*uri = NULL;
		return err_set(
		    err, KK_EINVAL, EX_CONFIG, "%s holds no pkcs11: URI", path);
	}
	return KK_OK;
}

enum kk_status
hostkey_prune(const struct cert_config *cfg, const char *keep, int *destroyed,
    struct kc_err *err)
{
	struct p11_pin pin = {cfg->pin_file, HOSTKEY_PIN_ENV};
	const char *keeps[1] = {keep};
	enum kk_status st;
	char *why = NULL;

	if (cfg->key_uri == NULL)
		return KK_OK;
	st = p11_key_prune(cfg->key_uri, &pin, keeps, 1, destroyed, &why);
	if (st != KK_OK)
		return token_fail(cfg->key_uri, st, why, err);
	return KK_OK;
}

void
hostkey_clear(struct hostkey *k)
{
	if (k->tok != NULL)
		p11_key_free(k->tok); /* and with it the borrowed pkey */
	else
		EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}
