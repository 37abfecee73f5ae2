#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ari.h"
#include "certinfo.h"
#include "cmd.h"
#include "failure.h"
#include "fileio.h"
#include "flow.h"
#include "hostkey.h"
#include "install.h"
#include "keys.h"
#include "lock.h"
#include "renew.h"

enum {
	OPT_NAME = CMD_OPT_FIRST_LOCAL,
	OPT_ALL,
	OPT_FORCE,
	OPT_JITTER,
	OPT_REUSE_KEY,
	OPT_WAIT,
	OPT_HOOK_TIMEOUT,
	OPT_FAILURE_HOOK,
};

/* What one certificate needs from this run. */
enum work { WORK_NONE, WORK_RESUME, WORK_RENEW };

struct item {
	struct cert_config cfg;
	enum work work;
	int due;  /* a new order is wanted (when nothing is pending) */
	int hook; /* a deploy hook is still owed (hook.pending) */
	int loaded;
	char *cert_id;  /* the installed certificate's certID (RFC 9773) */
	struct ari ari; /* its renewal information as stored */
};

/* Releases what decide() keeps in it, beside its configuration. */
static void
item_clear_ari(struct item *it)
{
	free(it->cert_id);
	it->cert_id = NULL;
	ari_clear(&it->ari);
}

struct renew_args {
	const char *name;
	int all, force, reuse_key;
	long jitter, wait, hook_timeout;
	const char *failure_hook; /* --failure-hook, or config.json's */
};

/* Keeps the first failure's exit code: it is the one the log explains. */
static void
note(int *rc, int code)
{
	if (*rc == 0)
		*rc = code;
}

static const char usage[] =
    "usage: kakuin renew [--name CN | --all] [--force] [--jitter SECONDS]\n"
    "                    [--reuse-key] [--wait SECONDS] "
    "[--hook-timeout SECONDS]\n"
    "                    [--failure-hook CMD]\n" CMD_GLOBAL_HELP;

static int
parse(int argc, char **argv, struct kc_opts *o, struct renew_args *a)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"jitter", required_argument, NULL, OPT_JITTER},
	    {"reuse-key", no_argument, NULL, OPT_REUSE_KEY},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT},
	    {"failure-hook", required_argument, NULL, OPT_FAILURE_HOOK},
	    CMD_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		switch (c) {
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_ALL:
			a->all = 1;
			break;
		case OPT_FORCE:
			a->force = 1;
			break;
		case OPT_REUSE_KEY:
			a->reuse_key = 1;
			break;
		case OPT_JITTER:
			if ((a->jitter = cmd_seconds(optarg)) < 0)
				return cmd_usage("--jitter takes seconds, not "
				                 "'%s'",
				    optarg);
			break;
		case OPT_WAIT:
			if ((a->wait = cmd_seconds(optarg)) < 0)
				return cmd_usage("--wait takes seconds, not "
				                 "'%s'",
				    optarg);
			break;
		case OPT_HOOK_TIMEOUT:
			a->hook_timeout = cmd_seconds(optarg);
			if (a->hook_timeout < 1 || a->hook_timeout > 86400)
				return cmd_usage(
				    "--hook-timeout takes 1..86400 "
				    "seconds, not '%s'",
				    optarg);
			break;
		case OPT_FAILURE_HOOK:
			if (*optarg == '\0')
				return cmd_usage("--failure-hook needs a "
				                 "command");
			a->failure_hook = optarg;
			break;
		default:
			return cmd_other_opt(c, usage);
		}
	}
	if (optind != argc)
		return cmd_usage(
		    "renew: unexpected argument '%s'", argv[optind]);
	if (a->name != NULL && a->all)
		return cmd_usage("give --name or --all, not both");
	return 0;
}

/* 1 while an earlier failure of name holds it back (failure.h). */
static int
holding_back(struct session *s, const char *name)
{
	struct kc_err ignored = {0};
	struct failure f;
	int hold = 0;

	if (failure_load(s->state, name, &f, &ignored) == KK_OK) {
		hold = f.next > time(NULL);
		failure_clear(&f);
	}
	return hold;
}

