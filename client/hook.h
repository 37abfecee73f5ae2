/*
 * hook.h - the deploy hook: a shell command run after a new certificate
 * was installed, so that services reload it.
 */
#ifndef KC_HOOK_H
#define KC_HOOK_H

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

#endif
