/*
 * bench_floor - a lower bound on the CPU a server spends on an enrollment
 * on this machine: part of the work no ACME server can leave out, done by
 * a server with nothing else in it, driven as bench_enroll drives
 * kakuin-server.
 *
 *   bench_floor [--concurrency N] [--count M] [--dir D] [--threads]
 *               [--sqlite shared|exclusive] [--x509 [--jose]] [--kv]
 *
 * N connections (16), M timed enrollments (2,000), the commits' file in D
 * ($TMPDIR or /tmp; unlinked at once), or with --sqlite a directory of its
 * own there (removed when the run ends, but for a signal's end).
 *
 * An enrollment is four requests on a connection kept alive (newAccount,
 * newOrder, finalize, the certificate's download), each through TLS 1.3
 * and HTTP/1.1 with bodies and answers of the sizes kakuin's have. The
 * server verifies an ECDSA P-256 signature on every request and a second
 * one on finalize (the CSR's), takes an HMAC on newAccount (the external
 * account binding) and signs once on finalize (the certificate). Each of
 * the first three requests commits: it appends the pages kakuin-server's
 * SQLite writes for it (29 in all, one write per commit) to a file, and
 * its answer waits until a group fdatasync covers them.
 *
 * The server is as lean as this program could make it: one event loop per
 * CPU (epoll, non-blocking sockets, SO_REUSEPORT) and no other thread; a
 * loop answers every request it has read, then syncs once for all of them
 * that committed (or finds the other loop's sync covered them) and sends
 * their answers. Keys are parsed once; nothing is allocated per request
 * but OpenSSL's own. With --threads it has civetweb's structure instead,
 * and so kakuin-server's: a thread per connection, blocking reads and
 * writes, each thread waiting for the sync that covers its own commit. The
 * two figures apart are what that structure costs by itself.
 *
 * With --sqlite the commits are SQLite's instead (db_request): one
 * connection in WAL mode, synchronous=NORMAL, the WAL synced by the same
 * group fdatasync, SQLite's own checkpoints, as kakuin-server commits.
 * Each request is one transaction, its reads by key first (the EAB key,
 * the account, the organization's verification, the order, the
 * certificate), then what it writes: an account (its key's thumbprint
 * unique), an order and its authorization, a certificate (its serial
 * unique). Each change also writes an audit record, and the order's
 * authorization a row of its own: kakuin-server's rules, not ACME's. No
 * other table or index. "shared" locks as SQLite does by default, and as
 * kakuin-server must, since its own commands (token, registry) open the
 * database while it runs: the WAL's index in shared memory, fcntl locks,
 * and kakuin-server's VFS that writes a commit's frames in one call
 * (server/store_walbuf.c). "exclusive" holds the database alone: no
 * shared memory and no locks after the first, the least locking (but
 * each frame in two writes, as SQLite writes them).
 *
 * With --x509 finalize carries a real CSR (DER, at the payload's front).
 * The server reads it with kakuin-server's own parser (server/csr.c,
 * which also verifies its signature: that is finalize's second
 * verification then), and makes, signs and encodes a certificate with
 * OpenSSL's X509 objects, as a CA using OpenSSL does: a random serial,
 * the names, the validity, the key (its SubjectPublicKeyInfo from the
 * point, no encoder), the extensions kakuin-server's certificates carry.
 * Those that never change are made once; the SAN and the key's
 * identifier are made per certificate from their structures, not from
 * text. (The objects cost some 40 to 60 us beyond the signature; DER
 * patched into a template would cost less.) With --sqlite that
 * certificate is what is stored.
 *
 * With --jose (and --x509) the requests are ACME's: flattened JWS that
 * the client signs as it sends them, with the nonce of the answer before,
 * read as RFC 8555 asks (6.2 to 6.5, 7.3.4) with kakuin's own code
 * (protocol/, kakuin-server's nonces and key cache; jose_open): the JWS
 * parsed, its nonce redeemed (a stale one answered badNonce, and sent
 * again), its URL checked, its key the JWK newAccount carries (bound by
 * the EAB, whose MAC and key are checked) or, by kid, the cached key of
 * the JWK its enrollment's account recorded, its signature verified, its
 * payload's JSON parsed. The answers carry a fresh nonce and the new
 * object's URL, and the account or order as JSON made for them
 * (jose_answer). Every enrollment has an account key of its own. Lighter
 * than kakuin-server: the EAB's MAC key and the account's JWK are taken
 * from memory (--sqlite still reads their records, after the signature),
 * and the account's status is not checked.
 *
 * What it leaves out is everything else an enrollment needs: kakuin's
 * policy, and without the options the statements, the CSR and the
 * certificate, the JWS, JSON and nonces. So it is a bound, not a target:
 * kakuin-server's CPU per enrollment (bench_enroll) over this figure,
 * measured in the same minutes, is what those and its own structure
 * cost.
 *
 * The server runs in a child process; its CPU is that process's clock,
 * read before and after the timed enrollments. The client (libcurl's
 * multi interface, one event loop) runs in this process and is reported
 * too: on two CPUs the two share the machine, as in bench_enroll.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <curl/curl.h>

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "b64url.h"
#include "bench_acme.h"
#include "bench_clock.h"
#include "csr.h"
#include "eab.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "keycache.h"
#include "nonce.h"
#include "store_walbuf.h"

#define STEPS 4
#define PAGE 4096
#define WAL_PAGES 4096 /* the file's size; commits wrap around in it */
#define MAX_LOOPS 2
#define MAX_PAGES 14  /* the most a step commits */
#define TBS_BYTES 480 /* a certificate's to-be-signed part */
#define IN_MAX 8192   /* one request, headers and body */
#define OUT_MAX 4096
#define EXT_FIXED 5    /* --x509: the extensions made once */
#define ENR_SLOTS 4096 /* enrollments in flight, well above N's 1,024 */
#define JWK_MAX 256    /* --jose: a P-256 key's JWK text is some 125 */
#define URL_MAX 128
#define HOST "host-000001.example.org" /* the name the CSR asks for */

/*
 * Per step: the request body's size, the answer body's size and status,
 * the pages committed, and the ECDSA verifications. The sizes are
 * kakuin's (bench_enroll against kakuin-server): an EAB newAccount JWS,
 * a newOrder, a finalize carrying a CSR, a POST-as-GET; the answers an
 * account, an order, an order, a PEM chain of two certificates. The
 * pages are the WAL frames each of kakuin-server's transactions writes
 * (docs/performance.md, fourth round); its checkpoints are left out.
 */
static const struct step {
	const char *path;
	int req_bytes, ans_bytes, status, pages, verifies;
} steps[STEPS] = {
    {"/new-account", 1150, 520, 201, 6, 1},
    {"/new-order", 560, 640, 201, 14, 1},
    {"/finalize", 1180, 700, 200, 9, 2},
    {"/cert", 420, 1650, 200, 0, 1},
};

/* The statements of --sqlite, prepared once. */
enum query {
	Q_BEGIN,
	Q_BEGIN_READ,
	Q_COMMIT,
	Q_EAB,
	Q_ACCT_BY_THUMB,
	Q_ACCT_NEW,
	Q_ACCT,
	Q_ORG,
	Q_ORDER_NEW,
	Q_AUTHZ_NEW,
	Q_ORDER,
	Q_CERT_NEW,
	Q_ORDER_DONE,
	Q_CERT,
	Q_AUDIT,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_EAB] = "SELECT key, org FROM eab WHERE kid = ?1",
    [Q_ACCT_BY_THUMB] = "SELECT id FROM accounts WHERE thumb = ?1",
    [Q_ACCT_NEW] = "INSERT INTO accounts (thumb, jwk, org, status, created)"
                   " VALUES (?1, ?2, ?3, 1, ?4)",
    [Q_ACCT] = "SELECT jwk, org, status FROM accounts WHERE id = ?1",
    [Q_ORG] = "SELECT verified_until FROM orgs WHERE id = ?1",
    [Q_ORDER_NEW] = "INSERT INTO orders (account, status, identifiers,"
                    " expires) VALUES (?1, 1, ?2, ?3)",
    [Q_AUTHZ_NEW] = "INSERT INTO authzs (order_id, identifier, status,"
                    " expires) VALUES (?1, ?2, 1, ?3)",
    [Q_ORDER] = "SELECT account, status, identifiers FROM orders"
                " WHERE id = ?1",
    [Q_CERT_NEW] = "INSERT INTO certs (serial, account, der, not_after)"
                   " VALUES (?1, ?2, ?3, ?4)",
    [Q_ORDER_DONE] = "UPDATE orders SET status = 3, cert = ?2 WHERE id = ?1",
    [Q_CERT] = "SELECT account, der FROM certs WHERE id = ?1",
    [Q_AUDIT] = "INSERT INTO audit (at, actor, what, object)"
                " VALUES (?1, ?2, ?3, ?4)",
};

/* Exclusive locking before WAL: then SQLite never maps shared memory. */
static const char db_exclusive[] = "PRAGMA locking_mode=EXCLUSIVE;";

