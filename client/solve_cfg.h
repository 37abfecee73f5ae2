/*
 * solve_cfg.h - a certificate's dns identifiers and how the client proves
 * control of them (http-01, dns-01 or tls-alpn-01 and that challenge's
 * settings), as enroll was told. Kept in certs/NAME/solve.json next to
 * config.json, so that renew from cron repeats the same choices. A
 * certificate with only an org identifier (oob-01, proven by an operator)
 * has no such file, or one with no names.
 */
#ifndef KC_SOLVE_CFG_H
#define KC_SOLVE_CFG_H

#include <stddef.h>

#include "err.h"
#include "state.h"

#define SOLVE_MAX_NAMES 16

enum solve_type { SOLVE_NONE, SOLVE_HTTP, SOLVE_DNS, SOLVE_ALPN };

struct solve_cfg {
	enum solve_type type;
	char *names[SOLVE_MAX_NAMES]; /* dns identifiers, as given */
	size_t nnames;
	char *webroot;     /* http-01: serve files from DIR (absolute) */
	char *listen;      /* http-01, tls-alpn-01: [ADDR:]PORT to serve on */
	char *dns_hook;    /* dns-01: the hook command */
	long hook_timeout; /* dns-01: seconds; 0 for HOOK_DEFAULT_TIMEOUT */
};

/* "http-01", "dns-01", "tls-alpn-01" (and "none"). */
const char *solve_type_name(enum solve_type t);
/* 0 and *t set when s names a challenge type, -1 otherwise. */
int solve_type_parse(const char *s, enum solve_type *t);

/*
 * 0 when c is complete and consistent (names need a type and its
 * settings, and the reverse), else -1 with why saying what is missing,
 * in the words of the command line options.
 */
int solve_cfg_check(const struct solve_cfg *c, char *why, size_t len);

/* A missing file is an empty c and KK_OK; a corrupted one EX_CONFIG. */
enum kk_status solve_cfg_load(const struct state *s, const char *name,
    struct solve_cfg *c, struct kc_err *err);
enum kk_status solve_cfg_save(const struct state *s, const char *name,
    const struct solve_cfg *c, struct kc_err *err);
void solve_cfg_clear(struct solve_cfg *c);

#endif
