/*
 * kk_file.h - path joining and crash-safe file writing, shared by the
 * server and the client so that both have one behaviour: a file is
 * written whole or not at all, and once the call returns KK_OK it
 * survives a crash (file and directory both fsynced).
 */
#ifndef KK_FILE_H
#define KK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "kk_status.h"

/* *out = dir "/" name, without doubling a '/' that ends dir; caller frees. */
enum kk_status kk_path_join(const char *dir, const char *name, char **out);

/*
 * Writes len bytes of data to path with mode: into a temporary file beside
 * it, created with at most mode & 0600 (never readable by others, even for
 * a moment), fchmod'ed to mode and fsynced, then moved into place and the
 * directory fsynced. replace = 1 renames over an existing path; replace = 0
 * never overwrites one (KK_EEXIST). KK_EIO on any other failure, with
 * errno telling why; the temporary file is removed.
 *
 * The temporary file is PATH.tmp.PID.RANDOM: unique among the threads of
 * one process, and telling a process that holds a lock on the directory
 * which leftovers belong to a run killed before its rename (the client's
 * file_remove_stale_tmp).
 */
enum kk_status kk_file_write_atomic(
    const char *path, const void *data, size_t len, mode_t mode, int replace);

#endif
