#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_msg.h"

void
http_resp_clear(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->location);
	free(r->disposition);
	for (int i = 0; i < r->n_links; i++)
		free(r->links[i]);
	memset(r, 0, sizeof(*r));
}

enum kk_status
http_resp_bytes(struct http_resp *r, int status, const char *type,
    const void *data, size_t len)
{
	char *copy;

	if ((copy = malloc(len + 1)) == NULL)
		return KK_ENOMEM;
	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = '\0';
	free(r->body);
	r->body = copy;
	r->body_len = len;
	r->status = status;
	r->content_type = type;
	return KK_OK;
}

enum kk_status
http_resp_json(
    struct http_resp *r, int status, const char *type, const cJSON *json)
{
	char *text;
	enum kk_status st;

	if ((text = cJSON_PrintUnformatted(json)) == NULL)
		return KK_ENOMEM;
	st = http_resp_bytes(r, status, type, text, strlen(text));
	cJSON_free(text);
	return st;
}

enum kk_status
http_resp_problem(struct http_resp *r, const cJSON *problem)
{
	/* A problem replaces whatever success the handler had prepared. */
	free(r->location);
	r->location = NULL;
	r->retry_after = 0;
	return http_resp_json(
	    r, problem_status(problem), PROBLEM_CONTENT_TYPE, problem);
}

void
http_resp_error(struct http_resp *r, enum acme_problem type, int status,
    const char *fmt, ...)
{
	char detail[512];
	cJSON *p = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (problem_new(&p, type, status, "%s", detail) != KK_OK ||
	    http_resp_problem(r, p) != KK_OK) {
		/* Out of memory: still answer, without a body. */
		r->status = 500;
		r->content_type = NULL;
	}
	cJSON_Delete(p);
}

enum kk_status
http_resp_location(struct http_resp *r, const char *url)
{
	char *copy;

	if ((copy = strdup(url)) == NULL)
		return KK_ENOMEM;
	free(r->location);
	r->location = copy;
	return KK_OK;
}

enum kk_status
http_resp_link(struct http_resp *r, const char *url, const char *rel)
{
	char *v;

	if (r->n_links == HTTP_MAX_LINKS)
		return KK_ETOOBIG;
	if (asprintf(&v, "<%s>;rel=\"%s\"", url, rel) < 0)
		return KK_ENOMEM;
	r->links[r->n_links++] = v;
	return KK_OK;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
http_query_param(const char *query, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = query, *end;
	char *out, *o;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			p += nlen + 1;
			/* "org=" filters nothing: same as no "org". */
			if (p == end)
				return NULL;
			if ((out = malloc((size_t)(end - p) + 1)) == NULL)
				return NULL;
			for (o = out; p < end; p++) {
				if (*p == '%' && end - p >= 3 &&
				    hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					*o++ = (char)(hexval(p[1]) * 16 +
					              hexval(p[2]));
					p += 2;
				} else {
					*o++ = *p == '+' ? ' ' : *p;
				}
			}
			*o = '\0';
			return out;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return NULL;
}
