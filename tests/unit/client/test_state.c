#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fileio.h"
#include "state.h"

static char dir[64];
static struct state *st;

static void
setup(void)
{
	struct kc_err err = {0};

	snprintf(dir, sizeof(dir), "/tmp/kk-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(state_open(dir, 1, &st, &err), KK_OK);
}

static void
teardown(void)
{
	file_remove_tree(dir, NULL);
	state_free(st);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

TestSuite(state, .init = setup, .fini = teardown);

Test(state, cert_config_round_trip)
{
	struct cert_config c = {0}, back = {0};
	struct kc_err err = {0};
	struct stat sb;
	char *path;

	c.name = "host-a";
	c.org = "NTRJP-9234567890123";
	c.key_type = "ec-p256";
	c.out = "/srv/tls";
	c.deploy_hook = "systemctl reload x";
	c.p12 = 1;
	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK, "%s", err.msg);
	cr_assert_eq(
	    state_cert_load(st, "host-a", &back, &err), KK_OK, "%s", err.msg);
	cr_assert_str_eq(back.org, c.org);
	cr_assert_str_eq(back.out, c.out);
	cr_assert_str_eq(back.deploy_hook, c.deploy_hook);
	cr_assert_null(back.p12_pass_file);
	cr_assert_eq(back.p12, 1);
	cr_assert_eq(back.reuse_key, 0);
	cert_config_clear(&back);
	cr_assert_eq(
	    state_cert_path(st, "host-a", "config.json", &path), KK_OK);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	free(path);
}

Test(state, missing_is_not_found)
{
	struct cert_config c;
	struct pending p;
	struct kc_err err = {0};
	char *url;

	cr_assert_eq(state_cert_load(st, "nobody", &c, &err), KK_ENOTFOUND);
	cr_assert_eq(err.code, EX_CONFIG);
	err_clear(&err);
	cr_assert_eq(state_pending_load(st, "nobody", &p, &err), KK_ENOTFOUND);
	cr_assert_eq(err.code, 0);
	cr_assert_eq(state_account_load(st, &url, &err), KK_ENOTFOUND);
}

Test(state, corrupted_file_names_itself)
{
	struct cert_config c = {0};
	struct kc_err err = {0};
	char *path, *d;

	cr_assert_eq(state_cert_path(st, "host-a", NULL, &d), KK_OK);
	cr_assert_eq(file_mkdirs(d, 0700, &err), KK_OK);
	cr_assert_eq(
	    state_cert_path(st, "host-a", "config.json", &path), KK_OK);
	write_text(path, "{\"name\": \"host-a\", \"org\":");
	cr_assert_eq(state_cert_load(st, "host-a", &c, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);

	err_clear(&err);
	write_text(path, "{\"name\": \"host-a\", \"org\": 5, \"key_type\": "
	                 "\"ec-p256\", \"out\": \"/x\"}");
	cr_assert_eq(state_cert_load(st, "host-a", &c, &err), KK_EINVAL);
	cr_assert_not_null(strstr(err.msg, "\"org\""), "%s", err.msg);

	err_clear(&err);
	write_text(path, "{\"name\": \"other\", \"org\": \"O\", \"key_type\": "
	                 "\"ec-p256\", \"out\": \"/x\"}");
	cr_assert_eq(state_cert_load(st, "host-a", &c, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);

	err_clear(&err);
	write_text(path, "[1, 2]");
	cr_assert_eq(state_cert_load(st, "host-a", &c, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	free(path);
	free(d);
}

Test(state, pending_round_trip_and_clear)
{
	struct pending p = {"https://ca/acme/order/1", 1234}, back;
	struct kc_err err = {0};
	struct cert_config c = {
	    "h", "O", "ec-p256", "/o", NULL, NULL, 0, 0, 0, NULL, NULL};

	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK);
	cr_assert_eq(state_pending_save(st, "h", &p, &err), KK_OK);
	cr_assert_eq(state_pending_load(st, "h", &back, &err), KK_OK);
	cr_assert_str_eq(back.order_url, p.order_url);
	cr_assert_eq(back.created, 1234);
	pending_clear(&back);
	cr_assert_eq(state_pending_clear(st, "h", &err), KK_OK);
	cr_assert_eq(state_pending_load(st, "h", &back, &err), KK_ENOTFOUND);
}

Test(state, names_listed_sorted)
{
	struct cert_config c = {
	    "b", "O", "ec-p256", "/o", NULL, NULL, 0, 0, 0, NULL, NULL};
	struct kc_err err = {0};
	char **names;
	size_t n;

	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK);
	c.name = "a";
	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK);
	cr_assert_eq(state_cert_names(st, &names, &n, &err), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "a");
	cr_assert_str_eq(names[1], "b");
	state_names_free(names, n);
}

Test(state, names_are_checked)
{
	cr_assert(state_name_valid("host-a.example_1"));
	cr_assert_not(state_name_valid(""));
	cr_assert_not(state_name_valid(".."));
	cr_assert_not(state_name_valid("a/b"));
	cr_assert_not(state_name_valid("-rf"));
	cr_assert_not(state_name_valid("a b"));
	cr_assert_not(state_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                               "aaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(state, global_round_trip_and_corruption)
{
	struct state_global g = {"https://ca:8443", "/etc/ca.pem", NULL}, back;
	struct kc_err err = {0};
	char *path;

	cr_assert_eq(state_global_load(st, &back, &err), KK_OK);
	cr_assert_null(back.server);
	cr_assert_eq(state_global_save(st, &g, &err), KK_OK);
	cr_assert_eq(state_global_load(st, &back, &err), KK_OK);
	cr_assert_str_eq(back.server, g.server);
	cr_assert_str_eq(back.ca_bundle, g.ca_bundle);
	state_global_clear(&back);
	cr_assert_eq(state_path(st, "config.json", &path), KK_OK);
	write_text(path, "\x01garbage");
	cr_assert_eq(state_global_load(st, &back, &err), KK_EINVAL);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, path));
	free(path);
}

Test(state, pending_created_out_of_range_is_corrupted)
{
	static const char *const bad[] = {"1e400", "-5", "\"soon\""};
	struct kc_err err = {0};
	struct pending back;
	char *path, text[128];
	size_t i;

	cr_assert_eq(state_cert_path(st, "h", NULL, &path), KK_OK);
	cr_assert_eq(file_mkdirs(path, 0700, &err), KK_OK);
	free(path);
	cr_assert_eq(state_cert_path(st, "h", "pending.json", &path), KK_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "{\"order\": \"https://ca/o/1\", \"created\": %s}", bad[i]);
		write_text(path, text);
		err_clear(&err);
		cr_assert_eq(state_pending_load(st, "h", &back, &err),
		    KK_EINVAL, "created %s accepted", bad[i]);
		cr_assert_eq(err.code, EX_CONFIG);
		cr_assert_not_null(strstr(err.msg, path));
	}
	free(path);
}

Test(state, open_reports_the_real_error)
{
	struct kc_err err = {0};
	struct state *s2 = NULL;
	char file[96], sub[128];

	/* A path through a regular file: ENOTDIR, not "does not exist". */
	snprintf(file, sizeof(file), "%s/plain", dir);
	write_text(file, "x");
	snprintf(sub, sizeof(sub), "%s/state", file);
	cr_assert_neq(state_open(sub, 0, &s2, &err), KK_OK);
	cr_assert_null(s2);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, strerror(ENOTDIR)), "%s", err.msg);
}

