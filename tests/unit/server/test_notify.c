/*
 * test_notify.c - the notify file's rules (mode 0600, loopback-only http,
 * no unknown member), the webhook signature against a value computed by
 * `openssl dgst -hmac`, the retry backoff, and the registry's name
 * comparison and corporate-number extraction.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "notify.h"
#include "notify_conf.h"
#include "notify_send.h"
#include "registry.h"

static char dir[64];

static void
setup(void)
{
	strcpy(dir, "/tmp/kakuin-notify-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(notify, .init = setup, .fini = teardown);

/* Writes text to dir/notify.json with mode; returns the path. */
static const char *
write_conf(const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/notify.json", dir);
	unlink(path);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static void
refused(const char *text, mode_t mode, const char *why)
{
	struct notify_conf *c = NULL;
	char *err = NULL;

	cr_assert_eq(notify_conf_load(write_conf(text, mode), &c, &err),
	    KK_EINVAL, "accepted: %s", text);
	cr_assert_null(c);
	cr_assert_not_null(err);
	cr_assert_not_null(
	    strstr(err, why), "%s: no '%s' in: %s", text, why, err);
	free(err);
}

Test(notify, conf_accepts_and_names_targets)
{
	struct notify_conf *c = NULL;
	char *err = NULL;

	cr_assert_eq(
	    notify_conf_load(
	        write_conf(
	            "{\"webhooks\": [{\"url\": \"https://h.example/x\","
	            " \"secret\": \"0123456789abcdef\"},"
	            " {\"url\": \"http://127.0.0.1:9/y\","
	            " \"secret\": \"0123456789abcdefg\"}],"
	            " \"mail\": {\"relay\": \"smtp://127.0.0.1:25\","
	            " \"starttls\": true, \"from\": \"k@example.jp\","
	            " \"to\": [\"a@example.jp\"]}, \"retry_seconds\": 2}",
	            0600),
	        &c, &err),
	    KK_OK, "%s", err ? err : "");
	cr_assert_eq(notify_conf_targets(c), 3);
	cr_assert_str_eq(
	    notify_conf_target(c, 0), "webhook:https://h.example/x");
	cr_assert_str_eq(notify_conf_target(c, 2), NOTIFY_MAIL_TARGET);
	cr_assert_eq(
	    notify_conf_hook(c, "webhook:http://127.0.0.1:9/y"), &c->hooks[1]);
	cr_assert_null(notify_conf_hook(c, "webhook:https://other/"));
	cr_assert_eq(c->starttls, 1);
	cr_assert_eq(c->retry_seconds, 2);
	cr_assert_eq(c->max_attempts, 8);
	notify_conf_free(c);
}

Test(notify, conf_refusals)
{
	refused("{}", 0644, "0600");
	refused("{\"hooks\": []}", 0600, "hooks: unknown setting");
	refused("{\"webhooks\": [{\"url\": \"http://example.jp/x\", "
	        "\"secret\": \"0123456789abcdef\"}]}",
	    0600, "https");
	refused("{\"webhooks\": [{\"url\": \"https://example.jp/x\", "
	        "\"secret\": \"short\"}]}",
	    0600, "16 to 256");
	refused("{\"mail\": {\"relay\": \"http://127.0.0.1\", "
	        "\"from\": \"k@example.jp\", \"to\": [\"a@example.jp\"]}}",
	    0600, "smtp://");
	refused("{\"mail\": {\"relay\": \"smtp://127.0.0.1\", "
	        "\"from\": \"k@example.jp\", \"to\": [\"a@ex\\r\\nRCPT\"]}}",
	    0600, "to must be");
	refused("{\"retry_seconds\": 0}", 0600, "retry_seconds");
}

Test(notify, signature_is_hmac_sha256_over_t_dot_body)
{
	char sig[NOTIFY_SIG_LEN];

	/* printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac
	 * 0123456789abcdef */
	cr_assert_eq(
	    notify_sign("0123456789abcdef", 1700000000, "{\"a\":1}", sig),
	    KK_OK);
	cr_assert_str_eq(sig, "t=1700000000,v1=9eb18f493f8ec135d9eb2dad817c369b"
	                      "b4e9cbfa818657897a7437c1cd8c3a23");
}

Test(notify, backoff_doubles_up_to_six_hours)
{
	struct notify_conf c;

	memset(&c, 0, sizeof(c));
	c.retry_seconds = 30;
	cr_assert_eq(notify_backoff(&c, 1), 30);
	cr_assert_eq(notify_backoff(&c, 2), 60);
	cr_assert_eq(notify_backoff(&c, 4), 240);
	cr_assert_eq(notify_backoff(&c, 60), 6 * 3600);
}

Test(notify, registry_names_and_numbers)
{
	struct registry_entry e;

	memset(&e, 0, sizeof(e));
	e.name = "ＥＸＡＭＰＬＥ　ＰＯＷＥＲ株式会社";
	e.en_name = "Example Power Co., Ltd.";
	cr_assert_eq(registry_name_matches(&e, "Example Power株式会社"), 1);
	cr_assert_eq(registry_name_matches(&e, "  example  power株式会社 "), 1);
	cr_assert_eq(registry_name_matches(&e, "EXAMPLE POWER CO., LTD."), 1);
	cr_assert_eq(registry_name_matches(&e, "Example Power KK"), 0);
	cr_assert_eq(registry_name_matches(&e, "ExamplePower株式会社"), 0);
	cr_assert_str_eq(
	    registry_number("NTRJP-9234567890123"), "9234567890123");
	cr_assert_null(registry_number("NTRJP-923456789012"));
	cr_assert_null(registry_number("VATJP-9234567890123"));
	cr_assert_str_eq(registry_kind_name("301"), "株式会社");
	cr_assert_null(registry_kind_name("999"));
}
