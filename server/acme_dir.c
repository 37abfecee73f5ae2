/* The directory and newNonce (RFC 8555 sections 7.1.1 and 7.2). */
#include <stdlib.h>

#include "acme.h"

_Static_assert(sizeof(((struct http_resp *)0)->nonce) == NONCE_LEN + 1,
    "http_resp holds one nonce");

void
acme_directory(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	static const struct {
		const char *name, *path;
	} res[] = {
	    {"newNonce", "/acme/new-nonce"},
	    {"newAccount", "/acme/new-account"},
	    {"newOrder", "/acme/new-order"},
	    {"revokeCert", "/acme/revoke-cert"},
	    {"keyChange", "/acme/key-change"},
	};
	const struct policy *pol = s->policy;
	cJSON *dir = NULL, *meta, *profiles;
	char *url = NULL;

	if ((dir = cJSON_CreateObject()) == NULL)
		goto oom;
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		if ((url = srv_url(s, "%s", res[i].path)) == NULL ||
		    cJSON_AddStringToObject(dir, res[i].name, url) == NULL)
			goto oom;
		free(url);
		url = NULL;
	}
	if ((meta = cJSON_AddObjectToObject(dir, "meta")) == NULL)
		goto oom;
	if (pol->terms_of_service != NULL &&
	    cJSON_AddStringToObject(
	        meta, "termsOfService", pol->terms_of_service) == NULL)
		goto oom;
	if (pol->website != NULL &&
	    cJSON_AddStringToObject(meta, "website", pol->website) == NULL)
		goto oom;
	if (cJSON_AddBoolToObject(
	        meta, "externalAccountRequired", pol->eab_required) == NULL)
		goto oom;
	/* draft-aaron-acme-profiles: name -> description. */
	if ((profiles = cJSON_AddObjectToObject(meta, "profiles")) == NULL)
		goto oom;
	for (size_t i = 0; i < pol->n_profiles; i++) {
		const struct policy_profile *pr = &pol->profiles[i];

		if (cJSON_AddStringToObject(profiles, pr->name,
		        pr->description ? pr->description : pr->name) == NULL)
			goto oom;
	}
	if (http_resp_json(resp, 200, "application/json", dir) != KK_OK)
		goto oom;
	cJSON_Delete(dir);
	return;
oom:
	free(url);
	cJSON_Delete(dir);
	http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
}

void
acme_new_nonce(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	const struct http_req *req = call->req;
	enum kk_status st;

	/*
	 * The nonce is the answer here, so it is issued now: replicas keep
	 * theirs in the store, and while that is out of reach the client
	 * hears 503 and when to try again, not a success without one.
	 */
	if ((st = nonce_issue(s->nonces, resp->nonce)) != KK_OK) {
		resp->nonce[0] = '\0';
		acme_store_error(resp, KK_EAGAIN, "nonce");
		return;
	}
	/* RFC 8555 7.2: 200 for HEAD, 204 for GET, no-store, a nonce. */
	resp->status = req->method[0] == 'H' ? 200 : 204;
}
