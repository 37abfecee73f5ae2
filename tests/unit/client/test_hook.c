#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "err.h"
#include "fileio.h"
#include "hook.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kk-hook-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	file_remove_tree(dir, NULL);
}

TestSuite(hook, .init = setup, .fini = teardown);

static char *
slurp(const char *path)
{
	struct kc_err err = {0};
	char *buf = NULL;
	size_t len;

	cr_assert_eq(file_read(path, 65536, &buf, &len, &err), KK_OK,
	    "cannot read %s", path);
	return buf;
}

static const struct hook_env base = {"h", "/c", "/k", "/f", 0};

Test(hook, secrets_removed_names_set_stdin_null)
{
	struct kc_err err = {0};
	char cmd[512], path[96], *text;

	setenv("KAKUIN_TOKEN", "tok-secret", 1);
	setenv("KAKUIN_P12_PASS", "p12-secret", 1);
	setenv("KAKUIN_EAB_HMAC_KEY", "eab-secret", 1);
	snprintf(path, sizeof(path), "%s/env", dir);
	/* cat reads stdin: it must be /dev/null (empty), not ours. */
	snprintf(cmd, sizeof(cmd), "{ env; echo STDIN=$(cat); } > %s", path);
	cr_assert_eq(hook_run(cmd, &base, &err), KK_OK, "%s", err.msg);
	text = slurp(path);
	cr_assert_null(strstr(text, "secret"), "secret leaked: %s", text);
	cr_assert_not_null(strstr(text, "KAKUIN_NAME=h\n"));
	cr_assert_not_null(strstr(text, "KAKUIN_KEY=/k\n"));
	cr_assert_not_null(strstr(text, "STDIN=\n"));
	free(text);
	/* The parent keeps its own environment. */
	cr_assert_str_eq(getenv("KAKUIN_TOKEN"), "tok-secret");
	unsetenv("KAKUIN_TOKEN");
	unsetenv("KAKUIN_P12_PASS");
	unsetenv("KAKUIN_EAB_HMAC_KEY");
}

Test(hook, failure_is_exit_1)
{
	struct kc_err err = {0};

	cr_assert_eq(hook_run("exit 3", &base, &err), KK_EIO);
	cr_assert_eq(err.code, 1);
	cr_assert_not_null(strstr(err.msg, "stays installed"));
}

Test(hook, timeout_kills_the_whole_group)
{
	struct hook_env env = base;
	struct kc_err err = {0};
	char cmd[512], path[96], *text;
	time_t t0 = time(NULL);
	pid_t bg;
	int i;

	env.timeout = 1;
	snprintf(path, sizeof(path), "%s/pid", dir);
	/* A background child that would outlive a kill of sh alone. */
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; wait", path);
	cr_assert_eq(hook_run(cmd, &env, &err), KK_EIO);
	cr_assert(time(NULL) - t0 < 10, "the hook was not stopped in time");
	cr_assert_eq(err.code, 1);
	cr_assert_not_null(strstr(err.msg, "killed"), "%s", err.msg);
	text = slurp(path);
	bg = (pid_t)atol(text);
	free(text);
	cr_assert_gt(bg, 1);
	/* Reaped by init shortly after SIGKILL. */
	for (i = 0; i < 50 && kill(bg, 0) == 0; i++)
		usleep(100 * 1000);
	cr_assert_neq(kill(bg, 0), 0, "the hook's child survived");
}

Test(hook, timeout_counts_from_the_start)
{
	struct hook_env env = base;
	struct kc_err err = {0};
	struct timespec ts, pause = {0, 0};

	/*
	 * Start at .9 of a second of the wall clock: a deadline kept in
	 * whole seconds of it would fall 0.1 s later and kill a hook that
	 * needs 0.3 s of its one (0.7 s to spare on a busy machine).
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	pause.tv_nsec = (1900000000L - ts.tv_nsec) % 1000000000L;
	nanosleep(&pause, NULL);
	env.timeout = 1;
	cr_assert_eq(hook_run("sleep 0.3", &env, &err), KK_OK, "%s", err.msg);
}
