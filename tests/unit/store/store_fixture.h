/*
 * store_fixture.h - a store in a fresh temporary directory, and records
 * to put in it, for the store tests.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#ifdef KAKUIN_HAVE_PG
#include <libpq-fe.h>
#endif

#include "store.h"

/*
 * The backend under test comes from KAKUIN_TEST_STORAGE: unset (or
 * "sqlite") means SQLite in a fresh temporary directory; a URL ending in
 * '/', such as "postgresql://kakuin@%2Ftmp%2Fkakuin-pg-1234/", names a
 * PostgreSQL cluster (tests/pg/cluster.sh) in which each test gets a
 * database of its own, so that tests run in parallel. The same tests run
 * against both: this is the storage conformance suite.
 */
struct fixture {
	int pg;
	char dir[64];   /* SQLite: the temporary directory */
	char path[128]; /* SQLite: the database file */
	char base[256]; /* PostgreSQL: the cluster URL, ending in '/' */
	char db[64];    /* PostgreSQL: this test's database */
	char url[512];
	struct store *st;
};

static inline void
fixture_open(struct fixture *f)
{
	enum kk_status rc = store_open(f->url, &f->st);

	cr_assert_eq(rc, KK_OK, "store_open %s: %s", f->url, kk_strerror(rc));
}

static inline void
fixture_reopen(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
	fixture_open(f);
}

#ifdef KAKUIN_HAVE_PG
/* A connection to database db of the cluster, as its superuser. */
static inline PGconn *
fixture_pg_connect(struct fixture *f, const char *db)
{
	char url[512];
	PGconn *c;

	snprintf(url, sizeof(url), "%s%s", f->base, db);
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect %s: %s", url,
	    PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

/* SQL without values, on the cluster's maintenance database. */
static inline void
fixture_pg_admin(struct fixture *f, const char *sql)
{
	PGconn *c = fixture_pg_connect(f, "postgres");
	PGresult *r = PQexec(c, sql);

	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static inline void
fixture_pg_create(struct fixture *f)
{
	char sql[128];

	/* The name is ours (digits), so it can be spliced into the SQL. */
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->db);
	fixture_pg_admin(f, sql);
}

static inline void
fixture_pg_drop(struct fixture *f)
{
	char sql[128];

	snprintf(
	    sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->db);
	fixture_pg_admin(f, sql);
}
#endif

static inline void
fixture_setup(struct fixture *f)
{
	const char *env = getenv("KAKUIN_TEST_STORAGE");

	memset(f, 0, sizeof(*f));
	if (env != NULL && *env != '\0' && strcmp(env, "sqlite") != 0) {
#ifdef KAKUIN_HAVE_PG
		static unsigned n;
		size_t len = strlen(env);

		cr_assert(strncmp(env, "postgres", 8) == 0 && len > 0 &&
		              env[len - 1] == '/' && len < sizeof(f->base),
		    "KAKUIN_TEST_STORAGE must be sqlite or a PostgreSQL URL "
		    "ending in '/'");
		f->pg = 1;
		memcpy(f->base, env, len + 1);
		snprintf(f->db, sizeof(f->db), "kk_%ld_%ld_%u", (long)getpid(),
		    (long)time(NULL), n++);
		snprintf(f->url, sizeof(f->url), "%s%s", f->base, f->db);
		fixture_pg_create(f);
		fixture_open(f);
		return;
#else
		cr_assert_fail("this build has no PostgreSQL storage");
#endif
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/kakuin-store-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/kakuin.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	fixture_open(f);
}

/* Removes the database itself, leaving an empty place for a new one. */
static inline void
fixture_wipe(struct fixture *f)
{
	char p[160];

	store_close(f->st);
	f->st = NULL;
#ifdef KAKUIN_HAVE_PG
	if (f->pg) {
		fixture_pg_drop(f);
		fixture_pg_create(f);
		return;
	}
#endif
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
}

static inline void
fixture_teardown(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
#ifdef KAKUIN_HAVE_PG
	if (f->pg) {
		fixture_pg_drop(f);
		return;
	}

/*
 * The usual suite: fx, a fresh store for each test of suite name (on the
 * backend KAKUIN_TEST_STORAGE names), closed after it.
 */
#define STORE_SUITE(name)                                                      \
	static struct fixture fx;                                              \
	static void setup(void)                                                \
	{                                                                      \
		fixture_setup(&fx);                                            \
	}                                                                      \
	static void teardown(void)                                             \
	{                                                                      \
		fixture_teardown(&fx);                                         \
	}                                                                      \
	TestSuite(name, .init = setup, .fini = teardown)
#endif
	fixture_wipe(f);
	rmdir(f->dir);
}

/* For the tests of one backend's own mechanisms. */
static inline void
fixture_only_sqlite(struct fixture *f, const char *why)
{
	if (f->pg)
		cr_skip_test("SQLite only: %s", why);
}

static inline void
fixture_only_pg(struct fixture *f, const char *why)
{
	if (!f->pg)
		cr_skip_test("PostgreSQL only: %s", why);
}

/* A second, raw connection to the same database, as an attacker with
 * file access or an administrator would have. SQLite only. */
static inline sqlite3 *
fixture_raw(struct fixture *f)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/*
 * Runs SQL (no values) on a raw connection: 0 when it succeeds, -1 when
 * the database refuses it, with the database's message in err.
 */
static inline int
fixture_raw_exec(struct fixture *f, const char *sql, char *err, size_t len)
{
	int rc = 0;

	if (err != NULL && len > 0)
		*err = '\0';
#ifdef KAKUIN_HAVE_PG
	if (f->pg) {
		PGconn *c = fixture_pg_connect(f, f->db);
		PGresult *r = PQexec(c, sql);
		const char *m;

		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = -1;
			m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			if (err != NULL && m != NULL)
				snprintf(err, len, "%s", m);
		}
		PQclear(r);
		PQfinish(c);
		return rc;
	}
#endif
	{
		sqlite3 *db = fixture_raw(f);

		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = -1;
			if (err != NULL)
				snprintf(err, len, "%s", sqlite3_errmsg(db));
		}
		sqlite3_close(db);
	}
	return rc;
}

