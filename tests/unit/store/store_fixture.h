/*
 * store_fixture.h - a store in a fresh temporary directory, and records
 * to put in it, for the store tests.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	char url[160];
	struct store *st;
};

static inline void
fixture_open(struct fixture *f)
{
	cr_assert_eq(
	    store_open(f->url, &f->st), KK_OK, "store_open %s", f->url);
}

static inline void
fixture_reopen(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
	fixture_open(f);
}

static inline void
fixture_setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/kakuin-store-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/kakuin.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	fixture_open(f);
}

static inline void
fixture_teardown(struct fixture *f)
{
	char p[160];

	store_close(f->st);
	f->st = NULL;
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
}

/* A second, raw connection to the same database, as an attacker with
 * file access or an administrator would have. */
static inline sqlite3 *
fixture_raw(struct fixture *f)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static inline int
fixture_raw_int(struct fixture *f, const char *sql)
{
	sqlite3 *db = fixture_raw(f);
	sqlite3_stmt *q = NULL;
	int v;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
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

	snprintf(acc, sizeof(acc), "acc-%s", tag);
	snprintf(az, sizeof(az), "az-%s", tag);
	snprintf(ch, sizeof(ch), "ch-%s", tag);
	snprintf(ord, sizeof(ord), "ord-%s", tag);
	put_account(st, acc);
	put_authz(st, az, acc);
	put_challenge(st, ch, az);
	put_order(st, ord, acc, az);
}

#endif