static const char db_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE eab (kid TEXT PRIMARY KEY, key BLOB NOT NULL,"
    " org INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE orgs (id INTEGER PRIMARY KEY,"
    " verified_until INTEGER NOT NULL);"
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY,"
    " thumb BLOB NOT NULL UNIQUE, jwk TEXT NOT NULL, org INTEGER NOT NULL,"
    " status INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, account INTEGER NOT NULL,"
    " status INTEGER NOT NULL, identifiers TEXT NOT NULL,"
    " expires INTEGER NOT NULL, cert INTEGER);"
    "CREATE TABLE authzs (id INTEGER PRIMARY KEY,"
    " order_id INTEGER NOT NULL, identifier TEXT NOT NULL,"
    " status INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE TABLE certs (id INTEGER PRIMARY KEY,"
    " serial BLOB NOT NULL UNIQUE,"
    " account INTEGER NOT NULL, der BLOB NOT NULL,"
    " not_after INTEGER NOT NULL);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " actor INTEGER NOT NULL, what INTEGER NOT NULL,"
    " object INTEGER NOT NULL);"
    "INSERT INTO orgs VALUES (1, 4102444800);"
    "INSERT INTO eab VALUES ('bench', zeroblob(32), 1);";

/* What the server has, shared by its loops. */
struct srv {
	SSL_CTX *ctx;
	EVP_PKEY *acct; /* the account's public key, parsed once */
	EVP_PKEY *ca;   /* signs the "certificate" */
	/* --x509 */
	int x509;
	X509_NAME *ca_name;
	X509_EXTENSION *ext_fixed[EXT_FIXED]; /* in every certificate */
	unsigned char eab_key[32];
	int wal;                   /* the file commits append to */
	pthread_mutex_t append_mu; /* guards off and issued */
	off_t off;
	uint64_t issued;         /* commits appended */
	pthread_mutex_t sync_mu; /* held through a sync; guards synced */
	uint64_t synced;         /* commits a sync has covered */
	unsigned char pages[MAX_PAGES * PAGE];
	char answers[STEPS][OUT_MAX];
	int answer_len[STEPS];
	/* --sqlite */
	const char *db_dir; /* NULL without */
	int db_exclusive;
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	pthread_mutex_t db_mu; /* the one connection's; guards db, q, rows */
	uint64_t rows;         /* accounts made, for their thumbprints */
	/*
	 * The rows of the enrollments in flight, by number: what an ACME
	 * server's URLs name (the account's in the JWS, the order's, the
	 * certificate's). libcurl sends a job's requests on whichever of
	 * its connections is free, so they are not the connection's.
	 */
	struct enr {
		uint64_t n;
		int64_t acct, order, cert;
	} enrs[ENR_SLOTS];
	/* --jose */
	int jose;
	char base[40]; /* "https://127.0.0.1:PORT" */
	struct nonce_pool *nonces;
	struct keycache *keys;   /* the accounts' keys, as kakuin-server's */
	pthread_mutex_t acct_mu; /* guards accts */
	struct acct {
		/* The enrollment that made it, 0: none. */
		uint64_t n;
		/* Its key's JWK, as an account's record holds it. */
		char jwk[JWK_MAX];
	} accts[ENR_SLOTS];
};

enum conn_state { C_READ, C_WAIT_SYNC, C_WRITE };

struct conn {
	struct srv *s;
	int fd;
	SSL *ssl;
	enum conn_state state;
	char in[IN_MAX];
	size_t in_len, req_len;
	size_t hdr_len;  /* of the request being answered, its blank line too */
	int step;        /* of the request being answered */
	uint64_t ticket; /* its commit, 0 for none */
	uint64_t enr;    /* the request's enrollment, as its URL says */
	size_t out_off;
	const char *ans; /* the answer to send: a made one's, or out */
	int ans_len;
	char out[OUT_MAX]; /* --jose: the answer made for this request */
	/* --jose, newAccount: the new account's key, for its record */
	char jwk[JWK_MAX];
	char thumb[64];
	int polling_out;        /* waiting for room to write: EPOLLOUT is on */
	struct conn *next_wait; /* in the loop's list of waiting answers */
};

struct loop {
	struct srv *s;
	int listen_fd, ep;
	struct conn *waiting;
};

/*
 * Ends the server process, from any of its threads, saying why (errno's
 * text with it). A server that cannot go on voids the run: the client
 * sees its connections close and reports the failure.
 */
static void __attribute__((noreturn)) server_fail(const char *what)
{
	fprintf(
	    stderr, "bench_floor: the server: %s: %s\n", what, strerror(errno));
	_exit(1);
}

/* The request's signature: payload || DER signature || its length. */
static int
verify_body(EVP_PKEY *key, const unsigned char *b, size_t n)
{
	EVP_MD_CTX *md;
	size_t sig_len;
	int ok;

	if (n < 2 || (sig_len = b[n - 1]) == 0 || sig_len + 1 > n)
		return 0;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit_ex(
	         md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
	     EVP_DigestVerify(
	         md, b + n - 1 - sig_len, sig_len, b, n - 1 - sig_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* An ECDSA signature by key over n bytes of data, DER, into sig (80). */
static int
sign(EVP_PKEY *key, const unsigned char *data, size_t n, unsigned char *sig,
    size_t *sig_len)
{
	EVP_MD_CTX *md;
	int ok;

	*sig_len = 80;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) ==
	         1 &&
	     EVP_DigestSign(md, sig, sig_len, data, n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Appends a commit's pages; its ticket through *ticket. */
static int
commit(struct srv *s, int pages, uint64_t *ticket)
{
	size_t len = (size_t)pages * PAGE;
	int ok;

	pthread_mutex_lock(&s->append_mu);
	if (s->off + (off_t)len > (off_t)WAL_PAGES * PAGE)
		s->off = 0; /* as a WAL is reused after a checkpoint */
	s->pages[0]++;
	ok = pwrite(s->wal, s->pages, len, s->off) == (ssize_t)len;
	s->off += (off_t)len;
	*ticket = ++s->issued;
	pthread_mutex_unlock(&s->append_mu);
	return ok;
}

/* Returns once commit ticket is on disk: one sync for all so far. */
static int
sync_upto(struct srv *s, uint64_t ticket)
{
	uint64_t upto;
	int ok = 1;

	pthread_mutex_lock(&s->sync_mu);
	if (s->synced < ticket) {
		pthread_mutex_lock(&s->append_mu);
		upto = s->issued;
		pthread_mutex_unlock(&s->append_mu);
		ok = fdatasync(s->wal) == 0;
		if (ok)
			s->synced = upto;
	}
	pthread_mutex_unlock(&s->sync_mu);
	return ok;
}

/*
 * --sqlite: the database in s->db_dir, its statements prepared, and the
 * WAL open for the group sync. In the server process, before its threads.
 */
static void
db_open(struct srv *s)
{
	const char *vfs = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/floor.db", s->db_dir);
	/*
	 * Shared, kakuin-server's VFS: each commit's WAL frames in one
	 * write. It gathers them between the shared-memory calls, which a
	 * database held alone never makes: there SQLite writes each frame
	 * in two (so "exclusive" is the least locking, not the least of
	 * everything).
	 */
	if (!s->db_exclusive && walbuf_register(&vfs) != KK_OK) {
		fprintf(stderr, "bench_floor: the server: no WAL VFS\n");
		_exit(1);
	}
	if (sqlite3_open_v2(path, &s->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        vfs) != SQLITE_OK ||
	    (s->db_exclusive && sqlite3_exec(s->db, db_exclusive, NULL, NULL,
	                            NULL) != SQLITE_OK) ||
	    sqlite3_exec(s->db, db_schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, queries[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) != SQLITE_OK)
			goto fail;
	/* There since the schema's commit; kept until the connection goes. */
	snprintf(path, sizeof(path), "%s/floor.db-wal", s->db_dir);
	if ((s->wal = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		server_fail(path);
	return;
fail:
	fprintf(stderr, "bench_floor: the server: %s: %s\n", path,
	    s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
	_exit(1);
}

/* 32 bytes that differ for every n, as a key's thumbprint would. */
static void
db_key(uint64_t n, unsigned char out[32])
{
	for (int i = 0; i < 4; i++) {
		/* splitmix64: scattered, so the index grows everywhere. */
		uint64_t z = (n * 4 + (uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(out + i * 8, &z, 8);
	}
}

/*
 * Steps statement q once and resets it: 1 when it gave a row (each of
 * whose columns is read, as a handler would) or was done without one, as
 * want_row says.
 */
static int
db_run(struct srv *s, enum query q, int want_row)
{
	sqlite3_stmt *st = s->q[q];
	int rc = sqlite3_step(st), ok;

	if (rc == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st); i++)
			(void)sqlite3_column_bytes(st, i);
	ok = rc == (want_row ? SQLITE_ROW : SQLITE_DONE);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ok;
}

/*
 * A request's transaction (c->step's) on the one connection, its reads
 * first, inside it: the thumbprint's check is then one with the new
 * account's insert, and each request is one transaction (download's a
 * read one). der (der_len bytes) is finalize's certificate and serial its
 * serial (16 bytes); the commit's ticket through *ticket (0 for none).
 */
static int
db_request(struct srv *s, struct conn *c, const unsigned char *der,
    size_t der_len, const unsigned char *serial, uint64_t *ticket)
{
	static const char jwk[] =
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"q8yTBZ5rLc4"
	    "bQ3dGzWUZ9s0Xl3y6mH2R1KxNf7eJvPo\",\"y\":\"Vn0pA4iKc8sEw2Tg5"
	    "LbYh7uDq1zR9mXoJ3fNe6CtWkM\"}";
	char name[32], ident[80];
	const char *acct_jwk;
	unsigned char key[32];
	const unsigned char *thumb;
	size_t thumb_len;
	time_t now = time(NULL);
	sqlite3_stmt **q = s->q;
	struct enr *e = &s->enrs[c->enr % ENR_SLOTS];
	int ok = 0, in_tx = 0;

	*ticket = 0;
	pthread_mutex_lock(&s->db_mu);
	if (c->step == 0) {
		memset(e, 0, sizeof(*e));
		e->n = c->enr;
	} else if (e->n != c->enr) {
		fprintf(stderr,
		    "bench_floor: the server: enrollment %llu "
		    "unknown\n",
		    (unsigned long long)c->enr);
		goto unlock;
	}
	if (!(in_tx = db_run(s, c->step == 3 ? Q_BEGIN_READ : Q_BEGIN, 0)))
		goto out;
	if (c->step > 0) {
		sqlite3_bind_int64(q[Q_ACCT], 1, e->acct);
		if (!db_run(s, Q_ACCT, 1))
			goto out;
	}
	switch (c->step) {
	case 0:
		/* --jose: the key's own thumbprint and JWK. */
		if (s->jose) {
			thumb = (const unsigned char *)c->thumb;
			thumb_len = strlen(c->thumb);
			acct_jwk = c->jwk;
		} else {
			db_key(++s->rows, key);
			thumb = key;
			thumb_len = sizeof(key);
			acct_jwk = jwk;
		}
		sqlite3_bind_text(q[Q_EAB], 1, "bench", 5, SQLITE_STATIC);
		sqlite3_bind_blob(q[Q_ACCT_BY_THUMB], 1, thumb, (int)thumb_len,
		    SQLITE_STATIC);
		if (!db_run(s, Q_EAB, 1) || !db_run(s, Q_ACCT_BY_THUMB, 0))
			goto out;
		sqlite3_bind_blob(
		    q[Q_ACCT_NEW], 1, thumb, (int)thumb_len, SQLITE_STATIC);
		sqlite3_bind_text(
		    q[Q_ACCT_NEW], 2, acct_jwk, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_ACCT_NEW], 3, 1);
		sqlite3_bind_int64(q[Q_ACCT_NEW], 4, now);
		if (!db_run(s, Q_ACCT_NEW, 0))
			goto out;
		e->acct = sqlite3_last_insert_rowid(s->db);
		sqlite3_bind_int64(q[Q_AUDIT], 4, e->acct);
		break;
	case 1:
		snprintf(name, sizeof(name), "host-%06lld.example.org",
		    (long long)e->acct % 1000000);
		snprintf(ident, sizeof(ident),
		    "[{\"type\":\"dns\",\"value\":\"%s\"}]", name);
		sqlite3_bind_int64(q[Q_ORG], 1, 1);
		if (!db_run(s, Q_ORG, 1))
			goto out;
		sqlite3_bind_int64(q[Q_ORDER_NEW], 1, e->acct);
		sqlite3_bind_text(q[Q_ORDER_NEW], 2, ident, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_ORDER_NEW], 3, now + 86400);
		if (!db_run(s, Q_ORDER_NEW, 0))
			goto out;
		e->order = sqlite3_last_insert_rowid(s->db);
		sqlite3_bind_int64(q[Q_AUTHZ_NEW], 1, e->order);
		sqlite3_bind_text(q[Q_AUTHZ_NEW], 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_AUTHZ_NEW], 3, now + 86400);
		if (!db_run(s, Q_AUTHZ_NEW, 0))
			goto out;
		sqlite3_bind_int64(q[Q_AUDIT], 4, e->order);
		break;
	case 2:
		sqlite3_bind_int64(q[Q_ORDER], 1, e->order);
		if (!db_run(s, Q_ORDER, 1))
			goto out;
		sqlite3_bind_blob(q[Q_CERT_NEW], 1, serial, 16, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_CERT_NEW], 2, e->acct);
		sqlite3_bind_blob(
		    q[Q_CERT_NEW], 3, der, (int)der_len, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_CERT_NEW], 4, now + 86400 * 365);
		if (!db_run(s, Q_CERT_NEW, 0))
			goto out;
		e->cert = sqlite3_last_insert_rowid(s->db);
		sqlite3_bind_int64(q[Q_ORDER_DONE], 1, e->order);
		sqlite3_bind_int64(q[Q_ORDER_DONE], 2, e->cert);
		if (!db_run(s, Q_ORDER_DONE, 0) || sqlite3_changes(s->db) != 1)
			goto out;
		sqlite3_bind_int64(q[Q_AUDIT], 4, e->cert);
		break;
	default:
		sqlite3_bind_int64(q[Q_CERT], 1, e->cert);
		if (!db_run(s, Q_CERT, 1))
			goto out;
		break;
	}
	if (c->step < 3) {
		sqlite3_bind_int64(q[Q_AUDIT], 1, now);
		sqlite3_bind_int64(q[Q_AUDIT], 2, e->acct);
		sqlite3_bind_int64(q[Q_AUDIT], 3, c->step + 1);
		if (!db_run(s, Q_AUDIT, 0))
			goto out;
	}
	if (!db_run(s, Q_COMMIT, 0))
		goto out;
	in_tx = 0;
	if (c->step < 3) {
		pthread_mutex_lock(&s->append_mu);
		*ticket = ++s->issued;
		pthread_mutex_unlock(&s->append_mu);
	}
	ok = 1;
out:
	if (!ok)
		fprintf(stderr, "bench_floor: the server: step %d: %s\n",
		    c->step,
		    sqlite3_errcode(s->db) == SQLITE_OK ||
		            sqlite3_errcode(s->db) == SQLITE_DONE ||
		            sqlite3_errcode(s->db) == SQLITE_ROW
		        ? "a row missing, or one too many"
		        : sqlite3_errmsg(s->db));
	if (in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
unlock:
	pthread_mutex_unlock(&s->db_mu);
	return ok;
}

/*
 * The step a request's path names, or -1; the enrollment's number, from
 * the path's "?e=N", through *enr.
 */
static int
step_of(const char *req, size_t n, uint64_t *enr)
{
	for (int i = 0; i < STEPS; i++) {
		size_t pl = strlen(steps[i].path), at = 5 + pl + 3;

		if (n <= at || memcmp(req, "POST ", 5) != 0 ||
		    memcmp(req + 5, steps[i].path, pl) != 0 ||
		    memcmp(req + 5 + pl, "?e=", 3) != 0)
			continue;
		for (*enr = 0; at < n && req[at] >= '0' && req[at] <= '9'; at++)
			*enr = *enr * 10 + (uint64_t)(req[at] - '0');
		return at < n && req[at] == ' ' ? i : -1;
	}
	return -1;
}

/*
 * The length of the whole request at the front of c->in once it is
 * there, and of its head in *hdr_len: 0 while incomplete, -1 when it is
 * not one this server takes.
 */
static long
request_length(const struct conn *c, size_t *hdr_len)
{
	const char *end, *p;
	long body;

	end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (end == NULL)
		return c->in_len < IN_MAX ? 0 : -1;
	p = memmem(c->in, (size_t)(end - c->in), "\r\ncontent-length:", 17);
	if (p == NULL)
		p = memmem(
		    c->in, (size_t)(end - c->in), "\r\nContent-Length:", 17);
	if (p == NULL || (body = strtol(p + 17, NULL, 10)) <= 0 ||
	    body > IN_MAX)
		return -1;
	if ((size_t)(end + 4 - c->in) + (size_t)body > IN_MAX)
		return -1;
	if ((size_t)(end + 4 - c->in) + (size_t)body > c->in_len)
		return 0;
	*hdr_len = (size_t)(end + 4 - c->in);
	return (long)*hdr_len + body;
}

/*
 * --x509: the CSR at the front of body parsed and verified, and the
 * certificate for its key made, signed and encoded into *der (caller
 * frees with OPENSSL_free), its length in *der_len. The CSR is read by
 * kakuin-server's own parser: OpenSSL's d2i_X509_REQ hands the key to its
 * decoders and takes 170 to 200 us here, against some 26 us for the rest
 * of csr_parse beside the verification.
 */
static int
cert_make(struct srv *s, const unsigned char *body, size_t body_len,
    unsigned char serial[16], unsigned char **der, size_t *der_len)
{
	const unsigned char *p = body;
	unsigned char ski[SHA_DIGEST_LENGTH], pub[65], *point = NULL;
	struct csr_info csr;
	ASN1_OCTET_STRING *ski_os = NULL;
	GENERAL_NAMES *sans = NULL;
	GENERAL_NAME *san = NULL;
	ASN1_IA5STRING *dns = NULL;
	X509 *x = NULL;
	size_t point_len;
	long content;
	int tag, class, len, ok = 0;

	*der = NULL;
	memset(&csr, 0, sizeof(csr));
	/* The CSR's length, from its outer SEQUENCE. */
	if (ASN1_get_object(&p, &content, &tag, &class, (long)body_len) &
	        0x80 ||
	    tag != V_ASN1_SEQUENCE ||
	    csr_parse(body, (size_t)(p - body) + (size_t)content, &csr) !=
	        KK_OK ||
	    strcmp(csr.key_type, "ec-p256") != 0 || csr.cn == NULL ||
	    csr.n_dns != 1)
		goto out;
	/* The key's SubjectPublicKeyInfo from its point, no encoder. */
	if (EVP_PKEY_get_octet_string_param(csr.key, "encoded-pub-key", pub,
	        sizeof(pub), &point_len) != 1 ||
	    SHA1(pub, point_len, ski) == NULL ||
	    (point = OPENSSL_memdup(pub, point_len)) == NULL)
		goto out;
	if (RAND_bytes(serial, 16) != 1)
		goto out;
	serial[0] = (serial[0] & 0x7f) | 0x40; /* positive, 16 bytes */
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(X509_get_serialNumber(x), serial, 16) != 1 ||
	    X509_set_issuer_name(x, s->ca_name) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	        MBSTRING_UTF8, (const unsigned char *)csr.cn, -1, -1, 0) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) == NULL ||
	    X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x),
	        OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	        OBJ_nid2obj(NID_X9_62_prime256v1), point, (int)point_len) != 1)
		goto out;
	point = NULL; /* the certificate's now */
	for (int i = 0; i < EXT_FIXED; i++)
		if (X509_add_ext(x, s->ext_fixed[i], -1) != 1)
			goto out;
	/* The name asked for, and the key's identifier. */
	if ((sans = GENERAL_NAMES_new()) == NULL ||
	    (san = GENERAL_NAME_new()) == NULL ||
	    (dns = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(dns, csr.dns[0], -1) != 1)
		goto out;
	GENERAL_NAME_set0_value(san, GEN_DNS, dns);
	dns = NULL;
	if (sk_GENERAL_NAME_push(sans, san) <= 0)
		goto out;
	san = NULL;
	if ((ski_os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(ski_os, ski, sizeof(ski)) != 1 ||
	    X509_add1_ext_i2d(
	        x, NID_subject_alt_name, sans, 0, X509V3_ADD_APPEND) != 1 ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski_os, 0,
	        X509V3_ADD_APPEND) != 1 ||
	    X509_sign(x, s->ca, EVP_sha256()) <= 0 ||
	    (len = i2d_X509(x, der)) <= 0)
		goto out;
	*der_len = (size_t)len;
	ok = 1;
out:
	OPENSSL_free(point);
	ASN1_OCTET_STRING_free(ski_os);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(san);
	GENERAL_NAMES_free(sans);
	X509_free(x);
	csr_info_clear(&csr);
	return ok;
}

/*
 * --jose: what a request's JWS carried, once checked: the payload's JSON,
 * and what finalize and newOrder ask for in it.
 */
struct jose_req {
	struct jws jws;
	cJSON *payload;     /* NULL for POST-as-GET */
	const char *name;   /* newOrder's identifier, in payload */
	unsigned char *csr; /* finalize's, decoded (free()) */
	size_t csr_len;
};

static void
jose_req_clear(struct jose_req *r)
{
	jws_clear(&r->jws);
	cJSON_Delete(r->payload);
	free(r->csr);
	memset(r, 0, sizeof(*r));
}

/*
 * The key of the account kid names (a new reference, EVP_PKEY_free), which
 * must be enrollment enr's (id its number): from the JWK its record holds,
 * through kakuin-server's cache of keys. 1, or 0.
 */
static int
jose_account_key(struct srv *s, uint64_t enr, const char *id, const char *kid,
    EVP_PKEY **key)
{
	char want[URL_MAX], jwk[JWK_MAX];
	struct acct *a = &s->accts[enr % ENR_SLOTS];
	int found;

	*key = NULL;
	snprintf(want, sizeof(want), "%s/acct/%s", s->base, id);
	if (kid == NULL || strcmp(kid, want) != 0)
		return 0;
	pthread_mutex_lock(&s->acct_mu);
	if ((found = a->n == enr))
		memcpy(jwk, a->jwk, sizeof(jwk));
	pthread_mutex_unlock(&s->acct_mu);
	return found && keycache_get(s->keys, id, jwk, key) == KK_OK;
}

/*
 * newAccount's payload: an external account binding, under the bench's
 * MAC key, of key, the JWK the JWS carries. The account's JWK and
 * thumbprint go into c (for its record), and its key into the cache and
 * into the enrollment's account slot.
 */
static int
jose_new_account(struct srv *s, struct conn *c, const struct jose_req *r,
    const char *id, const char *url)
{
	struct acct *a = &s->accts[c->enr % ENR_SLOTS];
	char *text = NULL, *thumb = NULL;
	struct eab eab;
	int ok = 0;

	memset(&eab, 0, sizeof(eab));
	if (r->jws.jwk == NULL || r->payload == NULL ||
	    eab_parse(cJSON_GetObjectItemCaseSensitive(
	                  r->payload, "externalAccountBinding"),
	        &eab) != KK_OK ||
	    strcmp(eab.kid, "bench") != 0 ||
	    eab_verify(&eab, s->eab_key, sizeof(s->eab_key), r->jws.jwk, url) !=
	        KK_OK ||
	    jwk_texts(r->jws.jwk, &text, &thumb) != KK_OK ||
	    strlen(text) >= sizeof(c->jwk) || strlen(thumb) >= sizeof(c->thumb))
		goto out;
	strcpy(c->jwk, text);
	strcpy(c->thumb, thumb);
	keycache_put(s->keys, id, text, r->jws.jwk);
	pthread_mutex_lock(&s->acct_mu);
	a->n = c->enr;
	strcpy(a->jwk, text);
	pthread_mutex_unlock(&s->acct_mu);
	ok = 1;
out:
	eab_clear(&eab);
	free(text);
	free(thumb);
	return ok;
}

/*
 * 1 when the request head in c has the header name: value (the name in
 * any case, the value exactly, as RFC 8555 6.2 asks of the Content-Type).
 */
static int
head_has(const struct conn *c, const char *name, const char *value)
{
	const char *p = c->in, *end = c->in + c->hdr_len, *eol;
	char v[128];

	/* A value cut to fit v is longer than any asked for here. */
	for (; (eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL;
	     p = eol + 2) {
		v[0] = '\0';
		bench_header_value(p, (size_t)(eol - p), name, v, sizeof(v));
		if (strcmp(v, value) == 0)
			return 1;
	}
	return 0;
}

/*
 * What the step takes from the payload's JSON: newOrder's one dns
 * identifier, finalize's CSR (decoded); POST-as-GET has none. NULL, or
 * what is wrong.
 */
static const char *
jose_payload(int step, struct jose_req *r)
{
	const cJSON *ids, *id;
	const char *type, *csr;

	switch (step) {
	case 0:
		return NULL; /* jose_new_account's */
	case 1:
		ids =
		    cJSON_GetObjectItemCaseSensitive(r->payload, "identifiers");
		id = cJSON_GetArrayItem(ids, 0);
		if (cJSON_GetArraySize(ids) != 1 ||
		    (r->name = json_get_string(id, "value")) == NULL ||
		    (type = json_get_string(id, "type")) == NULL ||
		    strcmp(type, "dns") != 0)
			return "not one dns identifier";
		return NULL;
	case 2:
		if ((csr = json_get_string(r->payload, "csr")) == NULL ||
		    b64url_decode(csr, strlen(csr), &r->csr, &r->csr_len) !=
		        KK_OK)
			return "no CSR in base64url";
		return NULL;
	default:
		return r->payload != NULL ? "not POST-as-GET" : NULL;
	}
}

/*
 * --jose: the request's JWS read and checked as an ACME server must (RFC
 * 8555 6.2 to 6.5), with kakuin's own code: its media type, its nonce
 * redeemed, its URL the request's, its key the account's (newAccount's:
 * the JWK it carries, bound by the EAB), its signature, its payload's JSON
 * and what the step needs from it. 1 when it passed; 0 when it is refused,
 * *bad_nonce then saying whether the nonce was why (the client sends it
 * again with the nonce of that answer). Any other refusal is said on
 * stderr: the client only sees its connection closed.
 */
static int
jose_open(struct srv *s, struct conn *c, const unsigned char *body, size_t len,
    struct jose_req *r, int *bad_nonce)
{
	char url[URL_MAX], id[24];
	const char *why;
	EVP_PKEY *key = NULL;

	memset(r, 0, sizeof(*r));
	*bad_nonce = 0;
	snprintf(url, sizeof(url), "%s%s?e=%llu", s->base, steps[c->step].path,
	    (unsigned long long)c->enr);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->enr);
	why = "not application/jose+json";
	if (!head_has(c, "Content-Type", "application/jose+json"))
		goto out;
	why = "not a flattened JWS";
	if (jws_parse((const char *)body, len, &r->jws) != KK_OK)
		goto out;
	why = NULL;
	if (r->jws.nonce == NULL ||
	    nonce_redeem(s->nonces, r->jws.nonce) != KK_OK) {
		*bad_nonce = 1;
		goto out;
	}
	why = "the JWS's url is not the request's";
	if (r->jws.url == NULL || strcmp(r->jws.url, url) != 0)
		goto out;
	why = "no key, or not the enrollment's account";
	if (c->step == 0) {
		if (r->jws.jwk == NULL || EVP_PKEY_up_ref(r->jws.jwk) != 1)
			goto out;
		key = r->jws.jwk;
	} else if (!jose_account_key(s, c->enr, id, r->jws.kid, &key))
		goto out;
	why = "the signature does not verify";
	if (jws_verify(&r->jws, key) != KK_OK)
		goto out;
	why = "the payload is not a JSON object";
	if (r->jws.payload_len > 0 &&
	    (json_parse((const char *)r->jws.payload, r->jws.payload_len,
	         &r->payload) != KK_OK ||
	        !cJSON_IsObject(r->payload)))
		goto out;
	if (c->step == 0)
		why = jose_new_account(s, c, r, id, url)
		          ? NULL
		          : "no external account binding of its key";
	else
		why = jose_payload(c->step, r);
out:
	if (why != NULL)
		fprintf(stderr, "bench_floor: the server: %s: %s\n",
		    steps[c->step].path, why);
	EVP_PKEY_free(key);
	return why == NULL && !*bad_nonce;
}

/*
 * --jose: the JSON of c's answer (cJSON_Delete), as kakuin-server's: the
 * account or the order, made for this request, or a badNonce problem;
 * the new object's URL into loc. NULL when out of memory.
 */
static cJSON *
jose_body(const struct srv *s, const struct conn *c, const struct jose_req *r,
    int bad_nonce, char loc[URL_MAX])
{
	unsigned long long n = c->enr;
	char u[URL_MAX];
	cJSON *o, *a, *id;
	int ok;

	loc[0] = '\0';
	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	/* Each call fails only for want of memory: all are checked at once. */
	if (bad_nonce) {
		ok = cJSON_AddStringToObject(o, "type",
		         "urn:ietf:params:acme:error:badNonce") != NULL &&
		     cJSON_AddStringToObject(o, "detail",
		         "the nonce is unknown, used or expired; retry with "
		         "the Replay-Nonce of this response") != NULL &&
		     cJSON_AddNumberToObject(o, "status", 400) != NULL;
	} else if (c->step == 0) {
		snprintf(loc, URL_MAX, "%s/acct/%llu", s->base, n);
		snprintf(u, sizeof(u), "%s/acct/%llu/orders", s->base, n);
		ok =
		    cJSON_AddStringToObject(o, "status", "valid") != NULL &&
		    cJSON_AddRawToObject(o, "key", c->jwk) != NULL &&
		    cJSON_AddStringToObject(o, "orders", u) != NULL &&
		    cJSON_AddStringToObject(
		        o, "createdAt", "2026-12-02T07:00:00Z") != NULL &&
		    cJSON_AddBoolToObject(o, "termsOfServiceAgreed", 1) != NULL;
	} else {
		snprintf(loc, URL_MAX, "%s/order/%llu", s->base, n);
		ok = cJSON_AddStringToObject(o, "status",
		         c->step == 1 ? "ready" : "valid") != NULL &&
		     cJSON_AddStringToObject(
		         o, "expires", "2026-12-03T07:00:00Z") != NULL &&
		     (a = cJSON_AddArrayToObject(o, "identifiers")) != NULL &&
		     (id = cJSON_CreateObject()) != NULL &&
		     cJSON_AddItemToArray(a, id) &&
		     cJSON_AddStringToObject(id, "type", "dns") != NULL &&
		     cJSON_AddStringToObject(
		         id, "value", c->step == 1 ? r->name : HOST) != NULL;
		snprintf(u, sizeof(u), "%s/authz/%llu", s->base, n);
		ok =
		    ok &&
		    (a = cJSON_AddArrayToObject(o, "authorizations")) != NULL &&
		    cJSON_AddItemToArray(a, cJSON_CreateString(u));
		snprintf(u, sizeof(u), "%s/finalize?e=%llu", s->base, n);
		ok = ok && cJSON_AddStringToObject(o, "finalize", u) != NULL;
		snprintf(u, sizeof(u), "%s/cert?e=%llu", s->base, n);
		ok = ok && (c->step != 2 || cJSON_AddStringToObject(
		                                o, "certificate", u) != NULL);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * --jose: c's answer, made into c->out as kakuin-server makes one: a
 * fresh nonce, the new object's URL, and its JSON (jose_body; the
 * certificate's download: text of a PEM chain's size). 1, or 0.
 */
static int
jose_answer(
    struct srv *s, struct conn *c, const struct jose_req *r, int bad_nonce)
{
	char nonce[NONCE_LEN + 1], loc[URL_MAX] = "", *json = NULL;
	const struct step *st = &steps[c->step];
	int h, ok = 0, status = bad_nonce ? 400 : st->status;
	cJSON *o = NULL;
	size_t len;

	if (nonce_issue(s->nonces, nonce) != KK_OK)
		goto out;
	if (c->step == 3 && !bad_nonce)
		len = (size_t)st->ans_bytes;
	else if ((o = jose_body(s, c, r, bad_nonce, loc)) == NULL ||
	         (json = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	else
		len = strlen(json);
	h = snprintf(c->out, sizeof(c->out),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Replay-Nonce: %s\r\n"
	    "Link: <%s/directory>;rel=\"index\"\r\n"
	    "%s%s%s"
	    "Connection: keep-alive\r\n\r\n",
	    status,
	    status == 201   ? "Created"
	    : status == 200 ? "OK"
	                    : "Bad Request",
	    bad_nonce      ? "application/problem+json"
	    : c->step == 3 ? "application/pem-certificate-chain"
	                   : "application/json",
	    len, nonce, s->base, loc[0] != '\0' ? "Location: " : "", loc,
	    loc[0] != '\0' ? "\r\n" : "");
	if (h < 0 || (size_t)h + len > sizeof(c->out))
		goto out;
	if (json != NULL)
		memcpy(c->out + h, json, len);
	else
		memset(c->out + h, 'a', len);
	c->ans = c->out;
	c->ans_len = h + (int)len;
	ok = 1;
out:
	cJSON_Delete(o);
	free(json);
	return ok;
}

/* Does a request's work and commits: sets c->step and c->ticket. */
static int
request_work(struct srv *s, struct conn *c)
{
	const struct step *st;
	unsigned char mac[32], sig[80], serial[16], *der = NULL;
	const unsigned char *body, *stored = NULL;
	size_t body_len, sig_len, der_len = 0, stored_len = 0;
	unsigned int mac_len;
	struct jose_req r;
	int ok = 0, bad_nonce = 0;

	memset(&r, 0, sizeof(r));
	c->ticket = 0;
	if ((c->step = step_of(c->in, c->req_len, &c->enr)) < 0)
		goto out;
	st = &steps[c->step];
	c->ans = s->answers[c->step];
	c->ans_len = s->answer_len[c->step];
	body = (const unsigned char *)c->in + c->hdr_len;
	body_len = c->req_len - c->hdr_len;
	if (s->jose) {
		/* A bad nonce is answered, as the client expects. */
		if (!jose_open(s, c, body, body_len, &r, &bad_nonce)) {
			ok = bad_nonce && jose_answer(s, c, &r, 1);
			goto out;
		}
		/* The CSR is the payload's: its own verification is the
		 * second. */
		body = r.csr;
		body_len = r.csr_len;
	} else {
		/* With --x509 the CSR's own verification is the second. */
		for (int i = 0; i < st->verifies - (s->x509 && c->step == 2);
		     i++)
			if (!verify_body(s->acct, body, body_len))
				goto out;
		if (c->step == 0 &&
		    HMAC(EVP_sha256(), s->eab_key, sizeof(s->eab_key), body,
		        body_len / 2, mac, &mac_len) == NULL)
			goto out;
	}
	if (c->step == 2 && s->x509) {
		if (!cert_make(s, body, body_len, serial, &der, &der_len))
			goto out;
		stored = der;
		stored_len = der_len;
	} else if (c->step == 2) {
		/* The certificate's signature, over a to-be-signed part's
		 * size; with --sqlite a certificate's size of the body, and
		 * a random serial, are stored. */
		if (body_len < TBS_BYTES + 700 ||
		    !sign(s->ca, body, TBS_BYTES, sig, &sig_len) ||
		    (s->db != NULL && RAND_bytes(serial, sizeof(serial)) != 1))
			goto out;
		stored = body;
		stored_len = 700;
	}
	if (s->db != NULL)
		ok = db_request(s, c, stored, stored_len, serial, &c->ticket);
	else
		ok = st->pages == 0 || commit(s, st->pages, &c->ticket);
	if (ok && s->jose)
		ok = jose_answer(s, c, &r, 0);
out:
	jose_req_clear(&r);
	OPENSSL_free(der);
	return ok;
}

/* Does a request's work; its answer then waits for its commit's sync. */
static int
answer_request(struct loop *l, struct conn *c)
{
	if (!request_work(l->s, c))
		return 0;
	c->state = C_WAIT_SYNC;
	c->next_wait = l->waiting;
	l->waiting = c;
	return 1;
}

/* Keep-alive: what followed the request answered is the next one's. */
static void
conn_consume(struct conn *c)
{
	memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
	c->in_len -= c->req_len;
	c->req_len = 0;
}

static void
conn_close(struct loop *l, struct conn *c)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* Sends what is left of c's answer: 1 done, 0 blocked, -1 failed. */
static int
conn_write(struct loop *l, struct conn *c)
{
	const char *a = c->ans;
	int len = c->ans_len, n;
	struct epoll_event ev = {.data.ptr = c};

	while (c->out_off < (size_t)len) {
		/* SSL_get_error reads the queue: nothing older in it. */
		ERR_clear_error();
		n = SSL_write(c->ssl, a + c->out_off, len - (int)c->out_off);
		if (n <= 0) {
			if (SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_WRITE)
				return -1;
			/* Not EPOLLIN: input must wait for this answer. */
			ev.events = EPOLLOUT;
			epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
			c->polling_out = 1;
			return 0;
		}
		c->out_off += (size_t)n;
	}
	if (c->polling_out) {
		ev.events = EPOLLIN;
		epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->polling_out = 0;
	}
	conn_consume(c);
	c->state = C_READ;
	return 1;
}

/* Reads what has come; answers each whole request. 0 to close c. */
static int
conn_read(struct loop *l, struct conn *c)
{
	long len;
	int n;

	for (;;) {
		if (c->state != C_READ)
			return 1; /* one request at a time, as ACME clients */
		if ((len = request_length(c, &c->hdr_len)) < 0)
			return 0;
		if (len > 0) {
			c->req_len = (size_t)len;
			if (!answer_request(l, c))
				return 0;
			continue;
		}
		ERR_clear_error();
		n = SSL_read(
		    c->ssl, c->in + c->in_len, (int)(IN_MAX - c->in_len));
		/*
		 * WANT_WRITE would need EPOLLOUT; with a few hundred bytes
		 * in flight the socket never fills, and a connection that
		 * stalled would fail the run on the client's timeout.
		 */
		if (n <= 0)
			return SSL_get_error(c->ssl, n) ==
			           SSL_ERROR_WANT_READ ||
			       SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_WRITE;
		c->in_len += (size_t)n;
	}
}

/* A connection just accepted on fd, its TLS not begun (caller frees). */
static struct conn *
conn_new(struct srv *s, int fd)
{
	struct conn *c;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ssl = SSL_new(s->ctx)) == NULL)
		server_fail("a new connection");
	c->s = s;
	c->fd = fd;
	SSL_set_fd(c->ssl, fd);
	SSL_set_accept_state(c->ssl);
	return c;
}

static void
accept_all(struct loop *l)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	int fd;

	for (;;) {
		fd = accept4(
		    l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			server_fail("accept");
		}
		c = conn_new(l->s, fd);
		ev.data.ptr = c;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			server_fail("epoll_ctl");
	}
}

/* One event loop: runs until the process is killed or fails. */
static void *
loop_run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event evs[64], ev = {.events = EPOLLIN};
	struct conn *c, *next;
	uint64_t need;
	int n;

	ev.data.ptr = NULL; /* the listener */
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->listen_fd, &ev) != 0)
		server_fail("epoll");
	for (;;) {
		if ((n = epoll_wait(l->ep, evs, 64, -1)) < 0 && errno != EINTR)
			server_fail("epoll_wait");
		for (int i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL)
				accept_all(l);
			else if (c->state == C_WRITE) {
				if (conn_write(l, c) < 0 ||
				    (c->state == C_READ && !conn_read(l, c)))
					conn_close(l, c);
			} else if (!conn_read(l, c))
				conn_close(l, c);
		}
		/*
		 * One sync for every answer this turn has made. Sending one
		 * may answer the next request already read, which waits in
		 * turn: no event would come for it.
		 */
		while (l->waiting != NULL) {
			need = 0;
			for (c = l->waiting; c != NULL; c = c->next_wait)
				if (c->ticket > need)
					need = c->ticket;
			if (need > 0 && !sync_upto(l->s, need))
				server_fail("fdatasync");
			for (c = l->waiting, l->waiting = NULL; c != NULL;
			     c = next) {
				next = c->next_wait;
				c->out_off = 0;
				c->state = C_WRITE;
				if (conn_write(l, c) < 0 ||
				    (c->state == C_READ && !conn_read(l, c)))
					conn_close(l, c);
			}
		}
	}
}

