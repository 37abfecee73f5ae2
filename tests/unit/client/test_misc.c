#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "acme.h"
#include "fileio.h"
#include "http.h"
#include "lock.h"

Test(http, retry_after)
{
	cr_assert_eq(http_parse_retry_after("120", 0), 120);
	cr_assert_eq(http_parse_retry_after(" 7 ", 0), 7);
	cr_assert_eq(http_parse_retry_after("-3", 0), -1);
	cr_assert_eq(http_parse_retry_after("soon", 0), -1);
	cr_assert_eq(http_parse_retry_after("12abc", 0), -1);
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777. */
	cr_assert_eq(http_parse_retry_after(
	                 "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30),
	    30);
	cr_assert_eq(http_parse_retry_after(
	                 "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30),
	    0);
}

Test(acme, directory_url)
{
	char *u;

	cr_assert_eq(acme_directory_url("https://ca.example:8443", &u), KK_OK);
	cr_assert_str_eq(u, "https://ca.example:8443/acme/directory");
	free(u);
	cr_assert_eq(acme_directory_url("https://ca.example:8443/", &u), KK_OK);
	cr_assert_str_eq(u, "https://ca.example:8443/acme/directory");
	free(u);
	cr_assert_eq(
	    acme_directory_url("https://ca/acme/directory", &u), KK_OK);
	cr_assert_str_eq(u, "https://ca/acme/directory");
	free(u);
	cr_assert_eq(acme_origin("https://ca:1/acme/directory", &u), KK_OK);
	cr_assert_str_eq(u, "https://ca:1");
	free(u);
	cr_assert_eq(acme_origin("no-scheme", &u), KK_EINVAL);
}

Test(acme, problem_becomes_type_and_detail)
{
	const char *p = "{\"type\": \"urn:ietf:params:acme:error:rateLimited\","
	                " \"detail\": \"10 orders per hour\"}";
	struct kc_err err = {0};

	cr_assert_eq(acme_problem_err("u", 429, p, strlen(p), &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_TEMPFAIL);
	cr_assert_not_null(strstr(err.msg, "rateLimited: 10 orders per hour"));
	err_clear(&err);
	acme_problem_err("u", 503, "busy", 4, &err);
	cr_assert_eq(err.code, EX_UNAVAILABLE);
	err_clear(&err);
	p = "{\"type\": \"urn:ietf:params:acme:error:unauthorized\", "
	    "\"detail\": \"no\"}";
	acme_problem_err("u", 403, p, strlen(p), &err);
	cr_assert_eq(err.code, 1);
}

Test(lock, second_holder_gets_75)
{
	char dir[] = "/tmp/kk-lock-XXXXXX";
	struct kc_err err = {0};
	int fd, status;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(lock_acquire(dir, 0, &fd, &err), KK_OK);
	/* flock is per open file: another process must see it busy. */
	pid = fork();
	if (pid == 0) {
		struct kc_err e2 = {0};
		int fd2;
		enum kk_status s = lock_acquire(dir, 1, &fd2, &e2);
		_exit(s == KK_ECONFLICT && e2.code == EX_TEMPFAIL ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	lock_release(fd);
	pid = fork();
	if (pid == 0) {
		struct kc_err e2 = {0};
		int fd2;
		_exit(lock_acquire(dir, 0, &fd2, &e2) == KK_OK ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	file_remove_tree(dir, NULL);
}

Test(fileio, atomic_write_replaces)
{
	char dir[] = "/tmp/kk-file-XXXXXX", *path, *buf;
	struct kc_err err = {0};
	size_t len;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(file_join(dir, "f", &path), KK_OK);
	cr_assert_eq(file_write_atomic(path, "one", 3, 0600, &err), KK_OK);
	cr_assert_eq(file_write_atomic(path, "second", 6, 0600, &err), KK_OK);
	cr_assert_eq(file_read(path, 100, &buf, &len, &err), KK_OK);
	cr_assert_str_eq(buf, "second");
	free(buf);
	cr_assert_eq(file_read(path, 3, &buf, &len, &err), KK_ETOOBIG);
	free(path);
	file_remove_tree(dir, NULL);
}

/* Sizes around the buffer file_read starts with and around max. */
Test(fileio, read_sizes)
{
	static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 70000};
	char dir[] = "/tmp/kk-file-XXXXXX", *path, *buf, *data;
	struct kc_err err = {0};
	size_t i, len;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(file_join(dir, "f", &path), KK_OK);
	cr_assert_not_null(data = malloc(70000));
	for (i = 0; i < 70000; i++)
		data[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unlink(path);
		cr_assert_eq(
		    file_write_new(path, data, sizes[i], 0600, &err), KK_OK);
		cr_assert_eq(
		    file_read(path, sizes[i] + 1, &buf, &len, &err), KK_OK);
		cr_assert_eq(len, sizes[i]);
		cr_assert_eq(memcmp(buf, data, len), 0);
		cr_assert_eq(buf[len], '\0');
		free(buf);
		cr_assert_eq(
		    file_read(path, sizes[i], &buf, &len, &err), KK_OK);
		cr_assert_eq(len, sizes[i]);
		free(buf);
		if (sizes[i] > 0)
			cr_assert_eq(
			    file_read(path, sizes[i] - 1, &buf, &len, &err),
			    KK_ETOOBIG, "size %zu", sizes[i]);
		/* A file larger than the start buffer, read with a larger
		 * max, grows the buffer past it. */
		cr_assert_eq(file_read(path, 1 << 20, &buf, &len, &err), KK_OK);
		cr_assert_eq(len, sizes[i]);
		free(buf);
	}
	/* A /proc file says size 0: read until its end. */
	cr_assert_eq(
	    file_read("/proc/self/status", 1 << 20, &buf, &len, &err), KK_OK);
	cr_assert_gt(len, 0);
	cr_assert_not_null(strstr(buf, "Pid:"));
	free(buf);
	free(data);
	free(path);
	file_remove_tree(dir, NULL);
}

Test(fileio, stale_tmp_names)
{
	char own[64];

	cr_assert(file_is_stale_tmp("pending.key.tmp.12345"));
	cr_assert(file_is_stale_tmp("hook.pending.tmp.1"));
	cr_assert(file_is_stale_tmp("a.tmp.b.tmp.77"));
	cr_assert_not(file_is_stale_tmp("pending.key"));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp."));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.12a"));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.-1"));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.0"));
	cr_assert_not(file_is_stale_tmp(".tmp.123"));
	cr_assert_not(file_is_stale_tmp("x.tmp.99999999999999999999999"));
	/* kk_file_write_atomic's names: PID and a random part. */
	cr_assert(file_is_stale_tmp("pending.key.tmp.12345.0a1b2c3d4e5f"));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.12345."));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.12345.xyz"));
	cr_assert_not(file_is_stale_tmp("pending.key.tmp.12345.0a.txt"));
	/* This run's own file is being written, not stale. */
	snprintf(own, sizeof(own), "f.tmp.%ld", (long)getpid());
	cr_assert_not(file_is_stale_tmp(own));
	snprintf(own, sizeof(own), "f.tmp.%ld.00ff", (long)getpid());
	cr_assert_not(file_is_stale_tmp(own));
}