/*
 * The server's renewal window (RFC 9773) for the installed certificate
 * whose brief is cb, in *win, or NULL there for the lifetime rule.
 * Stored information that is stale is asked for again, already in the
 * first, unlocked look (one small GET, not worth the jitter, which then
 * knows whether a renewal is due). Failing to ask is said (with print,
 * unless quiet) and leaves what was stored, or the lifetime rule; with
 * hold (an earlier failure's backoff) it is not asked at all. When the
 * server could not be reached, *down is set and the run asks no more (a
 * CA out of reach must not cost one timeout per certificate). An
 * unreadable ari.json is an error.
 */
static enum kk_status
ari_decide(struct session *s, const struct kc_opts *o, struct item *it,
    const struct certinfo_brief *cb, int print, int hold, int *down,
    const struct renew_window **win, struct renew_window *w, struct kc_err *err)
{
	struct kc_err e = {0};
	enum kk_status st;
	time_t now = time(NULL);

	*win = NULL;
	item_clear_ari(it);
	if ((st = ari_cert_id_of(cb, &it->cert_id)) != KK_OK)
		return st == KK_ENOMEM ? st : KK_OK;
	st = ari_load(s->state, it->cfg.name, &it->ari, err);
	if (st != KK_OK && st != KK_ENOTFOUND)
		return st;
	if (!*down && !hold && ari_stale(&it->ari, it->cert_id, now) &&
	    ari_fetch(s, it->cfg.name, it->cert_id, now, &it->ari, &e) !=
	        KK_OK) {
		/* Unreachable, unavailable or misconfigured, not a problem
		 * with this one certificate. */
		*down = e.code != 1;
		if (print && !o->quiet)
			fprintf(stderr,
			    "kakuin: %s: no renewal information from the "
			    "server (%s)\n",
			    it->cfg.name, e.msg);
	}
	*win = ari_window(&it->ari, it->cert_id, w);
	return KK_OK;
}

/*
 * Whether cfg wants a new certificate: none installed (or an unreadable
 * one, which renew replaces), --force, or the renewal window reached: the
 * server's (RFC 9773) when it gives one, else the lifetime rule.
 */
static enum kk_status
due_now(struct session *s, const struct renew_args *a, const struct kc_opts *o,
    struct item *it, int print, int *down, time_t *due, struct kc_err *err)
{
	const struct renew_window *win = NULL;
	struct renew_window w;
	struct kc_err ignored = {0};
	struct certinfo_brief cb = {0};
	enum kk_status st;
	char *cert = NULL;

	*due = 0;
	if ((st = file_join(it->cfg.out, "cert.pem", &cert)) != KK_OK)
		return st;
	/* The dates and the ids in one read: --all reads every installed
	 * certificate. */
	st = certinfo_read_brief(cert, &cb, &ignored);
	if (st == KK_ENOTFOUND) {
		it->due = 1;
	} else if (st == KK_ENOMEM) {
		goto out;
	} else if (st != KK_OK) {
		/* Unreadable or corrupted: replace it (--out is checked
		 * before anything is ordered). */
		if (print)
			fprintf(stderr, "kakuin: %s: %s; replacing it\n",
			    it->cfg.name, ignored.msg);
		it->due = 1;
	} else {
		if ((st = ari_decide(s, o, it, &cb, print,
		         !a->force && holding_back(s, it->cfg.name), down, &win,
		         &w, err)) != KK_OK)
			goto out;
		it->due = renew_due(
		    cb.not_before, cb.not_after, time(NULL), win, due);
	}
	if (a->force)
		it->due = 1;
	st = KK_OK;
out:
	certinfo_brief_clear(&cb);
	free(cert);
	return st;
}

/* --- failures: backoff and the failure hook (failure.h) --- */

/*
 * Leaves it->work at WORK_NONE when an earlier failure (or the server's
 * Retry-After) put its next attempt in the future, unless --force: a
 * broken host must not ask the CA on every cron run. Nothing due is
 * exit 0; with print, says why and when, unless quiet.
 */