/*
 * A connection's thread (--threads): blocking reads and writes, and a
 * wait for the sync of its own commit (sync_upto's mutex hands one sync
 * to all who wait for it).
 */
static void *
conn_thread(void *arg)
{
	struct conn *c = arg;
	struct srv *s = c->s;
	long len;
	int n;

	for (;;) {
		while ((len = request_length(c, &c->hdr_len)) == 0) {
			n = SSL_read(c->ssl, c->in + c->in_len,
			    (int)(IN_MAX - c->in_len));
			if (n <= 0)
				goto out;
			c->in_len += (size_t)n;
		}
		if (len < 0)
			goto out;
		c->req_len = (size_t)len;
		if (!request_work(s, c))
			goto out;
		if (c->ticket > 0 && !sync_upto(s, c->ticket))
			server_fail("fdatasync");
		if (SSL_write(c->ssl, c->ans, c->ans_len) != c->ans_len)
			goto out;
		conn_consume(c);
	}
out:
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
	return NULL;
}

struct acceptor {
	struct srv *s;
	int fd;
};

/* Accepts on a's listener, a thread for each connection; never returns. */
static void *
accept_run(void *arg)
{
	struct acceptor *a = arg;
	pthread_attr_t attr;
	struct conn *c;
	pthread_t th;
	int fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (fcntl(a->fd, F_SETFL, 0) != 0) /* blocking */
		server_fail("fcntl");
	for (;;) {
		if ((fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			server_fail("accept");
		}
		c = conn_new(a->s, fd);
		if (pthread_create(&th, &attr, conn_thread, c) != 0)
			server_fail("pthread_create");
	}
}

/* The server's answers, with the headers kakuin-server sends: 1, or 0. */
static int
answers_make(struct srv *s)
{
	for (int i = 0; i < STEPS; i++) {
		char *a = s->answers[i];
		int h;

		h = snprintf(a, OUT_MAX,
		    "HTTP/1.1 %d %s\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %d\r\n"
		    "Cache-Control: no-store\r\n"
		    "Replay-Nonce: Aa0Bb1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2\r\n"
		    "Link: <https://127.0.0.1/acme/directory>;rel=\"index\"\r\n"
		    "Location: "
		    "https://127.0.0.1/acme/order/0123456789abcdef\r\n"
		    "Connection: keep-alive\r\n\r\n",
		    steps[i].status, steps[i].status == 201 ? "Created" : "OK",
		    steps[i].ans_bytes);
		if (h < 0 || h + steps[i].ans_bytes > OUT_MAX)
			return 0;
		memset(a + h, 'a', (size_t)steps[i].ans_bytes);
		s->answer_len[i] = h + steps[i].ans_bytes;
	}
	return 1;
}

/*
 * The server process: as many loops (or acceptors, with threads) as this
 * process may use CPUs, up to MAX_LOOPS, on the listeners made before the
 * fork by parent. Never returns.
 */
static void __attribute__((noreturn))
serve(struct srv *s, int *listen_fds, int n_loops, int threads, pid_t parent)
{
	struct acceptor acc[MAX_LOOPS];
	struct loop loops[MAX_LOOPS];
	void *(*run)(void *) = threads ? accept_run : loop_run;
	void *arg[MAX_LOOPS];
	pthread_t th;

	signal(SIGPIPE, SIG_IGN);
	/* Gone with the parent, even if it went before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		server_fail("prctl");
	if (getppid() != parent)
		_exit(1);
	if (s->db_dir != NULL)
		db_open(s);
	memset(loops, 0, sizeof(loops));
	for (int i = 0; i < n_loops; i++) {
		loops[i].s = acc[i].s = s;
		loops[i].listen_fd = acc[i].fd = listen_fds[i];
		arg[i] = threads ? (void *)&acc[i] : (void *)&loops[i];
		if (i > 0 && pthread_create(&th, NULL, run, arg[i]) != 0)
			server_fail("pthread_create");
	}
	run(arg[0]);
	_exit(1); /* not reached: the loops and acceptors never return */
}

/* A listener on 127.0.0.1:*port (0: any, set on return). -1 on failure. */
static int
listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port);
	if ((fd = socket(
	         AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 256) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static EVP_PKEY *
p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A self-signed certificate for 127.0.0.1 (caller frees), or NULL. */
static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_EXTENSION *san = NULL;
	X509_NAME *name;
	int ok;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	         (const unsigned char *)"bench_floor", -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	     (san = X509V3_EXT_conf_nid(
	          NULL, NULL, NID_subject_alt_name, "IP:127.0.0.1")) != NULL &&
	     X509_add_ext(x, san, -1) && X509_sign(x, key, EVP_sha256()) > 0;
	X509_EXTENSION_free(san);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * --x509: the CA's name and the extensions every certificate carries,
 * made once: basic constraints, key usage, extended key usage, the CA's
 * key identifier, where its CRL is.
 */
static int
x509_init(struct srv *s)
{
	static const struct {
		int nid;
		const char *value;
	} text[] = {
	    {NID_basic_constraints, "critical,CA:FALSE"},
	    {NID_key_usage, "critical,digitalSignature"},
	    {NID_ext_key_usage, "clientAuth"},
	    {NID_crl_distribution_points, "URI:http://127.0.0.1/crl"},
	};
	unsigned char point[65], id[SHA_DIGEST_LENGTH];
	AUTHORITY_KEYID *aki = NULL;
	size_t point_len;
	int ok = 0;

	if ((s->ca_name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(s->ca_name, "O", MBSTRING_ASC,
	        (const unsigned char *)"Kakuin bench", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(s->ca_name, "CN", MBSTRING_ASC,
	        (const unsigned char *)"bench_floor CA", -1, -1, 0) != 1 ||
	    /*
	     * Encoded now: OpenSSL encodes a name when it is first copied,
	     * writing into it, and the threads copy it at once.
	     */
	    i2d_X509_NAME(s->ca_name, NULL) <= 0)
		goto out;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if ((s->ext_fixed[i] = X509V3_EXT_conf_nid(
		         NULL, NULL, text[i].nid, text[i].value)) == NULL)
			goto out;
	if (EVP_PKEY_get_octet_string_param(s->ca, "encoded-pub-key", point,
	        sizeof(point), &point_len) != 1 ||
	    SHA1(point, point_len, id) == NULL ||
	    (aki = AUTHORITY_KEYID_new()) == NULL ||
	    (aki->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(aki->keyid, id, sizeof(id)) != 1 ||
	    (s->ext_fixed[4] = X509V3_EXT_i2d(
	         NID_authority_key_identifier, 0, aki)) == NULL)
		goto out;
	ok = 1;
out:
	AUTHORITY_KEYID_free(aki);
	return ok;
}

/*
 * The file the commits are appended to, in dir: a name of its own (two
 * runs, or a link planted in a shared directory, never meet it), unlinked
 * at once, so nothing is left behind however the run ends; written whole
 * once, so that commits overwrite blocks already there. 1, or 0 saying
 * why.
 */
static int
wal_open(struct srv *s, const char *dir)
{
	char path[4096];
	int i;

	if ((size_t)snprintf(path, sizeof(path), "%s/floor-wal-XXXXXX", dir) >=
	    sizeof(path)) {
		fprintf(stderr, "bench_floor: %s: too long\n", dir);
		return 0;
	}
	if ((s->wal = mkostemp(path, O_CLOEXEC)) < 0 || unlink(path) != 0) {
		fprintf(stderr, "bench_floor: a file in %s: %s\n", dir,
		    strerror(errno));
		return 0;
	}
	for (i = 0; i < WAL_PAGES; i += MAX_PAGES) {
		ssize_t w =
		    pwrite(s->wal, s->pages, sizeof(s->pages), (off_t)i * PAGE);

		if (w != (ssize_t)sizeof(s->pages)) {
			if (w >= 0)
				errno = ENOSPC; /* a short write */
			break;
		}
	}
	if (i < WAL_PAGES || fsync(s->wal) != 0) {
		fprintf(stderr, "bench_floor: %s: %s\n", path, strerror(errno));
		return 0;
	}
	return 1;
}

/* The server's keys, certificate and answers; its TLS cert's PEM out. */
static int
srv_init(struct srv *s, const char *dir, const char *db_dir, int x509, int jose,
    char **cert_pem)
{
	X509 *cert = NULL;
	EVP_PKEY *tls = NULL;
	BIO *b = NULL;
	char *p;
	long n;
	int ok = 0;

	memset(s, 0, sizeof(*s));
	s->wal = -1;
	pthread_mutex_init(&s->append_mu, NULL);
	pthread_mutex_init(&s->sync_mu, NULL);
	pthread_mutex_init(&s->db_mu, NULL);
	pthread_mutex_init(&s->acct_mu, NULL);
	s->db_dir = db_dir;
	if (!answers_make(s)) {
		fprintf(stderr, "bench_floor: an answer exceeds %d bytes\n",
		    OUT_MAX);
		goto out;
	}
	memset(s->pages, 'p', sizeof(s->pages));
	memset(s->eab_key, 'k', sizeof(s->eab_key));
	if ((tls = p256()) == NULL || (s->acct = p256()) == NULL ||
	    (s->ca = p256()) == NULL || (cert = self_signed(tls)) == NULL ||
	    (s->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(s->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(s->ctx, tls) != 1 ||
	    ((s->x509 = x509) && !x509_init(s))) {
		ERR_print_errors_fp(stderr);
		goto out;
	}
	if ((s->jose = jose) &&
	    (nonce_pool_new(&s->nonces) != KK_OK ||
	        keycache_new(KEYCACHE_SLOTS, &s->keys) != KK_OK)) {
		fprintf(stderr, "bench_floor: no nonces or key cache\n");
		goto out;
	}
	/* With --sqlite the server's child opens the database (db_open). */
	if (db_dir == NULL && !wal_open(s, dir))
		goto out;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, cert) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (*cert_pem = strndup(p, (size_t)n)) == NULL)
		goto out;
	ok = 1;
out:
	BIO_free(b);
	X509_free(cert);
	EVP_PKEY_free(tls);
	return ok;
}

/*
 * A request body of n bytes signed by key, as verify_body takes it, its
 * payload beginning with the pre_len bytes of pre (caller frees). A
 * P-256 signature's DER is 70 to 72 bytes, and the payload is what it
 * leaves: signed again until the lengths agree.
 */
static unsigned char *
body_make(EVP_PKEY *key, int n, const unsigned char *pre, size_t pre_len)
{
	unsigned char *b, sig[80];
	size_t sig_len, room = 72;

	if (n < 128 || pre_len > (size_t)n - 1 - room ||
	    (b = malloc((size_t)n)) == NULL)
		return NULL;
	memset(b, 'j', (size_t)n);
	if (pre_len > 0)
		memcpy(b, pre, pre_len);
	for (int tries = 0; tries < 100; tries++) {
		if (!sign(key, b, (size_t)n - 1 - room, sig, &sig_len))
			break;
		if (sig_len == room) {
			memcpy(b + n - 1 - room, sig, sig_len);
			b[n - 1] = (unsigned char)sig_len;
			return b;
		}
		room = sig_len;
	}
	free(b);
	return NULL;
}

/* The client: libcurl's multi interface, one enrollment per job at once. */
struct client;

struct job {
	struct client *cl;
	CURL *e;
	int step;
	uint64_t enr; /* the enrollment's number, in its URLs */
	char url[96];
	char err[CURL_ERROR_SIZE];
	/* --jose */
	EVP_PKEY *key;     /* the enrollment's account key (the client's) */
	char *body;        /* the request's JWS (free()) */
	char nonce[64];    /* the last answer's Replay-Nonce */
	char loc[URL_MAX]; /* the last answer's Location */
	char kid[URL_MAX]; /* the account's URL, from newAccount's answer */
	char ans[96];      /* the start of the answer's body */
	size_t ans_len;
	int retried; /* the request was sent again after badNonce */
};

struct client {
	CURLM *m;
	struct job *jobs;
	int n;
	struct curl_slist *headers;
	unsigned char *bodies[STEPS];
	int port;
	uint64_t enrs; /* enrollments begun, warm-up's too: each's number */
	long started, done, target, failed;
	long retries; /* --jose: requests sent again after badNonce */
	/* --jose: an account key per enrollment (thumbprints are unique),
	 * the CSR in base64url, the EAB's MAC key */
	int jose;
	EVP_PKEY **keys;
	uint64_t n_keys;
	char *csr_b64;
	const unsigned char *eab_key;
	size_t eab_key_len;
};

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* --jose: the start of an answer's body is kept, for its problem type. */
static size_t
job_body(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n, room = sizeof(j->ans) - 1 - j->ans_len;

	if (len < room)
		room = len;
	memcpy(j->ans + j->ans_len, p, room);
	j->ans_len += room;
	j->ans[j->ans_len] = '\0';
	return len;
}

/*
 * --jose: an answer's header line; the Replay-Nonce and the Location are
 * kept for the next request.
 */
static size_t
job_header(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;

	bench_header_value(
	    p, size * n, "Replay-Nonce", j->nonce, sizeof(j->nonce));
	bench_header_value(p, size * n, "Location", j->loc, sizeof(j->loc));
	return size * n;
}

/*
 * --jose: the step's request as an ACME client signs it, in j->body:
 * newAccount with the EAB and its JWK, then by its account's URL (kid),
 * newOrder's identifier, finalize's CSR, the download as POST-as-GET.
 */
static int
job_jws(struct job *j)
{
	struct client *cl = j->cl;
	cJSON *o = NULL, *a, *eab = NULL;
	char *payload = NULL;
	int ok = 0;

	free(j->body);
	j->body = NULL;
	if (j->step < 3 && (o = cJSON_CreateObject()) == NULL)
		goto out;
	switch (j->step) {
	case 0:
		if (eab_build("bench", cl->eab_key, cl->eab_key_len, j->key,
		        j->url, &eab) != KK_OK)
			goto out;
		cJSON_AddBoolToObject(o, "termsOfServiceAgreed", 1);
		cJSON_AddItemToObject(o, "externalAccountBinding", eab);
		break;
	case 1:
		a = cJSON_AddArrayToObject(o, "identifiers");
		cJSON_AddItemToArray(a, cJSON_CreateObject());
		cJSON_AddStringToObject(
		    cJSON_GetArrayItem(a, 0), "type", "dns");
		cJSON_AddStringToObject(
		    cJSON_GetArrayItem(a, 0), "value", HOST);
		break;
	case 2:
		cJSON_AddStringToObject(o, "csr", cl->csr_b64);
		break;
	}
	if (o != NULL && (payload = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	ok = jws_sign(j->key, j->step == 0 ? NULL : j->kid,
	         j->nonce[0] != '\0' ? j->nonce : "none", j->url,
	         (const unsigned char *)payload,
	         payload != NULL ? strlen(payload) : 0, &j->body) == KK_OK;
out:
	cJSON_Delete(o);
	free(payload);
	return ok;
}

static int
job_request(struct job *j)
{
	const struct step *st = &steps[j->step];

	snprintf(j->url, sizeof(j->url), "https://127.0.0.1:%d%s?e=%llu",
	    j->cl->port, st->path, (unsigned long long)j->enr);
	curl_easy_setopt(j->e, CURLOPT_URL, j->url);
	if (j->cl->jose) {
		if (!job_jws(j)) {
			fprintf(stderr,
			    "bench_floor: %s: cannot sign the request\n",
			    st->path);
			return 0;
		}
		j->loc[0] = '\0';
		j->ans_len = 0;
		j->ans[0] = '\0';
		curl_easy_setopt(j->e, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(
		    j->e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	} else {
		curl_easy_setopt(
		    j->e, CURLOPT_POSTFIELDS, j->cl->bodies[j->step]);
		curl_easy_setopt(
		    j->e, CURLOPT_POSTFIELDSIZE, (long)st->req_bytes);
	}
	return curl_multi_add_handle(j->cl->m, j->e) == CURLM_OK;
}

/* Starts the job's next enrollment, if any is left: 1 when it did. */
static int
job_next(struct job *j)
{
	if (j->cl->started >= j->cl->target)
		return 0;
	j->cl->started++;
	j->enr = ++j->cl->enrs;
	j->step = 0;
	/* --jose: a key of its own (client_init made enough). */
	if (j->cl->jose)
		j->key = j->cl->keys[(j->enr - 1) % j->cl->n_keys];
	if (!job_request(j))
		j->cl->failed++;
	return 1;
}

static int
job_answered(struct job *j, CURLcode res)
{
	long code = 0;

	curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(j->cl->m, j->e);
	/* --jose: once again with the fresh nonce after a badNonce (a job's
	 * first request has none), as ACME clients do. */
	if (j->cl->jose && res == CURLE_OK && code == 400 && !j->retried &&
	    bench_is_bad_nonce(code, j->ans)) {
		j->retried = 1;
		j->cl->retries++;
		return job_request(j) ? 1 : (j->cl->failed++, 0);
	}
	j->retried = 0;
	if (j->cl->jose && res == CURLE_OK && j->step == 0 &&
	    code == steps[0].status) {
		if (j->loc[0] == '\0')
			res = CURLE_WEIRD_SERVER_REPLY; /* no account URL */
		memcpy(j->kid, j->loc, sizeof(j->kid));
	}
	if (res != CURLE_OK || code != steps[j->step].status) {
		fprintf(stderr, "bench_floor: %s: %s (HTTP %ld)\n",
		    steps[j->step].path,
		    j->err[0] != '\0' ? j->err : curl_easy_strerror(res), code);
		j->cl->failed++;
		return 0;
	}
	if (++j->step < STEPS)
		return job_request(j) ? 1 : (j->cl->failed++, 0);
	j->cl->done++;
	return job_next(j);
}

/* Runs target enrollments on the client's jobs: 1, or 0 on a failure. */
static int
client_run(struct client *cl, long target)
{
	struct job *j;
	CURLMcode mc = CURLM_OK;
	CURLMsg *msg;
	int running, msgs, again;

	cl->started = cl->done = cl->retries = 0;
	cl->target = target;
	for (int i = 0; i < cl->n; i++)
		(void)job_next(&cl->jobs[i]);
	while (cl->done < cl->target && cl->failed == 0) {
		if ((mc = curl_multi_perform(cl->m, &running)) != CURLM_OK)
			break;
		again = 0;
		while ((msg = curl_multi_info_read(cl->m, &msgs)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(
			    msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			again |= job_answered(j, msg->data.result);
		}
		if (!again && cl->done < cl->target && cl->failed == 0 &&
		    (mc = curl_multi_poll(cl->m, NULL, 0, 1000, NULL)) !=
		        CURLM_OK)
			break;
	}
	if (mc != CURLM_OK)
		fprintf(stderr, "bench_floor: libcurl: %s\n",
		    curl_multi_strerror(mc));
	return mc == CURLM_OK && cl->failed == 0;
}

/*
 * A CSR for a new P-256 key, in DER (caller frees with OPENSSL_free),
 * as a host's: its name in the subject and asked for as a SAN.
 */
static int
csr_make(unsigned char **der, size_t *der_len)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *san = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req;
	int len, ok = 0;

	*der = NULL;
	if ((req = X509_REQ_new()) == NULL || (key = p256()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (san = X509V3_EXT_conf_nid(
	         NULL, NULL, NID_subject_alt_name, "DNS:" HOST)) == NULL ||
	    sk_X509_EXTENSION_push(exts, san) <= 0)
		goto out;
	san = NULL;
	if (X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	        MBSTRING_ASC, (const unsigned char *)HOST, -1, -1, 0) != 1 ||
	    X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, der)) <= 0)
		goto out;
	*der_len = (size_t)len;
	ok = 1;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_EXTENSION_free(san);
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	return ok;
}

/*
 * --jose: an account key for each of the n_keys enrollments of the run,
 * and the CSR in base64url; made before the clock starts, as bench_enroll
 * makes its keys. 1, or 0.
 */
static int
client_jose_init(struct client *cl, uint64_t n_keys, const unsigned char *csr,
    size_t csr_len)
{
	if ((cl->keys = calloc(n_keys, sizeof(*cl->keys))) == NULL ||
	    b64url_encode(csr, csr_len, &cl->csr_b64) != KK_OK)
		return 0;
	for (cl->n_keys = 0; cl->n_keys < n_keys; cl->n_keys++)
		if ((cl->keys[cl->n_keys] = p256()) == NULL)
			return 0;
	return 1;
}

/*
 * n jobs on port, trusting ca_pem; acct signs the bodies made once, or
 * with jose (n_keys keys, for as many enrollments) each request is a JWS
 * made for it, its EAB under eab_key.
 */
static int
client_init(struct client *cl, int n, int port, const char *ca_pem,
    EVP_PKEY *acct, int x509, int jose, uint64_t n_keys,
    const unsigned char *eab_key, size_t eab_key_len)
{
	struct curl_blob ca = {(void *)ca_pem, strlen(ca_pem), CURL_BLOB_COPY};
	struct curl_slist *h;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int ok = 1;

	memset(cl, 0, sizeof(*cl));
	if ((cl->m = curl_multi_init()) == NULL ||
	    (cl->jobs = calloc((size_t)n, sizeof(*cl->jobs))) == NULL)
		return 0;
	cl->n = n;
	cl->port = port;
	if ((cl->headers = curl_slist_append(
	         NULL, "Content-Type: application/jose+json")) == NULL)
		return 0;
	/* No "Expect: 100-continue" round trip: ACME clients send at once. */
	if ((h = curl_slist_append(cl->headers, "Expect:")) == NULL)
		return 0;
	cl->headers = h;
	if (x509 && !csr_make(&csr, &csr_len))
		return 0;
	cl->jose = jose;
	cl->eab_key = eab_key;
	cl->eab_key_len = eab_key_len;
	if (jose && !client_jose_init(cl, n_keys, csr, csr_len)) {
		OPENSSL_free(csr);
		return 0;
	}
	for (int i = 0; !jose && i < STEPS; i++) {
		/* finalize's payload: the CSR first, with --x509 */
		cl->bodies[i] = body_make(
		    acct, steps[i].req_bytes, csr, i == 2 ? csr_len : 0);
		ok = cl->bodies[i] != NULL;
		if (!ok)
			break;
	}
	OPENSSL_free(csr);
	if (!ok)
		return 0;
	for (int i = 0; i < n; i++) {
		struct job *j = &cl->jobs[i];

		j->cl = cl;
		if ((j->e = curl_easy_init()) == NULL)
			return 0;
		curl_easy_setopt(j->e, CURLOPT_PRIVATE, j);
		curl_easy_setopt(j->e, CURLOPT_CAINFO_BLOB, &ca);
		curl_easy_setopt(j->e, CURLOPT_HTTPHEADER, cl->headers);
		curl_easy_setopt(j->e, CURLOPT_WRITEFUNCTION, discard);
		if (jose) {
			curl_easy_setopt(
			    j->e, CURLOPT_HEADERFUNCTION, job_header);
			curl_easy_setopt(j->e, CURLOPT_HEADERDATA, j);
			curl_easy_setopt(j->e, CURLOPT_WRITEFUNCTION, job_body);
			curl_easy_setopt(j->e, CURLOPT_WRITEDATA, j);
		}
		curl_easy_setopt(j->e, CURLOPT_ERRORBUFFER, j->err);
		curl_easy_setopt(j->e, CURLOPT_NOSIGNAL, 1L);
		/* A server that stopped answering fails the run, not hangs it.
		 */
		curl_easy_setopt(j->e, CURLOPT_TIMEOUT_MS, 30000L);
	}
	return 1;
}

static void
client_clear(struct client *cl)
{
	for (int i = 0; cl->jobs != NULL && i < cl->n; i++) {
		curl_easy_cleanup(cl->jobs[i].e);
		free(cl->jobs[i].body);
	}
	free(cl->jobs);
	for (uint64_t i = 0; i < cl->n_keys; i++)
		EVP_PKEY_free(cl->keys[i]);
	free(cl->keys);
	free(cl->csr_b64);
	curl_multi_cleanup(cl->m);
	curl_slist_free_all(cl->headers);
	for (int i = 0; i < STEPS; i++)
		free(cl->bodies[i]);
}

/* The server process's CPU so far, in seconds, or -1. */
static double
pid_cpu(pid_t pid)
{
	struct timespec ts;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Removes --sqlite's directory and what SQLite made in it. */
static void
db_remove(const char *dir)
{
	static const char *const names[] = {
	    "floor.db", "floor.db-wal", "floor.db-shm", "floor.db-journal"};
	char path[4200];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "bench_floor: %s: %s\n", path,
			    strerror(errno));
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "bench_floor: %s: %s\n", dir, strerror(errno));
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_floor [--concurrency N] [--count M] "
	                "[--dir D] [--threads] [--sqlite shared|exclusive] "
	                "[--x509 [--jose]] [--kv]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"concurrency", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"dir", required_argument, NULL, 'd'},
	    {"kv", no_argument, NULL, 'k'},
	    {"sqlite", required_argument, NULL, 's'},
	    {"x509", no_argument, NULL, 'x'},
	    {"jose", no_argument, NULL, 'j'},
	    {"threads", no_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	int conc = 16, kv = 0, threads = 0, sqlite = 0, x509 = 0, jose = 0, ch,
	    port = 0, fds[MAX_LOOPS];
	int n_loops, n_fds = 0;
	long count = 2000;
	double w0, c0, s0, wall, cpu, scpu;
	struct client cl;
	struct srv *s = NULL;
	char *ca_pem = NULL, db_dir[4096] = "", label[64];
	cpu_set_t allowed;
	pid_t pid = -1;
	int rc = 1, status;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conc = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			kv = 1;
			break;
		case 's':
			if (strcmp(optarg, "shared") == 0)
				sqlite = 1;
			else if (strcmp(optarg, "exclusive") == 0)
				sqlite = 2;
			else {
				usage();
				return 64;
			}
			break;
		case 'x':
			x509 = 1;
			break;
		case 'j':
			jose = 1;
			break;
		case 't':
			threads = 1;
			break;
		default:
			usage();
			return 64;
		}
	}
	/* --jose's finalize carries a CSR: --x509's. */
	if (optind != argc || conc < 1 || conc > 1024 || count < 1 ||
	    (jose && !x509)) {
		usage();
		return 64;
	}
	memset(&cl, 0, sizeof(cl));
	n_loops = sched_getaffinity(0, sizeof(allowed), &allowed) == 0
	              ? CPU_COUNT(&allowed)
	              : 1;
	if (n_loops > MAX_LOOPS)
		n_loops = MAX_LOOPS;
	/* The database's directory: its name is the run's alone. */
	if (sqlite) {
		if ((size_t)snprintf(db_dir, sizeof(db_dir),
		        "%s/floor-db-XXXXXX", dir) >= sizeof(db_dir))
			errno = ENAMETOOLONG;
		else if (mkdtemp(db_dir) != NULL)
			errno = 0;
		if (errno != 0) {
			fprintf(stderr, "bench_floor: a directory in %s: %s\n",
			    dir, strerror(errno));
			db_dir[0] = '\0';
			goto out;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    !srv_init(s, dir, sqlite ? db_dir : NULL, x509, jose, &ca_pem)) {
		fprintf(stderr, "bench_floor: cannot set the server up\n");
		goto out;
	}
	s->db_exclusive = sqlite == 2;
	while (n_fds < n_loops)
		if ((fds[n_fds++] = listener(&port)) < 0) {
			perror("bench_floor: a listener on 127.0.0.1");
			n_fds--;
			goto out;
		}
	snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d", port);
	/* Before any thread: the child is the server and nothing else. */
	if ((pid = fork()) < 0) {
		perror("bench_floor: fork");
		goto out;
	}
	if (pid == 0)
		serve(s, fds, n_loops, threads, getppid());
	/* The child's only: with them closed, a dead server refuses. */
	while (n_fds > 0)
		close(fds[--n_fds]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    !client_init(&cl, conc, port, ca_pem, s->acct, x509, jose,
	        (uint64_t)conc + (uint64_t)count, s->eab_key,
	        sizeof(s->eab_key))) {
		fprintf(stderr, "bench_floor: cannot set the client up\n");
		goto out;
	}
	/* Connections made and every code path warm before the clock. */
	if (!client_run(&cl, conc))
		goto out;
	w0 = bench_clock_now();
	c0 = bench_clock_cpu();
	s0 = pid_cpu(pid);
	if (!client_run(&cl, count))
		goto out;
	/* Only a job's first request lacks a good nonce: in the warm-up. */
	if (cl.retries > 0) {
		fprintf(stderr,
		    "bench_floor: %ld requests were refused for their nonce "
		    "and sent again in the timed run\n",
		    cl.retries);
		goto out;
	}
	scpu = pid_cpu(pid) - s0;
	wall = bench_clock_now() - w0;
	cpu = bench_clock_cpu() - c0;
	if (s0 < 0 || scpu < 0) {
		fprintf(stderr, "bench_floor: cannot read the server's CPU\n");
		goto out;
	}
	snprintf(label, sizeof(label), "floor%s%s%s%s",
	    threads ? "_threads" : "",
	    sqlite == 1   ? "_sqlite"
	    : sqlite == 2 ? "_sqlite_exclusive"
	                  : "",
	    x509 ? "_x509" : "", jose ? "_jose" : "");
	if (kv)
		printf("label=%s concurrency=%d count=%ld rate=%.1f "
		       "server_cpu_ms=%.3f "
		       "bench_cpu_ms=%.3f\n",
		    label, conc, count, (double)count / wall,
		    scpu * 1e3 / (double)count, cpu * 1e3 / (double)count);
	printf("the floor%s%s%s%s, N = %d: %ld enrollments in %.2f s, %.0f/s; "
	       "the server %.3f ms of CPU per enrollment, the client %.3f ms\n",
	    threads ? " with a thread per connection" : "",
	    sqlite == 1   ? ", SQLite"
	    : sqlite == 2 ? ", SQLite held alone"
	                  : "",
	    x509 ? ", X.509" : "", jose ? ", JOSE" : "", conc, count, wall,
	    (double)count / wall, scpu * 1e3 / (double)count,
	    cpu * 1e3 / (double)count);
	rc = 0;
out:
	if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
		/* It said why, unless a signal ended it. */
		fprintf(
		    stderr, "bench_floor: the server died; the run is void\n");
		pid = -1;
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	client_clear(&cl);
	if (s != NULL) {
		SSL_CTX_free(s->ctx);
		EVP_PKEY_free(s->acct);
		EVP_PKEY_free(s->ca);
		X509_NAME_free(s->ca_name);
		nonce_pool_free(s->nonces);
		keycache_free(s->keys);
		for (int i = 0; i < EXT_FIXED; i++)
			X509_EXTENSION_free(s->ext_fixed[i]);
		if (s->wal >= 0)
			close(s->wal);
	}
	free(s);
	free(ca_pem);
	if (db_dir[0] != '\0')
		db_remove(db_dir);
	curl_global_cleanup();
	return rc;
}
