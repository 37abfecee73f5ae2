/*
 * kakuin-server: the ACME server and operator API.
 *
 *   kakuin-server [serve] [options]          serve (the default)
 *   kakuin-server init [options]             create the data directory
 *   kakuin-server token create --name NAME --role ROLE [options]
 *   kakuin-server token revoke NAME [options]
 *   kakuin-server registry import FILE [options]
 *
 * Options may come before or after the command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ca.h"
#include "config.h"
#include "datadir.h"
#include "http.h"
#include "kk_log.h"
#include "notify.h"
#include "p11.h"
#include "policy.h"
#include "ra.h"
#include "ra_registry.h"
#include "selfpath.h"
#include "srv.h"
#include "store.h"

/* Where the build installs the default policy: relative to this binary's
 * directory first, so that a moved installation (and the build tree, which
 * keeps a copy at the same relative place) finds its own; the absolute
 * path only when /proc is not there. */
#ifndef KAKUIN_POLICY_RELPATH
#define KAKUIN_POLICY_RELPATH "../share/kakuin/default.json"
#endif
#ifndef KAKUIN_POLICY_PATH
#define KAKUIN_POLICY_PATH "/usr/local/share/kakuin/default.json"
#endif

#define EX_OK_ 0
#define EX_FAIL 1
#define EX_USAGE_ 64
#define EX_DATAERR_ 65
#define EX_NOINPUT_ 66
#define EX_UNAVAILABLE_ 69
#define EX_CONFIG_ 78
#define MAINTAIN_EVERY 30 /* seconds between expiry sweeps and CRL checks */
#define VA_MAX_MAX 10000  /* --va-max: far above any thread count */
#define ACTIVE_MAX 256    /* --active: as many as there may be threads */

/* What the command line asks for besides the settings in struct config. */
struct cli {
	const char *cmd;    /* serve (the default), init, token or registry */
	const char *action; /* token: create or revoke; registry: import */
	const char *file;   /* registry import: the CSV file */
	const char *name;   /* token: --name, or revoke's operand */
	const char *role;   /* token create: --role */
	int help;
};

