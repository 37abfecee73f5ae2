/*
 * store_walbuf.h - each SQLite commit reaches its WAL in one write.
 *
 * SQLite appends a commit to the WAL frame by frame, and each frame as two
 * writes, its 24-byte header and then its page: an enrollment's 29 frames
 * were 58 pwrite calls, each paying the file system's cost per call. This
 * VFS, stacked on SQLite's default one, gathers the frames a transaction
 * appends past what it wrote before, which follow one another, and writes
 * them with one call once the page of the commit's last frame (the one
 * whose header carries the database size) arrives. That write's result is
 * the frame's, so a write that fails fails the commit, before SQLite can
 * publish it to readers. Everything else in the WAL goes straight out,
 * after what was gathered: a page rewritten in place, and the headers
 * SQLite rewrites after a commit's last frame when the transaction changed
 * pages it had already written (their failures fail the commit as well).
 *
 * A read, a sync, a size, a truncation, a file control, a mapping or
 * closing the WAL writes what was gathered first, and so does every
 * shared-memory call on its database file: SQLite publishes frames to
 * readers through that memory, so a reader never finds a published frame
 * missing from the file. When such a write fails, SQLite hears of it only
 * as the failure of the call that asked for it (a read, say), which it may
 * survive by undoing one statement: so the WAL refuses every later write,
 * read and sync of the transaction, whose commit then fails. Should a
 * write fail as SQLite publishes a commit (which its last frame's write
 * leaves nothing to do in), the WAL refuses them until it is opened again.
 *
 * Other files (the database, rollback journals) pass through untouched.
 */
#ifndef STORE_WALBUF_H
#define STORE_WALBUF_H

#include "kk_status.h"

/*
 * Registers the VFS with SQLite once per process (later calls return the
 * same) and sets *name to its name, for sqlite3_open_v2. KK_EIO when
 * SQLite has no default VFS to stack on or refuses the registration.
 * *name is static.
 */
enum kk_status walbuf_register(const char **name);

#endif
