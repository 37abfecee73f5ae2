#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "acme_status.h"
#include "csr.h"
#include "fileio.h"
#include "flow.h"
#include "hook.h"
#include "hostkey.h"
#include "install.h"
#include "json.h"
#include "keys.h"
#include "kk_deadline.h"
#include "prove.h"
#include "solve_cfg.h"

static void
say(const struct flow *f, const char *fmt, const char *a, const char *b)
{
	if (f->log == NULL)
		return;
	fprintf(f->log, fmt, a, b);
	fflush(f->log);
}

/* What the certificate is for, in messages: the org, else its name. */
static const char *
label(const struct flow *f)
{
	return f->cfg->org != NULL ? f->cfg->org : f->cfg->name;
}

/*
 * Sleeps before the next poll as the server's Retry-After says (dflt
 * without one), within FLOW_POLL_MIN..FLOW_POLL_MAX and deadline (on the
 * monotonic clock). -1 without sleeping when the server asks to come back
 * after the deadline: the caller leaves now (exit 75) instead of polling
 * against its wish.
 */
static int
pause_for(long retry_after, long dflt, const struct timespec *deadline)
{
	long s = retry_after >= 0 ? retry_after : dflt;
	struct timespec wake;

	if (retry_after > 0 && !kk_deadline_allows(deadline, retry_after))
		return -1;
	if (s < FLOW_POLL_MIN)
		s = FLOW_POLL_MIN;
	if (s > FLOW_POLL_MAX)
		s = FLOW_POLL_MAX;
	kk_deadline_in(&wake, s);
	/*
	 * Awake at the deadline at the latest, on its clock, so that the last
	 * poll comes as late as the caller allowed. The time is absolute: a
	 * signal's interruption is resumed without drifting.
	 */
	if (kk_deadline_after(&wake, deadline))
		wake = *deadline;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) ==
	       EINTR)
		;
	return 0;
}

enum kk_status
flow_p12_pass(const struct cert_config *cfg, char **pass, struct kc_err *err)
{
	enum kk_status st;
	const char *env;
	size_t len;

	*pass = NULL;
	if (!cfg->p12)
		return KK_OK;
	if (cfg->p12_pass_file != NULL) {
		st = file_read(cfg->p12_pass_file, 4096, pass, &len, err);
		if (st == KK_ENOTFOUND)
			return err_set(err, st, EX_CONFIG,
			    "--p12-pass-file %s does not exist",
			    cfg->p12_pass_file);
		if (st != KK_OK)
			return st;
		(*pass)[strcspn(*pass, "\r\n")] = '\0';
	} else if ((env = getenv("KAKUIN_P12_PASS")) != NULL) {
		if ((*pass = strdup(env)) == NULL)
			return KK_ENOMEM;
	}
	if (*pass == NULL || **pass == '\0') {
		free(*pass);
		*pass = NULL;
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "--p12 needs a passphrase: --p12-pass-file FILE or "
		    "KAKUIN_P12_PASS");
	}
	return KK_OK;
}

/*
 * Only once the deploy hook has succeeded, and the services use the new
 * key, do the token's other keys of this certificate go: the one the old
 * certificate used, and any a killed run left behind. Destroying the old
 * key before would break a service still running with it. A failure
 * costs token space, not the renewal: it is reported and the run goes on.
 */
static void
prune_token(const struct cert_config *cfg, FILE *log)
{
	struct kc_err perr = {0};
	char *path = NULL, *uri = NULL;
	int gone = 0;

	if (cfg->key_uri == NULL)
		return;
	if (file_join(cfg->out, "key.uri", &path) != KK_OK ||
	    hostkey_read_uri(path, &uri, &perr) != KK_OK) {
		/* Nothing says which key is live: destroy none. */
		fprintf(stderr, "kakuin: %s: old keys stay in the token: %s\n",
		    cfg->name, perr.msg[0] ? perr.msg : "no key.uri");
		goto out;
	}
	install_crash_point("prune");
	if (hostkey_prune(cfg, uri, &gone, &perr) != KK_OK)
		fprintf(stderr, "kakuin: %s: old keys stay in the token: %s\n",
		    cfg->name, perr.msg);
	else if (gone > 0 && log != NULL)
		fprintf(log, "%s: destroyed the old key%s in the token\n",
		    cfg->name, gone > 1 ? "s" : "");
out:
	free(path);
	free(uri);
}