static enum kk_status
backed_off(struct session *s, const struct renew_args *a,
    const struct kc_opts *o, struct item *it, int print, struct kc_err *err)
{
	struct failure f;
	enum kk_status st;
	char when[32];

	if (a->force)
		return KK_OK;
	st = failure_load(s->state, it->cfg.name, &f, err);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	if (f.next > time(NULL)) {
		it->work = WORK_NONE;
		if (print && !o->quiet) {
			certinfo_time(f.next, when, sizeof(when));
			if (f.count > 0)
				printf("%s: backing off after %d failed "
				       "attempt%s (last exit %d); next attempt "
				       "from %s (renew --force to try now)\n",
				    it->cfg.name, f.count,
				    f.count > 1 ? "s" : "", f.exit_code, when);
			else
				printf("%s: the server asked to come back "
				       "from %s (renew --force to try now)\n",
				    it->cfg.name, when);
		}
	}
	failure_clear(&f);
	return KK_OK;
}

/*
 * After name failed with e: with record, notes it for the backoff (an
 * attempt that reached for the server); and, unless it only waits (75),
 * runs the failure hook. The hook's own failure is reported, not
 * returned: the exit code stays the renewal's.
 */
static void
failed(struct session *s, const struct renew_args *a, const char *name,
    long timeout, const struct kc_err *e, int record)
{
	struct kc_err ferr = {0};
	struct failure f = {0};
	char why[128];

	if (record &&
	    failure_record(s->state, name, e, time(NULL), &f, &ferr) != KK_OK)
		fprintf(stderr, "kakuin: %s: cannot record the failure: %s\n",
		    name, ferr.msg[0] ? ferr.msg : "out of memory");
	if (a->failure_hook != NULL && err_exit_code(e) != EX_TEMPFAIL &&
	    failure_hook(a->failure_hook, name, e, record ? &f : NULL, timeout,
	        why, sizeof(why)) != KK_OK)
		fprintf(stderr, "kakuin: %s: failure hook %s\n", name, why);
	failure_clear(&f);
}

/* --- end of failures --- */

/*
 * Runs the deploy hook of it (owed, or due now). A hook that fails counts
 * in rc and runs the failure hook, without a backoff: the certificate is
 * in place already.
 */
static void
deploy(struct session *s, const struct renew_args *a, const struct kc_opts *o,
    const struct item *it, int *rc)
{
	struct kc_err err = {0};

	if (flow_run_hook(s->state, &it->cfg, o->quiet ? NULL : stdout, &err) !=
	    KK_OK) {
		note(rc, cmd_fail(&err));
		failed(s, a, it->cfg.name, it->cfg.hook_timeout, &err, 0);
	}
}

/*
 * Decides what cfg needs and checks, before anything is ordered, that the
 * result could be installed (--out writable, the --p12 passphrase at
 * hand). With print, says "not due" unless quiet.
 */
static enum kk_status
decide(struct session *s, const struct renew_args *a, const struct kc_opts *o,
    struct item *it, int print, int *down, struct kc_err *err)
{
	struct pending p = {0};
	enum kk_status st;
	char when[32], *pass = NULL;
	time_t due, refused, owed;

