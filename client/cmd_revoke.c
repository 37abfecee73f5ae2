#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cmd.h"
#include "fileio.h"
#include "lock.h"

enum { OPT_NAME = CMD_OPT_FIRST_LOCAL, OPT_REASON, OPT_CERT };

/* RFC 5280 section 5.3.1 reason codes a subscriber may give. */
static int
reason_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} reasons[] = {{"unspecified", 0}, {"keyCompromise", 1},
	    {"affiliationChanged", 3}, {"superseded", 4},
	    {"cessationOfOperation", 5}};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

static enum kk_status
read_der(const char *path, unsigned char **der, int *len, struct kc_err *err)
{
	enum kk_status st;
	X509 *x = NULL;
	char *pem;
	size_t n;
	BIO *b;

	*der = NULL;
	if ((st = file_read(path, FILE_MAX_LEN, &pem, &n, err)) != KK_OK) {
		if (st == KK_ENOTFOUND)
			st = err_set(err, st, 1, "no certificate at %s", path);
		return st;
	}
	if ((b = BIO_new_mem_buf(pem, (int)n)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	if (x == NULL || (*len = i2d_X509(x, der)) <= 0) {
		X509_free(x);
		return err_set(
		    err, KK_EINVAL, 1, "%s: not a PEM certificate", path);
	}
	X509_free(x);
	return KK_OK;
}

static const char usage[] =
    "usage: kakuin revoke --name CN [--cert FILE] [--reason REASON]\n"
    "  reasons: unspecified, keyCompromise, affiliationChanged,\n"
    "  superseded, cessationOfOperation\n" CMD_GLOBAL_HELP;

int
cmd_revoke(int argc, char **argv, struct kc_opts *o)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"cert", required_argument, NULL, OPT_CERT}, CMD_GLOBAL_OPTIONS,
	    {NULL, 0, NULL, 0}};
	const char *name = NULL, *reason = "unspecified", *certfile = NULL;
	struct cert_config cfg = {0};
	struct session s = {0};
	struct kc_err err = {0};
	unsigned char *der = NULL;
	enum kk_status st;
	char *path = NULL;
	int c, code, len = 0, rc, lockfd = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		if (c == OPT_NAME)
			name = optarg;
		else if (c == OPT_REASON)
			reason = optarg;
		else if (c == OPT_CERT)
			certfile = optarg;
		else {
			rc = cmd_other_opt(c, usage);
			return rc < 0 ? 0 : rc;
		}
	}
	if (optind != argc)
		return cmd_usage(
		    "revoke: unexpected argument '%s'", argv[optind]);
	if (name == NULL)
		return cmd_usage("revoke needs --name");
	if ((code = reason_code(reason)) < 0)
		return cmd_usage("unknown --reason '%s' (unspecified, "
		                 "keyCompromise, affiliationChanged, "
		                 "superseded, cessationOfOperation)",
		    reason);
	if ((st = session_open(o, 0, &s, &err)) != KK_OK ||
	    (st = lock_acquire(s.state->dir, 0, &lockfd, &err)) != KK_OK ||
	    (st = state_cert_load(s.state, name, &cfg, &err)) != KK_OK)
		goto out;
	if (certfile == NULL &&
	    (st = file_join(cfg.out, "cert.pem", &path)) != KK_OK)
		goto out;
	if ((st = read_der(certfile ? certfile : path, &der, &len, &err)) !=
	        KK_OK ||
	    (st = session_connect(&s, &err)) != KK_OK ||
	    (st = session_account(&s, 0, NULL, NULL, NULL, &err)) != KK_OK ||
	    (st = acme_revoke(s.acme, der, (size_t)len, code, &err)) != KK_OK)
		goto out;
	if (!o->quiet)
		printf("%s: revoked %s (%s)\n", name,
		    certfile ? certfile : path, reason);
out:
	rc = st == KK_OK ? 0 : cmd_fail(&err);
	OPENSSL_free(der);
	free(path);
	cert_config_clear(&cfg);
	lock_release(lockfd);
	session_close(&s);
	return rc;
}
