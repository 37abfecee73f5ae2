/*
 * Authentication of ACME POSTs (RFC 8555 section 6.2-6.5). The checks run
 * from cheapest to dearest so that hostile requests cost little: type,
 * structure, algorithm, nonce, url, account, signature, payload.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"
#include "json.h"
#include "jwk.h"

#define JOSE_TYPE "application/jose+json"

static int
is_jose(const char *ct)
{
	size_t n = strlen(JOSE_TYPE);

	/* Parameters after ';' are tolerated, other types are not. */
	return ct != NULL && strncasecmp(ct, JOSE_TYPE, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
jws_error(struct http_resp *resp, enum kk_status st)
{
	cJSON *p = NULL;

	switch (st) {
	case KK_EALG:
		if (problem_new(&p, ACME_BAD_SIGNATURE_ALGORITHM, 0,
		        "the JWS algorithm is not accepted; use one of "
		        "ES256, ES384, RS256 (2048 bits or more), "
		        "EdDSA (Ed25519) matching the key") != KK_OK ||
		    problem_add_algorithms(p, jws_algorithms) != KK_OK ||
		    http_resp_problem(resp, p) != KK_OK)
			http_resp_error(
			    resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		cJSON_Delete(p);
		break;
	case KK_EKEY:
		http_resp_error(resp, ACME_BAD_PUBLIC_KEY, 0,
		    "the JWK is not an accepted public key (EC P-256/P-384, "
		    "RSA 2048-4096 bits, Ed25519)");
		break;
	case KK_ETOOBIG:
		/* http.c refused oversized bodies already: what is left is
		 * nesting deeper than any ACME object, a 400. */
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the body nests deeper than any ACME request does");
		break;
	case KK_ENOMEM:
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		break;
	default:
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the body is not a valid flattened JWS: %s",
		    kk_strerror(st));
		break;
	}
}

/* Finds the account named by a kid URL and its key. */
static enum kk_status
load_account(
    struct srv *s, const char *kid, struct acme_post *p, struct http_resp *resp)
{
	char *prefix = srv_url(s, "/acme/acct/");
	const char *id;
	enum kk_status st = KK_EINVAL;

	if (prefix == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		st = KK_ENOMEM;
		goto out;
	}
	if (strncmp(kid, prefix, strlen(prefix)) != 0) {
		http_resp_error(resp, ACME_ACCOUNT_DOES_NOT_EXIST, 0,
		    "kid is not an account URL of this server");
		goto out;
	}
	id = kid + strlen(prefix);
	st = store_account_get(s->store, id, &p->account);
	if (st == KK_ENOTFOUND) {
		http_resp_error(resp, ACME_ACCOUNT_DOES_NOT_EXIST, 0,
		    "no account exists at %s", kid);
		goto out;
	}
	if (st != KK_OK) {
		acme_store_error(resp, st, "account");
		goto out;
	}
	if (p->account->status != ACME_STATUS_VALID) {
		st = KK_ECONFLICT;
		http_resp_error(resp, ACME_UNAUTHORIZED, 0, "the account is %s",
		    acme_status_name(p->account->status));
		goto out;
	}
	/* The key of the JWK just read: a key change takes effect at once. */
	if (keycache_get(s->keys, p->account->id, p->account->jwk,
	        &p->account_key) != KK_OK) {
		st = KK_EIO;
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "the stored account key is unreadable");
		goto out;
	}
	p->key = p->account_key;
	st = KK_OK;
out:
	free(prefix);
	return st;
}

enum kk_status
acme_post_open(struct srv *s, const struct http_req *req, enum acme_auth auth,
    struct acme_post *p, struct http_resp *resp)
{
	char *url = NULL;
	enum kk_status st;