	it->work = WORK_NONE;
	it->due = it->hook = 0;
	if ((st = due_now(s, a, o, it, print, down, &due, err)) != KK_OK)
		return st;
	st = state_pending_load(s->state, it->cfg.name, &p, err);
	pending_clear(&p);
	if (st == KK_OK)
		it->work = WORK_RESUME;
	else if (st != KK_ENOTFOUND)
		return st;
	if (it->work == WORK_NONE && it->due) {
		st = state_marker_time(
		    s->state, it->cfg.name, "rejected.json", &refused, err);
		if (st != KK_OK && st != KK_ENOTFOUND)
			return st;
		if (st == KK_OK && !a->force &&
		    time(NULL) - refused < FLOW_REJECT_BACKOFF) {
			certinfo_time(
			    refused + FLOW_REJECT_BACKOFF, when, sizeof(when));
			return err_set(err, KK_ECONFLICT, 1,
			    "%s: an operator refused verification recently; "
			    "no new order before %s (renew --force to retry "
			    "now)",
			    it->cfg.name, when);
		}
		it->work = WORK_RENEW;
	}
	st = state_marker_time(
	    s->state, it->cfg.name, "hook.pending", &owed, err);
	if (st == KK_OK)
		it->hook = 1;
	else if (st != KK_ENOTFOUND)
		return st;
	if (it->work == WORK_NONE) {
		if (print && !o->quiet && !it->hook) {
			certinfo_time(due, when, sizeof(when));
			printf("%s: not due (renews from %s)\n", it->cfg.name,
			    when);
		}
		return KK_OK;
	}
	if ((st = backed_off(s, a, o, it, print, err)) != KK_OK ||
	    it->work == WORK_NONE)
		return st;
	if ((st = install_check_out(it->cfg.out, err)) != KK_OK)
		return st;
	st = flow_p12_pass(&it->cfg, &pass, err);
	if (pass != NULL)
		OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	return st;
}

