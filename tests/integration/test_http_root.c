/*
 * kakuin-server serves no files, so nothing on the host's filesystem may
 * change its answers. civetweb, left to itself, looks for a password file
 * before each request, and with no document root that is /.htpasswd:
 * with one there, every request was answered 401. The server runs with
 * tests/preload/rootfile.c, which shows it a .htpasswd at the root (no
 * test may write one there), and must answer ACME clients and operators
 * as ever.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct hsrv srv;
static char dir[] = "/tmp/kakuin-root-XXXXXX";

/* A digest password file as civetweb's own tools write one. */
static const char htpasswd[] =
    "admin:example.org:0123456789abcdef0123456789abcdef\n";

static void
setup(void)
{
	const char *env[] = {"ROOTFILE_DIR", dir, NULL};
	char path[sizeof(dir) + 32];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.htpasswd", dir);
	hwrite(path, htpasswd, sizeof(htpasswd) - 1);
	hsrv_start_preloaded(&srv, KAKUIN_ROOTFILE, env);
	snprintf(path, sizeof(path), "%s/loaded", dir);
	cr_assert_eq(access(path, F_OK), 0, "%s was not loaded into the server",
	    KAKUIN_ROOTFILE);
}

static void
teardown(void)
{
	char path[sizeof(dir) + 32];

	hsrv_stop(&srv);
	snprintf(path, sizeof(path), "%s/.htpasswd", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/loaded", dir);
	unlink(path);
	rmdir(dir);
}

TestSuite(http_root, .init = setup, .fini = teardown, .timeout = 60);

Test(http_root, a_password_file_at_the_root_changes_no_answer)
{
	struct hresp r;
	char url[256], *nonce_url, *tok;

	snprintf(url, sizeof(url), "%s/acme/directory", srv.base);
	hreq(&srv, "GET", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "the directory: HTTP %ld", r.status);
	hresp_clear(&r);

	nonce_url = hurl(&srv, "newNonce");
	hreq(&srv, "HEAD", nonce_url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "newNonce: HTTP %ld", r.status);
	cr_assert_not_null(r.nonce);
	hresp_clear(&r);
	free(nonce_url);

	tok = hsrv_token(&srv, "root-test", "operator");
	hoper(&srv, tok, "GET", "verifications", NULL, &r);
	cr_assert_eq(r.status, 200, "an operator's list: HTTP %ld", r.status);
	hresp_clear(&r);
	free(tok);
}
