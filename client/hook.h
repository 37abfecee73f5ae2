/*
 * hook.h - the deploy hook: a shell command run after a new certificate
 * was installed, so that services reload it.
 */
#ifndef KC_HOOK_H
#define KC_HOOK_H

#include "err.h"

struct hook_env {
	const char *name;      /* KAKUIN_NAME */
	const char *cert;      /* KAKUIN_CERT */
	const char *key;       /* KAKUIN_KEY */
	const char *fullchain; /* KAKUIN_FULLCHAIN */
};

/*
 * Runs cmd with /bin/sh -c, the four KAKUIN_* variables added to the
 * environment, and waits for it. A non-zero exit or a signal is KK_EIO
 * with exit code 1 and a message saying the certificate stays installed.
 */
enum kk_status hook_run(
    const char *cmd, const struct hook_env *env, struct kc_err *err);

#endif
