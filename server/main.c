/*
 * kakuin-server: the ACME server and operator API.
 *
 *   kakuin-server [options] [serve]          serve (the default)
 *   kakuin-server [options] init             create the data directory
 *   kakuin-server [options] token create --name NAME --role ROLE
 *   kakuin-server [options] token revoke NAME
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "config.h"
#include "datadir.h"
#include "http.h"
#include "oper.h"
#include "policy.h"
#include "srv.h"
#include "store.h"

#ifndef KAKUIN_DEFAULT_POLICY
#define KAKUIN_DEFAULT_POLICY "/usr/share/kakuin/default.json"
#endif

#define EX_OK_ 0
#define EX_FAIL 1
#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69
#define EX_CONFIG_ 78
#define MAINTAIN_EVERY 30 /* seconds between expiry sweeps and CRL checks */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kakuin-server [options] [serve]\n"
	    "       kakuin-server [options] init\n"
	    "       kakuin-server [options] token create --name NAME --role "
	    "operator|auditor\n"
	    "       kakuin-server [options] token revoke NAME\n"
	    "\n"
	    "options:\n"
	    "  --config FILE       JSON settings (listen, data_dir, policy, "
	    "ca_cert,\n"
	    "                      ca_key, storage, base_url, threads,\n"
	    "                      connections_per_address)\n"
	    "  --listen HOST:PORT  address to serve on (127.0.0.1:8443; port "
	    "0 = any)\n"
	    "  --data-dir DIR      data directory (./kakuin-data)\n"
	    "  --policy FILE       policy (DIR/policy.json)\n"
	    "  --ca-cert FILE      import this issuing CA certificate at "
	    "init\n"
	    "  --ca-key FILE       and its key\n"
	    "  --storage URL       sqlite:PATH (sqlite:DIR/kakuin.db)\n"
	    "  --base-url URL      external URL of the server "
	    "(https://HOST:PORT)\n"
	    "  --help, --version\n"
	    "\n"
	    "exit status: 0 ok, 1 failure, 64 usage, 69 cannot listen, "
	    "78 configuration\n");
}

/* The storage URL up to its scheme: the rest may hold a password. */
static const char *
scheme_of(const char *url, char buf[32])
{
	size_t n = strcspn(url, ":");

	snprintf(buf, 32, "%.*s:", (int)(n < 30 ? n : 30), url);
	return buf;
}

/* Port 0: find a free port first, so that every URL is known before the
 * first request can arrive. */
static int
free_port(const char *host)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
datadir_opts_from(const struct config *c, struct datadir_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = c->data_dir;
	o->listen_host = c->listen_host;
	o->ca_cert = c->ca_cert;
	o->ca_key = c->ca_key;
	o->default_policy = getenv("KAKUIN_DEFAULT_POLICY")
	                        ? getenv("KAKUIN_DEFAULT_POLICY")
	                        : KAKUIN_DEFAULT_POLICY;
}

static int
cmd_init(const struct config *c)
{
	struct datadir_opts o;
	struct store *st = NULL;
	char *err = NULL, scheme[32];
	enum kk_status rc;

	datadir_opts_from(c, &o);
	if ((rc = datadir_init(&o, &err)) != KK_OK) {
		fprintf(stderr, "kakuin-server: init: %s\n",
		    err ? err : kk_strerror(rc));
		free(err);
		return rc == KK_EEXIST ? EX_CONFIG_ : EX_FAIL;
	}
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr, "kakuin-server: storage %s %s\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		return EX_CONFIG_;
	}
	store_close(st);
	printf("created %s (root CA: %s/root.pem)\n", c->data_dir, c->data_dir);
	return EX_OK_;
}

