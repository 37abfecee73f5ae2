/*
 * store_walbuf.c - see store_walbuf.h.
 *
 * The frame format is SQLite's documented WAL format: a frame is a 24-byte
 * header and a page, and bytes 4 to 7 of the header (big-endian) are the
 * database's size in pages after the commit for a commit's last frame, 0
 * for every other frame. The WAL begins with a 32-byte header whose bytes
 * 8 to 11 are the page size, so frames start at 32 + k * (24 + page size).
 *
 * Every write to the WAL happens while its connection holds the WAL's
 * write lock (lock 0 of its shared memory, in the same documentation),
 * and SQLite rewrites in place only frames of the transaction that holds
 * it. So a transaction is the unit here: what this file wrote since the
 * lock was taken bounds what may be rewritten, and a write that failed in
 * it fails the rest of it. This needs the lock to go through xShmLock on
 * the WAL's database file, as in SQLite's normal locking mode (the store's;
 * in EXCLUSIVE mode the WAL index lives in the heap).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "kk_log.h"
#include "store_walbuf.h"

#define WB_NAME "kakuin-walbuf"
#define WB_FRAME_HEADER 24
#define WB_WAL_HEADER 32
#define WB_WRITE_LOCK 0
/*
 * Past this the frames gathered go out, and gathering starts afresh: the
 * largest write SQLite makes itself (its largest page). The unix VFS keeps
 * only the low 17 bits of a write's length, so 128 KiB and more would be
 * garbled.
 */
#define WB_MAX 65536

struct wb_file {
	sqlite3_file base;   /* pMethods: &wb_io or &wb_io_plain */
	sqlite3_file *real;  /* the default VFS's file, right after this */
	struct wb_file *wal; /* a database file: its connection's WAL */
	struct wb_file *db;  /* a WAL: the database file linking to it */
	int is_wal;          /* frames written here are gathered */
	unsigned char *buf;  /* the frames gathered... */
	size_t len, cap;     /* ...their bytes, and buf's size */
	sqlite3_int64 off;   /* ...and where they go in the file */
	sqlite3_int64 end;   /* the end of what the transaction wrote */
	int page;            /* the WAL's page size, 0 while unknown */
	int commit;          /* a commit's last frame header is in buf */
	int err;             /* a write of the transaction failed */
	int broken;          /* a write failed as frames were published */
};

/*
 * The VFS: filled in once, under wb_once, before SQLite can hand it a
 * file, and only read afterwards.
 */
static sqlite3_vfs wb_vfs;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;

static sqlite3_vfs *
real_vfs(void)
{
	return wb_vfs.pAppData;
}

/*
 * Writes what was gathered, in one call. SQLite's result code. SQLite
 * hears of a failure only as the failure of the call that asked for the
 * flush (a read, say), which it may survive by undoing one statement
 * while the transaction goes on, believing the frames written. So the
 * WAL refuses every write, read and sync for the rest of the transaction
 * (wb_refused): its commit fails.
 */
