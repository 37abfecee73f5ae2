#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ari.h"
#include "b64url.h"
#include "certinfo.h"
#include "json.h"
#include "rfc3339.h"

#define SERIAL_MAX 21 /* 20 octets (RFC 5280) and a leading zero */

void
ari_clear(struct ari *a)
{
	free(a->cert_id);
	memset(a, 0, sizeof(*a));
}

enum kk_status
ari_cert_id_of(const struct certinfo_brief *cb, char **out)
{
	char *a = NULL, *b = NULL;
	enum kk_status st;

	*out = NULL;
	if (cb->serial == NULL || cb->keyid == NULL ||
	    cb->n_serial > SERIAL_MAX)
		return KK_ENOTFOUND;
	if ((st = b64url_encode(cb->keyid, cb->n_keyid, &a)) != KK_OK ||
	    (st = b64url_encode(cb->serial, cb->n_serial, &b)) != KK_OK)
		goto out;
	st = asprintf(out, "%s.%s", a, b) < 0 ? KK_ENOMEM : KK_OK;
	if (st != KK_OK)
		*out = NULL;
out:
	free(a);
	free(b);
	return st;
}

enum kk_status
ari_cert_id(const char *path, char **out, struct kc_err *err)
{
	struct certinfo_brief cb;
	enum kk_status st;

	*out = NULL;
	/* Not certinfo_read: decoding a certificate whole costs twenty
	 * times the walk. */
	if ((st = certinfo_read_brief(path, &cb, err)) == KK_OK)
		st = ari_cert_id_of(&cb, out);
	certinfo_brief_clear(&cb);
	return st;
}

static enum kk_status
ari_path(const struct state *s, const char *name, char **path)
{
	return state_cert_path(s, name, "ari.json", path);
}

/* A number member as a time, 0 when absent. */
static time_t
num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? (time_t)v->valuedouble : 0;
}

enum kk_status
ari_load(const struct state *s, const char *name, struct ari *out,
    struct kc_err *err)
{
	enum kk_status st;
	const char *id;
	cJSON *o = NULL;
	char *path;

