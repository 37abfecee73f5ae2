/*
 * Attachments: the registration authority's rules for the documents a
 * verification rests on (ra_attach.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "audit.h"
#include "ra_attach.h"
#include "ra_internal.h"

/* The types we keep and how each file begins. */
static const struct {
	const char *type;
	const char *magic;
	size_t magic_len;
} kinds[] = {
    {"application/pdf", "%PDF-", 5},
    {"image/png", "\x89PNG\r\n\x1a\n", 8},
    {"image/jpeg", "\xff\xd8\xff", 3},
};

const char *
ra_attach_type(const char *content_type)
{
	size_t n;

	if (content_type == NULL)
		return NULL;
	n = strcspn(content_type, "; \t");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].type) == n &&
		    strncasecmp(content_type, kinds[i].type, n) == 0)
			return kinds[i].type;
	return NULL;
}

static int
magic_ok(const char *type, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].type, type) == 0)
			return len >= kinds[i].magic_len &&
			       memcmp(data, kinds[i].magic,
			           kinds[i].magic_len) == 0;
	return 0;
}

/* Lowercase hex SHA-256 of data into out[65]. */
static enum kk_status
sha256_hex(const unsigned char *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = sizeof(md);

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1)
		return KK_ECRYPTO;
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return KK_OK;
}

static enum kk_status
audit_attach(struct ra *ra, const struct attachment *a)
{
	cJSON *d = cJSON_CreateObject();
	enum kk_status st = KK_ENOMEM;

	if (d != NULL &&
	    cJSON_AddStringToObject(d, "sha256", a->sha256) != NULL &&
	    cJSON_AddStringToObject(d, "content_type", a->content_type) !=
	        NULL &&
	    cJSON_AddNumberToObject(d, "size", (double)a->size) != NULL)
		st = audit_record(ra->store, a->uploaded_at, a->uploaded_by,
		    "verification.attach", a->verification_id, d);
	cJSON_Delete(d);
	return st;
}

/* A copy of a's record, without its content, in *out. */
static enum kk_status
record_copy(const struct attachment *a, struct attachment **out)
{
	struct attachment *c = calloc(1, sizeof(*c));

	*out = c;
	if (c == NULL)
		return KK_ENOMEM;
	c->verification_id = strdup(a->verification_id);
	c->sha256 = strdup(a->sha256);
	c->content_type = strdup(a->content_type);
	c->uploaded_by = strdup(a->uploaded_by);
	c->uploaded_at = a->uploaded_at;
	c->size = a->size;
	if (c->verification_id == NULL || c->sha256 == NULL ||
	    c->content_type == NULL || c->uploaded_by == NULL) {
		attachment_free(c);
		*out = NULL;
		return KK_ENOMEM;
	}
	return KK_OK;
}

/* One attempt at ra_attachment_add. */
static enum kk_status
attachment_add_once(struct ra *ra, const char *op, const char *id,
    const char *type, const unsigned char *data, size_t len, time_t now,
    struct attachment **out, int *created, const char **why)
{
	struct verification *v = NULL;
	struct attachment a, *old = NULL, **list = NULL;
	size_t n = 0;
	char sha[65];
	enum kk_status st;

	*out = NULL;
	if (created != NULL)
		*created = 0;
	if (len == 0 || len > RA_ATTACH_MAX)
		return ra_refuse(why, "an attachment must hold 1 byte to "
		                      "5 MiB");
	if (type == NULL || !magic_ok(type, data, len))
		return ra_refuse(why, "the content is not what its type says "
		                      "(a PDF, PNG or JPEG file)");
	if ((st = sha256_hex(data, len, sha)) != KK_OK)
		return st;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if ((st = store_verification_get(ra->store, id, &v)) != KK_OK)
		goto out;
	st = store_attachment_get(ra->store, id, sha, &old);
	if (st == KK_OK)
		goto out; /* the same document again: nothing to do */
	if (st != KK_ENOTFOUND ||
	    (st = store_attachment_list(ra->store, id, &list, &n)) != KK_OK)
		goto out;
	if (n >= RA_ATTACH_PER_VERIFICATION) {
		st = ra_refuse(why, "the verification has as many attachments "
		                    "as it may have (20)");
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.verification_id = (char *)id;
	a.sha256 = sha;
	a.content_type = (char *)type;
	a.uploaded_by = (char *)op;
	a.uploaded_at = now;
	a.size = len;
	a.data = (unsigned char *)data;
	if ((st = store_attachment_insert(ra->store, &a)) != KK_OK ||
	    (st = audit_attach(ra, &a)) != KK_OK)
		goto out;
	if ((st = record_copy(&a, &old)) != KK_OK)
		goto out;
	if (created != NULL)
		*created = 1;
out:
	for (size_t i = 0; i < n; i++)
		attachment_free(list[i]);
	free(list);
	verification_free(v);
	if ((st = ra_finish(ra, st)) != KK_OK) {
		attachment_free(old);
		return st;
	}
	/* The record without its content: the caller has that. */
	free(old->data);
	old->data = NULL;
	*out = old;
	return KK_OK;
}

enum kk_status
ra_attachment_add(struct ra *ra, const char *op, const char *id,
    const char *type, const unsigned char *data, size_t len, time_t now,
    struct attachment **out, int *created, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = attachment_add_once(
		    ra, op, id, type, data, len, now, out, created, why);
	while (ra_again(&st, &tries));
	return st;
}

enum kk_status
ra_attachments_check(
    struct ra *ra, const char *id, const struct ra_docs *docs, const char **why)
{
	struct attachment *a = NULL;
	enum kk_status st;

	for (size_t i = 0; docs != NULL && i < docs->n; i++) {
		st = store_attachment_get(ra->store, id, docs->sha[i], &a);
		attachment_free(a);
		a = NULL;
		if (st == KK_ENOTFOUND)
			return ra_refuse(why, "an attachment the approval "
			                      "names is not attached to this "
			                      "verification");
		if (st != KK_OK)
			return st;
	}
	return KK_OK;
}
