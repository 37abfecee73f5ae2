/*
 * The operator API's attachments and whoami (oper_attach.h). Handlers
 * parse and render; ra_attach.c decides and records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "acme.h"
#include "oper_attach.h"
#include "ra_attach.h"
#include "rfc3339.h"

static void
send_json(struct http_resp *resp, int status, cJSON *j)
{
	if (j == NULL ||
	    http_resp_json(resp, status, "application/json", j) != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	cJSON_Delete(j);
}

void
oper_whoami(struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	cJSON *j = cJSON_CreateObject();

	(void)s;
	if (j != NULL &&
	    (cJSON_AddStringToObject(j, "name", c->tok->name) == NULL ||
	        cJSON_AddStringToObject(j, "role", c->tok->role) == NULL)) {
		cJSON_Delete(j);
		j = NULL;
	}
	send_json(resp, 200, j);
}

static cJSON *
attachment_json(struct srv *s, const struct attachment *a)
{
	cJSON *j = cJSON_CreateObject();
	char at[RFC3339_LEN], *url;

	if (j == NULL)
		return NULL;
	rfc3339_format(a->uploaded_at, at);
	url = srv_url(s, "/operator/v1/verifications/%s/attachments/%s",
	    a->verification_id, a->sha256);
	if (url == NULL ||
	    cJSON_AddStringToObject(j, "sha256", a->sha256) == NULL ||
	    cJSON_AddStringToObject(j, "content_type", a->content_type) ==
	        NULL ||
	    cJSON_AddNumberToObject(j, "size", (double)a->size) == NULL ||
	    cJSON_AddStringToObject(j, "uploaded_by", a->uploaded_by) == NULL ||
	    cJSON_AddStringToObject(j, "uploaded_at", at) == NULL ||
	    cJSON_AddStringToObject(j, "url", url) == NULL) {
		cJSON_Delete(j);
		j = NULL;
	}
	free(url);
	return j;
}

void
oper_attachment_add(
    struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	const struct http_req *req = c->req;
	const char *type = ra_attach_type(req->content_type), *why = NULL;
	struct attachment *a = NULL;
	int created = 0;
	enum kk_status st;

	if (type == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 415,
		    "Content-Type: must be application/pdf, image/png or "
		    "image/jpeg, with the document as the raw body");
		return;
	}
	st = ra_attachment_add(&s->ra, c->tok->name, c->id, type,
	    (const unsigned char *)req->body, req->body_len, time(NULL), &a,
	    &created, &why);
	if (st == KK_ECONFLICT)
		http_resp_error(resp, ACME_MALFORMED, 400, "%s", why);
	else if (st != KK_OK)
		acme_store_error(resp, st, "verification");
	else {
		char *url =
		    srv_url(s, "/operator/v1/verifications/%s/attachments/%s",
		        c->id, a->sha256);

		if (url == NULL || http_resp_location(resp, url) != KK_OK) {
			free(url);
			attachment_free(a);
			http_resp_error(
			    resp, ACME_SERVER_INTERNAL, 0, "out of memory");
			return;
		}
		free(url);
		send_json(resp, created ? 201 : 200, attachment_json(s, a));
	}
	attachment_free(a);
}

void
oper_attachments(
    struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	struct verification *v = NULL;
	struct attachment **as = NULL;
	size_t n = 0;
	cJSON *j = NULL, *arr;
	enum kk_status st;

	/* An unknown verification is a 404, not an empty list. */
	if ((st = store_verification_get(s->store, c->id, &v)) != KK_OK ||
	    (st = store_attachment_list(s->store, c->id, &as, &n)) != KK_OK) {
		acme_store_error(resp, st, "verification");
		goto out;
	}
	if ((j = cJSON_CreateObject()) != NULL &&
	    (arr = cJSON_AddArrayToObject(j, "attachments")) != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, attachment_json(s, as[i]));
	send_json(resp, 200, j);
out:
	for (size_t i = 0; i < n; i++)
		attachment_free(as[i]);
	free(as);
	verification_free(v);
}

void
oper_attachment_get(
    struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	struct attachment *a = NULL;
	const char *ext;
	enum kk_status st;

	if ((st = store_attachment_get(s->store, c->id, c->sub, &a)) != KK_OK) {
		acme_store_error(resp, st, "attachment");
		return;
	}
	ext = strcmp(a->content_type, "application/pdf") == 0 ? "pdf"
	      : strcmp(a->content_type, "image/png") == 0     ? "png"
	                                                      : "jpg";
	/* Stored types are static strings in ra_attach.c's table. */
	if (http_resp_bytes(resp, 200, ra_attach_type(a->content_type), a->data,
	        a->size) != KK_OK ||
	    asprintf(&resp->disposition, "attachment; filename=\"%.16s.%s\"",
	        a->sha256, ext) < 0) {
		resp->disposition = NULL;
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	}
	attachment_free(a);
}
