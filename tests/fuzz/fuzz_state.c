/*
 * fuzz_state: the client's state files (and failure.json), which a crash, a
 * full disk or a person may have damaged. The first input byte picks the file,
 * the rest is its content. A file that loads must save and load back to the
 * same values; one that does not must fail as a configuration error (EX_CONFIG)
 * naming the file, never crash or be silently reset.
 */
#include <sys/stat.h>

#include "fuzz_common.h"

#include "failure.h"
#include "state.h"

#define NAME "fuzz.example"

static struct state *st;
static char *paths[6];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const rel[6] = {"config.json", "account.json",
	    "certs/" NAME "/config.json", "certs/" NAME "/pending.json",
	    "certs/" NAME "/hook.pending", "certs/" NAME "/" FAILURE_FILE};
	struct kc_err err = {0};
	char *dir = NULL;

	FUZZ_ASSERT(asprintf(&dir, "%s/state", fuzz_tmpdir()) > 0, "oom");
	FUZZ_ASSERT(state_open(dir, 1, &st, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(asprintf(&paths[0], "%s/certs", dir) > 0 &&
	                mkdir(paths[0], 0700) == 0,
	    "mkdir");
	free(paths[0]);
	FUZZ_ASSERT(asprintf(&paths[0], "%s/certs/" NAME, dir) > 0 &&
	                mkdir(paths[0], 0700) == 0,
	    "mkdir");
	free(paths[0]);
	for (int i = 0; i < 6; i++)
		FUZZ_ASSERT(state_path(st, rel[i], &paths[i]) == KK_OK, "path");
	free(dir);
	return 0;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_failure(enum kk_status rc, const struct kc_err *err, const char *path)
{
	FUZZ_ASSERT(rc == KK_EINVAL || rc == KK_ETOOBIG || rc == KK_ENOMEM,
	    "status %d for %s", (int)rc, path);
	if (rc == KK_ENOMEM)
		return;
	FUZZ_ASSERT(
	    err->code == EX_CONFIG, "exit code %d: %s", err->code, err->msg);
	FUZZ_ASSERT(strstr(err->msg, path) != NULL,
	    "the error does not name %s: %s", path, err->msg);
}

static void
global(const char *path)
{
	struct state_global g, g2;
	struct kc_err err = {0};
	enum kk_status rc;

	if ((rc = state_global_load(st, &g, &err)) != KK_OK) {
		FUZZ_ASSERT(g.server == NULL && g.ca_bundle == NULL, "partial");
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(state_global_save(st, &g, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(state_global_load(st, &g2, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(same(g.server, g2.server) &&
	                same(g.ca_bundle, g2.ca_bundle) &&
	                same(g.failure_hook, g2.failure_hook),
	    "config.json changed in a save and load");
	state_global_clear(&g);
	state_global_clear(&g2);
}

static void
account(const char *path)
{
	struct kc_err err = {0};
	char *url = NULL, *url2 = NULL;
	enum kk_status rc;

	if ((rc = state_account_load(st, &url, &err)) != KK_OK) {
		FUZZ_ASSERT(url == NULL, "partial");
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(url != NULL && *url != '\0', "empty url");
	FUZZ_ASSERT(state_account_save(st, url, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(
	    state_account_load(st, &url2, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(strcmp(url, url2) == 0, "account.json changed");
	free(url);
	free(url2);
}

static void
cert(const char *path)
{
	struct cert_config c, c2;
	struct kc_err err = {0};
	enum kk_status rc;

	if ((rc = state_cert_load(st, NAME, &c, &err)) != KK_OK) {
		FUZZ_ASSERT(c.name == NULL && c.org == NULL && c.out == NULL,
		    "partial");
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(strcmp(c.name, NAME) == 0, "name %s", c.name);
	/* org is optional: a certificate may name only dns identifiers. */
	FUZZ_ASSERT(c.key_type != NULL && c.out != NULL,
	    "a required member is missing");
	FUZZ_ASSERT(c.hook_timeout >= 0 && c.hook_timeout <= 86400,
	    "hook_timeout %ld", c.hook_timeout);
	FUZZ_ASSERT((c.p12 == 0 || c.p12 == 1) &&
	                (c.reuse_key == 0 || c.reuse_key == 1),
	    "booleans");
	FUZZ_ASSERT(state_cert_save(st, &c, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(
	    state_cert_load(st, NAME, &c2, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(same(c.org, c2.org) && same(c.key_type, c2.key_type) &&
	                same(c.out, c2.out) &&
	                same(c.deploy_hook, c2.deploy_hook) &&
	                same(c.p12_pass_file, c2.p12_pass_file) &&
	                c.p12 == c2.p12 && c.reuse_key == c2.reuse_key &&
	                c.hook_timeout == c2.hook_timeout,
	    "config.json changed in a save and load");
	cert_config_clear(&c);
	cert_config_clear(&c2);
}

static void
pending(const char *path)
{
	struct pending p, p2;
	struct kc_err err = {0};
	enum kk_status rc;

	if ((rc = state_pending_load(st, NAME, &p, &err)) != KK_OK) {
		FUZZ_ASSERT(p.order_url == NULL, "partial");
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(p.order_url != NULL && p.created >= 0, "values");
	FUZZ_ASSERT(
	    state_pending_save(st, NAME, &p, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(
	    state_pending_load(st, NAME, &p2, &err) == KK_OK, "%s", err.msg);
	FUZZ_ASSERT(
	    strcmp(p.order_url, p2.order_url) == 0 && p.created == p2.created,
	    "pending.json changed in a save and load");
	pending_clear(&p);
	pending_clear(&p2);
}

static void
marker(const char *path)
{
	struct kc_err err = {0};
	time_t when = 0, when2 = 0;
	enum kk_status rc;

	rc = state_marker_time(st, NAME, "hook.pending", &when, &err);
	if (rc != KK_OK) {
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(when >= 0, "time %lld", (long long)when);
	FUZZ_ASSERT(
	    state_marker_set(st, NAME, "hook.pending", when, &err) == KK_OK,
	    "%s", err.msg);
	FUZZ_ASSERT(state_marker_time(st, NAME, "hook.pending", &when2, &err) ==
	                    KK_OK &&
	                when == when2,
	    "marker time changed");
}

/* failure.json: loads whole or not at all, and a failure recorded on top
 * of it counts on from it. */
static void
failure(const char *path)
{
	struct kc_err err = {0}, e = {0};
	struct failure f, f2;
	enum kk_status rc;

	if ((rc = failure_load(st, NAME, &f, &err)) != KK_OK) {
		FUZZ_ASSERT(f.type == NULL && f.detail == NULL &&
		                f.message == NULL && f.count == 0,
		    "partial");
		check_failure(rc, &err, path);
		return;
	}
	FUZZ_ASSERT(f.count >= 0 && f.last >= 0 && f.next >= 0 &&
	                f.exit_code >= 0 && f.exit_code <= 255,
	    "values");
	err_set(&e, KK_EIO, EX_UNAVAILABLE, "down");
	FUZZ_ASSERT(
	    failure_record(st, NAME, &e, 1800000000, &f2, &err) == KK_OK, "%s",
	    err.msg);
	FUZZ_ASSERT(f2.count == (f.count < 1000000 ? f.count + 1 : f.count),
	    "count %d after %d", f2.count, f.count);
	FUZZ_ASSERT(
	    f2.next > 1800000000 && f2.next <= 1800000000 + FAILURE_BACKOFF_MAX,
	    "next %lld", (long long)f2.next);
	failure_clear(&f);
	failure_clear(&f2);
	FUZZ_ASSERT(failure_load(st, NAME, &f, &err) == KK_OK, "%s", err.msg);
	failure_clear(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int which;

	if (size < 1)
		return 0;
	which = data[0] % 6;
	fuzz_write(paths[which], data + 1, size - 1);
	switch (which) {
	case 0:
		global(paths[0]);
		break;
	case 1:
		account(paths[1]);
		break;
	case 2:
		cert(paths[2]);
		break;
	case 3:
		pending(paths[3]);
		break;
	case 4:
		marker(paths[4]);
		break;
	default:
		failure(paths[5]);
		break;
	}
	return 0;
}
