#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "kk_deadline.h"

#define HOOK_MAX_ARGS 8

/* Secrets the client may hold in its environment; hooks need none. */
static const char *const secrets[] = {"KAKUIN_TOKEN", "KAKUIN_P12_PASS",
    "KAKUIN_EAB_HMAC_KEY", "KAKUIN_PKCS11_PIN", "KAKUIN_CA_PIN"};

static void
child(const struct hook_cmd *h, const char *script)
{
	const char *argv[HOOK_MAX_ARGS + 5];
	size_t i, n = 0;
	int fd;

	/* A group of its own, so a timeout kills what the hook started. */
	setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd == -1 || dup2(fd, STDIN_FILENO) == -1)
		_exit(127);
	if (fd != STDIN_FILENO)
		close(fd);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (unsetenv(secrets[i]) == -1)
			_exit(127);
	for (i = 0; i < h->nvars; i++)
		if (setenv(h->vars[i].name, h->vars[i].value, 1) == -1)
			_exit(127);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = script;
	if (h->args != NULL) {
		argv[n++] = "kakuin-hook"; /* $0 */
		for (i = 0; i < HOOK_MAX_ARGS && h->args[i] != NULL; i++)
			argv[n++] = h->args[i];
	}
	argv[n] = NULL;
	execv("/bin/sh", (char *const *)argv);
	_exit(127);
}

enum kk_status
hook_exec(const struct hook_cmd *h, char *why, size_t len)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	long timeout = h->timeout > 0 ? h->timeout : HOOK_DEFAULT_TIMEOUT;
	struct timespec end;
	int status, timed_out = 0;
	char *script = NULL;
	pid_t pid, r;

	/* The arguments follow the user's command as "$@". */
	if (h->args != NULL && !h->args_positional) {
		if (asprintf(&script, "%s \"$@\"", h->cmd) == -1) {
			snprintf(
			    why, len, "could not be started: out of memory");
			return KK_ENOMEM;
		}
	}
	kk_deadline_in(&end, timeout);
	pid = fork();
	if (pid == -1) {
		snprintf(why, len, "could not be started: %s", strerror(errno));
		free(script);
		return KK_EIO;
	}
	if (pid == 0)
		child(h, script != NULL ? script : h->cmd);
	free(script);
	/* Both sides set the group: no race with the kill below. */
	setpgid(pid, pid);
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			snprintf(why, len, "could not be waited for: %s",
			    strerror(errno));
			return KK_EIO;
		}
		if (!timed_out && kk_deadline_past(&end)) {
			/* Ended since the wait above: not late. */
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			kill(-pid, SIGKILL);
			timed_out = 1;
		}
		nanosleep(&pause, NULL);
	}
	if (timed_out) {
		/* Whatever the hook left in its group goes too. */
		kill(-pid, SIGKILL);
		snprintf(
		    why, len, "still running after %ld s, killed", timeout);
		return KK_EIO;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return KK_OK;
	if (WIFEXITED(status))
		snprintf(why, len, "failed with exit status %d",
		    WEXITSTATUS(status));
	else
		snprintf(why, len, "killed by signal %d", WTERMSIG(status));
	return KK_EIO;
}

enum kk_status
hook_run(const char *cmd, const struct hook_env *env, struct kc_err *err)
{
	const struct hook_var vars[] = {
	    {"KAKUIN_NAME", env->name},
	    {"KAKUIN_CERT", env->cert},
	    {"KAKUIN_KEY", env->key},
	    {"KAKUIN_FULLCHAIN", env->fullchain},
	};
	struct hook_cmd h = {cmd, NULL, vars, 4, env->timeout, 0};
	enum kk_status st;
	char why[128];

	if ((st = hook_exec(&h, why, sizeof(why))) != KK_OK)
		return err_set(err, st, 1,
		    "%s: deploy hook %s; the new certificate stays installed",
		    env->name, why);
	return KK_OK;
}