static int
cmd_token(const struct config *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct store *st = NULL;
	struct audit_event e;
	const char *name = NULL, *role = NULL;
	char *token = NULL, scheme[32];
	enum kk_status rc;
	int ch, ex = EX_FAIL;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE_;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch == 'r')
			role = optarg;
		else
			return EX_USAGE_;
	}
	if (strcmp(argv[1], "create") == 0 &&
	    (name == NULL || role == NULL || optind != argc)) {
		fprintf(stderr, "kakuin-server: token create needs --name "
		                "NAME --role operator|auditor\n");
		return EX_USAGE_;
	}
	if (strcmp(argv[1], "revoke") == 0 && optind == argc - 1)
		name = argv[optind];
	else if (strcmp(argv[1], "create") != 0) {
		fprintf(stderr, "kakuin-server: token create|revoke\n");
		return EX_USAGE_;
	}
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr,
		    "kakuin-server: storage %s %s (run init "
		    "first?)\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		return EX_CONFIG_;
	}
	if (strcmp(argv[1], "create") == 0) {
		rc = oper_token_create(st, name, role, &token);
		if (rc == KK_OK) {
			/* Alone on its line: scripts read it with $(...). */
			printf("%s\n", token);
			fprintf(stderr,
			    "token for %s (%s) created; it is shown only "
			    "once\n",
			    name, role);
			ex = EX_OK_;
		} else
			fprintf(stderr, "kakuin-server: token create: %s\n",
			    rc == KK_EEXIST   ? "an active token has that name"
			    : rc == KK_EINVAL ? "name must be letters, digits, "
			                        "-_. and role operator or "
			                        "auditor"
			                      : kk_strerror(rc));
		if (token != NULL) {
			memset(token, 0, strlen(token));
			free(token);
		}
	} else {
		memset(&e, 0, sizeof(e));
		e.at = time(NULL);
		e.actor = "cli";
		e.action = "token.revoke";
		e.object = (char *)name;
		/* The revocation and its audit record stand or fall
		 * together. */
		if ((rc = store_begin(st)) == KK_OK) {
			if ((rc = store_token_revoke(st, name, e.at)) ==
			        KK_OK &&
			    (rc = store_audit_append(st, &e)) == KK_OK)
				rc = store_commit(st);
			else
				store_rollback(st);
		}
		if (rc == KK_OK) {
			fprintf(stderr, "token %s revoked\n", name);
			ex = EX_OK_;
		} else
			fprintf(stderr, "kakuin-server: token revoke %s: %s\n",
			    name, kk_strerror(rc));
	}
	store_close(st);
	return ex;
}

