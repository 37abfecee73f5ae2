#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "fileio.h"
#include "flow.h"
#include "hostkey.h"
#include "install.h"
#include "keys.h"
#include "lock.h"
#include "solve.h"

#define ENROLL_MAX_CONTACTS 8
#define ENROLL_DEFAULT_WAIT 3600

enum {
	OPT_ORG = CMD_OPT_FIRST_LOCAL,
	OPT_NAME,
	OPT_CONTACT,
	OPT_EAB_KID,
	OPT_EAB_HMAC,
	OPT_KEY_TYPE,
	OPT_OUT,
	OPT_HOOK,
	OPT_WAIT,
	OPT_P12,
	OPT_P12_PASS_FILE,
	OPT_REUSE_KEY,
	OPT_EAB_HMAC_FILE,
	OPT_HOOK_TIMEOUT,
	OPT_IDENTIFIER,
	OPT_CHALLENGE,
	OPT_WEBROOT,
	OPT_STANDALONE,
	OPT_DNS_HOOK,
	OPT_KEY_URI,
	OPT_PIN_FILE,
};

struct enroll_args {
	const char *org, *name, *eab_kid, *eab_hmac, *key_type, *out, *hook;
	const char *p12_pass_file, *eab_hmac_file, *key_uri, *pin_file;
	const char *contacts[ENROLL_MAX_CONTACTS + 1];
	const char *dns[SOLVE_MAX_NAMES];
	const char *webroot, *standalone, *dns_hook;
	enum solve_type challenge;
	int ncontacts, ndns, p12, reuse_key;
	long wait, hook_timeout;
};

/* An absolute path for what the user typed, so cron's cwd does not matter. */
static enum kk_status
absolute(const char *path, char **out)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		*out = strdup(path);
		return *out == NULL ? KK_ENOMEM : KK_OK;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return KK_EIO;
	return file_join(cwd, path, out);
}

static const char usage[] =
    "usage: kakuin enroll --server URL --org ORG_ID --name CN [options]\n"
    "       kakuin enroll --server URL --identifier dns:NAME --challenge TYPE\n"
    "                     [options]\n"
    "  --identifier dns:NAME      (repeatable; org:ID is --org)\n"
    "  --challenge TYPE           http-01, dns-01 or tls-alpn-01\n"
    "  --webroot DIR | --standalone [ADDR:]PORT | --dns-hook CMD\n"
    "  --contact mailto:...       (repeatable)\n"
    "  --eab-kid KID --eab-hmac-key-file FILE (or KAKUIN_EAB_HMAC_KEY)\n"
    "  --key-type TYPE            ec-p256 (default), ec-p384, rsa-2048,\n"
    "                             rsa-3072, rsa-4096, ed25519\n"
    "  --out DIR                  default STATE_DIR/live/CN\n"
    "  --key-uri pkcs11:URI       key in a PKCS#11 token (object=LABEL)\n"
    "  --pin-file FILE            its PIN (or KAKUIN_PKCS11_PIN)\n"
    "  --deploy-hook CMD --hook-timeout SECONDS\n"
    "  --wait[=SECONDS] --p12 [--p12-pass-file FILE] "
    "--reuse-key\n" CMD_GLOBAL_HELP;

/* A host name (or "*." one) as RFC 1035 spells it; the CA checks more. */
static int
dns_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	return n > 0 && n <= 253 && *s != '\0' && *s != '.' && *s != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789-.") == strlen(s);
}