/* file_write_atomic (kk_file_write_atomic) replaces, sets the mode, and
 * names the file when it fails, leaving no temporary file. */
Test(fileio, atomic_write_replaces_and_cleans_up)
{
	char dir[] = "/tmp/kk-tmpname-XXXXXX", *path, *buf;
	struct kc_err err = {0};
	struct dirent *de;
	struct stat sb;
	size_t len;
	DIR *d;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(file_join(dir, "f.json", &path), KK_OK);
	cr_assert_eq(file_write_atomic(path, "{}", 2, 0600, &err), KK_OK);
	cr_assert_eq(file_write_atomic(path, "{1}", 3, 0640, &err), KK_OK);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0640);
	cr_assert_eq(file_read(path, 16, &buf, &len, &err), KK_OK);
	cr_assert_str_eq(buf, "{1}");
	free(buf);
	/* A directory where the file goes: the write fails, naming it, and
	 * leaves no temporary file. */
	free(path);
	cr_assert_eq(file_join(dir, "d", &path), KK_OK);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(file_write_atomic(path, "x", 1, 0600, &err), KK_EIO);
	cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
	cr_assert_not_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		cr_assert_null(
		    strstr(de->d_name, ".tmp."), "%s left", de->d_name);
	closedir(d);
	rmdir(path);
	free(path);
	file_remove_tree(dir, NULL);
}

