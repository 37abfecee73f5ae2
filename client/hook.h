/*
 * hook.h - shell commands the user gives the client: the deploy hook, run
 * after a new certificate was installed so that services reload it, and
 * the dns-01 hook that publishes TXT records (solve_dns.c).
 */
#ifndef KC_HOOK_H
#define KC_HOOK_H

#include <stddef.h>

#include "err.h"

#define HOOK_DEFAULT_TIMEOUT 300 /* seconds */

struct hook_env {
	const char *name;      /* KAKUIN_NAME */
	const char *cert;      /* KAKUIN_CERT */
	const char *key;       /* KAKUIN_KEY */
	const char *fullchain; /* KAKUIN_FULLCHAIN */
	long timeout;          /* seconds; <= 0 for HOOK_DEFAULT_TIMEOUT */
};

/*
 * Runs cmd with /bin/sh -c, the four KAKUIN_* variables added to the
 * environment and the client's secrets (KAKUIN_TOKEN, KAKUIN_P12_PASS,
 * KAKUIN_EAB_HMAC_KEY) removed, stdin from /dev/null, in a process group
 * of its own, and waits for it. A hook still running after the timeout is
 * killed with its whole group, so that a hung hook cannot hold the state
 * lock forever. A non-zero exit, a signal or the timeout is KK_EIO with
 * exit code 1 and a message saying the certificate stays installed.
 */
enum kk_status hook_run(
    const char *cmd, const struct hook_env *env, struct kc_err *err);

struct hook_var {
	const char *name, *value;
};

struct hook_cmd {
	const char *cmd;
	const char *const *args;     /* given to cmd as "$@"; NULL-ended */
	const struct hook_var *vars; /* added to the environment */
	size_t nvars;
	long timeout; /* seconds; <= 0 for HOOK_DEFAULT_TIMEOUT */
	/* 0: "CMD "$@"", the arguments after the command; 1: CMD as given,
	 * the arguments only there for it to use as "$1"... */
	int args_positional;
};

/*
 * Runs h->cmd as hook_run does ("CMD "$@"" with h->args after it when
 * there are any, unless h->args_positional). KK_OK when it exited 0; otherwise
 * KK_EIO with why saying what happened ("failed with exit status 2", "killed by
 * signal 9", "still running after 300 s, killed"), err untouched: the caller
 * knows what the failure means.
 */
enum kk_status hook_exec(const struct hook_cmd *h, char *why, size_t len);

#endif
