/*
 * store_gsync.h - group commit for the SQLite store.
 *
 * A commit is durable once the WAL holding it is synced. SQLite's
 * synchronous=FULL syncs inside COMMIT, under the store's one lock: every
 * other request waits for that disk flush, and each commit pays for its
 * own. Here a transaction commits without the sync, takes a ticket while
 * it still holds the store's lock, releases the lock and then waits until
 * a sync that began after its ticket has completed. Whichever waiter
 * comes first runs one fdatasync of the WAL for all commits ticketed so
 * far; the others wait for it. The caller still answers only after its
 * change is on disk.
 *
 * Thread-safe. Tickets are only meaningful for the gsync that issued them.
 */
#ifndef STORE_GSYNC_H
#define STORE_GSYNC_H

#include <stdint.h>

#include "kk_status.h"

struct gsync;

/*
 * Syncs the file at path (the database's -wal file, which SQLite keeps,
 * same inode, for as long as a connection is open). KK_EIO when it cannot
 * be opened. *out freed with gsync_free.
 */
enum kk_status gsync_new(const char *path, struct gsync **out);
void gsync_free(struct gsync *g);

/* A ticket for a commit that has just returned; call before anyone else
 * may commit (under the store's lock), so tickets follow commit order. */
uint64_t gsync_ticket(struct gsync *g);

/*
 * Returns once a sync begun after ticket was issued has completed: KK_OK,
 * or KK_EIO when the sync failed (the commit may then not survive a crash).
 * A failed sync is final: the kernel may have dropped what it could not
 * write and report the next sync a success, so every later wait returns
 * KK_EIO too, until the store is opened again.
 */
enum kk_status gsync_wait(struct gsync *g, uint64_t ticket);

/*
 * Returns once every commit ticketed so far is on disk (at once when all
 * are), as gsync_wait does for the last of them: for a reader, which may
 * have seen commits whose own waiters are still syncing.
 */
enum kk_status gsync_settle(struct gsync *g);

/* 1 once a sync has failed (see gsync_wait), without waiting. */
int gsync_failed(struct gsync *g);

#endif
