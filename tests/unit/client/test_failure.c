#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "failure.h"
#include "fileio.h"
#include "state.h"

static char dir[64];
static struct state *st;

static void
setup(void)
{
	struct kc_err err = {0};
	char *path;

	snprintf(dir, sizeof(dir), "/tmp/kk-failure-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(state_open(dir, 1, &st, &err), KK_OK);
	cr_assert_eq(state_cert_path(st, "h", NULL, &path), KK_OK);
	cr_assert_eq(file_mkdirs(path, 0700, &err), KK_OK);
	free(path);
}

static void
teardown(void)
{
	file_remove_tree(dir, NULL);
	state_free(st);
}

TestSuite(failure, .init = setup, .fini = teardown);

Test(failure, delay_doubles_to_a_day_less_jitter)
{
	cr_assert_eq(failure_delay(1, 0), 300);
	cr_assert_eq(failure_delay(2, 0), 600);
	cr_assert_eq(failure_delay(3, 0), 1200);
	cr_assert_eq(failure_delay(9, 0), 76800);
	cr_assert_eq(failure_delay(10, 0), 86400);
	cr_assert_eq(failure_delay(1000000, 0), 86400);
	/* The jitter takes at most a tenth off, never adds. */
	cr_assert_eq(failure_delay(1, 30), 270);
	cr_assert_eq(failure_delay(1, 31), 300);
	cr_assert_geq(failure_delay(10, 0xffffffffu), 86400 - 8640);
}

Test(failure, record_counts_keeps_the_problem_and_resets)
{
	struct kc_err e = {0}, err = {0};
	struct failure f = {0};
	time_t now = 1800000000, next;

	cr_assert_eq(failure_load(st, "h", &f, &err), KK_ENOTFOUND);
	err_set(&e, KK_EINVAL, 1, "h: server says x: y");
	err_problem(&e, "urn:ietf:params:acme:error:unauthorized",
	    "organization `suspended'; $(touch /tmp/pwned)");
	cr_assert_eq(failure_record(st, "h", &e, now, &f, &err), KK_OK);
	cr_assert_eq(f.count, 1);
	failure_clear(&f);
	cr_assert_eq(failure_record(st, "h", &e, now + 10, NULL, &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_OK);
	cr_assert_eq(f.count, 2);
	cr_assert_eq(f.last, now + 10);
	cr_assert_eq(f.exit_code, 1);
	/* 600 s, less a jitter of at most a tenth (60 s). */
	cr_assert(f.next >= now + 10 + 540 && f.next <= now + 10 + 600,
	    "next %lld", (long long)(f.next - now - 10));
	cr_assert_str_eq(f.type, "urn:ietf:params:acme:error:unauthorized");
	cr_assert_str_eq(
	    f.detail, "organization `suspended'; $(touch /tmp/pwned)");
	cr_assert_str_eq(f.message, "h: server says x: y");
	failure_clear(&f);

	/* Waiting (75) keeps the count; only Retry-After moves the next. */
	err_clear(&e);
	err_set(&e, KK_ECONFLICT, EX_TEMPFAIL, "waiting");
	cr_assert_eq(failure_record(st, "h", &e, now + 20, NULL, &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_OK);
	cr_assert_eq(f.count, 2);
	cr_assert_eq(f.last, now + 10);
	next = f.next;
	failure_clear(&f);
	err_retry_after(&e, 30); /* a polling hint: no effect */
	cr_assert_eq(failure_record(st, "h", &e, now + 25, NULL, &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_OK);
	cr_assert_eq(f.next, next);
	failure_clear(&f);
	e.retry_after = 0;
	err_retry_after(&e, 7200);
	cr_assert_eq(failure_record(st, "h", &e, now + 30, NULL, &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_OK);
	cr_assert_eq(f.count, 2);
	cr_assert_eq(f.next, now + 30 + 7200);
	failure_clear(&f);

	cr_assert_eq(failure_reset(st, "h", &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_ENOTFOUND);
	cr_assert_eq(failure_reset(st, "h", &err), KK_OK);
}

Test(failure, waiting_without_retry_after_writes_nothing)
{
	struct kc_err e = {0}, err = {0};
	struct failure f = {0};

	err_set(&e, KK_ECONFLICT, EX_TEMPFAIL, "waiting");
	cr_assert_eq(
	    failure_record(st, "h", &e, 1800000000, NULL, &err), KK_OK);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_ENOTFOUND);
}

Test(failure, corrupted_file_is_a_config_error)
{
	struct kc_err err = {0};
	struct failure f = {0};
	char *path;
	FILE *fp;

	cr_assert_eq(state_cert_path(st, "h", FAILURE_FILE, &path), KK_OK);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("{\"failures\": 1, \"next\": \"soon\"}", fp);
	fclose(fp);
	cr_assert_eq(failure_load(st, "h", &f, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, path));
	free(path);
}

Test(failure, enroll_keeps_a_hand_written_failure_hook)
{
	struct state_global g = {"https://ca:8443", NULL, NULL}, back;
	struct kc_err err = {0};
	char *path;
	FILE *fp;

	cr_assert_eq(state_path(st, "config.json", &path), KK_OK);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("{\"server\": \"https://old\", \"failure_hook\": \"/bin/tell\"}",
	    fp);
	fclose(fp);
	cr_assert_eq(state_global_save(st, &g, &err), KK_OK);
	cr_assert_eq(state_global_load(st, &back, &err), KK_OK);
	cr_assert_str_eq(back.server, "https://ca:8443");
	cr_assert_str_eq(back.failure_hook, "/bin/tell");
	state_global_clear(&back);
	free(path);
}
