/*
 * console_assets.h - the console's files, compiled into the server by
 * cmake/embed.cmake from server/console/ (console_assets.c is generated in
 * the build tree): one version of the console per binary, nothing to find
 * on disk at run time.
 */
#ifndef CONSOLE_ASSETS_H
#define CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *name; /* e.g. "console.js" */
	const unsigned char *data;
	size_t len;
};

extern const struct console_asset console_assets[];
extern const size_t console_n_assets;

#endif
