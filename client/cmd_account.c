#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fileio.h"
#include "keys.h"
#include "lock.h"

#define ACCOUNT_MAX_CONTACTS 8

enum { OPT_CONTACT = CMD_OPT_FIRST_LOCAL, OPT_KEY_TYPE };

static void
print_json(const cJSON *obj)
{
	char *text = cJSON_Print(obj);

	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

/*
 * For tests only: KAKUIN_TEST_CRASH_AT=keychange kills the process right
 * after the server accepted the new key, before it replaces account.key.
 */
static void
crash_point(void)
{
	const char *at = getenv("KAKUIN_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, "keychange") == 0)
		raise(SIGKILL);
}

/* Key rollover: new key in account.key.new, keyChange, then rename. */
static enum kk_status
rollover(struct session *s, const char *type, struct kc_err *err)
{
	enum kk_status st;
	EVP_PKEY *key = NULL;
	char *path = NULL, *next = NULL;

	if ((st = state_path(s->state, "account.key", &path)) != KK_OK ||
	    (st = state_path(s->state, "account.key.new", &next)) != KK_OK ||
	    (st = keys_generate(type, &key, err)) != KK_OK ||
	    (st = keys_write(next, key, err)) != KK_OK)
		goto out;
	if ((st = acme_key_change(s->acme, key, err)) != KK_OK) {
		/*
		 * Only a definitive refusal proves the server kept the old
		 * key. After a timeout or a lost answer it may have switched:
		 * the next run asks the server which key it knows.
		 */
		if (err_definitive(err))
			unlink(next);
		else
			fprintf(stderr,
			    "kakuin: the outcome of the key change is "
			    "unknown; %s is kept and the next kakuin run "
			    "checks which key the server knows\n",
			    next);
		goto out;
	}
	crash_point();
	/* The server now knows only the new key: make it ours for good. */
	if (rename(next, path) == -1 ||
	    file_sync_dir(s->state->dir, NULL) != KK_OK) {
		st = err_set(err, KK_EIO, 1,
		    "the server switched to the new key but %s could not "
		    "replace %s: %s; the next kakuin run retries",
		    next, path, strerror(errno));
		goto out;
	}
	EVP_PKEY_free(s->account_key);
	s->account_key = key;
	key = NULL;
	printf("account key rolled over (%s)\n", type);
out:
	EVP_PKEY_free(key);
	free(path);
	free(next);
	return st;
}

static const char usage[] =
    "usage: kakuin account show\n"
    "       kakuin account update --contact mailto:... (repeatable)\n"
    "       kakuin account deactivate\n"
    "       kakuin account rollover [--key-type TYPE]\n" CMD_GLOBAL_HELP;

int
cmd_account(int argc, char **argv, struct kc_opts *o)
{
	static const struct option opts[] = {
	    {"contact", required_argument, NULL, OPT_CONTACT},
	    {"key-type", required_argument, NULL, OPT_KEY_TYPE},
	    CMD_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
	const char *contacts[ACCOUNT_MAX_CONTACTS + 1] = {0};
	const char *action, *type = KEYS_DEFAULT_TYPE;
	struct session s = {0};
	struct kc_err err = {0};
	enum kk_status st;
	cJSON *req = NULL, *res = NULL, *arr;
	int c, i, n = 0, rc, lockfd = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		if (c == OPT_CONTACT) {
			if (n == ACCOUNT_MAX_CONTACTS ||
			    strncmp(optarg, "mailto:", 7) != 0)
				return cmd_usage("--contact: up to %d mailto: "
				                 "URIs",
				    ACCOUNT_MAX_CONTACTS);
			contacts[n++] = optarg;
		} else if (c == OPT_KEY_TYPE) {
			type = optarg;
		} else {
			rc = cmd_other_opt(c, usage);
			return rc < 0 ? 0 : rc;
		}
	}
	if (optind + 1 != argc)
		return cmd_usage("account needs one of show, update, "
		                 "deactivate, rollover");
	action = argv[optind];
	if (strcmp(action, "update") == 0 && n == 0)
		return cmd_usage("account update needs --contact");
	if (strcmp(action, "rollover") == 0 && !keys_type_valid(type))
		return cmd_usage("unknown --key-type '%s'", type);
	if (strcmp(action, "show") != 0 && strcmp(action, "update") != 0 &&
	    strcmp(action, "deactivate") != 0 &&
	    strcmp(action, "rollover") != 0)
		return cmd_usage("unknown account action '%s'", action);
	if ((st = session_open(o, 0, &s, &err)) != KK_OK ||
	    (st = lock_acquire(s.state->dir, 0, &lockfd, &err)) != KK_OK ||
	    (st = session_connect(&s, &err)) != KK_OK ||
	    (st = session_account(&s, 0, NULL, NULL, NULL, &err)) != KK_OK)
		goto out;
	if (strcmp(action, "rollover") == 0) {
		st = rollover(&s, type, &err);
		goto out;
	}
	st = KK_ENOMEM;
	if (strcmp(action, "update") == 0) {
		if ((req = cJSON_CreateObject()) == NULL ||
		    (arr = cJSON_AddArrayToObject(req, "contact")) == NULL)
			goto out;
		for (i = 0; i < n; i++)
			if (!cJSON_AddItemToArray(
			        arr, cJSON_CreateString(contacts[i])))
				goto out;
	} else if (strcmp(action, "deactivate") == 0) {
		if ((req = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(req, "status", "deactivated") ==
		        NULL)
			goto out;
	}
	st = acme_post_json(
	    s.acme, acme_account_url(s.acme), req, &res, NULL, NULL, &err);
	if (st == KK_OK && !o->quiet) {
		printf("account %s\n", acme_account_url(s.acme));
		print_json(res);
	}
out:
	rc = st == KK_OK ? 0 : cmd_fail(&err);
	cJSON_Delete(req);
	cJSON_Delete(res);
	lock_release(lockfd);
	session_close(&s);
	return rc;
}