enum kk_status
flow_run_hook(const struct state *s, const struct cert_config *cfg, FILE *log,
    struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	char *cert = NULL, *key = NULL, *full = NULL;
	struct hook_env env;
	time_t when;

	st = state_marker_time(s, cfg->name, "hook.pending", &when, err);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	if (cfg->deploy_hook == NULL) {
		prune_token(cfg, log);
		return state_marker_clear(s, cfg->name, "hook.pending", err);
	}
	st = KK_ENOMEM;
	if (file_join(cfg->out, "cert.pem", &cert) == KK_OK &&
	    file_join(cfg->out, cfg->key_uri ? "key.uri" : "key.pem", &key) ==
	        KK_OK &&
	    file_join(cfg->out, "fullchain.pem", &full) == KK_OK) {
		env.name = cfg->name;
		env.cert = cert;
		env.key = key;
		env.fullchain = full;
		env.timeout = cfg->hook_timeout;
		st = hook_run(cfg->deploy_hook, &env, err);
	}
	if (st == KK_OK) {
		prune_token(cfg, log);
		st = state_marker_clear(s, cfg->name, "hook.pending", err);
	}
	free(cert);
	free(key);
	free(full);
	return st;
}

/*
 * The operator's reason from an invalid authorization's challenge, also
 * noted in err as the problem behind the failure (for the failure hook).
 */
static void
rejection(const cJSON *authz, char *buf, size_t len, struct kc_err *err)
{
	const cJSON *ch, *e;

	snprintf(buf, len, "(no reason given)");
	cJSON_ArrayForEach(
	    ch, cJSON_GetObjectItemCaseSensitive(authz, "challenges"))
	{
		e = cJSON_GetObjectItemCaseSensitive(ch, "error");
		if (e == NULL)
			continue;
		snprintf(buf, len, "%s: %s",
		    json_get_string(e, "type") ? json_get_string(e, "type")
		                               : "error",
		    json_get_string(e, "detail") ? json_get_string(e, "detail")
		                                 : "(no detail)");
		err_problem(err, json_get_string(e, "type"),
		    json_get_string(e, "detail"));
		return;
	}
}

/* The statuses after which an order or authorization never proceeds. */
static int
final_status(const char *status)
{
	switch (acme_status_parse(status)) {
	case ACME_STATUS_INVALID:
	case ACME_STATUS_EXPIRED:
	case ACME_STATUS_DEACTIVATED:
	case ACME_STATUS_REVOKED:
		return 1;
	default:
		return 0;
	}
}

/*
 * Drops the pending order after a refusal and remembers when, so that
 * renew does not queue the same verification again at every cron run.
 */
static void
refused(struct flow *f)
{
	state_pending_clear(f->s->state, f->cfg->name, NULL);
	state_marker_set(
	    f->s->state, f->cfg->name, "rejected.json", time(NULL), NULL);
}

/* Forgets a pending order that can never complete, saying why. */
static void
drop_stale(struct flow *f, const char *why)
{
	if (f->log != NULL)
		fprintf(f->log,
		    "%s: dropping the pending order (%s); a new one is made "
		    "when due\n",
		    f->cfg->name, why);
	else
		fprintf(stderr, "kakuin: %s: dropping the pending order (%s)\n",
		    f->cfg->name, why);
	state_pending_clear(f->s->state, f->cfg->name, NULL);
	f->dropped = 1;
}

/* The oob-01 challenge of an authorization, borrowed; NULL if none. */
static const cJSON *
oob_challenge(const cJSON *authz)
{
	const cJSON *ch;

	cJSON_ArrayForEach(
	    ch, cJSON_GetObjectItemCaseSensitive(authz, "challenges"))
	{
		const char *t = json_get_string(ch, "type");
		if (t != NULL && strcmp(t, "oob-01") == 0)
			return ch;
	}
	return NULL;
}

/* 1 when an authorization is for a dns identifier. */
static int
is_dns(const cJSON *authz)
{
	const char *t = json_get_string(
	    cJSON_GetObjectItemCaseSensitive(authz, "identifier"), "type");

	return t != NULL && strcmp(t, "dns") == 0;
}

/*
 * Looks at every authorization of a pending order: asks for verification
 * of the org where nobody has yet, and proves the dns identifiers with the
 * configured challenge. *waiting = 1 while one needs an operator.
 */
