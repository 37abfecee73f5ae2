/*
 * console.h - the operator console: static files (HTML, JavaScript, CSS)
 * built into the server (console_assets.h), served at /console/ under a
 * strict Content-Security-Policy. The console is a client of the operator
 * API like any other; these handlers need no token and serve nothing but
 * the files.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include "srv.h"

/* A file name the console may have: [a-z0-9-] then ".", 1 to 64. */
int console_name_ok(const char *name);

/* GET /console: a redirect to /console/. */
void console_redirect(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/* GET /console/: index.html, its <html lang> the language the request's
 * Accept-Language prefers among those the console speaks (en, ja). */
void console_index(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/* GET /console/NAME: the file, or 404. */
void console_file(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/*
 * "ja" or "en" for an Accept-Language header value (may be NULL): the
 * one with the higher q, ties and neither going to "en".
 */
const char *console_language(const char *accept_language);

#endif
