/*
 * Certificates (RFC 8555 sections 7.4.2 and 7.6): download of the chain,
 * revocation by the owning account or by the certificate's own key, and
 * the CRL that publishes revocations.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "b64url.h"
#include "json.h"

#define PEM_CHAIN_TYPE "application/pem-certificate-chain"

void
acme_cert(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *serial)
{
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

/* RFC 5280 CRLReason values a subscriber may ask for (no hold, no 7). */
static int
reason_ok(int r)
{
	return r == 0 || r == 1 || r == 3 || r == 4 || r == 5 || r == 9;
}

void
acme_revoke(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct acme_post p;
	struct cert *c = NULL;
	const char *b64;
	const cJSON *reason;
	unsigned char *der = NULL;
	size_t len = 0;
	char *serial = NULL, *actor = NULL;
	EVP_PKEY *certkey = NULL;
	cJSON *detail = NULL;
	int r = 0;
	time_t now = time(NULL);
	enum kk_status st;

	if (acme_post_open(s, req, ACME_AUTH_EITHER, &p, resp) != KK_OK)
		return;
	b64 = p.payload ? json_get_string(p.payload, "certificate") : NULL;
	if (b64 == NULL ||
	    b64url_decode(b64, strlen(b64), &der, &len) != KK_OK) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "revokeCert needs \"certificate\": base64url DER");
		goto out;
	}
	reason = cJSON_GetObjectItemCaseSensitive(p.payload, "reason");
	if (reason != NULL) {
		if (!cJSON_IsNumber(reason) || !reason_ok(reason->valueint) ||
		    reason->valuedouble != reason->valueint) {
			http_resp_error(resp, ACME_BAD_REVOCATION_REASON, 0,
			    "reason must be one of 0, 1, 3, 4, 5, 9 (RFC 5280 "
			    "CRLReason)");
			goto out;
		}
		r = reason->valueint;
	}
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
	if (strcmp(c->status, "revoked") == 0) {
		http_resp_error(resp, ACME_ALREADY_REVOKED, 0,
		    "certificate %s is already revoked", serial);
		goto out;
	}
	if (asprintf(&actor, "acme:%s",
	        p.account ? p.account->id : "certificate-key") < 0)
		actor = NULL;
	if ((detail = cJSON_CreateObject()) != NULL)
		cJSON_AddNumberToObject(detail, "reason", r);
	if ((st = store_begin(s->store)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if ((st = store_cert_revoke(s->store, serial, now, r)) ==
	    KK_ECONFLICT) {
		store_rollback(s->store);
		http_resp_error(resp, ACME_ALREADY_REVOKED, 0,
		    "certificate %s is already revoked", serial);
		goto out;
	}
	if (st != KK_OK || (st = srv_audit(s, actor ? actor : "acme",
	                        "cert.revoke", serial, detail)) != KK_OK) {
		store_rollback(s->store);
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	if ((st = store_commit(s->store)) != KK_OK) {
		acme_store_error(resp, st, "certificate");
		goto out;
	}
	srv_log("revoked %s (reason %d)", serial, r);
	srv_crl_refresh(s, now);
	resp->status = 200;
out:
	free(der);
	free(serial);
	free(actor);
	cJSON_Delete(detail);
	EVP_PKEY_free(certkey);
	cert_free(c);
	acme_post_clear(&p);
}

void
acme_crl(struct srv *s, const struct http_req *req, struct http_resp *resp,
    const char *name)
{
	enum kk_status st = KK_OK;

	if (strcmp(name, ca_issuer_id(s->ca)) != 0) {
		http_resp_error(
		    resp, ACME_MALFORMED, 404, "no CRL for issuer %s", name);
		return;
	}
	pthread_mutex_lock(&s->crl_lock);
	if (s->crl_der == NULL) {
		pthread_mutex_unlock(&s->crl_lock);
		st = srv_crl_refresh(s, time(NULL));
		pthread_mutex_lock(&s->crl_lock);
	}
	if (st != KK_OK || s->crl_der == NULL ||
	    http_resp_bytes(resp, 200, "application/pkix-crl", s->crl_der,
	        s->crl_len) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "the CRL is not available; try again later");
	pthread_mutex_unlock(&s->crl_lock);
	resp->cache_control_public = 1;
}