static int
parse(int argc, char **argv, struct kc_opts *o, struct enroll_args *a)
{
	static const struct option opts[] = {
	    {"org", required_argument, NULL, OPT_ORG},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"contact", required_argument, NULL, OPT_CONTACT},
	    {"eab-kid", required_argument, NULL, OPT_EAB_KID},
	    {"eab-hmac-key", required_argument, NULL, OPT_EAB_HMAC},
	    {"key-type", required_argument, NULL, OPT_KEY_TYPE},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"deploy-hook", required_argument, NULL, OPT_HOOK},
	    {"wait", optional_argument, NULL, OPT_WAIT},
	    {"p12", no_argument, NULL, OPT_P12},
	    {"p12-pass-file", required_argument, NULL, OPT_P12_PASS_FILE},
	    {"reuse-key", no_argument, NULL, OPT_REUSE_KEY},
	    {"eab-hmac-key-file", required_argument, NULL, OPT_EAB_HMAC_FILE},
	    {"hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT},
	    {"identifier", required_argument, NULL, OPT_IDENTIFIER},
	    {"challenge", required_argument, NULL, OPT_CHALLENGE},
	    {"webroot", required_argument, NULL, OPT_WEBROOT},
	    {"standalone", required_argument, NULL, OPT_STANDALONE},
	    {"dns-hook", required_argument, NULL, OPT_DNS_HOOK},
	    {"key-uri", required_argument, NULL, OPT_KEY_URI},
	    {"pin-file", required_argument, NULL, OPT_PIN_FILE},
	    CMD_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	a->key_type = KEYS_DEFAULT_TYPE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		switch (c) {
		case OPT_ORG:
			a->org = optarg;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_CONTACT:
			if (a->ncontacts == ENROLL_MAX_CONTACTS)
				return cmd_usage("at most %d --contact",
				    ENROLL_MAX_CONTACTS);
			if (strncmp(optarg, "mailto:", 7) != 0)
				return cmd_usage("--contact must be a mailto: "
				                 "URI, not '%s'",
				    optarg);
			a->contacts[a->ncontacts++] = optarg;
			break;
		case OPT_EAB_KID:
			a->eab_kid = optarg;
			break;
		case OPT_EAB_HMAC:
			a->eab_hmac = optarg;
			break;
		case OPT_KEY_TYPE:
			a->key_type = optarg;
			break;
		case OPT_OUT:
			a->out = optarg;
			break;
		case OPT_HOOK:
			a->hook = optarg;
			break;
		case OPT_WAIT:
			a->wait = optarg == NULL ? ENROLL_DEFAULT_WAIT
			                         : cmd_seconds(optarg);
			if (a->wait < 0)
				return cmd_usage("--wait takes seconds, not "
				                 "'%s'",
				    optarg);
			break;
		case OPT_P12:
			a->p12 = 1;
			break;
		case OPT_P12_PASS_FILE:
			a->p12_pass_file = optarg;
			break;
		case OPT_REUSE_KEY:
			a->reuse_key = 1;
			break;
		case OPT_EAB_HMAC_FILE:
			a->eab_hmac_file = optarg;
			break;
		case OPT_HOOK_TIMEOUT:
			a->hook_timeout = cmd_seconds(optarg);
			if (a->hook_timeout < 1 || a->hook_timeout > 86400)
				return cmd_usage(
				    "--hook-timeout takes 1..86400 "
				    "seconds, not '%s'",
				    optarg);
			break;
		case OPT_IDENTIFIER:
			if (strncmp(optarg, "org:", 4) == 0) {
				a->org = optarg + 4;
				break;
			}
			if (strncmp(optarg, "dns:", 4) != 0 ||
			    !dns_name_valid(optarg + 4))
				return cmd_usage("--identifier takes dns:NAME "
				                 "or org:ID, not '%s'",
				    optarg);
			if (a->ndns == SOLVE_MAX_NAMES)
				return cmd_usage("at most %d dns identifiers",
				    SOLVE_MAX_NAMES);
			a->dns[a->ndns++] = optarg + 4;
			break;
		case OPT_CHALLENGE:
			if (solve_type_parse(optarg, &a->challenge) != 0)
				return cmd_usage(
				    "--challenge takes http-01, "
				    "dns-01 or tls-alpn-01, not '%s'",
				    optarg);
			break;
		case OPT_WEBROOT:
			a->webroot = optarg;
			break;
		case OPT_STANDALONE:
			if (solve_listen_parse(optarg, NULL) != 0)
				return cmd_usage("--standalone takes "
				                 "[ADDR:]PORT (IPv4), not '%s'",
				    optarg);
			a->standalone = optarg;
			break;
		case OPT_DNS_HOOK:
			a->dns_hook = optarg;
			break;
		case OPT_KEY_URI:
			a->key_uri = optarg;
			break;
		case OPT_PIN_FILE:
			a->pin_file = optarg;
			break;
		default:
			return cmd_other_opt(c, usage);
		}
	}
	if (optind != argc)
		return cmd_usage(
		    "enroll: unexpected argument '%s'", argv[optind]);
	if (a->org == NULL && a->ndns == 0)
		return cmd_usage("enroll needs --org or --identifier dns:NAME");
	/* Without an org the certificate is named after its first name. */
	if (a->name == NULL && a->org == NULL)
		a->name = a->dns[0];
	if (a->name == NULL)
		return cmd_usage("enroll needs --name with --org");
	if (!state_name_valid(a->name))
		return cmd_usage("--name '%s': use letters, digits, '.', '-' "
		                 "and '_' (at most %d, not starting with '.' "
		                 "or '-')",
		    a->name, STATE_NAME_MAX);
	if (!keys_type_valid(a->key_type))
		return cmd_usage("unknown --key-type '%s'", a->key_type);
	if (a->eab_hmac != NULL && a->eab_hmac_file != NULL)
		return cmd_usage("give --eab-hmac-key or --eab-hmac-key-file, "
		                 "not both");
	/* The environment keeps the key out of ps(1); a file, too. */
	if (a->eab_hmac == NULL && a->eab_hmac_file == NULL &&
	    a->eab_kid != NULL && getenv("KAKUIN_EAB_HMAC_KEY") != NULL &&
	    *getenv("KAKUIN_EAB_HMAC_KEY") != '\0')
		a->eab_hmac = getenv("KAKUIN_EAB_HMAC_KEY");
	if ((a->eab_kid == NULL) !=
	    (a->eab_hmac == NULL && a->eab_hmac_file == NULL))
		return cmd_usage("--eab-kid needs --eab-hmac-key, "
		                 "--eab-hmac-key-file or KAKUIN_EAB_HMAC_KEY");
	if (a->p12_pass_file != NULL && !a->p12)
		return cmd_usage("--p12-pass-file needs --p12");
	if (a->pin_file != NULL && a->key_uri == NULL)
		return cmd_usage("--pin-file needs --key-uri");
	if (a->key_uri != NULL) {
		struct kc_err e = {0};

		if (hostkey_check_uri(a->key_uri, a->key_type, &e) != KK_OK)
			return cmd_usage("%s", e.msg);
		/* A token key cannot be exported into a PKCS#12 file. */
		if (a->p12)
			return cmd_usage("--p12 cannot hold a key that stays "
			                 "in a token (--key-uri)");
		/* RFC 7512 allows it; ps(1) shows it to every user. */
		if (strstr(a->key_uri, "pin-value=") != NULL)
			fprintf(stderr,
			    "kakuin: warning: the PIN in "
			    "--key-uri's pin-value is visible in "
			    "ps; use --pin-file or %s\n",
			    HOSTKEY_PIN_ENV);
	}
	return 0;
}

