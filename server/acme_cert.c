/*
 * Certificates (RFC 8555 sections 7.4.2 and 7.6): download of the chain,
 * revocation by the owning account or by the certificate's own key, and
 * the CRL that publishes revocations.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "acme_status.h"
#include "b64url.h"
#include "json.h"

#define PEM_CHAIN_TYPE "application/pem-certificate-chain"

void
acme_cert(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	const char *serial = call->id;
	struct acme_post p;
	struct cert *c = NULL;
	const char *chain;
	char *body = NULL;
	size_t llen, clen;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_KID, &p, resp) != KK_OK)
		return;
	if ((st = store_cert_get(s->store, serial, &c)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if (strcmp(c->account_id, p.account->id) != 0) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "the certificate belongs to another account");
		goto out;
	}
	/* Leaf first, then the issuing CA (RFC 8555 9.1). */
	chain = ca_chain_pem(s->ca);
	llen = strlen(c->pem);
	clen = strlen(chain);
	if ((body = malloc(llen + clen + 1)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	memcpy(body, c->pem, llen);
	memcpy(body + llen, chain, clen + 1);
	if (http_resp_bytes(resp, 200, PEM_CHAIN_TYPE, body, llen + clen) !=
	    KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
out:
	free(body);
	cert_free(c);
	acme_post_clear(&p);
}

/*
 * Who may revoke (RFC 8555 7.6): the account that ordered the
 * certificate, an account bound to the certificate's organization, or
 * whoever holds the certificate's private key.
 */
static int
may_revoke(const struct acme_post *p, const struct cert *c, EVP_PKEY *certkey)
{
	if (p->account == NULL)
		return EVP_PKEY_eq(p->key, certkey) == 1;
	return strcmp(c->account_id, p->account->id) == 0 ||
	       (p->account->org != NULL &&
	           strcmp(p->account->org, c->org) == 0);
}

/*
 * revokeCert's payload: the certificate's DER (*der, caller frees) and an
 * optional reason a subscriber may give (*reason, unspecified if absent).
 * Returns 0, or -1 with resp answered.
 */
static int
revoke_payload(const cJSON *payload, unsigned char **der, size_t *len,
    int *reason, struct http_resp *resp)
{
	const char *b64 =
	    payload ? json_get_string(payload, "certificate") : NULL;
	const cJSON *r;

	*reason = ACME_CRL_UNSPECIFIED;
	if (b64 == NULL || b64url_decode(b64, strlen(b64), der, len) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "revokeCert needs \"certificate\": base64url DER");
		return -1;
	}
	if ((r = cJSON_GetObjectItemCaseSensitive(payload, "reason")) == NULL)
		return 0;
	if (!cJSON_IsNumber(r) || r->valuedouble != r->valueint ||
	    !acme_crl_reason_allowed(r->valueint, 1)) {
		http_resp_error(resp, ACME_BAD_REVOCATION_REASON, 0,
		    "reason must be one of 0, 1, 3, 4, 5, 9 (RFC 5280 "
		    "CRLReason)");
		return -1;
	}
	*reason = r->valueint;
	return 0;
}

void
acme_revoke(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	struct acme_post p;
	struct cert *c = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char *serial = NULL, *actor = NULL;
	EVP_PKEY *certkey = NULL;
	int r;
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_EITHER, &p, resp) != KK_OK)
		return;
	if (revoke_payload(p.payload, &der, &len, &r, resp) != 0)
		goto out;
	st = ca_cert_check(s->ca, der, len, &serial, &certkey);
	if (st != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED,
		    st == KK_ENOTFOUND ? 404 : 0,
		    st == KK_ENOTFOUND ? "the certificate was not issued by "
		                         "this CA"
		                       : "the certificate does not parse");
		goto out;
	}
	if ((st = store_cert_get(s->store, serial, &c)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if (!may_revoke(&p, c, certkey)) {
		http_resp_error(resp, ACME_UNAUTHORIZED, 0,
		    "this key may not revoke that certificate");
		goto out;
	}
	if ((actor = ra_actor(p.account ? p.account->id : NULL)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	st = ra_cert_revoke(&s->ra, actor, serial, r, time(NULL), NULL);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_ALREADY_REVOKED, 0,
		    "certificate %s is already revoked", serial);
	else if (st != KK_OK)
		acme_store_error(resp, st, "certificate");
	else
		resp->status = 200;
out:
	free(der);
	free(serial);
	free(actor);
	EVP_PKEY_free(certkey);
	cert_free(c);
	acme_post_clear(&p);
}

void
acme_crl(struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const char *name = call->id;
	unsigned char *der = NULL;
	size_t len = 0;
	enum kk_status st;

	if (strcmp(name, ca_issuer_id(s->ca)) != 0) {
		http_resp_error(
		    resp, ACME_MALFORMED, 404, "no CRL for issuer %s", name);
		return;
	}
	if ((st = crl_get(s->crl, &der, &len)) != KK_OK) {
		acme_store_error(resp, st, "CRL");
		return;
	}
	if (http_resp_bytes(resp, 200, "application/pkix-crl", der, len) !=
	    KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "the CRL is not available; try again later");
	else
		resp->cache_control_public = 1;
	free(der);
}
