/*
 * kakuin - enroll, renew and install TLS client certificates from a
 * Kakuin CA (ACME with out-of-band organization verification), and drive
 * its operator API.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cmd.h"

static const char usage[] =
    "usage: kakuin [global options] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  enroll --server URL --org ORG_ID --name CN [--contact mailto:...]\n"
    "         [--eab-kid KID --eab-hmac-key-file FILE] [--key-type TYPE]\n"
    "         [--out DIR] [--deploy-hook CMD] [--hook-timeout SECONDS]\n"
    "         [--wait[=SECONDS]] [--p12 [--p12-pass-file FILE]] "
    "[--reuse-key]\n"
    "         [--identifier dns:NAME]... --challenge http-01 --webroot DIR\n"
    "         | --challenge http-01|tls-alpn-01 --standalone [ADDR:]PORT\n"
    "         | --challenge dns-01 --dns-hook CMD   (any RFC 8555 CA)\n"
    "         [--key-uri 'pkcs11:token=T;object=LABEL?module-path=SO' "
    "[--pin-file FILE]]\n"
    "  renew  [--name CN | --all] [--force] [--jitter SECONDS] [--quiet]\n"
    "         [--reuse-key] [--wait SECONDS] [--hook-timeout SECONDS]\n"
    "  status [--name CN] [--json]\n"
    "  revoke --name CN [--cert FILE] [--reason REASON]\n"
    "  account show | update --contact URI | deactivate | rollover\n"
    "  op     list [--status S] | show ID | approve ID --method "
    "phone|document\n"
    "         --legal-name NAME --evidence TEXT [--country CC]\n"
    "         [--override-reason TEXT] | reject ID\n"
    "         --reason TEXT | eab ORG [--max-uses N] [--expires T] |\n"
    "         revoke SERIAL --reason R | audit [--since T]   [--json]\n"
    "         (--token TOKEN or KAKUIN_TOKEN)\n"
    "\n"
    "global options (before or after the command):\n"
    "  --server URL      base or ACME directory URL (KAKUIN_SERVER)\n"
    "  --state-dir DIR   default /var/lib/kakuin, or ~/.local/state/kakuin\n"
    "                    when not root (KAKUIN_STATE_DIR)\n"
    "  --ca-bundle FILE  trust this CA for the server's TLS "
    "(KAKUIN_CA_BUNDLE)\n"
    "  --quiet           print nothing unless something fails or changes\n"
    "  --help, --version\n"
    "\n"
    "key types: ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096,\n"
    "ed25519. enroll remembers --server and --ca-bundle for renew.\n"
    "--out (default STATE_DIR/live/CN) gets key.pem (0600), cert.pem,\n"
    "chain.pem, fullchain.pem (and bundle.p12 with --p12, passphrase from\n"
    "--p12-pass-file or KAKUIN_P12_PASS, kept in the state directory\n"
    "for renewals), replaced atomically. The EAB HMAC key may also come\n"
    "from KAKUIN_EAB_HMAC_KEY.\n"
    "--key-uri keeps the certificate keys in a PKCS#11 token (RFC 7512):\n"
    "each is generated there, --out gets key.uri (the key's URI) instead\n"
    "of key.pem, and a renewal destroys the token's other keys under that\n"
    "label once the new certificate is installed. The PIN comes from\n"
    "pin-value or pin-source in the URI, --pin-file, or KAKUIN_PKCS11_PIN\n"
    "(kept in the state directory for renewals).\n"
    "The deploy hook runs with /bin/sh -c after a new certificate is\n"
    "installed, with KAKUIN_NAME, KAKUIN_CERT, KAKUIN_KEY, "
    "KAKUIN_FULLCHAIN,\n"
    "stdin /dev/null, killed after --hook-timeout (default 300 s), and\n"
    "retried by later runs until it succeeds.\n"
    "The dns hook is run the same way as CMD add|remove "
    "_acme-challenge.NAME VALUE.\n"
    "HTTPS_PROXY and NO_PROXY are honoured.\n"
    "\n"
    "exit status:\n"
    "   0  done, or nothing was due\n"
    "  75  waiting for an operator's verification, or retry later\n"
    "      (another run holds the lock, rate limited)\n"
    "  64  usage error (also a --server that is not https://)\n"
    "  69  server unavailable (connection, timeout, 502/503/504)\n"
    "  73  cannot write the output directory (nothing ordered)\n"
    "  78  configuration error (state file corrupted, no server known,\n"
    "      server certificate not trusted)\n"
    "   1  anything else (verification rejected, server problem, hook\n"
    "      failed: the new certificate stays installed)\n";

static const struct {
	const char *name;
	int (*run)(int, char **, struct kc_opts *);
} commands[] = {
    {"enroll", cmd_enroll},
    {"renew", cmd_renew},
    {"status", cmd_status},
    {"revoke", cmd_revoke},
    {"account", cmd_account},
    {"op", cmd_op},
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    CMD_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
	struct kc_opts o = {0};
	size_t i;
	int c, rc;

	/* "+": stop at the command; its own options are parsed there. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, &o))
			continue;
		rc = cmd_other_opt(c, usage);
		return rc < 0 ? 0 : rc;
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fputs("kakuin: cannot initialise libcurl\n", stderr);
			return 1;
		}
		rc = commands[i].run(argc - optind, argv + optind, &o);
		curl_global_cleanup();
		return rc;
	}
	return cmd_usage("unknown command '%s'", argv[optind]);
}