Test(lock, wait_counts_from_the_start)
{
	char dir[] = "/tmp/kk-lock-XXXXXX";
	struct timespec ts, pause = {0, 0}, hold = {0, 400 * 1000 * 1000};
	struct kc_err err = {0};
	int held, fd, status;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(lock_acquire(dir, 0, &held, &err), KK_OK);
	/*
	 * Start at .9 of a second of the wall clock: a wait of one second
	 * kept in whole seconds of it would end 0.1 s later, while another
	 * run still holds the lock for 0.4 s (0.6 s to spare on a busy
	 * machine).
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	pause.tv_nsec = (1900000000L - ts.tv_nsec) % 1000000000L;
	nanosleep(&pause, NULL);
	/* The child's copy of the descriptor holds the lock until it exits. */
	pid = fork();
	if (pid == 0) {
		nanosleep(&hold, NULL);
		_exit(0);
	}
	lock_release(held);
	cr_assert_eq(lock_acquire(dir, 1, &fd, &err), KK_OK, "%s", err.msg);
	lock_release(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	file_remove_tree(dir, NULL);
}

/* Taking the lock removes what killed runs left, two levels down. */
Test(lock, removes_stale_tmp_files)
{
	char dir[] = "/tmp/kk-lock-XXXXXX", path[128];
	static const char *const stale[] = {"account.json.tmp.99999999",
	    "certs/h/pending.key.tmp.4", "certs/h/hook.pending.tmp.5"};
	static const char *const kept[] = {"certs/h/pending.key",
	    "certs/h/x/y.tmp.6", "certs/h/notes.tmp.txt"};
	struct kc_err err = {0};
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/certs/h/x", dir);
	cr_assert_eq(file_mkdirs(path, 0700, &err), KK_OK);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, stale[i]);
		cr_assert_eq(file_write_new(path, "k", 1, 0600, &err), KK_OK);
		snprintf(path, sizeof(path), "%s/%s", dir, kept[i]);
		cr_assert_eq(file_write_new(path, "k", 1, 0600, &err), KK_OK);
	}
	cr_assert_eq(lock_acquire(dir, 0, &fd, &err), KK_OK);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, stale[i]);
		cr_assert_neq(access(path, F_OK), 0, "%s left", stale[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, kept[i]);
		cr_assert_eq(access(path, F_OK), 0, "%s removed", kept[i]);
	}
	lock_release(fd);
	file_remove_tree(dir, NULL);
}

Test(err, exit_codes_stay_in_the_table)
{
	static const int in[] = {0, 1, EX_USAGE, EX_DATAERR, EX_NOINPUT,
	    EX_UNAVAILABLE, EX_SOFTWARE, EX_OSERR, EX_CANTCREAT, EX_IOERR,
	    EX_TEMPFAIL, EX_NOPERM, EX_CONFIG};
	static const int want[] = {1, 1, EX_USAGE, 1, 1, EX_UNAVAILABLE, 1, 1,
	    EX_CANTCREAT, 1, EX_TEMPFAIL, 1, EX_CONFIG};
	struct kc_err e = {0};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		e.code = in[i];
		cr_assert_eq(err_exit_code(&e), want[i], "code %d gave %d",
		    in[i], err_exit_code(&e));
	}
}

Test(err, definitive_only_for_4xx_problems)
{
	static const char notfound[] =
	    "{\"type\":\"urn:ietf:params:acme:error:malformed\","
	    "\"detail\":\"no such order\"}";
	static const char limited[] =
	    "{\"type\":\"urn:ietf:params:acme:error:rateLimited\"}";
	struct kc_err e = {0};

	acme_problem_err("x", 404, notfound, strlen(notfound), &e);
	cr_assert(err_definitive(&e));
	cr_assert_eq(e.status, 404);
	err_clear(&e);
	acme_problem_err("x", 429, limited, strlen(limited), &e);
	cr_assert_not(err_definitive(&e));
	err_clear(&e);
	acme_problem_err("x", 503, "", 0, &e);
	cr_assert_not(err_definitive(&e));
	err_clear(&e);
	/* A transport failure is no answer at all. */
	err_set(&e, KK_EIO, EX_UNAVAILABLE, "timeout");
	cr_assert_not(err_definitive(&e));
}
