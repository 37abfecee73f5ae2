/*
 * test_walbuf.c - the VFS that writes each commit's WAL frames in one
 * call: how many writes reach the file per commit, that a write that
 * fails fails the commit and loses nothing committed before, and that a
 * reader on another connection never finds a committed frame missing.
 * Writes are counted (and failed) below SQLite's unix VFS, through its
 * documented system call override (xSetSystemCall).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_walbuf.h"

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);

static pwrite_fn real_pwrite, real_pwrite64;
static write_fn real_write;
static atomic_int writes;             /* writes of a frame's size or more */
static atomic_size_t fail_at;         /* writes this long or longer fail */
static atomic_int fail_commit_header; /* a commit frame's header alone */
static atomic_int fail_once; /* the next write of a frame's size or more */

static int
counted(const unsigned char *p, size_t n)
{
	size_t limit = atomic_load(&fail_at);

	if (n >= 24)
		atomic_fetch_add(&writes, 1);
	if ((n >= 24 && atomic_exchange(&fail_once, 0)) ||
	    (limit != 0 && n >= limit) ||
	    (atomic_load(&fail_commit_header) && n == 24 &&
	        (p[4] | p[5] | p[6] | p[7]) != 0)) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

static ssize_t
c_pwrite(int fd, const void *p, size_t n, off_t off)
{
	return counted(p, n) != 0 ? -1 : real_pwrite(fd, p, n, off);
}

static ssize_t
c_pwrite64(int fd, const void *p, size_t n, off_t off)
{
	return counted(p, n) != 0 ? -1 : real_pwrite64(fd, p, n, off);
}

static ssize_t
c_write(int fd, const void *p, size_t n)
{
	return counted(p, n) != 0 ? -1 : real_write(fd, p, n);
}

static char dir[] = "/tmp/kakuin-walbuf-XXXXXX";
static char path[256];

/* Counts the writes of SQLite's unix VFS, whichever call it uses. */
static void
setup(void)
{
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_not_null(unix_vfs);
	real_pwrite = (pwrite_fn)unix_vfs->xGetSystemCall(unix_vfs, "pwrite");
	real_pwrite64 =
	    (pwrite_fn)unix_vfs->xGetSystemCall(unix_vfs, "pwrite64");
	real_write = (write_fn)unix_vfs->xGetSystemCall(unix_vfs, "write");
	if (real_pwrite != NULL)
		unix_vfs->xSetSystemCall(
		    unix_vfs, "pwrite", (sqlite3_syscall_ptr)c_pwrite);
	if (real_pwrite64 != NULL)
		unix_vfs->xSetSystemCall(
		    unix_vfs, "pwrite64", (sqlite3_syscall_ptr)c_pwrite64);
	cr_assert_not_null(real_write);
	unix_vfs->xSetSystemCall(
	    unix_vfs, "write", (sqlite3_syscall_ptr)c_write);
}

static void
teardown(void)
{
	char f[300];

	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
	unlink(path);
	rmdir(dir);
}

TestSuite(walbuf, .init = setup, .fini = teardown);

/* A connection in WAL mode on path, through vfs (NULL: the default). */
static sqlite3 *
open_db(const char *vfs)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db,
	                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db,
	                 "PRAGMA journal_mode = WAL;"
	                 "PRAGMA synchronous = NORMAL;"
	                 "PRAGMA wal_autocheckpoint = 0;"
	                 "CREATE TABLE IF NOT EXISTS t (v INTEGER, pad BLOB);",
	                 NULL, NULL, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	return db;
}

/* Writes that reach the file for one commit of rows rows of 1 KiB. */
static int
commit_writes(sqlite3 *db, int rows, int *rc)
{
	char sql[200];
	int before = atomic_load(&writes);

	snprintf(sql, sizeof(sql),
	    "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
	    "FROM n WHERE i < %d) INSERT INTO t SELECT 1, zeroblob(1024) "
	    "FROM n; COMMIT;",
	    rows);
	*rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return atomic_load(&writes) - before;
}