static enum kk_status
authorizations(struct flow *f, const struct solve_cfg *sc, const cJSON *order,
    int *waiting, int *announced, struct kc_err *err)
{
	struct acme *a = f->s->acme;
	struct prove_authz az[SOLVE_MAX_NAMES];
	cJSON *dns[SOLVE_MAX_NAMES];
	const cJSON *u, *ch;
	enum kk_status st = KK_OK;
	cJSON *authz = NULL, *empty = NULL, *res = NULL;
	const char *status, *cst;
	char why[512];
	size_t ndns = 0, i;

	*waiting = 0;
	cJSON_ArrayForEach(
	    u, cJSON_GetObjectItemCaseSensitive(order, "authorizations"))
	{
		if (!cJSON_IsString(u))
			continue;
		if ((st = acme_post_json(a, u->valuestring, NULL, &authz, NULL,
		         NULL, err)) != KK_OK)
			goto out;
		status = json_get_string(authz, "status");
		if (acme_status_parse(status) == ACME_STATUS_VALID) {
			cJSON_Delete(authz);
			authz = NULL;
			continue;
		}
		if (status != NULL && final_status(status) && is_dns(authz)) {
			/* A failed validation, not an operator's refusal:
			 * the next run may order again at once. */
			rejection(authz, why, sizeof(why), err);
			state_pending_clear(f->s->state, f->cfg->name, NULL);
			st = err_set(err, KK_EINVAL, 1,
			    "%s: validation of a dns identifier failed (%s): "
			    "%s; the order is dropped",
			    f->cfg->name, status, why);
			goto out;
		}
		if (status != NULL && final_status(status)) {
			rejection(authz, why, sizeof(why), err);
			/* Nothing to wait for any more: start over later. */
			refused(f);
			st = err_set(err, KK_EINVAL, 1,
			    "%s: verification of %s was refused (%s): %s",
			    f->cfg->name, label(f), status, why);
			goto out;
		}
		if (acme_status_parse(status) != ACME_STATUS_PENDING) {
			/* Unknown: keep the order, a later run may know. */
			st = err_set(err, KK_EINVAL, 1,
			    "%s: authorization %s has an unexpected status "
			    "(%s); the order is kept",
			    f->cfg->name, u->valuestring,
			    status ? status : "none");
			goto out;
		}
		if (is_dns(authz)) {
			/* Proven together below, with one solver. */
			if (ndns == SOLVE_MAX_NAMES) {
				st = err_set(err, KK_EINVAL, 1,
				    "%s: more than %d dns authorizations",
				    f->cfg->name, SOLVE_MAX_NAMES);
				goto out;
			}
			az[ndns].url = u->valuestring;
			az[ndns].authz = authz;
			dns[ndns++] = authz;
			authz = NULL;
			continue;
		}
		ch = oob_challenge(authz);
		if (ch == NULL || json_get_string(ch, "url") == NULL) {
			st = err_set(err, KK_EINVAL, 1,
			    "%s: the server offers no oob-01 challenge for %s",
			    f->cfg->name, label(f));
			goto out;
		}
		cst = json_get_string(ch, "status");
		if (acme_status_parse(cst) == ACME_STATUS_PENDING) {
			/* RFC 8555 7.5.1: {} says "ready, verify me". */
			if ((empty = cJSON_CreateObject()) == NULL) {
				st = KK_ENOMEM;
				goto out;
			}
			st = acme_post_json(a, json_get_string(ch, "url"),
			    empty, &res, NULL, NULL, err);
			cJSON_Delete(empty);
			cJSON_Delete(res);
			empty = res = NULL;
			if (st != KK_OK)
				goto out;
			say(f, "%s: asked the CA to verify %s\n", f->cfg->name,
			    label(f));
		}
		if (!*announced) {
			say(f,
			    "%s: an operator must verify organization %s "
			    "before "
			    "the certificate is issued.\n",
			    f->cfg->name, label(f));
			if (json_get_string(ch, "href") != NULL)
				say(f, "%s: what to expect: %s\n", f->cfg->name,
				    json_get_string(ch, "href"));
			*announced = 1;
		}
		*waiting = 1;
		cJSON_Delete(authz);
		authz = NULL;
	}
	st = prove_dns(a, f->s->account_key, sc, az, ndns, f->log, err);
	/* The order is invalid now: a new one next time, no backoff. */
	if (st == KK_EINVAL && err->code == 1)
		state_pending_clear(f->s->state, f->cfg->name, NULL);
out:
	for (i = 0; i < ndns; i++)
		cJSON_Delete(dns[i]);
	cJSON_Delete(authz);
	return st;
}

