/*
 * cmd.h - the subcommands. Each parses its own options (plus the global
 * ones, accepted anywhere), does its work and returns the process's exit
 * code: 0 done or nothing due, 75 waiting for an operator or retry later,
 * 64 usage, 78 configuration, 69 server unavailable, 1 anything else.
 */
#ifndef KC_CMD_H
#define KC_CMD_H

#include <getopt.h>

#include "err.h"
#include "session.h"

/* Long options every subcommand accepts; ids from CMD_OPT_GLOBAL on. */
enum {
	CMD_OPT_SERVER = 1000,
	CMD_OPT_STATE_DIR,
	CMD_OPT_CA_BUNDLE,
	CMD_OPT_QUIET,
	CMD_OPT_VERSION,
	CMD_OPT_FIRST_LOCAL = 1100
};
#define CMD_GLOBAL_OPTIONS                                                     \
	{"server", required_argument, NULL, CMD_OPT_SERVER},                   \
	    {"state-dir", required_argument, NULL, CMD_OPT_STATE_DIR},         \
	    {"ca-bundle", required_argument, NULL, CMD_OPT_CA_BUNDLE},         \
	    {"quiet", no_argument, NULL, CMD_OPT_QUIET},                       \
	    {"version", no_argument, NULL, CMD_OPT_VERSION},                   \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

/* 1 when c was a global option (stored in o), 0 otherwise. */
int cmd_global_opt(int c, const char *arg, struct kc_opts *o);

/* The global options' lines for a command's --help. */
#define CMD_GLOBAL_HELP                                                        \
	"global options (before or after the command): --server URL,\n"        \
	"--state-dir DIR, --ca-bundle FILE, --quiet, --help, --version\n"

/*
 * For an option the command's own loop did not take: --help prints usage
 * on stdout and --version the version, both returning -1 (done, exit 0);
 * anything else (getopt has named it) prints usage on stderr and returns
 * EX_USAGE.
 */
int cmd_other_opt(int c, const char *usage);

/* Prints "kakuin: msg" on stderr; returns the exit code (1 if unset). */
int cmd_fail(const struct kc_err *e);

/* Prints a usage error and returns EX_USAGE. */
int cmd_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a non-negative number of seconds; -1 when not one. */
long cmd_seconds(const char *s);

int cmd_enroll(int argc, char **argv, struct kc_opts *o);
int cmd_renew(int argc, char **argv, struct kc_opts *o);
int cmd_status(int argc, char **argv, struct kc_opts *o);
int cmd_revoke(int argc, char **argv, struct kc_opts *o);
int cmd_account(int argc, char **argv, struct kc_opts *o);
int cmd_op(int argc, char **argv, struct kc_opts *o);

#endif
