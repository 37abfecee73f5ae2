#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certinfo.h"
#include "cmd.h"
#include "failure.h"
#include "fileio.h"
#include "hostkey.h"
#include "renew.h"

enum { OPT_NAME = CMD_OPT_FIRST_LOCAL, OPT_JSON };

/*
 * Where the installed certificate's key lives: the token key key.uri
 * names, or the key.pem file. *out is the caller's.
 */
static enum kk_status
key_place(const struct cert_config *c, char **out)
{
	struct kc_err ignored = {0};
	enum kk_status st;
	char *path = NULL;

	*out = NULL;
	if ((st = file_join(
	         c->out, c->key_uri ? "key.uri" : "key.pem", &path)) != KK_OK)
		return st;
	if (c->key_uri == NULL) {
		*out = path;
		return KK_OK;
	}
	st = hostkey_read_uri(path, out, &ignored);
	free(path);
	if (st == KK_OK || st == KK_ENOMEM)
		return st;
	/* Nothing installed yet: the token the keys are made in. */
	return (*out = strdup(c->key_uri)) != NULL ? KK_OK : KK_ENOMEM;
}

/*
 * The last failed renewal of name and the next attempt (failure.h): a
 * "last error" line after the row, or members of o. Nothing without one.
 */
static enum kk_status
failure_part(struct session *s, const char *name, cJSON *o, struct kc_err *err)
{
	struct failure f;
	enum kk_status st;
	char last[32] = "-", next[32] = "any time";
	cJSON *e;

	st = failure_load(s->state, name, &f, err);
	if (st == KK_ENOTFOUND) {
		if (o != NULL &&
		    (cJSON_AddNullToObject(o, "last_error") == NULL ||
		        cJSON_AddNullToObject(o, "next_attempt") == NULL))
			return KK_ENOMEM;
		return KK_OK;
	}
	if (st != KK_OK)
		return st;
	if (f.last > 0)
		certinfo_time(f.last, last, sizeof(last));
	if (f.next > time(NULL))
		certinfo_time(f.next, next, sizeof(next));
	if (o == NULL) {
		/* Server text, printed as data: %s, one line each. */
		if (f.count > 0)
			printf("  last error: %s, exit %d, %d failed "
			       "attempt%s: %s%s%s\n",
			    last, f.exit_code, f.count, f.count > 1 ? "s" : "",
			    f.type ? f.type : "", f.type ? ": " : "",
			    f.detail    ? f.detail
			    : f.message ? f.message
			                : "(no detail)");
		printf("  next attempt: %s\n", next);
		goto out;
	}
	st = KK_ENOMEM;
	if (f.count > 0) {
		if ((e = cJSON_AddObjectToObject(o, "last_error")) == NULL ||
		    cJSON_AddStringToObject(e, "time", last) == NULL ||
		    cJSON_AddNumberToObject(e, "exit", f.exit_code) == NULL ||
		    cJSON_AddNumberToObject(e, "failures", f.count) == NULL ||
		    (f.type ? cJSON_AddStringToObject(e, "type", f.type)
		            : cJSON_AddNullToObject(e, "type")) == NULL ||
		    (f.detail ? cJSON_AddStringToObject(e, "detail", f.detail)
		              : cJSON_AddNullToObject(e, "detail")) == NULL ||
		    (f.message
		            ? cJSON_AddStringToObject(e, "message", f.message)
		            : cJSON_AddNullToObject(e, "message")) == NULL)
			goto out;
	} else if (cJSON_AddNullToObject(o, "last_error") == NULL) {
		goto out;
	}
	if ((f.next > time(NULL)
	            ? cJSON_AddStringToObject(o, "next_attempt", next)
	            : cJSON_AddNullToObject(o, "next_attempt")) == NULL)
		goto out;
	st = KK_OK;
out:
	failure_clear(&f);
	return st;
}

/* One certificate's row: config, installed certificate, pending order. */
static enum kk_status
row(struct session *s, const char *name, cJSON *list, int json,
    struct kc_err *err)
{
	struct cert_config c = {0};
	struct certinfo ci = {0};
	struct pending p = {0};
	enum kk_status st, fst;
	char *cert = NULL, *key = NULL, na[32] = "-", next[32] = "-";
	cJSON *o = NULL;
	time_t due;
	int have_cert = 0, have_pending = 0, bad_cert = 0;

