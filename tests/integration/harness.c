#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#ifdef KAKUIN_HAVE_PG
#include <libpq-fe.h>
#endif
#include <openssl/x509.h>

#include "b64url.h"
#include "eab.h"
#include "harness.h"
#include "jws.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

void
hwait_port(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

		cr_assert_geq(fd, 0);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return;
		usleep(50000);
	}
	cr_assert_fail("nothing listens on port %d", port);
}

void
hwrite(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

int
hsh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int rc, n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

char *
hpolicy(const char *section, const char *key, const char *value)
{
	char path[PATH_MAX], *text, *out;
	size_t len = 0;
	cJSON *root, *sec, *v;

	snprintf(
	    path, sizeof(path), "%s/policy/default.json", KAKUIN_SOURCE_DIR);
	cr_assert_not_null(text = slurp(path, &len));
	cr_assert_not_null(root = cJSON_Parse(text));
	sec = section ? cJSON_GetObjectItem(root, section) : root;
	cr_assert_not_null(sec, "no section %s", section);
	cr_assert_not_null(v = cJSON_Parse(value));
	cJSON_DeleteItemFromObject(sec, key);
	cJSON_AddItemToObject(sec, key, v);
	out = cJSON_Print(root);
	cJSON_Delete(root);
	free(text);
	return out;
}

/* Waits for "listening on https://127.0.0.1:PORT/" in the log. */
static int
wait_listening(struct hsrv *h)
{
	for (int i = 0; i < 200; i++) {
		size_t len = 0;
		char *log = slurp(h->log, &len), *p;
		int port = 0, st;

		if (log != NULL &&
		    (p = strstr(log, "listening on https://127.0.0.1:")) !=
		        NULL)
			port = atoi(p + strlen("listening on https://"
			                       "127.0.0.1:"));
		free(log);
		if (port > 0)
			return port;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid)
			return -1;
		usleep(50 * 1000);
	}
	return -1;
}

#ifdef KAKUIN_HAVE_PG
/* SQL without values on the cluster's maintenance database. */
static void
pg_admin(const char *base, const char *sql)
{
	char url[600];
	PGconn *c;
	PGresult *r;

	snprintf(url, sizeof(url), "%spostgres", base);
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}
#endif

int
hstorage_pg(void)
{
	const char *env = getenv("KAKUIN_TEST_STORAGE");

	return env != NULL && *env != '\0' && strcmp(env, "sqlite") != 0;
}

/* Gives the server a database of its own when the tests run on
 * PostgreSQL (KAKUIN_TEST_STORAGE, a cluster URL ending in '/'). */