static inline int
fixture_raw_int(struct fixture *f, const char *sql)
{
	int v;

#ifdef KAKUIN_HAVE_PG
	if (f->pg) {
		PGconn *c = fixture_pg_connect(f, f->db);
		PGresult *r = PQexec(c, sql);

		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql,
		    PQerrorMessage(c));
		cr_assert_eq(PQntuples(r), 1, "%s", sql);
		v = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(c);
		return v;
	}
#endif
	{
		sqlite3 *db = fixture_raw(f);
		sqlite3_stmt *q = NULL;

		cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL),
		    SQLITE_OK, "%s", sqlite3_errmsg(db));
		cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
		v = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	return v;
}

/* Whether the schema has a table of that name (a literal of the test's). */
static inline int
fixture_has_table(struct fixture *f, const char *name)
{
	char sql[160];

	if (f->pg)
		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM pg_tables WHERE tablename = '%s'"
		    " AND schemaname = current_schema()",
		    name);
	else
		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM sqlite_schema WHERE name = '%s'",
		    name);
	return fixture_raw_int(f, sql);
}

/* The schema version the database records: 0 for none. */
static inline int
fixture_schema_version(struct fixture *f)
{
	if (!f->pg)
		return fixture_raw_int(f, "PRAGMA user_version");
	if (!fixture_has_table(f, "schema_version"))
		return 0;
	return fixture_raw_int(
	    f, "SELECT coalesce(max(version), 0) FROM schema_version");
}

/* Makes the database claim schema version v (which may be unknown). */
static inline void
fixture_set_schema_version(struct fixture *f, int v)
{
	char sql[128];

	if (f->pg)
		snprintf(sql, sizeof(sql),
		    "INSERT INTO schema_version VALUES (%d, 0)", v);
	else
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	cr_assert_eq(fixture_raw_exec(f, sql, NULL, 0), 0, "%s", sql);
}

/* Records whose every field differs from the defaults; strings are
 * borrowed literals, as the store only reads its inputs. */