	if ((st = state_cert_load(s->state, name, &c, err)) != KK_OK)
		return st;
	if ((st = file_join(c.out, "cert.pem", &cert)) != KK_OK)
		goto out;
	st = certinfo_read(cert, &ci, err);
	if (st == KK_OK) {
		have_cert = 1;
		renew_due(ci.not_before, ci.not_after, time(NULL), NULL, &due);
		certinfo_time(ci.not_after, na, sizeof(na));
		certinfo_time(due, next, sizeof(next));
	} else if (st == KK_EINVAL) {
		/* Shown in the row; renew replaces it. */
		bad_cert = 1;
		snprintf(na, sizeof(na), "unreadable");
		snprintf(next, sizeof(next), "now (renew)");
	} else if (st != KK_ENOTFOUND) {
		goto out;
	}
	st = state_pending_load(s->state, name, &p, err);
	if (st == KK_OK)
		have_pending = 1;
	else if (st != KK_ENOTFOUND)
		goto out;
	if ((st = key_place(&c, &key)) != KK_OK)
		goto out;
	st = bad_cert ? KK_EINVAL : KK_OK;
	if (!json) {
		printf("%-24s %-20s %-34s %-20s %-20s %s\n", c.name,
		    c.org ? c.org : "-",
		    have_cert  ? ci.serial
		    : bad_cert ? "(cert.pem unreadable)"
		               : "-",
		    na, next,
		    have_pending ? "verification/issuance pending" : "-");
		printf("  key: %s\n", key);
		if ((fst = failure_part(s, name, NULL, err)) != KK_OK)
			st = fst;
		goto out;
	}
	st = KK_ENOMEM;
	if ((o = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(list, o))
		goto out;
	if (cJSON_AddStringToObject(o, "name", c.name) == NULL ||
	    (c.org != NULL ? cJSON_AddStringToObject(o, "org", c.org)
	                   : cJSON_AddNullToObject(o, "org")) == NULL ||
	    cJSON_AddStringToObject(o, "out", c.out) == NULL ||
	    cJSON_AddStringToObject(o, "key", key) == NULL ||
	    cJSON_AddBoolToObject(o, "key_in_token", c.key_uri != NULL) == NULL)
		goto out;
	if (bad_cert && cJSON_AddStringToObject(o, "error", err->msg) == NULL)
		goto out;
	if (have_cert &&
	    (cJSON_AddStringToObject(o, "serial", ci.serial) == NULL ||
	        cJSON_AddStringToObject(o, "not_after", na) == NULL ||
	        cJSON_AddStringToObject(o, "next_renewal", next) == NULL))
		goto out;
	if (have_pending ? cJSON_AddStringToObject(
	                       o, "pending_order", p.order_url) == NULL
	                 : cJSON_AddNullToObject(o, "pending_order") == NULL)
		goto out;
	if ((st = failure_part(s, name, o, err)) != KK_OK)
		goto out;
	st = bad_cert ? KK_EINVAL : KK_OK;
out:
	free(cert);
	free(key);
	certinfo_clear(&ci);
	pending_clear(&p);
	cert_config_clear(&c);
	return st;
}

static const char usage[] =
    "usage: kakuin status [--name CN] [--json]\n" CMD_GLOBAL_HELP;

int
cmd_status(int argc, char **argv, struct kc_opts *o)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"json", no_argument, NULL, OPT_JSON}, CMD_GLOBAL_OPTIONS,
	    {NULL, 0, NULL, 0}};
	struct session s = {0};
	struct kc_err err = {0};
	const char *only = NULL;
	cJSON *doc = NULL, *list = NULL;
	char **names = NULL, *text;
	size_t n = 0, i;
	int c, json = 0, rc = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		if (c == OPT_NAME)
			only = optarg;
		else if (c == OPT_JSON)
			json = 1;
		else {
			rc = cmd_other_opt(c, usage);
			return rc < 0 ? 0 : rc;
		}
	}
	if (optind != argc)
		return cmd_usage(
		    "status: unexpected argument '%s'", argv[optind]);
	if (session_open(o, 0, &s, &err) != KK_OK)
		return cmd_fail(&err);
	if (only != NULL) {
		if ((names = calloc(1, sizeof(*names))) == NULL ||
		    (names[0] = strdup(only)) == NULL) {
			free(names);
			names = NULL;
			rc = 1;
			goto out;
		}
		n = 1;
	} else if (state_cert_names(s.state, &names, &n, &err) != KK_OK) {
		rc = cmd_fail(&err);
		goto out;
	}
	if (json) {
		doc = cJSON_CreateObject();
		list = cJSON_AddArrayToObject(doc, "certificates");
		if (list == NULL) {
			rc = 1;
			goto out;
		}
	} else {
		printf("%-24s %-20s %-34s %-20s %-20s %s\n", "NAME", "ORG",
		    "SERIAL", "NOT AFTER", "NEXT RENEWAL", "PENDING");
	}
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (row(&s, names[i], list, json, &err) != KK_OK && rc == 0)
			rc = cmd_fail(&err);
	}
	if (json && (text = cJSON_Print(doc)) != NULL) {
		printf("%s\n", text);
		free(text);
	}
out:
	cJSON_Delete(doc);
	state_names_free(names, n);
	session_close(&s);
	return rc;
}