	memset(p, 0, sizeof(*p));
	if (!is_jose(req->content_type)) {
		http_resp_error(resp, ACME_MALFORMED, 415,
		    "ACME POSTs must have Content-Type %s", JOSE_TYPE);
		st = KK_EINVAL;
		goto out;
	}
	if (req->body == NULL || req->body_len == 0) {
		http_resp_error(resp, ACME_MALFORMED, 0, "empty request body");
		st = KK_EINVAL;
		goto out;
	}
	if ((st = jws_parse(req->body, req->body_len, &p->jws)) != KK_OK) {
		jws_error(resp, st);
		goto out;
	}
	if (p->jws.nonce != NULL &&
	    (st = nonce_redeem(s->nonces, p->jws.nonce)) == KK_EAGAIN) {
		/* Shared nonces whose store is out of reach: not the
		 * client's fault, and the nonce may still be good. */
		acme_store_error(resp, st, "nonce");
		goto out;
	}
	if (p->jws.nonce == NULL || st != KK_OK) {
		http_resp_error(resp, ACME_BAD_NONCE, 0,
		    p->jws.nonce == NULL
		        ? "the JWS has no nonce"
		        : "the nonce is unknown, used or expired; retry "
		          "with the Replay-Nonce of this response");
		st = KK_EINVAL;
		goto out;
	}
	/* RFC 8555 6.4: the whole request URL, query included. */
	if ((url = req->query != NULL
	               ? srv_url(s, "%s?%s", req->path, req->query)
	               : srv_url(s, "%s", req->path)) == NULL) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		st = KK_ENOMEM;
		goto out;
	}
	if (p->jws.url == NULL || strcmp(p->jws.url, url) != 0) {
		http_resp_error(
		    resp, ACME_UNAUTHORIZED, 0, "the JWS url must be %s", url);
		st = KK_EINVAL;
		goto out;
	}
	if (p->jws.kid != NULL) {
		if (auth == ACME_AUTH_JWK) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "this request must be signed with a jwk, not a "
			    "kid");
			st = KK_EINVAL;
			goto out;
		}
		if ((st = load_account(s, p->jws.kid, p, resp)) != KK_OK)
			goto out;
	} else {
		if (auth == ACME_AUTH_KID) {
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "this request must be signed by an account (kid), "
			    "not a jwk");
			st = KK_EINVAL;
			goto out;
		}
		p->key = p->jws.jwk;
	}
	if ((st = jws_verify(&p->jws, p->key)) != KK_OK) {
		if (st == KK_EALG)
			jws_error(resp, st);
		else
			http_resp_error(resp, ACME_MALFORMED, 0,
			    "the JWS signature does not verify");
		goto out;
	}
	if (p->jws.payload_len > 0 &&
	    ((st = json_parse((const char *)p->jws.payload, p->jws.payload_len,
	          &p->payload)) != KK_OK ||
	        !cJSON_IsObject(p->payload))) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "the JWS payload is not a JSON object");
		st = KK_EINVAL;
		goto out;
	}
	st = KK_OK;
out:
	free(url);
	if (st != KK_OK)
		acme_post_clear(p);
	return st;
}

void
acme_post_clear(struct acme_post *p)
{
	if (p == NULL)
		return;
	jws_clear(&p->jws);
	account_free(p->account);
	EVP_PKEY_free(p->account_key);
	cJSON_Delete(p->payload);
	memset(p, 0, sizeof(*p));
}

void
acme_store_error(struct http_resp *resp, enum kk_status st, const char *what)
{
	if (st == KK_ENOTFOUND)
		http_resp_error(resp, ACME_MALFORMED, 404, "no such %s", what);
	else if (st == KK_EAGAIN || st == KK_ERACE) {
		/* The database is out of reach, or a transaction kept losing
		 * races with other replicas after the registration authority
		 * ran it again: the same request can be sent again. */
		http_resp_error(resp, ACME_SERVER_INTERNAL, 503,
		    "storage temporarily unavailable for the %s; try again",
		    what);
		resp->retry_after = STORE_RETRY_AFTER;
	} else
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0,
		    "storage failure reading or writing the %s; try again "
		    "later",
		    what);
}