Test(state, markers_round_trip)
{
	struct cert_config c = {
	    "h", "O", "ec-p256", "/o", NULL, NULL, 0, 0, 0, NULL, NULL};
	struct kc_err err = {0};
	time_t when;

	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK);
	cr_assert_eq(state_marker_time(st, "h", "hook.pending", &when, &err),
	    KK_ENOTFOUND);
	cr_assert_eq(
	    state_marker_set(st, "h", "hook.pending", 1700000000, &err), KK_OK);
	cr_assert_eq(
	    state_marker_time(st, "h", "hook.pending", &when, &err), KK_OK);
	cr_assert_eq(when, 1700000000);
	cr_assert_eq(state_marker_clear(st, "h", "hook.pending", &err), KK_OK);
	cr_assert_eq(state_marker_time(st, "h", "hook.pending", &when, &err),
	    KK_ENOTFOUND);
	cr_assert_eq(state_marker_clear(st, "h", "hook.pending", &err), KK_OK);
}

Test(state, hook_timeout_round_trip)
{
	struct cert_config c = {"h", "O", "ec-p256", "/o", NULL, NULL, 0, 0, 42,
	                       NULL, NULL},
	                   back;
	struct kc_err err = {0};

	cr_assert_eq(state_cert_save(st, &c, &err), KK_OK);
	cr_assert_eq(state_cert_load(st, "h", &back, &err), KK_OK);
	cr_assert_eq(back.hook_timeout, 42);
	cert_config_clear(&back);
}
