#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme.h"
#include "b64url.h"
#include "eab.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"

#define ACME_JOSE "application/jose+json"

struct acme {
	struct http *http;
	cJSON *directory;
	char *nonce;
	EVP_PKEY *key; /* borrowed */
	char *kid;
};

enum kk_status
acme_directory_url(const char *server, char **out)
{
	size_t n = strlen(server);
	const char *suffix = "/directory";

	*out = NULL;
	while (n > 0 && server[n - 1] == '/')
		n--;
	if (n >= strlen(suffix) &&
	    strncmp(server + n - strlen(suffix), suffix, strlen(suffix)) == 0) {
		*out = strndup(server, n);
	} else if (asprintf(out, "%.*s/acme/directory", (int)n, server) == -1)
		*out = NULL;
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

enum kk_status
acme_origin(const char *url, char **out)
{
	const char *p = strstr(url, "://");
	size_t n;

	*out = NULL;
	if (p == NULL)
		return KK_EINVAL;
	n = strcspn(p + 3, "/?#");
	*out = strndup(url, (size_t)(p + 3 - url) + n);
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

enum kk_status
acme_problem_err(const char *what, long status, const char *body, size_t len,
    struct kc_err *err)
{
	const char *type = NULL, *detail = NULL;
	cJSON *p = NULL;
	int code = 1, first = err != NULL && err->code == 0;

	if (json_parse(body, len, &p) == KK_OK) {
		type = json_get_string(p, "type");
		detail = json_get_string(p, "detail");
	}
	if (status == 502 || status == 503 || status == 504)
		code = EX_UNAVAILABLE;
	if (type != NULL && strcmp(type, "urn:ietf:params:acme:error:"
	                                 "rateLimited") == 0)
		code = EX_TEMPFAIL;
	if (type != NULL)
		err_set(err, KK_EINVAL, code, "%s: server says %s: %s", what,
		    type, detail != NULL ? detail : "(no detail)");
	else
		err_set(err, KK_EINVAL, code, "%s: HTTP %ld from the server",
		    what, status);
	if (first) {
		err->status = status;
		err_problem(err, type, detail);
	}
	cJSON_Delete(p);
	return KK_EINVAL;
}

static int
is_bad_nonce(const struct http_response *res)
{
	const char *type;
	cJSON *p = NULL;
	int bad = 0;

	if (res->status == 400 &&
	    json_parse(res->body, res->len, &p) == KK_OK) {
		type = json_get_string(p, "type");
		bad = type != NULL &&
		      strcmp(type, "urn:ietf:params:acme:error:badNonce") == 0;
	}
	cJSON_Delete(p);
	return bad;
}

/*
 * RFC 9110 10.2.3: a 429 or 503 answer with Retry-After asks the client to
 * come back then. 1 after sleeping when that is soon enough to try again
 * now; 0 when res is no such answer (or its wait is over budget: tries
 * counts them); -1 with err set (EX_TEMPFAIL) when the server asks for
 * more than ACME_WAIT_MAX seconds, which cron's next run should honour.
 */
static int
come_back(const char *url, const struct http_response *res, int *tries,
    struct kc_err *err)
{
	if ((res->status != 429 && res->status != 503) || res->retry_after < 0)
		return 0;
	if (res->retry_after > ACME_WAIT_MAX) {
		err_set(err, KK_ELIMIT, EX_TEMPFAIL,
		    "%s: the server says come back in %ld s (HTTP %ld); "
		    "retry later",
		    url, res->retry_after, res->status);
		err_retry_after(err, res->retry_after);
		return -1;
	}
	if (++*tries > ACME_WAIT_TRIES)
		return 0;
	sleep(res->retry_after > 0 ? (unsigned)res->retry_after : 1);
	return 1;
}

/* An unsigned GET or HEAD, coming back when asked to (come_back). */
static enum kk_status
request(struct acme *a, const char *method, const char *url,
    struct http_response *res, struct kc_err *err)
{
	enum kk_status st;
	int tries = 0, again;

	for (;;) {
		st = http_request(
		    a->http, method, url, NULL, NULL, NULL, 0, res, err);
		if (st != KK_OK)
			return st;
		if ((again = come_back(url, res, &tries, err)) == 0)
			return KK_OK;
		http_response_clear(res);
		if (again < 0)
			return KK_ELIMIT;
	}
}

/*
 * Fetches url as a directory. KK_OK with a->directory set; KK_EINVAL with
 * *why saying what came back instead; any other status is the transport's
 * (or come_back's) failure, already in err.
 */
static enum kk_status
try_directory(struct acme *a, const char *url, char *why, size_t len,
    int *unavailable, struct kc_err *err)
{
	struct http_response res;
	enum kk_status st;
	cJSON *d = NULL;

	if ((st = request(a, "GET", url, &res, err)) != KK_OK)
		return st;
	if (res.status >= 502 && res.status <= 504)
		*unavailable = 1;
	if (res.status != 200) {
		snprintf(why, len, "HTTP %ld", res.status);
		st = KK_EINVAL;
	} else if (json_parse(res.body, res.len, &d) != KK_OK ||
	           json_get_string(d, "newNonce") == NULL ||
	           json_get_string(d, "newAccount") == NULL ||
	           json_get_string(d, "newOrder") == NULL) {
		snprintf(why, len, "not an ACME directory");
		st = KK_EINVAL;
	} else {
		a->directory = d;
		d = NULL;
	}
	cJSON_Delete(d);
	http_response_clear(&res);
	return st;
}

enum kk_status
acme_open(struct http *http, const char *server, struct acme **out,
    struct kc_err *err)
{
	char why1[64] = "", why2[64] = "";
	enum kk_status st;
	struct acme *a;
	char *base = NULL;
	int unavailable = 0;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return KK_ENOMEM;
	a->http = http;
	/* As given first: other servers publish their directory anywhere. */
	st = try_directory(a, server, why1, sizeof(why1), &unavailable, err);
	if (st != KK_EINVAL)
		goto out;
	if ((st = acme_directory_url(server, &base)) != KK_OK)
		goto out;
	if (strcmp(base, server) != 0) {
		st = try_directory(
		    a, base, why2, sizeof(why2), &unavailable, err);
		if (st != KK_EINVAL)
			goto out;
		st = err_set(err, KK_EINVAL,
		    unavailable ? EX_UNAVAILABLE : EX_CONFIG,
		    "no ACME directory at %s (%s) nor at %s (%s): check "
		    "--server",
		    server, why1, base, why2);
	} else {
		st = err_set(err, KK_EINVAL,
		    unavailable ? EX_UNAVAILABLE : EX_CONFIG,
		    "no ACME directory at %s (%s): check --server", server,
		    why1);
	}
out:
	free(base);
	if (st != KK_OK)
		acme_free(a);
	else
		*out = a;
	return st;
}

void
acme_free(struct acme *a)
{
	if (a == NULL)
		return;
	cJSON_Delete(a->directory);
	free(a->nonce);
	free(a->kid);
	free(a);
}

const char *
acme_resource(const struct acme *a, const char *name)
{
	return json_get_string(a->directory, name);
}

int
acme_eab_required(const struct acme *a)
{
	const cJSON *meta =
	    cJSON_GetObjectItemCaseSensitive(a->directory, "meta");

	return cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(meta, "externalAccountRequired"));
}

enum kk_status
acme_set_account(struct acme *a, EVP_PKEY *key, const char *kid)
{
	char *k = NULL;

	if (kid != NULL && (k = strdup(kid)) == NULL)
		return KK_ENOMEM;
	free(a->kid);
	a->kid = k;
	a->key = key;
	return KK_OK;
}

const char *
acme_account_url(const struct acme *a)
{
	return a->kid;
}

static void
take_nonce(struct acme *a, struct http_response *res)
{
	if (res->replay_nonce == NULL)
		return;
	free(a->nonce);
	a->nonce = res->replay_nonce;
	res->replay_nonce = NULL;
}

static enum kk_status
fresh_nonce(struct acme *a, struct kc_err *err)
{
	struct http_response res;
	enum kk_status st;

	if (a->nonce != NULL)
		return KK_OK;
	st = request(a, "HEAD", acme_resource(a, "newNonce"), &res, err);
	if (st != KK_OK)
		return st;
	take_nonce(a, &res);
	/* Still unavailable after coming back as asked: 69, not 1. */
	if (a->nonce == NULL && res.status >= 400)
		st = acme_problem_err(acme_resource(a, "newNonce"), res.status,
		    res.body, res.len, err);
	else if (a->nonce == NULL)
		st = err_set(err, KK_EINVAL, 1,
		    "the server gave no Replay-Nonce at %s",
		    acme_resource(a, "newNonce"));
	http_response_clear(&res);
	return st;
}

/*
 * Signs and posts with a fresh nonce; kid NULL puts the jwk in. RFC 8555
 * 6.5: a badNonce answer carries a nonce to retry with. Under load a
 * server may reject nonces at random, so one retry is not enough; a bound
 * keeps a server that rejects every nonce from looping us forever.
 */
static enum kk_status
post_signed(struct acme *a, const char *url, const char *kid,
    const char *payload, struct http_response *res, struct kc_err *err)
{
	enum kk_status st;
	char *jws = NULL;
	int attempt, waits = 0, again;

	memset(res, 0, sizeof(*res));
	for (attempt = 1;; attempt++) {
		if ((st = fresh_nonce(a, err)) != KK_OK)
			return st;
		st = jws_sign(a->key, kid, a->nonce, url,
		    (const unsigned char *)payload,
		    payload != NULL ? strlen(payload) : 0, &jws);
		free(a->nonce); /* single use, whatever happens next */
		a->nonce = NULL;
		if (st != KK_OK)
			return err_set(err, st, 1, "cannot sign a request: %s",
			    kk_strerror(st));
		st = http_request(a->http, "POST", url, NULL, ACME_JOSE, jws,
		    strlen(jws), res, err);
		free(jws);
		jws = NULL;
		if (st != KK_OK)
			return st;
		take_nonce(a, res);
		if (res->status >= 200 && res->status < 300)
			return KK_OK;
		if (attempt < ACME_NONCE_TRIES && is_bad_nonce(res) &&
		    a->nonce != NULL) {
			http_response_clear(res);
			continue;
		}
		if ((again = come_back(url, res, &waits, err)) == 0)
			break;
		http_response_clear(res);
		if (again < 0)
			return KK_ELIMIT;
	}
	st = acme_problem_err(url, res->status, res->body, res->len, err);
	http_response_clear(res);
	return st;
}

enum kk_status
acme_post(struct acme *a, const char *url, const cJSON *payload,
    struct http_response *res, struct kc_err *err)
{
	enum kk_status st;
	char *text = NULL;

	if (a->kid == NULL)
		return err_set(err, KK_ECONFLICT, 1, "no ACME account yet");
	if (payload != NULL && (text = cJSON_PrintUnformatted(payload)) == NULL)
		return KK_ENOMEM;
	st = post_signed(a, url, a->kid, text, res, err);
	free(text);
	return st;
}

static enum kk_status
parse_answer(struct http_response *res, const char *url, cJSON **obj,
    char **location, long *retry_after, struct kc_err *err)
{
	if (json_parse(res->body, res->len, obj) != KK_OK ||
	    !cJSON_IsObject(*obj)) {
		cJSON_Delete(*obj);
		*obj = NULL;
		return err_set(err, KK_EINVAL, 1,
		    "%s: the server's answer is not a JSON object", url);
	}
	if (location != NULL) {
		*location = res->location;
		res->location = NULL;
	}
	if (retry_after != NULL)
		*retry_after = res->retry_after;
	return KK_OK;
}

enum kk_status
acme_post_json(struct acme *a, const char *url, const cJSON *payload,
    cJSON **obj, char **location, long *retry_after, struct kc_err *err)
{
	struct http_response res;
	enum kk_status st;

	*obj = NULL;
	if (location != NULL)
		*location = NULL;
	if ((st = acme_post(a, url, payload, &res, err)) != KK_OK)
		return st;
	st = parse_answer(&res, url, obj, location, retry_after, err);
	http_response_clear(&res);
	return st;
}

enum kk_status
acme_account(struct acme *a, const char *const *contacts, const char *eab_kid,
    const char *eab_hmac, int only_existing, struct kc_err *err)
{
	const char *url = acme_resource(a, "newAccount");
	struct http_response res = {0};
	unsigned char *mac = NULL;
	cJSON *req, *arr, *eab = NULL, *obj = NULL;
	enum kk_status st = KK_ENOMEM;
	char *text = NULL, *location = NULL;
	size_t maclen = 0;

	req = cJSON_CreateObject();
	if (req == NULL)
		return KK_ENOMEM;
	if (only_existing) {
		if (cJSON_AddTrueToObject(req, "onlyReturnExisting") == NULL)
			goto out;
	} else {
		if (cJSON_AddTrueToObject(req, "termsOfServiceAgreed") == NULL)
			goto out;
		if (contacts != NULL && contacts[0] != NULL) {
			arr = cJSON_AddArrayToObject(req, "contact");
			for (; arr != NULL && *contacts != NULL; contacts++)
				if (!cJSON_AddItemToArray(
				        arr, cJSON_CreateString(*contacts)))
					goto out;
			if (arr == NULL)
				goto out;
		}
		if (eab_kid != NULL) {
			st = b64url_decode(
			    eab_hmac, strlen(eab_hmac), &mac, &maclen);
			if (st != KK_OK || maclen < EAB_MIN_KEY_LEN) {
				st = err_set(err, KK_EINVAL, EX_USAGE,
				    "--eab-hmac-key must be the base64url key "
				    "the operator gave (at least %d bytes)",
				    EAB_MIN_KEY_LEN);
				goto out;
			}
			st = eab_build(eab_kid, mac, maclen, a->key, url, &eab);
			if (st != KK_OK) {
				err_set(err, st, 1,
				    "cannot build the external account "
				    "binding: %s",
				    kk_strerror(st));
				goto out;
			}
			cJSON_AddItemToObject(
			    req, "externalAccountBinding", eab);
		} else if (acme_eab_required(a)) {
			st = err_set(err, KK_EINVAL, EX_USAGE,
			    "this server requires an enrollment key: give "
			    "--eab-kid and --eab-hmac-key from your operator");
			goto out;
		}
	}
	st = KK_ENOMEM;
	if ((text = cJSON_PrintUnformatted(req)) == NULL)
		goto out;
	if ((st = post_signed(a, url, NULL, text, &res, err)) != KK_OK)
		goto out;
	if ((st = parse_answer(&res, url, &obj, &location, NULL, err)) != KK_OK)
		goto out;
	if (location == NULL) {
		st = err_set(err, KK_EINVAL, 1,
		    "the server gave no account URL (Location)");
		goto out;
	}
	free(a->kid);
	a->kid = location;
	location = NULL;
out:
	if (mac != NULL)
		OPENSSL_cleanse(mac, maclen);
	free(mac);
	free(text);
	free(location);
	cJSON_Delete(obj);
	cJSON_Delete(req);
	http_response_clear(&res);
	return st;
}

enum kk_status
acme_key_change(struct acme *a, EVP_PKEY *new_key, struct kc_err *err)
{
	const char *url = acme_resource(a, "keyChange");
	struct http_response res = {0};
	enum kk_status st = KK_ENOMEM;
	cJSON *inner = NULL, *old_jwk = NULL;
	char *inner_text = NULL, *jws = NULL;

	if (url == NULL)
		return err_set(err, KK_ENOTFOUND, 1,
		    "the server does not offer keyChange");
	if (a->kid == NULL)
		return err_set(err, KK_ECONFLICT, 1, "no ACME account yet");
	if ((st = jwk_from_pkey(a->key, &old_jwk)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	inner = cJSON_CreateObject();
	if (inner == NULL ||
	    cJSON_AddStringToObject(inner, "account", a->kid) == NULL)
		goto out;
	cJSON_AddItemToObject(inner, "oldKey", old_jwk);
	old_jwk = NULL;
	if ((inner_text = cJSON_PrintUnformatted(inner)) == NULL)
		goto out;
	/* The inner JWS: signed by the new key, its jwk inside, no nonce. */
	st = jws_sign(new_key, NULL, NULL, url,
	    (const unsigned char *)inner_text, strlen(inner_text), &jws);
	if (st != KK_OK) {
		err_set(err, st, 1, "cannot sign with the new key: %s",
		    kk_strerror(st));
		goto out;
	}
	if ((st = post_signed(a, url, a->kid, jws, &res, err)) != KK_OK)
		goto out;
	a->key = new_key;
out:
	http_response_clear(&res);
	cJSON_Delete(inner);
	cJSON_Delete(old_jwk);
	free(inner_text);
	free(jws);
	return st;
}

enum kk_status
acme_new_order(struct acme *a, const struct acme_id *ids, size_t n,
    cJSON **order, char **url, struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	cJSON *req, *arr, *id;
	size_t i;

	*order = NULL;
	*url = NULL;
	req = cJSON_CreateObject();
	if (req == NULL ||
	    (arr = cJSON_AddArrayToObject(req, "identifiers")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((id = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, id);
		if (cJSON_AddStringToObject(id, "type", ids[i].type) == NULL ||
		    cJSON_AddStringToObject(id, "value", ids[i].value) == NULL)
			goto out;
	}
	st = acme_post_json(
	    a, acme_resource(a, "newOrder"), req, order, url, NULL, err);
	if (st == KK_OK && *url == NULL) {
		cJSON_Delete(*order);
		*order = NULL;
		st = err_set(err, KK_EINVAL, 1,
		    "the server gave no order URL (Location)");
	}
out:
	cJSON_Delete(req);
	return st;
}

enum kk_status
acme_finalize(struct acme *a, const char *url, const unsigned char *csr,
    size_t len, cJSON **order, long *retry_after, struct kc_err *err)
{
	enum kk_status st;
	cJSON *req = NULL;
	char *b64 = NULL;

	*order = NULL;
	if ((st = b64url_encode(csr, len, &b64)) != KK_OK)
		return st;
	req = cJSON_CreateObject();
	if (req == NULL || cJSON_AddStringToObject(req, "csr", b64) == NULL)
		st = KK_ENOMEM;
	else
		st = acme_post_json(a, url, req, order, NULL, retry_after, err);
	cJSON_Delete(req);
	free(b64);
	return st;
}

enum kk_status
acme_download(struct acme *a, const char *url, char **pem, size_t *len,
    struct kc_err *err)
{
	struct http_response res;
	enum kk_status st;

	*pem = NULL;
	*len = 0;
	if ((st = acme_post(a, url, NULL, &res, err)) != KK_OK)
		return st;
	*pem = res.body;
	*len = res.len;
	res.body = NULL;
	http_response_clear(&res);
	return KK_OK;
}

enum kk_status
acme_revoke(struct acme *a, const unsigned char *der, size_t len, int reason,
    struct kc_err *err)
{
	const char *url = acme_resource(a, "revokeCert");
	struct http_response res;
	enum kk_status st;
	cJSON *req = NULL;
	char *b64 = NULL;

	if (url == NULL)
		return err_set(err, KK_ENOTFOUND, 1,
		    "the server does not offer revokeCert");
	if ((st = b64url_encode(der, len, &b64)) != KK_OK)
		return st;
	req = cJSON_CreateObject();
	if (req == NULL ||
	    cJSON_AddStringToObject(req, "certificate", b64) == NULL ||
	    cJSON_AddNumberToObject(req, "reason", reason) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = acme_post(a, url, req, &res, err)) == KK_OK)
		http_response_clear(&res);
out:
	cJSON_Delete(req);
	free(b64);
	return st;
}
