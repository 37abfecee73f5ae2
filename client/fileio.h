/*
 * fileio.h - the few file operations the client needs, done so that a
 * crash never leaves a half-written file: data goes to a temporary file
 * beside the target, is fsynced, renamed over the target, and the
 * directory is fsynced so that the rename itself is durable.
 */
#ifndef KC_FILEIO_H
#define KC_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define FILE_MAX_LEN (1024 * 1024) /* state and PEM files are small */

/*
 * Reads the whole of path (at most max bytes, else KK_ETOOBIG). *buf
 * (caller frees) is NUL-terminated, *len bytes before the NUL.
 * KK_ENOTFOUND when the file does not exist (err left untouched so the
 * caller may decide it is not an error); KK_EIO otherwise.
 */
enum kk_status file_read(
    const char *path, size_t max, char **buf, size_t *len, struct kc_err *err);

/* Writes len bytes to a new file path with mode, fsyncs and closes it. */
enum kk_status file_write_new(const char *path, const void *data, size_t len,
    mode_t mode, struct kc_err *err);

/*
 * Replaces path atomically with data: a reader sees the old or the new
 * content, never a mix, and after return the new content survives a
 * crash. kk_file_write_atomic (kk_file.h) with the failure in err.
 */
enum kk_status file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct kc_err *err);

/* fsync(2) on a directory, so that renames and creations in it persist. */
enum kk_status file_sync_dir(const char *dir, struct kc_err *err);

/* The directory part of path, into a caller-freed string. */
enum kk_status file_dirname(const char *path, char **out);

/* mkdir -p with mode for the directories it creates. */
enum kk_status file_mkdirs(const char *path, mode_t mode, struct kc_err *err);

/* rm -r, for directories the client created itself; missing is fine. */
enum kk_status file_remove_tree(const char *path, struct kc_err *err);

/*
 * 1 if name is a temporary file of file_write_atomic(), NAME.tmp.PID.HEX
 * (or NAME.tmp.PID, as older versions wrote), for a PID other than ours.
 */
int file_is_stale_tmp(const char *name);

/*
 * Removes the temporary files of file_write_atomic() that runs killed
 * before their rename left in dir and its subdirectories, down to depth
 * levels (symbolic links are not followed). They may hold private keys.
 * Only for a caller that holds the state lock, which no other run can then
 * be writing under. Best effort: what cannot be removed stays.
 */
void file_remove_stale_tmp(const char *dir, int depth);

/* Path join: *out = a "/" b, caller frees. */
enum kk_status file_join(const char *a, const char *b, char **out);

#endif