static int
cmd_serve(struct config *c)
{
	struct datadir_opts o;
	struct store *st = NULL;
	struct ca *ca = NULL;
	struct policy *pol = NULL;
	struct srv *s = NULL;
	struct http_server *h = NULL;
	char *err = NULL, *tls = NULL, scheme[32];
	sigset_t sigs;
	struct timespec ts = {MAINTAIN_EVERY, 0};
	int port, bound = 0, sig, ex = EX_FAIL;
	enum kk_status rc;

	datadir_opts_from(c, &o);
	if ((rc = datadir_ensure(&o, &err)) != KK_OK) {
		fprintf(
		    stderr, "kakuin-server: %s\n", err ? err : kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	if ((rc = policy_load(c->policy, &pol, &err)) != KK_OK) {
		fprintf(
		    stderr, "kakuin-server: %s\n", err ? err : kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr, "kakuin-server: cannot open storage %s %s\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	if ((rc = ca_load(c->data_dir, &ca)) != KK_OK) {
		fprintf(stderr,
		    "kakuin-server: cannot load the CA from %s: "
		    "%s\n",
		    c->data_dir, kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	port = c->listen_port;
	if (port == 0 && (port = free_port(c->listen_host)) <= 0) {
		fprintf(stderr, "kakuin-server: no free port on %s\n",
		    c->listen_host);
		ex = EX_UNAVAILABLE_;
		goto out;
	}
	if (c->base_url == NULL &&
	    asprintf(&c->base_url, "https://%s:%d",
	        strcmp(c->listen_host, "0.0.0.0") == 0 ? "localhost"
	                                               : c->listen_host,
	        port) < 0) {
		c->base_url = NULL;
		goto out;
	}
	if ((rc = srv_new(c->base_url, st, ca, pol, &s)) != KK_OK)
		goto out;
	st = NULL;
	ca = NULL;
	pol = NULL;
	srv_crl_refresh(s, time(NULL));

	/* Workers inherit this mask: only the main thread takes signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (asprintf(&tls, "%s/private/tls.pem", c->data_dir) < 0) {
		tls = NULL;
		goto out;
	}
	if ((rc = http_start(s, c->listen_host, port, tls, c->threads,
	         c->conns_per_addr, &h, &bound, &err)) != KK_OK) {
		fprintf(
		    stderr, "kakuin-server: %s\n", err ? err : kk_strerror(rc));
		ex = rc == KK_ECRYPTO ? EX_FAIL : EX_UNAVAILABLE_;
		goto out;
	}
	srv_log("listening on %s/acme/directory (data in %s)", s->base_url,
	    c->data_dir);
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		srv_maintain(s, time(NULL));
	}
	srv_log("stopping on signal %d", sig);
	ex = EX_OK_;
out:
	http_stop(h);
	srv_free(s);
	store_close(st);
	ca_free(ca);
	policy_free(pol);
	free(err);
	free(tls);
	return ex;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"policy", required_argument, NULL, 'p'},
	    {"ca-cert", required_argument, NULL, 'C'},
	    {"ca-key", required_argument, NULL, 'K'},
	    {"storage", required_argument, NULL, 's'},
	    {"base-url", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct config c;
	const char *cmd;
	char *err = NULL;
	int ch, ex = EX_USAGE_;
	enum kk_status rc = KK_OK;

	if (config_defaults(&c) != KK_OK)
		return EX_FAIL;
	/* --config first, so that flags override the file whatever order. */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0 &&
		    config_load(&c, argv[i + 1], &err) != KK_OK) {
			fprintf(stderr, "kakuin-server: %s\n",
			    err ? err : "cannot read the config file");
			free(err);
			config_clear(&c);
			return EX_CONFIG_;
		}
	/* "+": stop at the subcommand, whose own options follow it. */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			break;
		case 'l':
			rc = config_set_listen(&c, optarg);
			if (rc != KK_OK) {
				fprintf(stderr, "kakuin-server: --listen "
				                "HOST:PORT\n");
				goto out;
			}
			break;
		case 'd':
			rc = config_set(&c.data_dir, optarg);
			break;
		case 'p':
			rc = config_set(&c.policy, optarg);
			break;
		case 'C':
			rc = config_set(&c.ca_cert, optarg);
			break;
		case 'K':
			rc = config_set(&c.ca_key, optarg);
			break;
		case 's':
			rc = config_set(&c.storage, optarg);
			break;
		case 'b':
			rc = config_set(&c.base_url, optarg);
			break;
		case 'h':
			usage(stdout);
			ex = EX_OK_;
			goto out;
		case 'V':
			printf("kakuin-server %s\n", KAKUIN_VERSION);
			ex = EX_OK_;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
		if (rc != KK_OK) {
			ex = EX_FAIL;
			goto out;
		}
	}
	if ((c.ca_cert == NULL) != (c.ca_key == NULL)) {
		fprintf(stderr, "kakuin-server: --ca-cert and --ca-key go "
		                "together\n");
		goto out;
	}
	if (config_finish(&c) != KK_OK) {
		ex = EX_FAIL;
		goto out;
	}
	cmd = optind < argc ? argv[optind] : "serve";
	if (strcmp(cmd, "serve") == 0 && optind + 1 >= argc)
		ex = cmd_serve(&c);
	else if (strcmp(cmd, "init") == 0 && optind + 1 == argc)
		ex = cmd_init(&c);
	else if (strcmp(cmd, "token") == 0)
		ex = cmd_token(&c, argc - optind, argv + optind);
	else
		usage(stderr);
out:
	config_clear(&c);
	return ex;
}