static enum kk_status
make_config(const struct session *s, const struct enroll_args *a,
    struct cert_config *c, struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	char *dflt = NULL;

	memset(c, 0, sizeof(*c));
	c->p12 = a->p12;
	c->reuse_key = a->reuse_key;
	c->hook_timeout = a->hook_timeout;
	if ((c->name = strdup(a->name)) == NULL ||
	    (a->org != NULL && (c->org = strdup(a->org)) == NULL) ||
	    (c->key_type = strdup(a->key_type)) == NULL)
		goto out;
	if (a->hook != NULL && (c->deploy_hook = strdup(a->hook)) == NULL)
		goto out;
	if (a->p12_pass_file != NULL &&
	    (st = absolute(a->p12_pass_file, &c->p12_pass_file)) != KK_OK)
		goto out;
	/* Remembered without its PIN; pin_keep keeps that apart. */
	if (a->key_uri != NULL &&
	    (st = p11_uri_display(a->key_uri, &c->key_uri)) != KK_OK)
		goto out;
	if (a->pin_file != NULL &&
	    (st = absolute(a->pin_file, &c->pin_file)) != KK_OK)
		goto out;
	if (a->out != NULL)
		st = absolute(a->out, &c->out);
	else if ((st = state_path(s->state, "live", &dflt)) == KK_OK)
		st = file_join(dflt, a->name, &c->out);
	if (st != KK_OK)
		goto out;
	/* Fail now, not after an operator approved, if --out is unusable. */
	st = install_check_out(c->out, err);
out:
	free(dflt);
	if (st != KK_OK)
		cert_config_clear(c);
	return st;
}