static void
storage_setup(struct hsrv *h)
{
	const char *env = getenv("KAKUIN_TEST_STORAGE");

	if (!hstorage_pg())
		return;
#ifdef KAKUIN_HAVE_PG
	static unsigned n;
	char sql[128];

	cr_assert(strlen(env) < 400 && env[strlen(env) - 1] == '/',
	    "KAKUIN_TEST_STORAGE: a PostgreSQL URL ending in '/'");
	/* Digits of our own: safe to splice into the SQL. */
	snprintf(h->pgdb, sizeof(h->pgdb), "kkit_%ld_%ld_%u", (long)getpid(),
	    (long)time(NULL), n++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", h->pgdb);
	pg_admin(env, sql);
	snprintf(h->storage, sizeof(h->storage), "%s%s", env, h->pgdb);
	snprintf(h->storage_flag, sizeof(h->storage_flag), " --storage '%s'",
	    h->storage);
#else
	cr_assert_fail("this build has no PostgreSQL storage");
#endif
}

static void
storage_teardown(struct hsrv *h)
{
#ifdef KAKUIN_HAVE_PG
	char sql[128];

	if (h->pgdb[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    h->pgdb);
	pg_admin(getenv("KAKUIN_TEST_STORAGE"), sql);
	h->pgdb[0] = '\0';
#else
	(void)h;
#endif
}

static void
spawn(struct hsrv *h, int port)
{
	const char *argv[16 + HSRV_MAX_ARGS];
	char listen[64];
	int fd, n = 0;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	/* Before the fork: a previous run's "listening" line must not be
	 * mistaken for this one's. */
	unlink(h->log);
	h->pid = fork();
	cr_assert_neq(h->pid, -1);
	if (h->pid == 0) {
		fd = open(h->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		argv[n++] = "kakuin-server";
		argv[n++] = "--data-dir";
		argv[n++] = h->data;
		argv[n++] = "--listen";
		argv[n++] = listen;
		if (h->policy != NULL) {
			argv[n++] = "--policy";
			argv[n++] = h->policy;
		}
		if (h->storage[0] != '\0') {
			argv[n++] = "--storage";
			argv[n++] = h->storage;
		}
		if (h->base_url[0] != '\0') {
			argv[n++] = "--base-url";
			argv[n++] = h->base_url;
		}
		for (size_t i = 0;
		     h->args != NULL && h->args[i] != NULL && i < HSRV_MAX_ARGS;
		     i++)
			argv[n++] = h->args[i];
		argv[n++] = "serve";
		argv[n] = NULL;
		execv(KAKUIN_SERVER_BIN, (char *const *)argv);
		_exit(127);
	}
	h->port = wait_listening(h);
	if (h->port <= 0) {
		size_t len = 0;
		char *log = slurp(h->log, &len);

		cr_assert_fail("server did not start:\n%s", log ? log : "");
	}
	snprintf(h->base, sizeof(h->base), "https://127.0.0.1:%d", h->port);
}

void
hsrv_start(struct hsrv *h, const char *policy_json)
{
	hsrv_start_args(h, policy_json, NULL);
}

void
hsrv_start_args(
    struct hsrv *h, const char *policy_json, const char *const *args)
{
	memset(h, 0, sizeof(*h));
	h->args = args;
	snprintf(h->dir, sizeof(h->dir), "/tmp/kakuin-it-XXXXXX");
	cr_assert_not_null(mkdtemp(h->dir));
	snprintf(h->data, sizeof(h->data), "%s/data", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/server.log", h->dir);
	snprintf(h->root, sizeof(h->root), "%s/root.pem", h->data);
	if (policy_json != NULL) {
		cr_assert_geq(
		    asprintf(&h->policy, "%s/policy-test.json", h->dir), 0);
		hwrite(h->policy, policy_json, strlen(policy_json));
	}
	storage_setup(h);
	spawn(h, 0);
}

void
hsrv_start_preloaded(
    struct hsrv *h, const char *preload, const char *const *env)
{
	const char *old = getenv("ASAN_OPTIONS");
	char *saved = NULL, asan[1024];
	size_t i;

	if (old != NULL)
		cr_assert_not_null(saved = strdup(old));
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
	    saved != NULL ? saved : "", saved != NULL ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	setenv("LD_PRELOAD", preload, 1);
	for (i = 0; env != NULL && env[i] != NULL && env[i + 1] != NULL; i += 2)
		setenv(env[i], env[i + 1], 1);
	hsrv_start(h, NULL);
	/* The test's own processes (the client, openssl) go without. */
	unsetenv("LD_PRELOAD");
	for (i = 0; env != NULL && env[i] != NULL && env[i + 1] != NULL; i += 2)
		unsetenv(env[i]);
	if (saved != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(saved);
}

void
hsrv_db_disconnect(struct hsrv *h)
{
#ifdef KAKUIN_HAVE_PG
	char url[600], sql[256];
	PGconn *c;
	PGresult *r;

	cr_assert(h->pgdb[0] != '\0', "no database of its own");
	snprintf(url, sizeof(url), "%spostgres", getenv("KAKUIN_TEST_STORAGE"));
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	snprintf(sql, sizeof(sql),
	    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	    " WHERE datname = '%s'",
	    h->pgdb);
	r = PQexec(c, sql);
	cr_assert_eq(
	    PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	cr_assert_gt(atoi(PQgetvalue(r, 0, 0)), 0, "no session to end");
	PQclear(r);
	PQfinish(c);
#else
	(void)h;
	cr_assert_fail("this build has no PostgreSQL storage");
#endif
}

int
hfree_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port;

	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

void
hsrv_start_replica(struct hsrv *r, const struct hsrv *a)
{
	int port;

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/kakuin-it-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	memcpy(r->data, a->data, sizeof(r->data));
	snprintf(r->log, sizeof(r->log), "%s/server.log", r->dir);
	memcpy(r->root, a->root, sizeof(r->root));
	if (a->policy != NULL)
		cr_assert_not_null(r->policy = strdup(a->policy));
	/* a made the database and drops it: r's pgdb stays empty. */
	memcpy(r->storage, a->storage, sizeof(r->storage));
	memcpy(r->storage_flag, a->storage_flag, sizeof(r->storage_flag));
	memcpy(r->base_url, a->base, sizeof(a->base));
	/* The server logs its base URL, a's: the port must be chosen here. */
	port = hfree_port();
	spawn(r, port);
	r->port = port;
	snprintf(r->connect_to, sizeof(r->connect_to),
	    "127.0.0.1:%d:127.0.0.1:%d", a->port, r->port);
	memcpy(r->base, a->base, sizeof(r->base));
}

/*
 * Opens a connection to the loopback port and closes it at once, sending
 * nothing; 0 while something listens there, -1 once nothing does.
 * civetweb's listening thread sees that it is to stop only when its poll()
 * of the listening socket returns, on a connection or after a quantum of
 * 2 s. The server now wakes it itself (http_stop); these connections also
 * tell when the port is let go.
 */
static int
nudge(int port)
{
	struct sockaddr_in sin;
	struct pollfd p;
	int fd, rc = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno == ECONNREFUSED)
			rc = -1;
		else if (errno == EINPROGRESS) {
			/* Closed before the handshake ends, it would not
			 * reach the listener. */
			p.fd = fd;
			p.events = POLLOUT;
			(void)poll(&p, 1, 100);
		}
	}
	close(fd);
	return rc;
}

void
hsrv_kill(struct hsrv *h, int sig)
{
	int st, wake = sig != SIGKILL && h->port > 0;
	pid_t w;

	if (h->pid <= 0)
		return;
	kill(h->pid, sig);
	/* Until its listener is closed, the stopping server is woken
	 * (nudge); then it is only waited for, so that no connection can
	 * reach whatever listens on the port next. */
	for (;;) {
		w = waitpid(h->pid, &st, wake ? WNOHANG : 0);
		if (w == h->pid || (w == -1 && errno != EINTR))
			break;
		if (w == 0 && nudge(h->port) == -1)
			wake = 0;
		else if (w == 0)
			usleep(10 * 1000);
	}
	h->pid = 0;
}

void
hsrv_restart(struct hsrv *h)
{
	spawn(h, h->port);
}

void
hsrv_stop(struct hsrv *h)
{
	hsrv_kill(h, SIGTERM);
	storage_teardown(h);
	if (h->dir[0] != '\0')
		hsh("rm -rf '%s'", h->dir);
	free(h->policy);
	h->policy = NULL;
}

char *
hsrv_token(struct hsrv *h, const char *name, const char *role)
{
	char cmd[2 * PATH_MAX], tok[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
	    "'%s' --data-dir '%s'%s token create --name '%s' --role '%s' "
	    "2>/dev/null",
	    KAKUIN_SERVER_BIN, h->data, h->storage_flag, name, role);
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(tok, 1, sizeof(tok) - 1, p);
	cr_assert_eq(pclose(p), 0, "token create failed");
	tok[n] = '\0';
	tok[strcspn(tok, "\n")] = '\0';
	cr_assert_gt(strlen(tok), 20);
	return strdup(tok);
}

void
hresp_clear(struct hresp *r)
{
	free(r->body);
	free(r->ctype);
	free(r->location);
	free(r->nonce);
	free(r->links);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

const char *
hproblem(const struct hresp *r)
{
	const cJSON *t = cJSON_GetObjectItem(r->json, "type");
	const char *v = cJSON_GetStringValue(t), *colon;

	if (v == NULL)
		return "";
	colon = strrchr(v, ':');
	return colon ? colon + 1 : v;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hresp *r = arg;
	char *nb = realloc(r->body, r->len + size * n + 1);

	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->len += size * n;
	nb[r->len] = '\0';
	r->body = nb;
	return size * n;
}

static char *
trimdup(const char *v, size_t n)
{
	while (
	    n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n > 0 && *v == ' ') {
		v++;
		n--;
	}
	return strndup(v, n);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hresp *r = arg;
	size_t len = size * n;
	char *colon = memchr(p, ':', len), *v;
	size_t klen, vlen;

	if (colon == NULL)
		return len;
	klen = (size_t)(colon - p);
	v = trimdup(colon + 1, len - klen - 1);
	vlen = strlen(v);
	if (klen == 12 && strncasecmp(p, "Replay-Nonce", 12) == 0) {
		free(r->nonce);
		r->nonce = v;
	} else if (klen == 8 && strncasecmp(p, "Location", 8) == 0) {
		free(r->location);
		r->location = v;
	} else if (klen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
		free(r->ctype);
		r->ctype = v;
	} else if (klen == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
		r->retry_after = atol(v);
		free(v);
	} else if (klen == 4 && strncasecmp(p, "Link", 4) == 0) {
		size_t old = r->links ? strlen(r->links) : 0;
		char *nl = realloc(r->links, old + vlen + 2);

		if (nl != NULL) {
			memcpy(nl + old, v, vlen);
			nl[old + vlen] = '\n';
			nl[old + vlen + 1] = '\0';
			r->links = nl;
		}
		free(v);
	} else
		free(v);
	return len;
}

void
hreq(struct hsrv *h, const char *method, const char *url,
    const char *extra_header, const char *ctype, const char *body, size_t len,
    struct hresp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL, *to = NULL;
	char ct[256];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	cr_assert_not_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (h->connect_to[0] != '\0') {
		to = curl_slist_append(NULL, h->connect_to);
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, to);
	}
	curl_easy_setopt(c, CURLOPT_CAINFO, h->root);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	cr_assert_eq(
	    rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body != NULL && r->ctype != NULL && strstr(r->ctype, "json"))
		r->json = cJSON_Parse(r->body);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
}

char *
hurl(struct hsrv *h, const char *name)
{
	char url[256];
	struct hresp r;
	const char *v;
	char *out;

	snprintf(url, sizeof(url), "%s/acme/directory", h->base);
	hreq(h, "GET", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	v = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, name));
	cr_assert_not_null(v, "directory has no %s", name);
	out = strdup(v);
	hresp_clear(&r);
	return out;
}

char *
hnonce(struct hsrv *h)
{
	struct hresp r;
	char *url = hurl(h, "newNonce"), *n;

	hreq(h, "HEAD", url, NULL, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(r.nonce);
	n = strdup(r.nonce);
	hresp_clear(&r);
	free(url);
	return n;
}

EVP_PKEY *
hkey(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strcmp(type, "ec-p256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec-p384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "rsa-2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "rsa-1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cr_assert_not_null(k, "keygen %s", type);
	return k;
}

void
hacct_clear(struct hacct *a)
{
	EVP_PKEY_free(a->key);
	free(a->kid);
	memset(a, 0, sizeof(*a));
}

void
hpost_nonce(struct hsrv *h, const struct hacct *a, const char *url,
    const char *payload, const char *nonce, struct hresp *r)
{
	char *body = NULL;

	cr_assert_eq(
	    jws_sign(a->key, a->kid, nonce, url, (const unsigned char *)payload,
	        payload ? strlen(payload) : 0, &body),
	    KK_OK);
	hreq(h, "POST", url, NULL, "application/jose+json", body, strlen(body),
	    r);
	free(body);
}

void
hpost(struct hsrv *h, const struct hacct *a, const char *url,
    const char *payload, struct hresp *r)
{
	char *nonce = hnonce(h);

	hpost_nonce(h, a, url, payload, nonce, r);
	free(nonce);
}

void
hnew_account(
    struct hsrv *h, struct hacct *a, const char *eab_kid, const char *eab_key)
{
	char *url = hurl(h, "newAccount"), *payload;
	struct hresp r;
	cJSON *p = cJSON_CreateObject(), *contact, *eab = NULL;
	unsigned char *mac = NULL;
	size_t maclen = 0;

	if (a->key == NULL)
		a->key = hkey("ec-p256");
	contact = cJSON_AddArrayToObject(p, "contact");
	cJSON_AddItemToArray(
	    contact, cJSON_CreateString("mailto:admin@example.jp"));
	cJSON_AddTrueToObject(p, "termsOfServiceAgreed");
	if (eab_kid != NULL) {
		cr_assert_eq(
		    b64url_decode(eab_key, strlen(eab_key), &mac, &maclen),
		    KK_OK);
		cr_assert_eq(
		    eab_build(eab_kid, mac, maclen, a->key, url, &eab), KK_OK);
		cJSON_AddItemToObject(p, "externalAccountBinding", eab);
		free(mac);
	}
	payload = cJSON_PrintUnformatted(p);
	hpost(h, a, url, payload, &r);
	cr_assert_eq(r.status, 201, "newAccount: %ld %s", r.status,
	    r.body ? r.body : "");
	cr_assert_not_null(r.location);
	a->kid = strdup(r.location);
	hresp_clear(&r);
	cJSON_Delete(p);
	free(payload);
	free(url);
}

void
hnew_order(struct hsrv *h, const struct hacct *a, const char *org,
    char **order_url, struct hresp *r)
{
	char *url = hurl(h, "newOrder"), payload[256];

	snprintf(payload, sizeof(payload),
	    "{\"identifiers\":[{\"type\":\"org\",\"value\":\"%s\"}]}", org);
	hpost(h, a, url, payload, r);
	cr_assert_eq(r->status, 201, "newOrder: %ld %s", r->status,
	    r->body ? r->body : "");
	cr_assert_not_null(r->location);
	*order_url = strdup(r->location);
	free(url);
}

unsigned char *
hcsr(EVP_PKEY *key, const char *org_id, const char *cn, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	cr_assert_not_null(req);
	if (org_id != NULL)
		X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier,
		    MBSTRING_UTF8, (const unsigned char *)org_id, -1, -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, key);
	cr_assert_gt(
	    X509_REQ_sign(req, key,
	        EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()),
	    0);
	n = i2d_X509_REQ(req, &der);
	cr_assert_gt(n, 0);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

char *
hcsr_payload(const unsigned char *der, size_t len)
{
	char *b64 = NULL, *out = NULL;

	cr_assert_eq(b64url_encode(der, len, &b64), KK_OK);
	cr_assert_geq(asprintf(&out, "{\"csr\":\"%s\"}", b64), 0);
	free(b64);
	return out;
}

void
hoper(struct hsrv *h, const char *token, const char *method, const char *path,
    const char *body, struct hresp *r)
{
	char url[512], auth[512];

	snprintf(url, sizeof(url), "%s/operator/v1/%s", h->base, path);
	snprintf(
	    auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	hreq(h, method, url, token ? auth : NULL,
	    body ? "application/json" : NULL, body, body ? strlen(body) : 0, r);
}

/* The challenge URL of an order's (single) authorization. */
static char *
challenge_url(struct hsrv *h, const struct hacct *a, const cJSON *order)
{
	const cJSON *authzs = cJSON_GetObjectItem(order, "authorizations");
	const char *az = cJSON_GetStringValue(cJSON_GetArrayItem(authzs, 0));
	struct hresp r;
	char *url;

	cr_assert_not_null(az);
	hpost(h, a, az, NULL, &r);
	cr_assert_eq(r.status, 200);
	url = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "challenges"), 0),
	    "url")));
	hresp_clear(&r);
	return url;
}

char *
henroll_verified(struct hsrv *h, struct hacct *a, const char *org)
{
	static int approvers;
	struct hresp r, q;
	char *order = NULL, *chall, *tok, path[256];
	const char *vid = NULL;
	const cJSON *v;

	if (a->kid == NULL)
		hnew_account(h, a, NULL, NULL);
	hnew_order(h, a, org, &order, &r);
	chall = challenge_url(h, a, r.json);
	hresp_clear(&r);
	hpost(h, a, chall, "{}", &r);
	cr_assert_eq(r.status, 200);
	hresp_clear(&r);
	/* A name of its own each time: an active token's name is taken. */
	snprintf(path, sizeof(path), "approver-%d", ++approvers);
	tok = hsrv_token(h, path, "operator");
	hoper(h, tok, "GET", "verifications?status=processing", NULL, &q);
	cr_assert_eq(q.status, 200);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(q.json, "verifications")) if (
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(v, "org")), org) ==
	    0) vid = cJSON_GetStringValue(cJSON_GetObjectItem(v, "id"));
	cr_assert_not_null(vid);
	snprintf(path, sizeof(path), "verifications/%s/approve", vid);
	hoper(h, tok, "POST", path,
	    "{\"method\":\"phone\",\"legal_name\":\"Example Power Co., "
	    "Ltd.\",\"country\":\"JP\",\"evidence\":\"called the "
	    "representative number from TSR\"}",
	    &r);
	cr_assert_eq(r.status, 200, "approve: %s", r.body);
	hresp_clear(&r);
	hresp_clear(&q);
	hpost(h, a, order, NULL, &r);
	cr_assert_str_eq(
	    cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "status")),
	    "ready");
	hresp_clear(&r);
	free(chall);
	free(tok);
	return order;
}
