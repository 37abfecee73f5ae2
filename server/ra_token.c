/*
 * Operator tokens: made and revoked by `kakuin-server token`, each change
 * one transaction with its audit event, on whichever storage backend.
 * Only the SHA-256 of a token is stored.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "ra_internal.h"

#define TOKEN_BYTES 32

/* Letters, digits and "-_.", 1 to 128 of them: the operator API's names. */
static int
token_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

/* One attempt at ra_token_create. */
static enum kk_status
token_create_once(struct ra *ra, const char *actor, const char *name,
    const char *role, time_t now, char **token)
{
	unsigned char raw[TOKEN_BYTES];
	unsigned int hlen = sizeof(((struct op_token *)0)->hash);
	struct op_token t;
	cJSON *detail = NULL;
	enum kk_status st;
	char *tok = NULL;

	*token = NULL;
	if (!token_name_ok(name) ||
	    (strcmp(role, "operator") != 0 && strcmp(role, "auditor") != 0))
		return KK_EINVAL;
	st = model_random_b64(raw, sizeof(raw), &tok);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (st != KK_OK)
		return st;
	memset(&t, 0, sizeof(t));
	t.name = (char *)name;
	t.role = (char *)role;
	t.created_at = now;
	st = KK_ECRYPTO;
	if (EVP_Digest(tok, strlen(tok), t.hash, &hlen, EVP_sha256(), NULL) !=
	    1)
		goto out;
	st = KK_ENOMEM;
	if ((detail = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(detail, "role", role) == NULL)
		goto out;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto out;
	st = store_token_insert(ra->store, &t);
	if (st == KK_OK)
		st = audit_record(
		    ra->store, now, actor, "token.create", name, detail);
	if ((st = ra_finish(ra, st)) != KK_OK)
		goto out;
	*token = tok;
	tok = NULL;
out:
	cJSON_Delete(detail);
	if (tok != NULL) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	return st;
}

enum kk_status
ra_token_create(struct ra *ra, const char *actor, const char *name,
    const char *role, time_t now, char **token)
{
	enum kk_status st;
	int tries = 0;

	do
		st = token_create_once(ra, actor, name, role, now, token);
	while (ra_again(&st, &tries));
	return st;
}

/* One attempt at ra_token_revoke. */
static enum kk_status
token_revoke_once(
    struct ra *ra, const char *actor, const char *name, time_t now)
{
	enum kk_status st;

	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	st = store_token_revoke(ra->store, name, now);
	if (st == KK_OK)
		st = audit_record(
		    ra->store, now, actor, "token.revoke", name, NULL);
	return ra_finish(ra, st);
}

enum kk_status
ra_token_revoke(struct ra *ra, const char *actor, const char *name, time_t now)
{
	enum kk_status st;
	int tries = 0;

	do
		st = token_revoke_once(ra, actor, name, now);
	while (ra_again(&st, &tries));
	return st;
}