/* The dns identifiers and how to prove them, for certs/NAME/solve.json. */
static enum kk_status
make_solve(const struct enroll_args *a, struct solve_cfg *c)
{
	enum kk_status st = KK_ENOMEM;
	int i;

	memset(c, 0, sizeof(*c));
	c->type = a->challenge;
	c->hook_timeout = a->hook_timeout;
	for (i = 0; i < a->ndns; i++, c->nnames++)
		if ((c->names[i] = strdup(a->dns[i])) == NULL)
			goto out;
	if ((a->standalone != NULL &&
	        (c->listen = strdup(a->standalone)) == NULL) ||
	    (a->dns_hook != NULL &&
	        (c->dns_hook = strdup(a->dns_hook)) == NULL))
		goto out;
	st = a->webroot != NULL ? absolute(a->webroot, &c->webroot) : KK_OK;
out:
	if (st != KK_OK)
		solve_cfg_clear(c);
	return st;
}

/* The first line of a secret file; *out caller frees (cleanse first). */
static enum kk_status
read_secret(const char *path, char **out, struct kc_err *err)
{
	enum kk_status st;
	size_t len;

	st = file_read(path, 4096, out, &len, err);
	if (st == KK_ENOTFOUND)
		return err_set(err, st, EX_CONFIG, "%s does not exist", path);
	if (st != KK_OK)
		return st;
	(*out)[strcspn(*out, "\r\n")] = '\0';
	return KK_OK;
}

/*
 * renew runs from cron, without KAKUIN_P12_PASS: a passphrase given only
 * in the environment is kept in certs/NAME/p12.pass (0600) and that file
 * is remembered as --p12-pass-file, so every later renewal has it.
 */
static enum kk_status
p12_keep(struct session *s, struct cert_config *c, struct kc_err *err)
{
	enum kk_status st;
	char *pass = NULL, *dir = NULL, *path = NULL;

	if ((st = flow_p12_pass(c, &pass, err)) != KK_OK)
		return st;
	if (c->p12_pass_file != NULL)
		goto out;
	if ((st = state_cert_path(s->state, c->name, NULL, &dir)) != KK_OK ||
	    (st = file_mkdirs(dir, 0700, err)) != KK_OK ||
	    (st = state_cert_path(s->state, c->name, "p12.pass", &path)) !=
	        KK_OK ||
	    (st = file_write_atomic(path, pass, strlen(pass), 0600, err)) !=
	        KK_OK)
		goto out;
	c->p12_pass_file = path;
	path = NULL;
out:
	OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	free(dir);
	free(path);
	return st;
}

/*
 * renew runs from cron, without enroll's environment or command line: a
 * token PIN given as pin-value or in KAKUIN_PKCS11_PIN is kept in
 * certs/NAME/pkcs11.pin (0600) and remembered as --pin-file.
 */
static enum kk_status
pin_keep(struct session *s, struct cert_config *c, const char *uri,
    struct kc_err *err)
{
	struct p11_pin from = {NULL, HOSTKEY_PIN_ENV};
	enum kk_status st;
	struct p11_uri u;
	char *pin = NULL, *dir = NULL, *path = NULL, *why = NULL;

	if (uri == NULL || c->pin_file != NULL)
		return KK_OK;
	if ((st = p11_uri_parse(uri, &u, NULL)) != KK_OK)
		return st;
	if (u.pin_source != NULL)
		goto out;
	if ((st = p11_pin_get(&u, &from, &pin, &why)) != KK_OK) {
		st = err_set(err, st, EX_CONFIG, "%s",
		    why != NULL ? why : "cannot read the token's PIN");
		goto out;
	}
	if (pin == NULL)
		goto out;
	if ((st = state_cert_path(s->state, c->name, NULL, &dir)) != KK_OK ||
	    (st = file_mkdirs(dir, 0700, err)) != KK_OK ||
	    (st = state_cert_path(s->state, c->name, "pkcs11.pin", &path)) !=
	        KK_OK ||
	    (st = file_write_atomic(path, pin, strlen(pin), 0600, err)) !=
	        KK_OK)
		goto out;
	c->pin_file = path;
	path = NULL;
out:
	if (pin != NULL)
		OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
	free(why);
	free(dir);
	free(path);
	p11_uri_clear(&u);
	return st;
}