/*
 * The key of the pending order: pending.uri's token key, else
 * pending.key. *uri (if not NULL) gets the token key's URI (caller
 * frees). A missing key is EX_CONFIG: the order cannot be finished.
 */
static enum kk_status
pending_key(struct flow *f, struct hostkey *k, char **uri, struct kc_err *err)
{
	enum kk_status st;
	char *path = NULL, *u = NULL;

	memset(k, 0, sizeof(*k));
	if (uri != NULL)
		*uri = NULL;
	if ((st = state_cert_path(
	         f->s->state, f->cfg->name, "pending.uri", &path)) != KK_OK)
		return st;
	st = hostkey_read_uri(path, &u, err);
	if (st == KK_OK) {
		if ((st = hostkey_open(f->cfg, u, k, err)) == KK_OK &&
		    uri != NULL) {
			*uri = u;
			u = NULL;
		}
		goto out;
	}
	if (st != KK_ENOTFOUND)
		goto out;
	free(path);
	if ((st = state_cert_path(
	         f->s->state, f->cfg->name, "pending.key", &path)) != KK_OK)
		goto out;
	st = keys_read(path, &k->pkey, err);
	if (st == KK_ENOTFOUND)
		st = err_set(err, KK_EINVAL, EX_CONFIG,
		    "%s is missing: the pending order cannot be finished; "
		    "remove %s/certs/%s/pending.json to start over",
		    path, f->s->state->dir, f->cfg->name);
out:
	free(u);
	free(path);
	return st;
}

static enum kk_status
finalize(struct flow *f, const struct solve_cfg *sc, const cJSON *order,
    long *retry_after, struct kc_err *err)
{
	unsigned char *der = NULL;
	enum kk_status st;
	struct hostkey key = {0};
	cJSON *res = NULL;
	size_t len;

	if (json_get_string(order, "finalize") == NULL)
		return err_set(
		    err, KK_EINVAL, 1, "the order has no finalize URL");
	if ((st = pending_key(f, &key, NULL, err)) != KK_OK)
		goto out;
	st = csr_build(key.pkey, f->cfg->org, f->cfg->name, sc->names,
	    sc->nnames, &der, &len, err);
	/* The token is closed before the network is waited on. */
	hostkey_clear(&key);
	if (st != KK_OK)
		goto out;
	st = acme_finalize(f->s->acme, json_get_string(order, "finalize"), der,
	    len, &res, retry_after, err);
	if (st == KK_OK)
		say(f, "%s: finalized%s\n", f->cfg->name, "");
out:
	cJSON_Delete(res);
	hostkey_clear(&key);
	free(der);
	return st;
}

static enum kk_status
download_install(struct flow *f, const cJSON *order, struct kc_err *err)
{
	enum kk_status st;
	struct install_req req = {0};
	struct hostkey key = {0};
	char *pem = NULL, *uri = NULL, *pass = NULL, *serial = NULL;
	size_t len;

	if (json_get_string(order, "certificate") == NULL)
		return err_set(err, KK_EINVAL, 1,
		    "the valid order has no certificate URL");
	if ((st = flow_p12_pass(f->cfg, &pass, err)) != KK_OK)
		return st;
	if ((st = acme_download(f->s->acme,
	         json_get_string(order, "certificate"), &pem, &len, err)) !=
	    KK_OK)
		goto out;
	if ((st = pending_key(f, &key, &uri, err)) != KK_OK)
		goto out;
	req.out = f->cfg->out;
	req.name = f->cfg->name;
	req.key = key.pkey;
	req.key_uri = uri;
	req.chain_pem = pem;
	req.chain_len = len;
	req.p12_pass = pass;
	st = install_set(&req, &serial, err);
	hostkey_clear(&key);
	if (st != KK_OK)
		goto out;
	say(f, "%s: installed certificate %s", f->cfg->name, serial);
	say(f, " in %s\n", f->cfg->out, "");
	/* The marker before the pending order goes: a crash between the two
	 * must not lose the hook, nor the pruning of old token keys. */
	if ((f->cfg->deploy_hook != NULL || f->cfg->key_uri != NULL) &&
	    (st = state_marker_set(f->s->state, f->cfg->name, "hook.pending",
	         time(NULL), err)) != KK_OK)
		goto out;
	if ((st = state_marker_clear(
	         f->s->state, f->cfg->name, "rejected.json", err)) != KK_OK)
		goto out;
	/* The old token keys go after the hook (flow_run_hook). */
	st = state_pending_clear(f->s->state, f->cfg->name, err);
out:
	if (pass != NULL)
		OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	free(serial);
	free(pem);
	free(uri);
	hostkey_clear(&key);
	return st;
}