static int
count_rows(sqlite3 *db)
{
	sqlite3_stmt *q;
	int n;

	cr_assert_eq(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &q, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* PRAGMA integrity_check finds nothing wrong (it says so in rows). */
static void
assert_intact(sqlite3 *db)
{
	sqlite3_stmt *q;

	cr_assert_eq(
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "%s", sqlite3_errmsg(db));
	cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok");
	cr_assert_eq(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

/*
 * After a commit that failed: db is out of its transaction, and another
 * connection, opened now and returned, sees rows rows, intact.
 */
static sqlite3 *
after_failure(sqlite3 *db, const char *vfs, int rows)
{
	sqlite3 *other;

	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	cr_assert_eq(sqlite3_get_autocommit(db), 1, "left in a transaction");
	other = open_db(vfs);
	assert_intact(other);
	cr_assert_eq(count_rows(other), rows);
	return other;
}

Test(walbuf, a_commit_is_one_write)
{
	const char *vfs;
	sqlite3 *db;
	int n, rc;

	cr_assert_eq(walbuf_register(&vfs), KK_OK);
	cr_assert_str_eq(vfs, "kakuin-walbuf");
	db = open_db(vfs);
	/* The first commit also writes the WAL's own header. */
	(void)commit_writes(db, 1, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	/* Ten 1 KiB rows: three pages or so, each a frame of two writes
	 * as SQLite makes them. */
	n = commit_writes(db, 10, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	cr_assert_eq(n, 1, "%d writes for one commit", n);
	/* Past 64 KiB the frames go out in parts (about 40 frames here,
	 * 80 writes as SQLite makes them). */
	n = commit_writes(db, 100, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	cr_assert_geq(n, 2);
	cr_assert_leq(n, 6, "%d writes for a commit of ~40 frames", n);
	cr_assert_eq(count_rows(db), 111);
	sqlite3_close(db);
}

/* What the count above is measured against: SQLite on its own. */
Test(walbuf, without_it_each_frame_is_two_writes)
{
	sqlite3 *db = open_db(NULL);
	int n, rc;

	(void)commit_writes(db, 1, &rc);
	n = commit_writes(db, 10, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	cr_assert_geq(n, 6, "%d writes for a commit of 3 frames or more", n);
	n = commit_writes(db, 100, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	cr_assert_geq(n, 60, "%d writes for a commit of ~40 frames", n);
	sqlite3_close(db);
}

Test(walbuf, a_failed_write_fails_the_commit_and_loses_nothing)
{
	const char *vfs;
	sqlite3 *db, *other;
	int rc;

	cr_assert_eq(walbuf_register(&vfs), KK_OK);
	db = open_db(vfs);
	(void)commit_writes(db, 5, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	/* The disk fills up: the commit's one write (several frames)
	 * fails, and with it the commit. */
	atomic_store(&fail_at, 2 * (4096 + 24));
	(void)commit_writes(db, 10, &rc);
	atomic_store(&fail_at, 0);
	cr_assert_eq(rc & 0xff, SQLITE_FULL, "commit gave %d", rc);
	cr_assert_eq(sqlite3_get_autocommit(db), 1, "left in a transaction");
	cr_assert_eq(count_rows(db), 5);
	/* Another connection sees what was committed, and the next commit
	 * goes through. */
	other = open_db(vfs);
	cr_assert_eq(count_rows(other), 5);
	(void)commit_writes(db, 10, &rc);
	cr_assert_eq(rc, SQLITE_OK);
	cr_assert_eq(count_rows(other), 15);
	assert_intact(other);
	sqlite3_close(other);
	sqlite3_close(db);
}

/*
 * A database on the shim, seeded with seed, whose page cache holds ten
 * pages: a transaction larger than that writes pages to the WAL before
 * its commit. *vfs is the shim's name.
 */
static sqlite3 *
open_spilling(const char **vfs, const char *seed)
{
	sqlite3 *db;

	cr_assert_eq(walbuf_register(vfs), KK_OK);
	db = open_db(*vfs);
	cr_assert_eq(
	    sqlite3_exec(db, "PRAGMA cache_size = 10", NULL, NULL, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, seed, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* The result of sql, run while *fail is set. */
static int
exec_failing(sqlite3 *db, atomic_int *fail, const char *sql)
{
	int rc;

	atomic_store(fail, 1);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	atomic_store(fail, 0);
	return rc;
}

/*
 * A transaction that outgrows its cache writes pages to the WAL before
 * its commit; when it changes such a page again, SQLite writes the page
 * anew in place and, after the commit's last frame, rewrites the headers
 * from there on with new checksums (walRewriteChecksums), the commit
 * frame's header last. Those rewrites go straight out, so that their
 * failure fails the commit: here the commit frame's header, rewritten
 * alone, cannot be written.
 */
Test(walbuf, a_failed_rewrite_of_the_commit_header_fails_the_commit)
{
	const char *vfs;
	sqlite3 *db, *other;
	int rc;

	db = open_spilling(&vfs, "INSERT INTO t SELECT 1, zeroblob(1024) "
	                         "FROM (SELECT 1 UNION ALL SELECT 2);");
	rc = exec_failing(db, &fail_commit_header,
	    "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
	    "FROM n WHERE i < 400) INSERT INTO t SELECT 1, zeroblob(1024) "
	    "FROM n; UPDATE t SET pad = zeroblob(1000) WHERE rowid <= 30; "
	    "COMMIT;");
	cr_assert_eq(rc & 0xff, SQLITE_FULL, "commit gave %d", rc);
	other = after_failure(db, vfs, 2);
	sqlite3_close(other);
	sqlite3_close(db);
}

/*
 * Frames a statement spilled are still gathered when a later statement of
 * the same transaction reads one back; the read writes them first, and
 * that write fails (the disk full for a moment). SQLite hears only of a
 * failed read: it undoes that statement alone, and the transaction goes
 * on. Its commit must fail, or the WAL would hold a commit after frames
 * that are not there; and the next transaction must go through.
 */
Test(walbuf, a_failed_write_of_spilled_frames_fails_their_transaction)
{
	const char *vfs;
	sqlite3 *db, *other;
	int rc;

	db = open_spilling(&vfs,
	    "INSERT INTO t VALUES (1, zeroblob(1024));"
	    "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < 100) INSERT INTO t SELECT 1, zeroblob(1024) FROM n;");
	rc = exec_failing(db, &fail_once,
	    "UPDATE t SET pad = zeroblob(1000) WHERE rowid BETWEEN 2 AND 60");
	cr_assert_eq(rc & 0xff, SQLITE_FULL, "the update gave %d", rc);
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	other = after_failure(db, vfs, 1);
	cr_assert_neq(rc, SQLITE_OK, "the commit was reported done");
	(void)commit_writes(db, 1, &rc);
	cr_assert_eq(rc, SQLITE_OK, "the next transaction was refused");
	cr_assert_eq(count_rows(other), 2);
	sqlite3_close(other);
	sqlite3_close(db);
}

#define COMMITS 200

struct reader_run {
	const char *vfs;
	atomic_int done;
	int reads, bad;
	char err[200];
};

/* Reads while the writer commits: every row has v = 1, so each read of
 * a committed state finds sum(v) = count(*), and every page it reads is
 * in the file. */
static void *
read_loop(void *arg)
{
	struct reader_run *r = arg;
	sqlite3_stmt *q = NULL;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, r->vfs) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	        "SELECT count(*), total(v), total(length(pad)) FROM t", -1, &q,
	        NULL) != SQLITE_OK) {
		snprintf(r->err, sizeof(r->err), "%s", sqlite3_errmsg(db));
		r->bad++;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	while (!atomic_load(&r->done)) {
		int rc = sqlite3_step(q);

		if (rc != SQLITE_ROW) {
			snprintf(r->err, sizeof(r->err), "%d %s", rc,
			    sqlite3_errmsg(db));
			r->bad++;
		} else if (sqlite3_column_double(q, 1) !=
		               (double)sqlite3_column_int(q, 0) ||
		           sqlite3_column_double(q, 2) !=
		               1024.0 * sqlite3_column_int(q, 0))
			r->bad++;
		sqlite3_reset(q);
		r->reads++;
	}
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return NULL;
}

Test(walbuf, a_reader_never_finds_a_committed_frame_missing, .timeout = 120)
{
	struct reader_run r = {0};
	const char *vfs;
	pthread_t th;
	sqlite3 *db;
	int rc;

	cr_assert_eq(walbuf_register(&vfs), KK_OK);
	db = open_db(vfs);
	/* Checkpoints too, now and then, as the store lets SQLite do. */
	cr_assert_eq(sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 100", NULL,
	                 NULL, NULL),
	    SQLITE_OK);
	r.vfs = vfs;
	cr_assert_eq(pthread_create(&th, NULL, read_loop, &r), 0);
	for (int i = 0; i < COMMITS; i++) {
		(void)commit_writes(db, 1 + i % 20, &rc);
		cr_assert_eq(
		    rc, SQLITE_OK, "commit %d: %s", i, sqlite3_errmsg(db));
	}
	atomic_store(&r.done, 1);
	pthread_join(th, NULL);
	cr_assert_eq(
	    r.bad, 0, "%d of %d reads were wrong (%s)", r.bad, r.reads, r.err);
	cr_assert_gt(r.reads, 0);
	assert_intact(db);
	sqlite3_close(db);
}