int
cmd_enroll(int argc, char **argv, struct kc_opts *o)
{
	struct enroll_args a;
	struct cert_config c = {0};
	struct solve_cfg sc = {0};
	struct session s = {0};
	struct pending p = {0};
	struct kc_err err = {0};
	struct flow f;
	enum kk_status st;
	char why[160];
	EVP_PKEY *key = NULL;
	char *abs_bundle = NULL, *hmac = NULL;
	int rc, lockfd = -1;

	if ((rc = parse(argc, argv, o, &a)) != 0)
		return rc < 0 ? 0 : rc;
	/* The challenge options must make one complete choice. */
	if (make_solve(&a, &sc) != KK_OK)
		return 1;
	if (solve_cfg_check(&sc, why, sizeof(why)) != 0) {
		solve_cfg_clear(&sc);
		return cmd_usage("%s", why);
	}
	/* Remembered for cron, whose working directory is not ours. */
	if (o->ca_bundle == NULL && getenv("KAKUIN_CA_BUNDLE") != NULL &&
	    *getenv("KAKUIN_CA_BUNDLE") != '\0')
		o->ca_bundle = getenv("KAKUIN_CA_BUNDLE");
	if (o->ca_bundle != NULL) {
		if (absolute(o->ca_bundle, &abs_bundle) != KK_OK)
			return 1;
		o->ca_bundle = abs_bundle;
	}
	if ((st = session_open(o, 1, &s, &err)) != KK_OK)
		goto out;
	if ((st = lock_acquire(s.state->dir, 0, &lockfd, &err)) != KK_OK)
		goto out;
	if ((st = make_config(&s, &a, &c, &err)) != KK_OK)
		goto out;
	if (c.p12 && (st = p12_keep(&s, &c, &err)) != KK_OK)
		goto out;
	if ((st = pin_keep(&s, &c, a.key_uri, &err)) != KK_OK)
		goto out;
	if (a.eab_hmac_file != NULL &&
	    (st = read_secret(a.eab_hmac_file, &hmac, &err)) != KK_OK)
		goto out;
	if ((st = session_connect(&s, &err)) != KK_OK ||
	    (st = session_remember(&s, &err)) != KK_OK ||
	    (st = session_account(&s, 1, a.contacts, a.eab_kid,
	         hmac ? hmac : a.eab_hmac, &err)) != KK_OK ||
	    (st = state_cert_save(s.state, &c, &err)) != KK_OK ||
	    (st = solve_cfg_save(s.state, c.name, &sc, &err)) != KK_OK)
		goto out;
	f.s = &s;
	f.cfg = &c;
	f.wait_seconds = (int)a.wait;
	f.log = o->quiet ? NULL : stdout;
	st = state_pending_load(s.state, c.name, &p, &err);
	if (st == KK_OK) {
		if (!o->quiet)
			printf("%s: continuing the pending order\n", c.name);
		st = flow_resume(&f, &err);
		if (st != KK_OK && f.dropped) {
			err_clear(&err);
			st = KK_ENOTFOUND;
		}
	}
	if (st == KK_ENOTFOUND && c.key_uri != NULL)
		st = flow_new_token_order(&f, NULL, &err);
	else if (st == KK_ENOTFOUND) {
		if ((st = keys_generate(c.key_type, &key, &err)) == KK_OK)
			st = flow_new_order(&f, key, NULL, &err);
	}
	if (st == KK_OK)
		st = flow_run_hook(s.state, &c, f.log, &err);
out:
	rc = st == KK_OK ? 0 : cmd_fail(&err);
	lock_release(lockfd);
	EVP_PKEY_free(key);
	pending_clear(&p);
	cert_config_clear(&c);
	solve_cfg_clear(&sc);
	session_close(&s);
	free(abs_bundle);
	if (hmac != NULL)
		OPENSSL_cleanse(hmac, strlen(hmac));
	free(hmac);
	return rc;
}