static int
wb_flush(struct wb_file *f)
{
	int rc;

	if (f->len == 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
	f->len = 0;
	f->commit = 0;
	if (rc != SQLITE_OK && f->err == SQLITE_OK) {
		f->err = rc;
		kk_log("store: a write to the WAL failed");
	}
	return rc;
}

/* For calls on a database file that must come after its WAL's writes. */
static int
wb_flush_wal(struct wb_file *db)
{
	return db->wal != NULL ? wb_flush(db->wal) : SQLITE_OK;
}

/* A WAL whose transaction lost a write takes no more in it. */
static int
wb_refused(struct wb_file *f)
{
	if (!f->is_wal)
		return SQLITE_OK;
	return f->broken != SQLITE_OK ? f->broken : f->err;
}

static int
wb_close(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc, rc2;

	rc = wb_flush(f);
	if (f->db != NULL)
		f->db->wal = NULL;
	if (f->wal != NULL)
		f->wal->db = NULL;
	free(f->buf);
	f->buf = NULL;
	rc2 = f->real->pMethods->xClose(f->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_read(sqlite3_file *pf, void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_refused(f)) != SQLITE_OK ||
	    (rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xRead(f->real, p, amt, off);
}

/* Makes room for need bytes in f->buf. 0, or -1 without memory. */
static int
wb_room(struct wb_file *f, size_t need)
{
	unsigned char *b;
	size_t cap = f->cap != 0 ? f->cap : 16 * 1024;

	if (need <= f->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((b = realloc(f->buf, cap)) == NULL)
		return -1;
	f->buf = b;
	f->cap = cap;
	return 0;
}

/* The page size in a WAL header, 0 if it is not one. */
static int
wal_page_size(const unsigned char *h)
{
	unsigned long magic, page;

	magic = (unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 |
	        (unsigned long)h[2] << 8 | h[3];
	page = (unsigned long)h[8] << 24 | (unsigned long)h[9] << 16 |
	       (unsigned long)h[10] << 8 | h[11];
	if (magic != 0x377f0682 && magic != 0x377f0683)
		return 0;
	if (page == 1)
		page = 65536;
	if (page < 512 || page > 65536 || (page & (page - 1)) != 0)
		return 0;
	return (int)page;
}

/* Whether a frame of this WAL starts at off (its header read if need be). */
static int
frame_start(struct wb_file *f, sqlite3_int64 off)
{
	unsigned char h[WB_WAL_HEADER];

	if (f->page == 0 &&
	    f->real->pMethods->xRead(f->real, h, sizeof(h), 0) == SQLITE_OK)
		f->page = wal_page_size(h);
	return f->page != 0 && off >= WB_WAL_HEADER &&
	       (off - WB_WAL_HEADER) % (WB_FRAME_HEADER + f->page) == 0;
}

/* Writes straight through, after what was gathered. */
static int
wb_write_through(struct wb_file *f, const void *p, int amt, sqlite3_int64 off)
{
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xWrite(f->real, p, amt, off);
}

static int
wb_write(sqlite3_file *pf, const void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	const unsigned char *h = p;
	size_t need = (size_t)amt;
	int follows, rc;

	if (!f->is_wal || amt <= 0)
		return f->real->pMethods->xWrite(f->real, p, amt, off);
	if ((rc = wb_refused(f)) != SQLITE_OK)
		return rc;
	/* The header of a WAL begun anew. */
	if (off == 0 && amt >= WB_WAL_HEADER)
		f->page = wal_page_size(h);
	/* A frame's header comes with its page, or goes with the next. */
	if (amt == WB_FRAME_HEADER && f->page != 0)
		need += (size_t)f->page;
	follows = f->len > 0 && off == f->off + (sqlite3_int64)f->len &&
	          f->len + need <= WB_MAX;
	if (off + amt > f->end)
		f->end = off + amt;
	/*
	 * Gathering starts at the header of a frame appended past all the
	 * transaction wrote, and goes on while the writes follow one
	 * another. Anything else goes out as it came, after what was
	 * gathered: a frame's page rewritten in place, the headers SQLite
	 * rewrites (walRewriteChecksums) after a commit's last frame, whose
	 * failures it must hear of, and the pieces of a frame split at a
	 * sync point (synchronous = FULL on a disk that does not promise
	 * power-safe overwrites).
	 */
	if (!follows) {
		if (amt != WB_FRAME_HEADER || off + amt < f->end ||
		    !frame_start(f, off))
			return wb_write_through(f, p, amt, off);
		if ((rc = wb_flush(f)) != SQLITE_OK)
			return rc;
		f->off = off;
	}
	if (wb_room(f, f->len + (size_t)amt) != 0)
		return wb_write_through(f, p, amt, off);
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += (size_t)amt;
	if (amt == WB_FRAME_HEADER) {
		if (h[4] | h[5] | h[6] | h[7])
			f->commit = 1;
		return SQLITE_OK;
	}
	/* The page of a commit's last frame: the commit is complete. */
	return f->commit ? wb_flush(f) : SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	if (size < f->end)
		f->end = size;
	if (size < WB_WAL_HEADER)
		f->page = 0;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *pf, int flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_refused(f)) != SQLITE_OK ||
	    (rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int
wb_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *pf, int level)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xLock(f->real, level);
}

static int
wb_unlock(sqlite3_file *pf, int level)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xUnlock(f->real, level);
}

static int
wb_check_reserved(sqlite3_file *pf, int *out)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_file_control(sqlite3_file *pf, int op, void *arg)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK ||
	    (rc = wb_flush_wal(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector_size(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_device_characteristics(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/*
 * The shared-memory calls come on the database file; SQLite publishes
 * frames to readers through that memory, so the WAL's writes go first.
 * An unlock or an unmap is made whatever became of them: left undone it
 * would keep every other writer out.
 */
static int
wb_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **p)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	*p = NULL;
	if ((rc = wb_flush_wal(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, p);
}

static int
wb_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc, write_lock;

	rc = wb_flush_wal(f);
	/* No lock is taken after a failed write (SQLite would not know it
	 * held it), but an unlock is made whatever. */
	if (rc != SQLITE_OK && !(flags & SQLITE_SHM_UNLOCK))
		return rc;
	rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
	write_lock = offset == WB_WRITE_LOCK && n == 1 &&
	             (flags & SQLITE_SHM_EXCLUSIVE) && f->wal != NULL;
	/* A transaction begins with nothing written, or ends with what it
	 * lost beyond the frames readers see (failed or rolled back). */
	if (write_lock && rc == SQLITE_OK) {
		f->wal->end = 0;
		f->wal->err = SQLITE_OK;
	}
	return rc;
}

/*
 * SQLite publishes a commit to readers across this barrier, so nothing of
 * it should be left to write here: its last frame's write wrote it all.
 * Should a write fail here all the same, readers may already count on
 * what it lost, and no later commit of this connection is made on top of
 * it, until the store is opened again.
 */
static void
wb_shm_barrier(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush_wal(f)) != SQLITE_OK &&
	    f->wal->broken == SQLITE_OK) {
		f->wal->broken = rc;
		kk_log("store: a write to the WAL failed as SQLite published "
		       "it; every commit fails from now on: restart once the "
		       "disk is fixed");
	}
	f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *pf, int delete_flag)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc, rc2;

	rc = wb_flush_wal(f);
	rc2 = f->real->pMethods->xShmUnmap(f->real, delete_flag);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_fetch(sqlite3_file *pf, sqlite3_int64 off, int amt, void **pp)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	*pp = NULL;
	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFetch(f->real, off, amt, pp);
}

static int
wb_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xUnfetch(f->real, off, p);
}

/* The methods of every file: the first version's. */
#define WB_IO_FILE                                                             \
	.xClose = wb_close, .xRead = wb_read, .xWrite = wb_write,              \
	.xTruncate = wb_truncate, .xSync = wb_sync, .xFileSize = wb_file_size, \
	.xLock = wb_lock, .xUnlock = wb_unlock,                                \
	.xCheckReservedLock = wb_check_reserved,                               \
	.xFileControl = wb_file_control, .xSectorSize = wb_sector_size,        \
	.xDeviceCharacteristics = wb_device_characteristics

static const sqlite3_io_methods wb_io = {
    .iVersion = 3,
    WB_IO_FILE,
    .xShmMap = wb_shm_map,
    .xShmLock = wb_shm_lock,
    .xShmBarrier = wb_shm_barrier,
    .xShmUnmap = wb_shm_unmap,
    .xFetch = wb_fetch,
    .xUnfetch = wb_unfetch,
};

/*
 * For a file whose methods lack shared memory or mapping: SQLite then sees
 * the same (and uses no WAL with it), and nothing calls what is missing.
 */
static const sqlite3_io_methods wb_io_plain = {
    .iVersion = 1,
    WB_IO_FILE,
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags,
    int *out_flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	const sqlite3_io_methods *m;
	sqlite3_file *db;
	int full, rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = real_vfs()->xOpen(real_vfs(), name, f->real, flags, out_flags);
	/* SQLite closes a file whose open failed only if it has methods. */
	if ((m = f->real->pMethods) == NULL)
		return rc;
	full = m->iVersion >= 3 && m->xShmMap != NULL && m->xShmLock != NULL &&
	       m->xShmBarrier != NULL && m->xShmUnmap != NULL &&
	       m->xFetch != NULL && m->xUnfetch != NULL;
	f->base.pMethods = full ? &wb_io : &wb_io_plain;
	if (rc != SQLITE_OK || !(flags & SQLITE_OPEN_WAL) || name == NULL)
		return rc;
	f->is_wal = 1;
	/* The same connection's database file, which SQLite opened first. */
	db = sqlite3_database_file_object(name);
	if (db != NULL && db->pMethods == &wb_io) {
		f->db = (struct wb_file *)db;
		f->db->wal = f;
	}
	return rc;
}

/* The rest of the VFS is the default one's. */

static int
wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}

static int
wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs()->xAccess(real_vfs(), name, flags, out);
}