enum kk_status
flow_resume(struct flow *f, struct kc_err *err)
{
	struct timespec op_deadline, issue_deadline;
	struct pending p = {0};
	enum kk_status st;
	struct solve_cfg sc = {0};
	cJSON *order = NULL;
	long retry_after = -1;
	int waiting, announced = 0, finalized = 0, fetching = 0;
	const char *status;
	char dropwhy[160];

	kk_deadline_in(&op_deadline, f->wait_seconds);
	kk_deadline_in(&issue_deadline, FLOW_ISSUE_TIMEOUT);
	f->dropped = 0;
	if ((st = state_pending_load(f->s->state, f->cfg->name, &p, err)) !=
	    KK_OK)
		return st;
	if ((st = solve_cfg_load(f->s->state, f->cfg->name, &sc, err)) != KK_OK)
		goto out;
	if (p.created > 0 && time(NULL) - p.created > FLOW_PENDING_MAX) {
		drop_stale(f, "older than the CA keeps orders");
		st = err_set(err, KK_ENOTFOUND, 1,
		    "%s: the pending order was stale and has been dropped",
		    f->cfg->name);
		goto out;
	}
	for (;;) {
		cJSON_Delete(order);
		order = NULL;
		fetching = 1;
		if ((st = acme_post_json(f->s->acme, p.order_url, NULL, &order,
		         NULL, &retry_after, err)) != KK_OK)
			break;
		fetching = 0;
		status = json_get_string(order, "status");
		if (status == NULL)
			status = "(none)";
		if (acme_status_parse(status) == ACME_STATUS_PENDING) {
			fetching = 1;
			if ((st = authorizations(f, &sc, order, &waiting,
			         &announced, err)) != KK_OK)
				break;
			fetching = 0;
			if (!waiting) {
				/* All authorized; the order catches up. */
				if (kk_deadline_past(&issue_deadline) ||
				    pause_for(retry_after, 1, &issue_deadline) <
				        0) {
					st = err_set(err, KK_ECONFLICT,
					    EX_TEMPFAIL,
					    "%s: the order stays pending; "
					    "retry later",
					    f->cfg->name);
					break;
				}
				continue;
			}
			/* A Retry-After beyond --wait: leave now. */
			if (kk_deadline_past(&op_deadline) ||
			    pause_for(retry_after, 10, &op_deadline) < 0) {
				st = err_set(err, KK_ECONFLICT, EX_TEMPFAIL,
				    "%s: waiting for an operator to verify "
				    "%s; the order is kept and `kakuin renew` "
				    "finishes it once approved",
				    f->cfg->name, label(f));
				err_retry_after(err, retry_after);
				break;
			}
		} else if (acme_status_parse(status) == ACME_STATUS_READY) {
			/* Still ready after a finalize: do not hammer the
			 * CA. */
			if (finalized++ > 0) {
				if (kk_deadline_past(&issue_deadline) ||
				    pause_for(retry_after, 2, &issue_deadline) <
				        0) {
					st = err_set(err, KK_ECONFLICT,
					    EX_TEMPFAIL,
					    "%s: the CA did not issue in time; "
					    "retry later",
					    f->cfg->name);
					break;
				}
			}
			if ((st = finalize(f, &sc, order, &retry_after, err)) !=
			    KK_OK)
				break;
		} else if (acme_status_parse(status) ==
		           ACME_STATUS_PROCESSING) {
			if (kk_deadline_past(&issue_deadline) ||
			    pause_for(retry_after, 2, &issue_deadline) < 0) {
				st = err_set(err, KK_ECONFLICT, EX_TEMPFAIL,
				    "%s: the CA is still issuing; `kakuin "
				    "renew` will collect the certificate",
				    f->cfg->name);
				break;
			}
		} else if (acme_status_parse(status) == ACME_STATUS_VALID) {
			st = download_install(f, order, err);
			break;
		} else if (!final_status(status)) {
			st = err_set(err, KK_EINVAL, 1,
			    "%s: the order %s has an unexpected status (%s); "
			    "it "
			    "is kept",
			    f->cfg->name, p.order_url, status);
			break;
		} else {
			const cJSON *u;
			cJSON *authz = NULL;
			char why[512] = "(no reason given)";

			/* Find the operator's reason before dropping it. */
			cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(
			                          order, "authorizations"))
			{
				struct kc_err ignored = {0};
				if (cJSON_IsString(u) &&
				    acme_post_json(f->s->acme, u->valuestring,
				        NULL, &authz, NULL, NULL,
				        &ignored) == KK_OK) {
					rejection(authz, why, sizeof(why), err);
					cJSON_Delete(authz);
					authz = NULL;
				}
			}
			refused(f);
			st = err_set(err, KK_EINVAL, 1,
			    "%s: the order for %s is %s: %s; nothing was "
			    "installed",
			    f->cfg->name, label(f), status, why);
			break;
		}
	}
	if (st != KK_OK && fetching && err_definitive(err)) {
		snprintf(dropwhy, sizeof(dropwhy),
		    "the server answered HTTP %ld", err->status);
		drop_stale(f, dropwhy);
	}
