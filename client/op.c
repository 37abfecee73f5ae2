#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acme.h"
#include "json.h"
#include "op.h"

enum kk_status
op_init(struct op *o, struct http *http, const char *server, const char *token,
    struct kc_err *err)
{
	char *dir = NULL, *origin = NULL;
	enum kk_status st;

	memset(o, 0, sizeof(*o));
	o->http = http;
	if (token == NULL || *token == '\0')
		return err_set(err, KK_EINVAL, EX_USAGE,
		    "operator commands need --token or KAKUIN_TOKEN");
	if (strpbrk(token, "\r\n") != NULL)
		return err_set(
		    err, KK_EINVAL, EX_USAGE, "the token must be one line");
	if (strncmp(server, "https://", 8) != 0)
		return err_set(err, KK_EINVAL, EX_USAGE,
		    "--server %s: give an https:// URL", server);
	if ((st = acme_directory_url(server, &dir)) != KK_OK ||
	    (st = acme_origin(dir, &origin)) != KK_OK) {
		free(dir);
		return err_set(
		    err, st, EX_USAGE, "bad --server URL %s", server);
	}
	if (asprintf(&o->base, "%s/operator/v1/", origin) == -1 ||
	    asprintf(&o->auth, "Authorization: Bearer %s", token) == -1) {
		o->base = NULL;
		st = KK_ENOMEM;
	}
	free(dir);
	free(origin);
	if (st != KK_OK)
		op_clear(o);
	return st;
}

void
op_clear(struct op *o)
{
	if (o->auth != NULL)
		OPENSSL_cleanse(o->auth, strlen(o->auth));
	free(o->auth);
	free(o->base);
	o->auth = o->base = NULL;
}

enum kk_status
op_escape(const char *s, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, j = 0, n = strlen(s);
	char *e;

	*out = NULL;
	e = malloc(3 * n + 1);
	if (e == NULL)
		return KK_ENOMEM;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			e[j++] = (char)c;
		} else {
			e[j++] = '%';
			e[j++] = hex[c >> 4];
			e[j++] = hex[c & 15];
		}
	}
	e[j] = '\0';
	*out = e;
	return KK_OK;
}

enum kk_status
op_call(struct op *o, const char *method, const char *path, const cJSON *body,
    cJSON **out, struct kc_err *err)
{
	const char *headers[] = {o->auth, "Accept: application/json", NULL};
	struct http_response res;
	enum kk_status st;
	char *url = NULL, *text = NULL;

	*out = NULL;
	if (asprintf(&url, "%s%s", o->base, path) == -1)
		return KK_ENOMEM;
	if (body != NULL && (text = cJSON_PrintUnformatted(body)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	st = http_request(o->http, method, url, headers,
	    text != NULL ? "application/json" : NULL, text,
	    text != NULL ? strlen(text) : 0, &res, err);
	if (st != KK_OK)
		goto out;
	if (res.status < 200 || res.status > 299) {
		st = acme_problem_err(url, res.status, res.body, res.len, err);
	} else if (res.len == 0) {
		*out = cJSON_CreateObject();
		st = *out == NULL ? KK_ENOMEM : KK_OK;
	} else if (json_parse(res.body, res.len, out) != KK_OK) {
		st = err_set(
		    err, KK_EINVAL, 1, "%s: the answer is not JSON", url);
	}
	http_response_clear(&res);
out:
	free(url);
	free(text);
	return st;
}

enum kk_status
op_get_all(struct op *o, const char *path, const char *array, cJSON **out,
    struct kc_err *err)
{
	cJSON *all = NULL, *page = NULL, *items, *dst, *it;
	const char *next;
	char *cur = NULL, *url = NULL;
	enum kk_status st;
	int pages = 1;

	*out = NULL;
	if ((st = op_call(o, "GET", path, NULL, &all, err)) != KK_OK)
		goto out;
	if (!cJSON_IsArray(
	        dst = cJSON_GetObjectItemCaseSensitive(all, array))) {
		st = err_set(err, KK_EINVAL, 1, "%s: the answer has no \"%s\"",
		    path, array);
		goto out;
	}
	/* Each page holds at most a few hundred records, so each answer
	 * stays small; only the printed whole grows with the list. */
	while ((next = json_get_string(all, "next")) != NULL) {
		if (++pages > OP_MAX_PAGES) {
			st = err_set(err, KK_ELIMIT, 1,
			    "%s: more than %d pages; narrow the list (e.g. "
			    "--since)",
			    path, OP_MAX_PAGES);
			goto out;
		}
		if ((st = op_escape(next, &cur)) != KK_OK)
			goto out;
		if (asprintf(&url, "%s%scursor=%s", path,
		        strchr(path, '?') != NULL ? "&" : "?", cur) == -1) {
			url = NULL;
			st = KK_ENOMEM;
			goto out;
		}
		if ((st = op_call(o, "GET", url, NULL, &page, err)) != KK_OK)
			goto out;
		items = cJSON_GetObjectItemCaseSensitive(page, array);
		if (!cJSON_IsArray(items)) {
			st = err_set(err, KK_EINVAL, 1,
			    "%s: the answer has no \"%s\"", url, array);
			goto out;
		}
		while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL)
			cJSON_AddItemToArray(dst, it);
		/* The page's cursor replaces the one just followed. */
		cJSON_DeleteItemFromObjectCaseSensitive(all, "next");
		if ((it = cJSON_DetachItemFromObjectCaseSensitive(
		         page, "next")) != NULL)
			cJSON_AddItemToObject(all, "next", it);
		cJSON_Delete(page);
		page = NULL;
		free(cur);
		free(url);
		cur = url = NULL;
	}
	*out = all;
	all = NULL;
out:
	cJSON_Delete(all);
	cJSON_Delete(page);
	free(cur);
	free(url);
	return st;
}