	memset(out, 0, sizeof(*out));
	if ((st = ari_path(s, name, &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &o, err)) != KK_OK)
		goto out;
	if ((id = json_get_string(o, "cert_id")) == NULL) {
		st = err_set(err, KK_EINVAL, EX_CONFIG,
		    "%s: no cert_id; remove the file to start afresh", path);
		goto out;
	}
	if ((out->cert_id = strdup(id)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	out->offered = cJSON_IsTrue(cJSON_GetObjectItem(o, "offered"));
	out->start = num(o, "start");
	out->end = num(o, "end");
	out->pick = num(o, "pick");
	out->next = num(o, "next");
out:
	cJSON_Delete(o);
	free(path);
	return st;
}

static enum kk_status
ari_save(const struct state *s, const char *name, const struct ari *a,
    struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	char *path = NULL;
	cJSON *o = cJSON_CreateObject();

	if (o == NULL ||
	    cJSON_AddStringToObject(o, "cert_id", a->cert_id) == NULL ||
	    cJSON_AddBoolToObject(o, "offered", a->offered) == NULL ||
	    cJSON_AddNumberToObject(o, "start", (double)a->start) == NULL ||
	    cJSON_AddNumberToObject(o, "end", (double)a->end) == NULL ||
	    cJSON_AddNumberToObject(o, "pick", (double)a->pick) == NULL ||
	    cJSON_AddNumberToObject(o, "next", (double)a->next) == NULL)
		goto out;
	if ((st = ari_path(s, name, &path)) == KK_OK)
		st = state_write_json(path, o, err);
out:
	free(path);
	cJSON_Delete(o);
	return st;
}

int
ari_stale(const struct ari *a, const char *cert_id, time_t now)
{
	return a->cert_id == NULL || strcmp(a->cert_id, cert_id) != 0 ||
	       now >= a->next;
}

/* A moment uniformly at random in [start, end] (RFC 9773 4.2). */
static time_t
pick_in(time_t start, time_t end)
{
	unsigned long long r = 0;
	unsigned long long span;

	if (end <= start)
		return start;
	span = (unsigned long long)(end - start) + 1;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return start;
	return start + (time_t)(r % span);
}

/* The suggestedWindow of a renewalInfo answer; 0 or -1. */
static int
parse_window(const cJSON *body, time_t *start, time_t *end)
{
	const cJSON *w =
	    cJSON_GetObjectItemCaseSensitive(body, "suggestedWindow");
	const char *a = json_get_string(w, "start"),
	           *b = json_get_string(w, "end");

	if (a == NULL || b == NULL || rfc3339_parse(a, start) != KK_OK ||
	    rfc3339_parse(b, end) != KK_OK || *end < *start)
		return -1;
	return 0;
}

/* Stores that the server gives no window for cert_id. */
static enum kk_status
not_offered(struct session *s, const char *name, const char *cert_id,
    time_t now, struct ari *a, struct kc_err *err)
{
	char *id = strdup(cert_id);

	if (id == NULL)
		return KK_ENOMEM;
	free(a->cert_id);
	a->cert_id = id;
	a->offered = 0;
	a->start = a->end = a->pick = 0;
	a->next = now + ARI_NONE_RECHECK;
	return ari_save(s->state, name, a, err);
}

enum kk_status
ari_fetch(struct session *s, const char *name, const char *cert_id, time_t now,
    struct ari *a, struct kc_err *err)
{
	struct http_response res = {0};
	const char *base;
	time_t start = 0, end = 0;
	long retry;
	enum kk_status st;
	cJSON *body = NULL;
	char *url = NULL, *id = NULL;

	if (s->acme == NULL && (st = session_connect(s, err)) != KK_OK)
		return st;
	if ((base = acme_resource(s->acme, "renewalInfo")) == NULL)
		return not_offered(s, name, cert_id, now, a, err);
	st = KK_ENOMEM;
	if (asprintf(&url, "%s%s%s", base,
	        base[strlen(base) - 1] == '/' ? "" : "/", cert_id) < 0) {
		url = NULL;
		goto out;
	}
	if ((st = http_request(
	         s->http, "GET", url, NULL, NULL, NULL, 0, &res, err)) != KK_OK)
		goto out;
	if (res.status == 404) {
		/* Not a certificate this CA knows (another CA's, or a
		 * restored server): the lifetime rule, asked again later. */
		st = not_offered(s, name, cert_id, now, a, err);
		goto out;
	}
	if (res.status != 200) {
		st = acme_problem_err(
		    "renewal information", res.status, res.body, res.len, err);
		goto out;
	}
	if (json_parse(res.body, res.len, &body) != KK_OK ||
	    parse_window(body, &start, &end) != 0) {
		st = err_set(err, KK_EINVAL, 1,
		    "%s: the server's renewal information has no valid "
		    "suggestedWindow",
		    name);
		goto out;
	}
	retry = res.retry_after;
	if (retry <= 0)
		retry = ARI_RETRY_DEFAULT;
	if (retry > ARI_RETRY_MAX)
		retry = ARI_RETRY_MAX;
	if ((id = strdup(cert_id)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	/* The same window keeps its moment: runs must agree on it. */
	if (!(a->offered && a->cert_id != NULL &&
	        strcmp(a->cert_id, cert_id) == 0 && a->start == start &&
	        a->end == end))
		a->pick = pick_in(start, end);
	free(a->cert_id);
	a->cert_id = id;
	id = NULL;
	a->offered = 1;
	a->start = start;
	a->end = end;
	a->next = now + retry;
	st = ari_save(s->state, name, a, err);
out:
	cJSON_Delete(body);
	http_response_clear(&res);
	free(url);
	free(id);
	return st;
}

const struct renew_window *
ari_window(const struct ari *a, const char *cert_id, struct renew_window *w)
{
	if (!a->offered || a->cert_id == NULL || cert_id == NULL ||
	    strcmp(a->cert_id, cert_id) != 0)
		return NULL;
	w->start = a->pick;
	w->end = a->end;
	return w;
}
