/*
 * The operator console's files (console.h). The policy below allows
 * nothing but this origin's own scripts, styles, images and API: no
 * inline script or style, no framing, no form posted elsewhere.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"
#include "console.h"
#include "console_assets.h"

#define CONSOLE_CSP                                                            \
	"default-src 'self'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; "        \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

int
console_name_ok(const char *name)
{
	size_t n = strlen(name), dot = strcspn(name, ".");

	if (n == 0 || n > 64 || dot == 0 || dot == n ||
	    strchr(name + dot + 1, '.') != NULL)
		return 0;
	for (; *name != '\0'; name++)
		if (!islower((unsigned char)*name) &&
		    !isdigit((unsigned char)*name) && *name != '-' &&
		    *name != '.')
			return 0;
	return 1;
}

static const struct console_asset *
asset(const char *name)
{
	for (size_t i = 0; i < console_n_assets; i++)
		if (strcmp(console_assets[i].name, name) == 0)
			return &console_assets[i];
	return NULL;
}

static const char *
content_type(const char *name)
{
	const char *ext = strrchr(name, '.');

	if (strcmp(ext, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(ext, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(ext, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(ext, ".png") == 0)
		return "image/png";
	if (strcmp(ext, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

/* The q of one language range ("ja;q=0.8"): 1 when none is given. */
static double
range_q(const char *p, size_t len)
{
	const char *q = p;
	double v;
	char *end;

	while ((q = memchr(q, ';', len - (size_t)(q - p))) != NULL) {
		q++;
		while (q < p + len && *q == ' ')
			q++;
		if (q + 2 <= p + len && strncasecmp(q, "q=", 2) == 0) {
			v = strtod(q + 2, &end);
			return end > q + 2 && v >= 0 && v <= 1 ? v : 0;
		}
	}
	return 1;
}

const char *
console_language(const char *al)
{
	double ja = 0, en = 0, q;
	size_t len, tag;

	for (; al != NULL && *al != '\0'; al += len + (al[len] == ',')) {
		while (*al == ' ')
			al++;
		len = strcspn(al, ",");
		tag = strcspn(al, ";, ");
		q = range_q(al, len);
		if ((tag == 2 || (tag > 2 && al[2] == '-')) &&
		    strncasecmp(al, "ja", 2) == 0 && q > ja)
			ja = q;
		else if ((tag == 2 || (tag > 2 && al[2] == '-')) &&
		         strncasecmp(al, "en", 2) == 0 && q > en)
			en = q;
		if (al[len] == '\0')
			break;
	}
	return ja > en ? "ja" : "en";
}

static void
serve(struct http_resp *resp, const struct console_asset *a)
{
	if (http_resp_bytes(
	        resp, 200, content_type(a->name), a->data, a->len) != KK_OK) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return;
	}
	resp->csp = CONSOLE_CSP;
}

void
console_redirect(
    struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	char *url = srv_url(s, "/console/");

	(void)c;
	if (url == NULL || http_resp_location(resp, url) != KK_OK) {
		free(url);
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
		return;
	}
	free(url);
	resp->status = 301;
}

void
console_index(struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	static const char mark[] = "<html lang=\"en\"";
	const struct console_asset *a = asset("index.html");
	const char *lang = console_language(c->req->accept_language);
	char *at;

	(void)s;
	if (a == NULL) {
		http_resp_error(resp, ACME_MALFORMED, 404, "no console");
		return;
	}
	serve(resp, a);
	resp->vary = "Accept-Language";
	/* The copy is ours: the language goes into its <html lang>. */
	if (resp->body != NULL && (at = memmem(resp->body, resp->body_len, mark,
	                               sizeof(mark) - 1)) != NULL)
		memcpy(at + sizeof(mark) - 4, lang, 2);
}

void
console_file(struct srv *s, const struct srv_call *c, struct http_resp *resp)
{
	const struct console_asset *a = asset(c->id);

	(void)s;
	if (a == NULL || strcmp(c->id, "index.html") == 0) {
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "the console has no file %s", c->id);
		return;
	}
	serve(resp, a);
}
