/*
 * lock.h - one run at a time per state directory: flock(2) on
 * STATE_DIR/lock. The kernel drops the lock when the process dies, so a
 * killed run never leaves a stale lock behind.
 */
#ifndef KC_LOCK_H
#define KC_LOCK_H

#include "err.h"

/*
 * Takes the lock on dir/lock, creating the file. With wait_seconds 0 it
 * fails at once when another run holds it; otherwise it retries for that
 * long. Busy: KK_ECONFLICT with EX_TEMPFAIL (75, "retry later"). Once
 * taken, the temporary files of killed runs are removed from dir
 * (file_remove_stale_tmp). *fd is released with lock_release().
 */
enum kk_status lock_acquire(
    const char *dir, int wait_seconds, int *fd, struct kc_err *err);
void lock_release(int fd);

#endif
