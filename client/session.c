#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "keys.h"
#include "session.h"

static const char *
pick(const char *cli, const char *env, const char *saved)
{
	const char *e = env != NULL ? getenv(env) : NULL;

	if (cli != NULL)
		return cli;
	if (e != NULL && *e != '\0')
		return e;
	return saved;
}

enum kk_status
session_open(
    const struct kc_opts *o, int create, struct session *s, struct kc_err *err)
{
	struct state_global g = {0};
	enum kk_status st;
	char *def = NULL;
	const char *dir, *v;

	memset(s, 0, sizeof(*s));
	dir = pick(o->state_dir, "KAKUIN_STATE_DIR", NULL);
	if (dir == NULL) {
		if ((st = state_default_dir(&def)) != KK_OK)
			return st;
		dir = def;
	}
	st = state_open(dir, create, &s->state, err);
	free(def);
	if (st != KK_OK)
		return st;
	if ((st = state_global_load(s->state, &g, err)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	v = pick(o->server, "KAKUIN_SERVER", g.server);
	if (v != NULL && (s->server = strdup(v)) == NULL)
		goto out;
	v = pick(o->ca_bundle, "KAKUIN_CA_BUNDLE", g.ca_bundle);
	if (v != NULL && (s->ca_bundle = strdup(v)) == NULL)
		goto out;
	st = KK_OK;
out:
	state_global_clear(&g);
	if (st != KK_OK)
		session_close(s);
	return st;
}

enum kk_status
session_connect(struct session *s, struct kc_err *err)
{
	enum kk_status st;

	if (s->server == NULL)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "no server known: give --server or KAKUIN_SERVER");
	if (strncmp(s->server, "https://", 8) != 0)
		return err_set(err, KK_EINVAL, EX_USAGE,
		    "--server %s: give an https:// URL", s->server);
	if (s->http == NULL &&
	    (st = http_new(s->ca_bundle, &s->http, err)) != KK_OK)
		return st;
	if (s->acme != NULL)
		return KK_OK;
	return acme_open(s->http, s->server, &s->acme, err);
}

/*
 * A rollover whose outcome was unknown (a lost answer, or a crash between
 * keyChange and the rename) leaves account.key.new. If the server knows
 * that key, it is the account's key now: promote it. If the server
 * definitively does not, drop it. Anything else (the server unreachable)
 * leaves it for the next run.
 */
static enum kk_status
adopt_new_key(struct session *s, const char *keypath, struct kc_err *err)
{
	struct kc_err probe = {0};
	enum kk_status st;
	EVP_PKEY *key = NULL;
	char *next = NULL;

	if (s->acme == NULL)
		return KK_OK;
	if ((st = state_path(s->state, "account.key.new", &next)) != KK_OK)
		return st;
	st = keys_read(next, &key, err);
	if (st == KK_ENOTFOUND) {
		st = KK_OK;
		goto out;
	}
	if (st != KK_OK)
		goto out;
	if ((st = acme_set_account(s->acme, key, NULL)) != KK_OK)
		goto out;
	st = acme_account(s->acme, NULL, NULL, NULL, 1, &probe);
	if (st == KK_OK) {
		if (rename(next, keypath) == -1) {
			st = err_set(err, KK_EIO, 1,
			    "the server knows the account by the key in %s but "
			    "it could not replace %s: %s; move it by hand",
			    next, keypath, strerror(errno));
			goto out;
		}
		if ((st = file_sync_dir(s->state->dir, err)) != KK_OK)
			goto out;
		fprintf(stderr,
		    "kakuin: finished an interrupted account key rollover: "
		    "%s is the account key now\n",
		    keypath);
		EVP_PKEY_free(s->account_key);
		s->account_key = key;
		key = NULL;
	} else if (err_definitive(&probe)) {
		unlink(next);
		st = KK_OK;
	} else {
		st = KK_OK; /* unknown yet: keep it, try the old key */
	}
out:
	/* The acme engine may borrow the new key only if it was adopted. */
	if (s->acme != NULL && s->account_key != NULL)
		acme_set_account(s->acme, s->account_key, NULL);
	EVP_PKEY_free(key);
	free(next);
	return st;
}

enum kk_status
session_account(struct session *s, int create, const char *const *contacts,
    const char *eab_kid, const char *eab_hmac, struct kc_err *err)
{
	enum kk_status st;
	char *keypath = NULL, *url = NULL;

	if ((st = state_path(s->state, "account.key", &keypath)) != KK_OK)
		return st;
	st = keys_read(keypath, &s->account_key, err);
	if (st == KK_ENOTFOUND && create) {
		if ((st = keys_generate(
		         KEYS_DEFAULT_TYPE, &s->account_key, err)) != KK_OK ||
		    (st = keys_write(keypath, s->account_key, err)) != KK_OK)
			goto out;
	} else if (st == KK_ENOTFOUND) {
		st = err_set(err, st, EX_CONFIG,
		    "no account key at %s (run kakuin enroll first)", keypath);
		goto out;
	} else if (st != KK_OK) {
		goto out;
	}
	if ((st = adopt_new_key(s, keypath, err)) != KK_OK)
		goto out;
	st = state_account_load(s->state, &url, err);
	if (st == KK_ENOTFOUND && !create) {
		st = err_set(err, st, EX_CONFIG,
		    "no account in %s (run kakuin enroll first)",
		    s->state->dir);
		goto out;
	}
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	if ((st = acme_set_account(s->acme, s->account_key, url)) != KK_OK)
		goto out;
	if (url == NULL) {
		if ((st = acme_account(s->acme, contacts, eab_kid, eab_hmac, 0,
		         err)) != KK_OK)
			goto out;
		st = state_account_save(
		    s->state, acme_account_url(s->acme), err);
	}
out:
	free(keypath);
	free(url);
	return st;
}

enum kk_status
session_remember(struct session *s, struct kc_err *err)
{
	struct state_global g = {s->server, s->ca_bundle, NULL};

	return state_global_save(s->state, &g, err);
}

void
session_close(struct session *s)
{
	acme_free(s->acme);
	http_free(s->http);
	EVP_PKEY_free(s->account_key);
	state_free(s->state);
	free(s->server);
	free(s->ca_bundle);
	memset(s, 0, sizeof(*s));
}
