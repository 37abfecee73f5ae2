#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

/* Secrets the client may hold in its environment; the hook needs none. */
static const char *const secrets[] = {
    "KAKUIN_TOKEN", "KAKUIN_P12_PASS", "KAKUIN_EAB_HMAC_KEY"};

static void
child(const char *cmd, const struct hook_env *env)
{
	size_t i;
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
	if (setenv("KAKUIN_NAME", env->name, 1) == -1 ||
	    setenv("KAKUIN_CERT", env->cert, 1) == -1 ||
	    setenv("KAKUIN_KEY", env->key, 1) == -1 ||
	    setenv("KAKUIN_FULLCHAIN", env->fullchain, 1) == -1)
		_exit(127);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

enum kk_status
hook_run(const char *cmd, const struct hook_env *env, struct kc_err *err)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	long timeout = env->timeout > 0 ? env->timeout : HOOK_DEFAULT_TIMEOUT;
	time_t deadline = time(NULL) + timeout;
	int status, timed_out = 0;
	pid_t pid, r;

	pid = fork();
	if (pid == -1)
		return err_set(err, KK_EIO, 1, "cannot run the deploy hook: %s",
		    strerror(errno));
	if (pid == 0)
		child(cmd, env);
	/* Both sides set the group: no race with the kill below. */
	setpgid(pid, pid);
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR)
			return err_set(err, KK_EIO, 1,
			    "cannot wait for the deploy hook: %s",
			    strerror(errno));
		if (!timed_out && time(NULL) >= deadline) {
			kill(-pid, SIGKILL);
			timed_out = 1;
		}
		nanosleep(&pause, NULL);
	}
	if (timed_out) {
		/* Whatever the hook left in its group goes too. */
		kill(-pid, SIGKILL);
		return err_set(err, KK_EIO, 1,
		    "%s: deploy hook still running after %ld s, killed; the "
		    "new certificate stays installed",
		    env->name, timeout);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return KK_OK;
	if (WIFEXITED(status))
		return err_set(err, KK_EIO, 1,
		    "%s: deploy hook failed with exit status %d; the new "
		    "certificate stays installed",
		    env->name, WEXITSTATUS(status));
	return err_set(err, KK_EIO, 1,
	    "%s: deploy hook killed by signal %d; the new certificate stays "
	    "installed",
	    env->name, WTERMSIG(status));
}
