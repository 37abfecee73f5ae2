#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme_status.h"
#include "json.h"
#include "jwk.h"
#include "kk_deadline.h"
#include "prove.h"
#include "solve.h"

struct pending_ch {
	const char *url;    /* the challenge */
	const char *status; /* the challenge's, as fetched */
	char *keyauth;
	int done;
};

/* The challenge of type in an authorization, borrowed; NULL if none. */
static const cJSON *
challenge(const cJSON *authz, const char *type)
{
	const cJSON *ch;
	const char *t;

	cJSON_ArrayForEach(
	    ch, cJSON_GetObjectItemCaseSensitive(authz, "challenges"))
	{
		t = json_get_string(ch, "type");
		if (t != NULL && strcmp(t, type) == 0)
			return ch;
	}
	return NULL;
}

/* The identifier's value of an authorization, or "?" */
static const char *
ident(const cJSON *authz)
{
	const char *v = json_get_string(
	    cJSON_GetObjectItemCaseSensitive(authz, "identifier"), "value");

	return v != NULL ? v : "?";
}

/* Fills items and chs from the authorizations (keyauth: token.thumb). */
static enum kk_status
collect(const struct solve_cfg *c, const struct prove_authz *az, size_t n,
    const char *thumb, struct solve_item *items, struct pending_ch *chs,
    struct kc_err *err)
{
	const char *type = solve_type_name(c->type);
	const cJSON *ch;
	size_t i;

	for (i = 0; i < n; i++) {
		ch = challenge(az[i].authz, type);
		items[i].name = ident(az[i].authz);
		items[i].token = json_get_string(ch, "token");
		chs[i].url = json_get_string(ch, "url");
		chs[i].status = json_get_string(ch, "status");
		if (ch == NULL || items[i].token == NULL || chs[i].url == NULL)
			return err_set(err, KK_EINVAL, 1,
			    "the server offers no usable %s challenge for %s "
			    "(see --challenge)",
			    type, items[i].name);
		if (asprintf(&chs[i].keyauth, "%s.%s", items[i].token, thumb) ==
		    -1) {
			chs[i].keyauth = NULL;
			return KK_ENOMEM;
		}
		items[i].keyauth = chs[i].keyauth;
	}
	return KK_OK;
}

/* The CA's reason for an invalid authorization. */
static void
reason(const cJSON *authz, const char *type, char *buf, size_t len)
{
	const cJSON *e =
	    cJSON_GetObjectItemCaseSensitive(challenge(authz, type), "error");
	const char *t = json_get_string(e, "type");
	const char *d = json_get_string(e, "detail");

	snprintf(buf, len, "%s: %s", t != NULL ? t : "no error given",
	    d != NULL ? d : "(no detail)");
}

/* Polls every authorization once; *left counts those still pending. */
static enum kk_status
poll_once(struct acme *a, const struct solve_cfg *c,
    const struct prove_authz *az, struct pending_ch *chs, size_t n,
    size_t *left, long *retry_after, FILE *log, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	const char *status;
	cJSON *authz = NULL;
	char why[512];
	long ra;
	size_t i;

	*left = 0;
	*retry_after = -1;
	for (i = 0; i < n && st == KK_OK; i++) {
		if (chs[i].done)
			continue;
		st = acme_post_json(a, az[i].url, NULL, &authz, NULL, &ra, err);
		if (st != KK_OK)
			break;
		if (ra > *retry_after)
			*retry_after = ra;
		status = json_get_string(authz, "status");
		if (acme_status_parse(status) == ACME_STATUS_VALID) {
			chs[i].done = 1;
			if (log != NULL)
				fprintf(log, "%s: validated by %s\n",
				    ident(authz), solve_type_name(c->type));
		} else if (acme_status_parse(status) != ACME_STATUS_PENDING) {
			reason(
			    authz, solve_type_name(c->type), why, sizeof(why));
			st = err_set(err, KK_EINVAL, 1,
			    "%s: %s validation failed (authorization %s): %s",
			    ident(authz), solve_type_name(c->type),
			    status ? status : "without status", why);
		} else {
			(*left)++;
		}
		cJSON_Delete(authz);
		authz = NULL;
	}
	return st;
}

/* Waits for the verdicts within PROVE_TIMEOUT. */
static enum kk_status
wait_valid(struct acme *a, const struct solve_cfg *c,
    const struct prove_authz *az, struct pending_ch *chs, size_t n, FILE *log,
    struct kc_err *err)
{
	struct timespec end;
	enum kk_status st;
	size_t left;
	long ra, s;

	kk_deadline_in(&end, PROVE_TIMEOUT);
	for (;;) {
		st = poll_once(a, c, az, chs, n, &left, &ra, log, err);
		if (st != KK_OK || left == 0)
			return st;
		s = ra >= 1 ? ra : 1;
		/* The next poll, s seconds from now, within the time left. */
		if (!kk_deadline_allows(&end, s))
			return err_set(err, KK_ECONFLICT, EX_TEMPFAIL,
			    "the CA has not validated %zu identifier(s) "
			    "within %d s%s; retry later",
			    left, PROVE_TIMEOUT,
			    ra > PROVE_TIMEOUT ? " (it asks to come back later)"
			                       : "");
		sleep((unsigned)(s < PROVE_POLL_MAX ? s : PROVE_POLL_MAX));
	}
}

enum kk_status
prove_dns(struct acme *a, EVP_PKEY *key, const struct solve_cfg *c,
    const struct prove_authz *az, size_t n, FILE *log, struct kc_err *err)
{
	struct solve_item *items = NULL;
	struct pending_ch *chs = NULL;
	struct solver *sv = NULL;
	enum kk_status st, st2;
	cJSON *empty = NULL, *res = NULL;
	char *thumb = NULL;
	size_t i;

	if (n == 0)
		return KK_OK;
	if (c->type == SOLVE_NONE)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "the order has dns identifiers but no challenge type is "
		    "configured: enroll with --challenge");
	items = calloc(n, sizeof(*items));
	chs = calloc(n, sizeof(*chs));
	if (items == NULL || chs == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = jwk_thumbprint(key, &thumb)) != KK_OK) {
		err_set(
		    err, st, 1, "cannot compute the account key thumbprint");
		goto out;
	}
	if ((st = collect(c, az, n, thumb, items, chs, err)) != KK_OK)
		goto out;
	if ((st = solve_start(c, items, n, &sv, err)) != KK_OK)
		goto out;
	for (i = 0; i < n; i++) {
		/* A challenge already processing needs no second request. */
		if (chs[i].status != NULL &&
		    strcmp(chs[i].status, "pending") != 0)
			continue;
		/* RFC 8555 7.5.1: {} says "ready, validate me". */
		if ((empty = cJSON_CreateObject()) == NULL) {
			st = KK_ENOMEM;
			goto out;
		}
		st =
		    acme_post_json(a, chs[i].url, empty, &res, NULL, NULL, err);
		cJSON_Delete(empty);
		cJSON_Delete(res);
		empty = res = NULL;
		if (st != KK_OK)
			goto out;
		if (log != NULL)
			fprintf(log, "%s: answering %s\n", items[i].name,
			    solve_type_name(c->type));
	}
	st = wait_valid(a, c, az, chs, n, log, err);
out:
	/* Always taken down; its own failure matters only after success. */
	st2 = solve_stop(sv, st == KK_OK ? err : NULL);
	if (st == KK_OK)
		st = st2;
	for (i = 0; chs != NULL && i < n; i++)
		free(chs[i].keyauth);
	free(chs);
	free(items);
	free(thumb);
	return st;
}
