/*
 * model.c - resource ids, the destructors of the server's records and the
 * copies of those that need one.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64url.h"
#include "model.h"

/* 128 bits: ids are unguessable, so an URL names exactly one resource. */
#define MODEL_ID_BYTES 16

enum kk_status
model_random_b64(unsigned char *raw, size_t n, char **out)
{
	*out = NULL;
	/*
	 * base64url's first character comes from the top six bits of the
	 * first byte; 62 is '-'. An id or key that starts with '-' is read
	 * as an option when pasted into a command line (getopt, argparse),
	 * so such draws are drawn again: one in 64, at no cost in secrecy
	 * worth counting.
	 */
	do {
		if (RAND_bytes(raw, (int)n) != 1)
			return KK_ECRYPTO;
	} while (n > 0 && raw[0] >> 2 == 62);
	return b64url_encode(raw, n, out);
}

enum kk_status
model_new_id(char **out)
{
	unsigned char raw[MODEL_ID_BYTES];
	enum kk_status rc;

	rc = model_random_b64(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->jwk);
	free(a->thumbprint);
	free(a->contacts);
	free(a->org);
	free(a->eab_kid);
	free(a->created_ip);
	free(a);
}

void
order_free(struct order *o)
{
	if (o == NULL)
		return;
	free(o->id);
	free(o->account_id);
	free(o->org);
	free(o->authz_id);
	free(o->profile);
	free(o->error);
	free(o->cert_serial);
	free(o->replaces);
	free(o);
}

/* strdup of a string that may be NULL; 0 when out of memory. */
static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s == NULL || (*out = strdup(s)) != NULL;
}

enum kk_status
order_dup(const struct order *o, struct order **out)
{
	struct order *c;

	if ((*out = c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->status = o->status;
	c->created_at = o->created_at;
	c->expires = o->expires;
	if (dup_opt(o->id, &c->id) && dup_opt(o->account_id, &c->account_id) &&
	    dup_opt(o->org, &c->org) && dup_opt(o->authz_id, &c->authz_id) &&
	    dup_opt(o->profile, &c->profile) && dup_opt(o->error, &c->error) &&
	    dup_opt(o->cert_serial, &c->cert_serial) &&
	    dup_opt(o->replaces, &c->replaces))
		return KK_OK;
	order_free(c);
	*out = NULL;
	return KK_ENOMEM;
}

enum kk_status
authz_dup(const struct authz *a, struct authz **out)
{
	struct authz *c;

	if ((*out = c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->status = a->status;
	c->expires = a->expires;
	c->created_at = a->created_at;
	c->order_pos = a->order_pos;
	if (dup_opt(a->id, &c->id) && dup_opt(a->account_id, &c->account_id) &&
	    dup_opt(a->id_type, &c->id_type) &&
	    dup_opt(a->id_value, &c->id_value) &&
	    dup_opt(a->order_id, &c->order_id))
		return KK_OK;
	authz_free(c);
	*out = NULL;
	return KK_ENOMEM;
}

void
authz_free(struct authz *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->account_id);
	free(a->id_type);
	free(a->id_value);
	free(a->order_id);
	free(a);
}

void
challenge_free(struct challenge *c)
{
	if (c == NULL)
		return;
	free(c->id);
	free(c->authz_id);
	free(c->type);
	free(c->token);
	free(c->error);
	free(c);
}

static void
approval_clear(struct approval *ap)
{
	free(ap->operator_name);
	free(ap->method);
	free(ap->legal_name);
	free(ap->country);
	free(ap->evidence);
}

void
verification_free(struct verification *v)
{
	size_t i;

	if (v == NULL)
		return;
	free(v->id);
	free(v->org);
	free(v->account_id);
	free(v->authz_id);
	free(v->challenge_id);
	free(v->reason);
	for (i = 0; v->approvals != NULL && i < v->n_approvals; i++)
		approval_clear(&v->approvals[i]);
	free(v->approvals);
	free(v);
}

void
org_free(struct org *o)
{
	if (o == NULL)
		return;
	free(o->id);
	free(o->legal_name);
	free(o->country);
	free(o->method);
	free(o);
}

void
cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	free(c->serial);
	free(c->account_id);
	free(c->order_id);
	free(c->org);
	free(c->cn);
	free(c->pem);
	free(c->spki_sha256);
	free(c);
}

void
eab_key_free(struct eab_key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	/* The HMAC key lets anyone create accounts bound to the org. */
	if (k->hmac_key != NULL)
		OPENSSL_cleanse(k->hmac_key, k->hmac_key_len);
	free(k->hmac_key);
	free(k->org);
	free(k->created_by);
	free(k);
}

void
op_token_free(struct op_token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->role);
	free(t);
}

void
audit_event_free(struct audit_event *e)
{
	if (e == NULL)
		return;
	free(e->actor);
	free(e->action);
	free(e->object);
	free(e->detail);
	free(e);
}

void
renewal_free(struct renewal *r)
{
	if (r == NULL)
		return;
	free(r->serial);
	free(r->replaced_by);
	free(r);
}

void
crl_state_free(struct crl_state *c)
{
	if (c == NULL)
		return;
	free(c->issuer);
	free(c->der);
	free(c);
}