static void
jitter(long max)
{
	unsigned int r;

	if (max <= 0 || RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return;
	sleep((unsigned)(r % (unsigned)(max + 1)));
}

/* Orders and installs one certificate (the caller runs the hook). */
static enum kk_status
renew_one(struct session *s, const struct renew_args *a,
    const struct kc_opts *o, struct item *it, struct kc_err *err)
{
	struct flow f = {
	    s, &it->cfg, (int)a->wait, o->quiet ? NULL : stdout, 0, NULL};
	struct renew_window w;
	enum kk_status st = KK_OK;
	EVP_PKEY *key = NULL;
	char *path = NULL, *uri = NULL;

	if (it->work == WORK_RESUME) {
		st = flow_resume(&f, err);
		/* A stale order is gone: order afresh if one is wanted. */
		if (st != KK_OK && f.dropped) {
			err_clear(err);
			st = KK_OK;
			if (it->due)
				it->work = WORK_RENEW;
		}
	}
	/* The server offers ARI for the installed certificate: say which
	 * one the new order replaces (RFC 9773 5). */
	if (it->work == WORK_RENEW && it->cert_id != NULL &&
	    ari_window(&it->ari, it->cert_id, &w) != NULL)
		f.replaces = it->cert_id;
	if (it->work == WORK_RENEW && it->cfg.key_uri != NULL) {
		/* The live key by its URI, or a new one in the token. */
		if ((a->reuse_key || it->cfg.reuse_key) &&
		    (st = file_join(it->cfg.out, "key.uri", &path)) == KK_OK &&
		    (st = hostkey_read_uri(path, &uri, err)) == KK_ENOTFOUND)
			st = err_set(err, st, 1,
			    "%s: --reuse-key but %s does not exist",
			    it->cfg.name, path);
		if (st == KK_OK)
			st = flow_new_token_order(&f, uri, err);
	} else if (it->work == WORK_RENEW) {
		if (a->reuse_key || it->cfg.reuse_key) {
			if ((st = file_join(it->cfg.out, "key.pem", &path)) ==
			        KK_OK &&
			    (st = keys_read(path, &key, err)) == KK_ENOTFOUND)
				st = err_set(err, st, 1,
				    "%s: --reuse-key but %s does not exist",
				    it->cfg.name, path);
		} else {
			st = keys_generate(it->cfg.key_type, &key, err);
		}
		if (st == KK_OK)
			st = flow_new_order(&f, key, NULL, err);
	}
	EVP_PKEY_free(key);
	free(path);
	free(uri);
	return st;
}

/*
 * Loads and decides every name; *busy counts those needing the server.
 * *down says the server could not be asked for renewal information.
 */
static int
decide_all(struct session *s, const struct renew_args *a,
    const struct kc_opts *o, char **names, size_t n, struct item *items,
    int print, int *down, size_t *busy)
{
	struct kc_err err = {0};
	size_t i;
	int rc = 0;

	*busy = 0;
	for (i = 0; i < n; i++) {
		err_clear(&err);
		cert_config_clear(&items[i].cfg);
		items[i].loaded = 0;
		if (state_cert_load(s->state, names[i], &items[i].cfg, &err) !=
		        KK_OK ||
		    decide(s, a, o, &items[i], print, down, &err) != KK_OK) {
			if (print) {
				note(&rc, cmd_fail(&err));
				failed(s, a, names[i],
				    a->hook_timeout > 0
				        ? a->hook_timeout
				        : items[i].cfg.hook_timeout,
				    &err, 0);
			}
			continue;
		}
		if (a->hook_timeout > 0)
			items[i].cfg.hook_timeout = a->hook_timeout;
		items[i].loaded = 1;
		if (items[i].work != WORK_NONE)
			(*busy)++;
	}
	return rc;
}

int
cmd_renew(int argc, char **argv, struct kc_opts *o)
{
	struct renew_args a;
	struct session s = {0};
	struct state_global g = {0};
	struct kc_err err = {0};
	struct item *items = NULL;
	char **names = NULL;
	size_t n = 0, i, busy = 0;
	enum kk_status st;
	int rc = 0, lockfd = -1, down = 0;

	if ((rc = parse(argc, argv, o, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((st = session_open(o, 0, &s, &err)) != KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (a.failure_hook == NULL &&
	    (st = state_global_load(s.state, &g, &err)) != KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (a.failure_hook == NULL)
		a.failure_hook = g.failure_hook;
	if (a.name != NULL) {
		names = calloc(1, sizeof(*names));
		if (names == NULL || (names[0] = strdup(a.name)) == NULL) {
			rc = 1;
			goto out;
		}
		n = 1;
	} else if ((st = state_cert_names(s.state, &names, &n, &err)) !=
	           KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL) {
		rc = 1;
		goto out;
	}
	/*
	 * The jitter spreads the CA's load, so it comes before any network
	 * work, and before the lock, which it must not hold for an hour. A
	 * cheap unlocked look first says whether there is anything to do;
	 * the decision that counts is taken again under the lock.
	 */
	if (a.jitter > 0) {
		decide_all(&s, &a, o, names, n, items, 0, &down, &busy);
		if (busy > 0)
			jitter(a.jitter);
	}
	if ((st = lock_acquire(s.state->dir, 0, &lockfd, &err)) != KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	down = 0;
	rc = decide_all(&s, &a, o, names, n, items, 1, &down, &busy);
	for (i = 0; i < n; i++) {
		/* Hooks owed from an earlier run need no server. */
		if (!items[i].loaded || items[i].work != WORK_NONE ||
		    !items[i].hook)
			continue;
		deploy(&s, &a, o, &items[i], &rc);
	}
	if (busy == 0)
		goto out;
	err_clear(&err);
	/* Asking for renewal information may have connected already. */
	if ((s.acme == NULL && (st = session_connect(&s, &err)) != KK_OK) ||
	    (st = session_account(&s, 0, NULL, NULL, NULL, &err)) != KK_OK) {
		note(&rc, cmd_fail(&err));
		/* Every certificate that needed the server failed with it. */
		for (i = 0; i < n; i++)
			if (items[i].loaded && items[i].work != WORK_NONE)
				failed(&s, &a, items[i].cfg.name,
				    items[i].cfg.hook_timeout, &err, 1);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!items[i].loaded || items[i].work == WORK_NONE)
			continue;
		err_clear(&err);
		if (renew_one(&s, &a, o, &items[i], &err) != KK_OK) {
			note(&rc, cmd_fail(&err));
			failed(&s, &a, items[i].cfg.name,
			    items[i].cfg.hook_timeout, &err, 1);
			continue;
		}
		if (failure_reset(s.state, items[i].cfg.name, &err) != KK_OK)
			note(&rc, cmd_fail(&err));
		deploy(&s, &a, o, &items[i], &rc);
	}
out:
	for (i = 0; items != NULL && i < n; i++) {
		cert_config_clear(&items[i].cfg);
		item_clear_ari(&items[i]);
	}
	free(items);
	state_names_free(names, n);
	lock_release(lockfd);
	state_global_clear(&g);
	session_close(&s);
	return rc;
}