static inline struct account
mk_account(const char *id, const char *thumbprint)
{
	return (struct account){
	    .id = (char *)id,
	    .status = ACME_STATUS_VALID,
	    .jwk = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\"}",
	    .thumbprint = (char *)thumbprint,
	    .contacts = "[\"mailto:ops@example.jp\"]",
	    .org = "NTRJP-9234567890123",
	    .eab_kid = "kid-1",
	    .created_ip = "192.0.2.7",
	    .created_at = 1700000000,
	    .tos_agreed = 1,
	};
}

static inline void
put_account(struct store *st, const char *id)
{
	struct account a = mk_account(id, id);

	cr_assert_eq(store_account_insert(st, &a), KK_OK, "account %s", id);
}

static inline struct authz
mk_authz(const char *id, const char *account_id)
{
	return (struct authz){
	    .id = (char *)id,
	    .account_id = (char *)account_id,
	    .id_type = "org",
	    .id_value = "NTRJP-9234567890123",
	    .status = ACME_STATUS_PENDING,
	    .expires = 1700604800,
	    .created_at = 1700000000,
	};
}

static inline void
put_authz(struct store *st, const char *id, const char *account_id)
{
	struct authz a = mk_authz(id, account_id);

	cr_assert_eq(store_authz_insert(st, &a), KK_OK, "authz %s", id);
}

static inline struct order
mk_order(const char *id, const char *account_id, const char *authz_id)
{
	return (struct order){
	    .id = (char *)id,
	    .account_id = (char *)account_id,
	    .status = ACME_STATUS_PENDING,
	    .org = "NTRJP-9234567890123",
	    .authz_id = (char *)authz_id,
	    .profile = "client",
	    .error = NULL,
	    .cert_serial = NULL,
	    .created_at = 1700000000,
	    .expires = 1700604800,
	};
}

static inline void
put_order(struct store *st, const char *id, const char *account_id,
    const char *authz_id)
{
	struct order o = mk_order(id, account_id, authz_id);

	cr_assert_eq(store_order_insert(st, &o), KK_OK, "order %s", id);
}

static inline struct challenge
mk_challenge(const char *id, const char *authz_id)
{
	return (struct challenge){
	    .id = (char *)id,
	    .authz_id = (char *)authz_id,
	    .type = "oob-01",
	    .status = ACME_STATUS_PENDING,
	    .token = "tok-abc",
	    .error = NULL,
	    .validated = 0,
	};
}

static inline void
put_challenge(struct store *st, const char *id, const char *authz_id)
{
	struct challenge c = mk_challenge(id, authz_id);

	cr_assert_eq(store_challenge_insert(st, &c), KK_OK, "challenge %s", id);
}

/* An account, its authorization and challenge and order: the objects a
 * verification, an order or a certificate refer to. */
static inline void
put_chain(struct store *st, const char *tag)
{
	char acc[64], az[64], ch[64], ord[64];

	snprintf(acc, sizeof(acc), "acc-%.48s", tag);
	snprintf(az, sizeof(az), "az-%.48s", tag);
	snprintf(ch, sizeof(ch), "ch-%.48s", tag);
	snprintf(ord, sizeof(ord), "ord-%.48s", tag);
	put_account(st, acc);
	put_authz(st, az, acc);
	put_challenge(st, ch, az);
	put_order(st, ord, acc, az);
}

/* A certificate of put_chain(tag)'s account and order. */
static inline void
put_cert(struct store *st, const char *serial, const char *tag)
{
	char acc[64], ord[64];
	struct cert c = {
	    .serial = (char *)serial,
	    .org = "NTRJP-9234567890123",
	    .cn = "host1.example.jp",
	    .pem = "-----BEGIN CERTIFICATE-----\nMIIB\n"
	           "-----END CERTIFICATE-----\n",
	    .spki_sha256 = "00",
	    .status = ACME_STATUS_VALID,
	    .not_before = 1700000000,
	    .not_after = 1707776000,
	};

	snprintf(acc, sizeof(acc), "acc-%s", tag);
	snprintf(ord, sizeof(ord), "ord-%s", tag);
	c.account_id = acc;
	c.order_id = ord;
	cr_assert_eq(store_cert_insert(st, &c), KK_OK);
}

#endif