out:
	solve_cfg_clear(&sc);
	cJSON_Delete(order);
	pending_clear(&p);
	return st;
}

enum kk_status
flow_new_order(
    struct flow *f, EVP_PKEY *key, const char *key_uri, struct kc_err *err)
{
	struct acme_id ids[1 + SOLVE_MAX_NAMES];
	struct solve_cfg sc = {0};
	struct pending p = {0};
	enum kk_status st;
	cJSON *order = NULL;
	char *keypath = NULL;
	size_t n = 0, i;

	if ((st = solve_cfg_load(f->s->state, f->cfg->name, &sc, err)) != KK_OK)
		return st;
	if (f->cfg->org != NULL)
		ids[n++] = (struct acme_id){"org", f->cfg->org};
	for (i = 0; i < sc.nnames; i++)
		ids[n++] = (struct acme_id){"dns", sc.names[i]};
	if ((st = state_cert_path(f->s->state, f->cfg->name,
	         key_uri != NULL ? "pending.uri" : "pending.key", &keypath)) !=
	    KK_OK)
		return st;
	/* The key first: a pending order without its key is useless. */
	if (key_uri != NULL)
		st = file_write_atomic(
		    keypath, key_uri, strlen(key_uri), 0600, err);
	else
		st = keys_write(keypath, key, err);
	if (st != KK_OK)
		goto out;
	/* A new attempt: an old refusal no longer holds renew back. */
	if ((st = state_marker_clear(
	         f->s->state, f->cfg->name, "rejected.json", err)) != KK_OK)
		goto out;
	if ((st = acme_new_order(f->s->acme, ids, n, f->replaces, &order,
	         &p.order_url, err)) != KK_OK)
		goto out;
	p.created = time(NULL);
	if ((st = state_pending_save(f->s->state, f->cfg->name, &p, err)) !=
	    KK_OK)
		goto out;
	say(f, "%s: ordered a certificate for %s\n", f->cfg->name, label(f));
	st = flow_resume(f, err);
out:
	solve_cfg_clear(&sc);
	cJSON_Delete(order);
	pending_clear(&p);
	free(keypath);
	return st;
}

enum kk_status
flow_new_token_order(struct flow *f, const char *reuse, struct kc_err *err)
{
	struct hostkey k;
	enum kk_status st;
	char *uri;

	if (reuse != NULL)
		return flow_new_order(f, NULL, reuse, err);
	if ((st = hostkey_generate(f->cfg, &k, err)) != KK_OK)
		return st;
	uri = strdup(p11_key_uri(k.tok));
	/* Closed before the order: the flow opens it again to sign. */
	hostkey_clear(&k);
	if (uri == NULL)
		return KK_ENOMEM;
	install_crash_point("keygen");
	st = flow_new_order(f, NULL, uri, err);
	free(uri);
	return st;
}