/* The usage of cmd (serve, init or token), or of all when NULL or unknown. */
static void
usage(FILE *f, const char *cmd)
{
	static const struct {
		const char *cmd, *text;
	} synopsis[] = {
	    {"serve", "kakuin-server [serve] [options]"},
	    {"init", "kakuin-server init [options]"},
	    {"token", "kakuin-server token create --name NAME --role "
	              "operator|auditor [options]"},
	    {"token", "kakuin-server token revoke NAME [options]"},
	    {"registry", "kakuin-server registry import FILE [options]"},
	};
	const char *lead = "usage:";
	size_t i;
	int all = 1;

	for (i = 0; cmd != NULL && i < sizeof(synopsis) / sizeof(*synopsis);
	     i++)
		if (strcmp(cmd, synopsis[i].cmd) == 0)
			all = 0;
	for (i = 0; i < sizeof(synopsis) / sizeof(*synopsis); i++) {
		if (!all && strcmp(cmd, synopsis[i].cmd) != 0)
			continue;
		fprintf(f, "%-6s %s\n", lead, synopsis[i].text);
		lead = "";
	}
	fprintf(f,
	    "\n"
	    "options (before or after the command):\n"
	    "  --config FILE       JSON settings (listen, data_dir, policy, "
	    "ca_cert,\n"
	    "                      ca_key, ca_pin_file, storage, base_url, "
	    "threads,\n"
	    "                      connections_per_address, notify)\n"
	    "  --listen HOST:PORT  address to serve on (127.0.0.1:8443; port "
	    "0 = any)\n"
	    "  --data-dir DIR      data directory (./kakuin-data)\n"
	    "  --policy FILE       policy (DIR/policy.json)\n"
	    "  --ca-cert FILE      import this issuing CA certificate at "
	    "init\n"
	    "  --ca-key FILE|URI   and its key; or a pkcs11: URI (RFC 7512):\n"
	    "                      the issuing key in a token, generated there "
	    "at\n"
	    "                      init (PIN: --ca-pin-file or KAKUIN_CA_PIN)\n"
	    "  --ca-pin-file FILE  the token's user PIN (first line)\n"
	    "  --storage URL       sqlite:PATH (sqlite:DIR/kakuin.db) or\n"
	    "                      postgresql://USER@HOST:PORT/DB\n"
	    "  --base-url URL      external URL of the server "
	    "(https://HOST:PORT)\n"
	    "  --va-http-port PORT port http-01 validation connects to (80)\n"
	    "  --va-tls-port PORT  port tls-alpn-01 validation connects to "
	    "(443)\n"
	    "  --va-resolver IPV4:PORT|[IPV6]:PORT  DNS server for every "
	    "validation\n"
	    "                      lookup (the system's resolver)\n"
	    "  --va-timeout SECS   time one validation may take (10)\n"
	    "  --va-max N          validations running at a time (half the "
	    "threads)\n"
	    "  --va-per-account N  of those, one account's (4; 0 = no "
	    "limit)\n"
	    "  --va-allow-private  let validation connect to loopback, "
	    "private,\n"
	    "                      link-local and reserved addresses (tests "
	    "only)\n"
	    "  --active N          requests worked on at once, the others "
	    "wait\n"
	    "                      their turn (three per CPU; 0 = no limit)\n"
	    "  --notify FILE       webhooks and mail (DIR/notify.json if "
	    "present)\n"
	    "  --name NAME         token: the operator's name\n"
	    "  --role ROLE         token create: operator or auditor\n"
	    "  --help, --version\n"
	    "\n"
	    "exit status: 0 ok, 1 failure, 64 usage, 65 registry file not "
	    "CSV,\n"
	    "             66 cannot read it, 69 cannot listen, 78 "
	    "configuration\n");
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

/* *policy (caller frees) is the default policy's path:
 * KAKUIN_DEFAULT_POLICY from the environment, or the installed file. */
static enum kk_status
datadir_opts_from(const struct config *c, struct datadir_opts *o, char **policy)
{
	const char *env = getenv("KAKUIN_DEFAULT_POLICY");
	enum kk_status rc;

	memset(o, 0, sizeof(*o));
	o->dir = c->data_dir;
	o->listen_host = c->listen_host;
	o->ca_cert = c->ca_cert;
	o->ca_key = c->ca_key;
	o->ca_pin_file = c->ca_pin_file;
	if (env != NULL && *env != '\0')
		rc = (*policy = strdup(env)) != NULL ? KK_OK : KK_ENOMEM;
	else
		rc = selfpath_find(
		    KAKUIN_POLICY_RELPATH, KAKUIN_POLICY_PATH, policy);
	o->default_policy = *policy;
	return rc;
}

static int
cmd_init(const struct config *c)
{
	struct datadir_opts o;
	struct store *st = NULL;
	char *err = NULL, *policy = NULL, scheme[32];
	enum kk_status rc;
	int ex = EX_FAIL;

	if (datadir_opts_from(c, &o, &policy) != KK_OK)
		goto out;
	if ((rc = datadir_init(&o, &err)) != KK_OK) {
		fprintf(stderr, "kakuin-server: init: %s\n",
		    err ? err : kk_strerror(rc));
		ex = rc == KK_EEXIST ? EX_CONFIG_ : EX_FAIL;
		goto out;
	}
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr, "kakuin-server: storage %s %s\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	store_close(st);
	printf("created %s (root CA: %s/root.pem)\n", c->data_dir, c->data_dir);
	ex = EX_OK_;
out:
	free(err);
	free(policy);
	return ex;
}

static int
cmd_token(const struct config *c, const struct cli *a)
{
	struct store *st = NULL;
	struct ra ra;
	const char *name = a->name, *role = a->role;
	char *token = NULL, scheme[32];
	enum kk_status rc;
	int ex = EX_FAIL;

	memset(&ra, 0, sizeof(ra));
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr,
		    "kakuin-server: storage %s %s (run init "
		    "first?)\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		return EX_CONFIG_;
	}
	ra.store = st;
	if (strcmp(a->action, "create") == 0) {
		rc =
		    ra_token_create(&ra, "cli", name, role, time(NULL), &token);
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
			OPENSSL_cleanse(token, strlen(token));
			free(token);
		}
	} else {
		rc = ra_token_revoke(&ra, "cli", name, time(NULL));
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

/* registry import: each rejected record on stderr, the first few. */
static void
registry_rejected(void *arg, long line, const char *why)
{
	long *shown = arg;

	if (++*shown <= 1000)
		fprintf(stderr, "kakuin-server: registry: line %ld: %s\n", line,
		    why);
}

static int
cmd_registry(const struct config *c, const struct cli *a)
{
	struct registry_report rep;
	struct store *st = NULL;
	struct ra ra;
	FILE *f = NULL;
	char *err = NULL, scheme[32];
	long shown = 0;
	enum kk_status rc;
	int ex = EX_FAIL;

	if ((f = strcmp(a->file, "-") == 0 ? stdin : fopen(a->file, "r")) ==
	    NULL) {
		fprintf(stderr, "kakuin-server: registry: %s: %s\n", a->file,
		    strerror(errno));
		return EX_NOINPUT_;
	}
	if ((rc = store_open(c->storage, &st)) != KK_OK) {
		fprintf(stderr,
		    "kakuin-server: storage %s %s (run init first?)\n",
		    scheme_of(c->storage, scheme), kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	memset(&ra, 0, sizeof(ra));
	ra.store = st;
	rc = ra_registry_import(&ra, "cli", a->file, f, time(NULL), &rep,
	    registry_rejected, &shown, &err);
	if (shown > 1000)
		fprintf(stderr, "kakuin-server: registry: %ld more rejected\n",
		    shown - 1000);
	printf("%ld records: %ld stored, %ld already up to date, %ld not the "
	       "latest, %ld rejected\n",
	    rep.rows, rep.stored, rep.kept, rep.not_latest, rep.rejected);
	if (rc != KK_OK) {
		fprintf(stderr, "kakuin-server: registry import %s: %s\n",
		    a->file, err != NULL ? err : kk_strerror(rc));
		ex = rc == KK_EINVAL ? EX_DATAERR_ : EX_FAIL;
		goto out;
	}
	ex = EX_OK_;
out:
	if (f != NULL && f != stdin)
		fclose(f);
	store_close(st);
	free(err);
	return ex;
}

/*
 * The notify file: c->notify, or DIR/notify.json when it exists; *out
 * stays NULL when there is none (no notifications). 0, or -1 with the
 * reason printed.
 */
static int
notify_load(const struct config *c, struct notify_conf **out)
{
	char *path = NULL, *err = NULL;
	enum kk_status rc;
	int ret = -1;

	*out = NULL;
	if (c->notify != NULL)
		path = strdup(c->notify);
	else if (asprintf(&path, "%s/notify.json", c->data_dir) < 0)
		path = NULL;
	if (path == NULL)
		return -1;
	if (c->notify == NULL && access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	if ((rc = notify_conf_load(path, out, &err)) != KK_OK)
		fprintf(stderr, "kakuin-server: %s\n",
		    err != NULL ? err : kk_strerror(rc));
	else {
		kk_log("notifications: %zu webhooks, mail %s (%s)",
		    (*out)->n_hooks, (*out)->relay != NULL ? "on" : "off",
		    path);
		ret = 0;
	}
	free(err);
	free(path);
	return ret;
}

/*
 * Three requests per CPU at work: one on the CPU and two ready behind it,
 * so that a CPU finds work while one waits for the store's lock. Many
 * more only take turns preempting the thread that holds that lock
 * (docs/performance.md). The CPUs are those this process may run on
 * (taskset, cpusets), not all the machine has; where the affinity mask
 * cannot be read (a kernel with more than 1,024 possible CPUs), those
 * online.
 */
static int
active_default(void)
{
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return n <= ACTIVE_MAX / 3 ? 3 * (int)n : ACTIVE_MAX;
}

static int
cmd_serve(struct config *c)
{
	struct datadir_opts o;
	struct ca_key_opts ko = {c->ca_key, c->ca_pin_file};
	struct store *st = NULL;
	struct ca *ca = NULL;
	struct policy *pol = NULL;
	struct srv *s = NULL;
	struct http_server *h = NULL;
	struct notify_conf *nc = NULL;
	struct notify_worker *nw = NULL;
	char *err = NULL, *tls = NULL, *policy = NULL, scheme[32];
	sigset_t sigs;
	struct timespec ts = {MAINTAIN_EVERY, 0};
	int port, bound = 0, sig, ex = EX_FAIL;
	enum kk_status rc;

	if (datadir_opts_from(c, &o, &policy) != KK_OK)
		goto out;
	if ((rc = datadir_ensure(&o, &err)) != KK_OK) {
		fprintf(
		    stderr, "kakuin-server: %s\n", err ? err : kk_strerror(rc));
		ex = EX_CONFIG_;
		goto out;
	}
	if (notify_load(c, &nc) != 0) {
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
	free(err);
	err = NULL;
	if ((rc = ca_open(c->data_dir, &ko, &ca, &err)) != KK_OK) {
		fprintf(stderr,
		    "kakuin-server: cannot load the CA from %s: "
		    "%s\n",
		    c->data_dir, err ? err : kk_strerror(rc));
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
	s->va.http_port = c->va_http_port;
	s->va.tls_port = c->va_tls_port;
	s->va.timeout = c->va_timeout;
	s->va.allow_private = c->va_allow_private;
	/* A validation holds its worker for up to --va-timeout: by default
	 * half the workers may, the other half keep answering the rest. */
	if (srv_va_limits(s,
	        c->va_max > 0 ? c->va_max
	                      : (c->threads / 2 > 0 ? c->threads / 2 : 1),
	        c->va_per_account) != KK_OK)
		goto out;
	if (c->va_resolver != NULL &&
	    (s->va.resolver = strdup(c->va_resolver)) == NULL)
		goto out;
	if (srv_active(s, c->active >= 0 ? c->active : active_default()) !=
	    KK_OK)
		goto out;
	s->ra.notify = nc;
	crl_refresh(s->crl, time(NULL));

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
	if (nc != NULL && notify_start(nc, &s->ra, &nw) != KK_OK)
		goto out;
	kk_log("listening on %s/acme/directory (data in %s)", s->base_url,
	    c->data_dir);
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		srv_maintain(s, time(NULL));
	}
	kk_log("stopping on signal %d", sig);
	ex = EX_OK_;
out:
	notify_stop(nw);
	http_stop(h);
	srv_free(s);
	notify_conf_free(nc);
	store_close(st);
	ca_free(ca);
	policy_free(pol);
	free(err);
	free(tls);
	free(policy);
	return ex;
}

/*
 * The operands (command, action, argument) in *a. Checks their number and
 * that --name and --role go with token; 0 if they make sense.
 */
static int
parse_command(char **ops, int n, struct cli *a)
{
	a->cmd = n > 0 ? ops[0] : "serve";
	if (strcmp(a->cmd, "registry") == 0) {
		a->action = n > 1 ? ops[1] : "";
		if (strcmp(a->action, "import") == 0 && n == 3 &&
		    a->name == NULL && a->role == NULL) {
			a->file = ops[2];
			return 0;
		}
		fprintf(stderr, "kakuin-server: registry import FILE\n");
		return -1;
	}
	if (strcmp(a->cmd, "token") != 0)
		return (n <= 1 && a->name == NULL && a->role == NULL &&
		           (strcmp(a->cmd, "serve") == 0 ||
		               strcmp(a->cmd, "init") == 0))
		           ? 0
		           : -1;
	a->action = n > 1 ? ops[1] : "";
	if (strcmp(a->action, "create") == 0) {
		if (n == 2 && a->name != NULL && a->role != NULL)
			return 0;
		fprintf(stderr, "kakuin-server: token create needs --name "
		                "NAME --role operator|auditor\n");
		return -1;
	}
	if (strcmp(a->action, "revoke") == 0 && a->role == NULL) {
		/* The name as its operand or as --name, not both. */
		if (n == 3 && a->name == NULL) {
			a->name = ops[2];
			return 0;
		}
		if (n == 2 && a->name != NULL)
			return 0;
	}
	fprintf(stderr, "kakuin-server: token create|revoke\n");
	return -1;
}

/*
 * --va-http-port, --va-tls-port (1..65535), --va-timeout (1..300),
 * --va-max (1..VA_MAX_MAX), --va-per-account (0..VA_MAX_MAX).
 */
static int
va_number(int ch, const char *arg, struct config *c)
{
	char *end;
	long v = strtol(arg, &end, 10);
	long min = ch == 'Q' ? 0 : 1;
	long max = ch == 'O'                ? 300
	           : ch == 'M' || ch == 'Q' ? VA_MAX_MAX
	                                    : 65535;

	if (*arg == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "kakuin-server: --va-%s takes %ld to %ld\n",
		    ch == 'H'   ? "http-port"
		    : ch == 'T' ? "tls-port"
		    : ch == 'M' ? "max"
		    : ch == 'Q' ? "per-account"
		                : "timeout",
		    min, max);
		return -1;
	}
	if (ch == 'H')
		c->va_http_port = (int)v;
	else if (ch == 'T')
		c->va_tls_port = (int)v;
	else if (ch == 'M')
		c->va_max = (int)v;
	else if (ch == 'Q')
		c->va_per_account = (int)v;
	else
		c->va_timeout = (int)v;
	return 0;
}

/* --active: 0 (no limit) to ACTIVE_MAX. */
static int
active_number(const char *arg, struct config *c)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < 0 || v > ACTIVE_MAX) {
		fprintf(stderr, "kakuin-server: --active takes 0 to %d\n",
		    ACTIVE_MAX);
		return -1;
	}
	c->active = (int)v;
	return 0;
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
	    {"ca-pin-file", required_argument, NULL, 'P'},
	    {"storage", required_argument, NULL, 's'},
	    {"base-url", required_argument, NULL, 'b'},
	    {"va-http-port", required_argument, NULL, 'H'},
	    {"va-tls-port", required_argument, NULL, 'T'},
	    {"va-resolver", required_argument, NULL, 'R'},
	    {"va-timeout", required_argument, NULL, 'O'},
	    {"va-allow-private", no_argument, NULL, 'A'},
	    {"va-max", required_argument, NULL, 'M'},
	    {"va-per-account", required_argument, NULL, 'Q'},
	    {"active", required_argument, NULL, 'a'},
	    {"notify", required_argument, NULL, 'N'},
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct config c;
	struct cli a = {0};
	char *err = NULL, *ops[4];
	int ch, nops = 0, ex = EX_USAGE_;
	enum kk_status rc = KK_OK;

	if (config_defaults(&c) != KK_OK)
		return EX_FAIL;
	/* --config first, so that flags override the file whatever their
	 * order: a first pass, quiet, reads only --config. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
		if (ch != 'c' || config_load(&c, optarg, &err) == KK_OK)
			continue;
		fprintf(stderr, "kakuin-server: %s\n",
		    err ? err : "cannot read the config file");
		free(err);
		config_clear(&c);
		return EX_CONFIG_;
	}
	opterr = 1;
	optind = 0;
	/* "-": operands come back as 1, in order, so that options may come
	 * before or after the command (also under POSIXLY_CORRECT). */
	while ((ch = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (nops == (int)(sizeof(ops) / sizeof(*ops))) {
				usage(stderr, ops[0]);
				goto out;
			}
			ops[nops++] = optarg;
			break;
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
		case 'P':
			rc = config_set(&c.ca_pin_file, optarg);
			break;
		case 's':
			rc = config_set(&c.storage, optarg);
			break;
		case 'b':
			rc = config_set(&c.base_url, optarg);
			break;
		case 'H':
		case 'T':
		case 'O':
		case 'M':
		case 'Q':
			if (va_number(ch, optarg, &c) != 0)
				goto out;
			break;
		case 'a':
			if (active_number(optarg, &c) != 0)
				goto out;
			break;
		case 'A':
			c.va_allow_private = 1;
			break;
		case 'R':
			if (va_resolver_ok(optarg) != KK_OK) {
				fprintf(stderr, "kakuin-server: --va-resolver "
				                "IPV4:PORT or [IPV6]:PORT\n");
				goto out;
			}
			rc = config_set(&c.va_resolver, optarg);
			break;
		case 'N':
			rc = config_set(&c.notify, optarg);
			break;
		case 'n':
			a.name = optarg;
			break;
		case 'r':
			a.role = optarg;
			break;
		case 'h':
			a.help = 1;
			break;
		case 'V':
			printf("kakuin-server %s\n", KAKUIN_VERSION);
			ex = EX_OK_;
			goto out;
		default:
			usage(stderr, nops > 0 ? ops[0] : NULL);
			goto out;
		}
		if (rc != KK_OK) {
			ex = EX_FAIL;
			goto out;
		}
	}
	/* After "--", the rest are operands. */
	while (optind < argc && nops < (int)(sizeof(ops) / sizeof(*ops)))
		ops[nops++] = argv[optind++];
	if (a.help) {
		usage(stdout, nops > 0 ? ops[0] : NULL);
		ex = EX_OK_;
		goto out;
	}
	if (optind < argc || parse_command(ops, nops, &a) != 0) {
		usage(stderr, nops > 0 ? ops[0] : NULL);
		goto out;
	}
	/* RFC 7512 allows it; ps(1) shows it to every user. */
	if (c.ca_key != NULL && strstr(c.ca_key, "pin-value=") != NULL)
		fprintf(stderr, "kakuin-server: warning: the PIN in --ca-key's "
		                "pin-value is visible in ps; use --ca-pin-file "
		                "or KAKUIN_CA_PIN\n");
	if ((c.ca_cert == NULL) != (c.ca_key == NULL) &&
	    !p11_is_uri(c.ca_key)) {
		fprintf(stderr, "kakuin-server: --ca-cert and --ca-key go "
		                "together\n");
		goto out;
	}
	if (config_finish(&c) != KK_OK) {
		ex = EX_FAIL;
		goto out;
	}
	if (strcmp(a.cmd, "serve") == 0) {
		/* Before any thread: libcurl's global state, for the
		 * notification worker. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			ex = EX_FAIL;
			goto out;
		}
		ex = cmd_serve(&c);
		curl_global_cleanup();
	} else if (strcmp(a.cmd, "init") == 0)
		ex = cmd_init(&c);
	else if (strcmp(a.cmd, "registry") == 0)
		ex = cmd_registry(&c, &a);
	else
		ex = cmd_token(&c, &a);
out:
	config_clear(&c);
	return ex;
}
