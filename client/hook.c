#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"

enum kk_status
hook_run(const char *cmd, const struct hook_env *env, struct kc_err *err)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == -1)
		return err_set(err, KK_EIO, 1, "cannot run the deploy hook: %s",
		    strerror(errno));
	if (pid == 0) {
		if (setenv("KAKUIN_NAME", env->name, 1) == -1 ||
		    setenv("KAKUIN_CERT", env->cert, 1) == -1 ||
		    setenv("KAKUIN_KEY", env->key, 1) == -1 ||
		    setenv("KAKUIN_FULLCHAIN", env->fullchain, 1) == -1)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return err_set(err, KK_EIO, 1,
			    "cannot wait for the deploy hook: %s",
			    strerror(errno));
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
