/*
 * store_walbuf.h - each SQLite commit reaches its WAL in one write.
 *
 * SQLite appends a commit to the WAL frame by frame, and each frame as two
 * writes, its 24-byte header and then its page: an enrollment's 29 frames
 * were 58 pwrite calls, each paying the file system's cost per call. This
 * VFS, stacked on SQLite's default one, gathers the frames of a commit,
 * which follow one another in the file, and writes them with one call
 * once the commit's last frame (the one whose header carries the database
 * size) is complete: that frame's write returns the result, so a write
 * that fails still fails the commit, before any reader can see it.
 *
 * Nothing else is held back. Any other use of the WAL file (a read, a
 * sync, its size, a truncation, closing it) writes what was gathered
 * first, and so does every shared-memory call on the database file it
 * belongs to: SQLite publishes new frames to readers through shared
 * memory, never before such a call, so a reader never finds a published
 * frame missing from the file, whatever the pattern of writes.
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
