#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "certinfo.h"
#include "cmd.h"
#include "fileio.h"
#include "flow.h"
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
};

/* What one certificate needs from this run. */
enum work { WORK_NONE, WORK_RESUME, WORK_RENEW };

struct item {
	struct cert_config cfg;
	enum work work;
	int loaded;
};

struct renew_args {
	const char *name;
	int all, force, reuse_key;
	long jitter, wait;
};

/* Keeps the first failure's exit code: it is the one the log explains. */
static void
note(int *rc, int code)
{
	if (*rc == 0)
		*rc = code;
}

static int
parse(int argc, char **argv, struct kc_opts *o, struct renew_args *a)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"jitter", required_argument, NULL, OPT_JITTER},
	    {"reuse-key", no_argument, NULL, OPT_REUSE_KEY},
	    {"wait", required_argument, NULL, OPT_WAIT}, CMD_GLOBAL_OPTIONS,
	    {NULL, 0, NULL, 0}};
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
		case 'h':
			printf("usage: kakuin renew [--name CN | --all] "
			       "[--force] [--jitter SECONDS] [--quiet]\n");
			return -1;
		default:
			return EX_USAGE;
		}
	}
	if (optind != argc)
		return cmd_usage(
		    "renew: unexpected argument '%s'", argv[optind]);
	if (a->name != NULL && a->all)
		return cmd_usage("give --name or --all, not both");
	return 0;
}

/* Decides what cfg needs; prints "not due" lines unless quiet. */
static enum kk_status
decide(struct session *s, const struct renew_args *a, const struct kc_opts *o,
    struct item *it, struct kc_err *err)
{
	struct certinfo ci = {0};
	struct pending p = {0};
	enum kk_status st;
	char *cert = NULL, when[32];
	time_t due;

	st = state_pending_load(s->state, it->cfg.name, &p, err);
	pending_clear(&p);
	if (st == KK_OK) {
		it->work = WORK_RESUME;
		return KK_OK;
	}
	if (st != KK_ENOTFOUND)
		return st;
	if ((st = file_join(it->cfg.out, "cert.pem", &cert)) != KK_OK)
		return st;
	st = certinfo_read(cert, &ci, err);
	if (st == KK_ENOTFOUND) {
		st = err_set(err, KK_ENOTFOUND, 1,
		    "%s: no certificate at %s and no pending order; run kakuin "
		    "enroll again",
		    it->cfg.name, cert);
		goto out;
	}
	if (st != KK_OK)
		goto out;
	/* ARI (RFC 9773) would pass the server's window instead of NULL. */
	if (renew_due(ci.not_before, ci.not_after, time(NULL), NULL, &due) ||
	    a->force) {
		it->work = WORK_RENEW;
	} else if (!o->quiet) {
		certinfo_time(due, when, sizeof(when));
		printf("%s: not due (renews from %s)\n", it->cfg.name, when);
	}
out:
	certinfo_clear(&ci);
	free(cert);
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

/* Orders and installs for one due certificate. */
static enum kk_status
renew_one(struct session *s, const struct renew_args *a,
    const struct kc_opts *o, struct item *it, struct kc_err *err)
{
	struct flow f = {s, &it->cfg, (int)a->wait, o->quiet ? NULL : stdout};
	enum kk_status st;
	EVP_PKEY *key = NULL;
	char *path = NULL;

	if (it->work == WORK_RESUME) {
		st = flow_resume(&f, err);
	} else {
		if (a->reuse_key || it->cfg.reuse_key) {
			if ((st = file_join(it->cfg.out, "key.pem", &path)) ==
			    KK_OK)
				st = keys_read(path, &key, err);
		} else {
			st = keys_generate(it->cfg.key_type, &key, err);
		}
		if (st == KK_OK)
			st = flow_new_order(&f, key, err);
	}
	if (st == KK_OK)
		st = flow_run_hook(&it->cfg, err);
	EVP_PKEY_free(key);
	free(path);
	return st;
}

int
cmd_renew(int argc, char **argv, struct kc_opts *o)
{
	struct renew_args a;
	struct session s = {0};
	struct kc_err err = {0};
	struct item *items = NULL;
	char **names = NULL;
	size_t n = 0, i, busy = 0;
	enum kk_status st;
	int rc = 0, lockfd = -1;

	if ((rc = parse(argc, argv, o, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((st = session_open(o, 0, &s, &err)) != KK_OK ||
	    (st = lock_acquire(s.state->dir, 0, &lockfd, &err)) != KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (a.name != NULL) {
		names = calloc(1, sizeof(*names));
		if (names == NULL || (names[0] = strdup(a.name)) == NULL) {
			rc = EX_OSERR;
			goto out;
		}
		n = 1;
	} else if ((st = state_cert_names(s.state, &names, &n, &err)) !=
	           KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL) {
		rc = EX_OSERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (state_cert_load(s.state, names[i], &items[i].cfg, &err) !=
		        KK_OK ||
		    decide(&s, &a, o, &items[i], &err) != KK_OK) {
			note(&rc, cmd_fail(&err));
			continue;
		}
		items[i].loaded = 1;
		if (items[i].work != WORK_NONE)
			busy++;
	}
	if (busy == 0)
		goto out;
	jitter(a.jitter);
	err_clear(&err);
	if ((st = session_connect(&s, &err)) != KK_OK ||
	    (st = session_account(&s, 0, NULL, NULL, NULL, &err)) != KK_OK) {
		note(&rc, cmd_fail(&err));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!items[i].loaded || items[i].work == WORK_NONE)
			continue;
		err_clear(&err);
		if (renew_one(&s, &a, o, &items[i], &err) != KK_OK)
			note(&rc, cmd_fail(&err));
	}
out:
	for (i = 0; items != NULL && i < n; i++)
		cert_config_clear(&items[i].cfg);
	free(items);
	state_names_free(names, n);
	lock_release(lockfd);
	session_close(&s);
	return rc;
}
