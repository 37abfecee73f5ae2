/*
 * selfpath.h - files installed beside the executable, found from where it
 * runs rather than from a path fixed at build time, so that an installed
 * tree may be moved (DESTDIR, cmake --install --prefix, a package).
 */
#ifndef SELFPATH_H
#define SELFPATH_H

#include "kk_status.h"

/*
 * *out (caller frees) is rel resolved against the directory of the running
 * executable (/proc/self/exe) when that file exists, else a copy of
 * fallback. KK_ENOMEM only.
 */
enum kk_status selfpath_find(const char *rel, const char *fallback, char **out);

#endif