static int
wb_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}

static void *
wb_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs()->xDlOpen(real_vfs(), name);
}

static void
wb_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	real_vfs()->xDlError(real_vfs(), n, out);
}

static void (*wb_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return real_vfs()->xDlSym(real_vfs(), h, sym);
}

static void
wb_dl_close(sqlite3_vfs *vfs, void *h)
{
	real_vfs()->xDlClose(real_vfs(), h);
}

static int
wb_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs()->xRandomness(real_vfs(), n, out);
}

static int
wb_sleep(sqlite3_vfs *vfs, int us)
{
	return real_vfs()->xSleep(real_vfs(), us);
}

static int
wb_current_time(sqlite3_vfs *vfs, double *out)
{
	return real_vfs()->xCurrentTime(real_vfs(), out);
}

static int
wb_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs()->xGetLastError(real_vfs(), n, out);
}

static int
wb_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static void
wb_init(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	/* What follows assumes the default VFS's second version at least
	 * (SQLite's own unix VFS is the third). */
	if (real == NULL || real->iVersion < 2)
		return;
	wb_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct wb_file) + real->szOsFile,
	    .mxPathname = real->mxPathname,
	    .zName = WB_NAME,
	    .pAppData = real,
	    .xOpen = wb_open,
	    .xDelete = wb_delete,
	    .xAccess = wb_access,
	    .xFullPathname = wb_full_pathname,
	    .xDlOpen = wb_dl_open,
	    .xDlError = wb_dl_error,
	    .xDlSym = wb_dl_sym,
	    .xDlClose = wb_dl_close,
	    .xRandomness = wb_randomness,
	    .xSleep = wb_sleep,
	    .xCurrentTime = wb_current_time,
	    .xGetLastError = wb_last_error,
	    .xCurrentTimeInt64 = wb_current_time64,
	};
	if (sqlite3_vfs_register(&wb_vfs, 0) != SQLITE_OK)
		memset(&wb_vfs, 0, sizeof(wb_vfs));
}

enum kk_status
walbuf_register(const char **name)
{
	*name = NULL;
	if (pthread_once(&wb_once, wb_init) != 0 ||
	    sqlite3_vfs_find(WB_NAME) != &wb_vfs)
		return KK_EIO;
	*name = WB_NAME;
	return KK_OK;
}
