#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int
cmd_global_opt(int c, const char *arg, struct kc_opts *o)
{
	switch (c) {
	case CMD_OPT_SERVER:
		o->server = arg;
		return 1;
	case CMD_OPT_STATE_DIR:
		o->state_dir = arg;
		return 1;
	case CMD_OPT_CA_BUNDLE:
		o->ca_bundle = arg;
		return 1;
	case CMD_OPT_QUIET:
		o->quiet = 1;
		return 1;
	}
	return 0;
}

int
cmd_other_opt(int c, const char *usage)
{
	if (c == 'h') {
		fputs(usage, stdout);
		return -1;
	}
	if (c == CMD_OPT_VERSION) {
		printf("kakuin %s\n", KAKUIN_VERSION);
		return -1;
	}
	fputs(usage, stderr);
	return EX_USAGE;
}

int
cmd_fail(const struct kc_err *e)
{
	fprintf(stderr, "kakuin: %s\n",
	    e->msg[0] != '\0' ? e->msg : "failed (no detail)");
	return err_exit_code(e);
}

int
cmd_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("kakuin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see kakuin --help)\n", stderr);
	return EX_USAGE;
}

long
cmd_seconds(const char *s)
{
	char *end;
	long n;

	if (s == NULL || *s == '\0')
		return -1;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < 0 || n > 365L * 86400)
		return -1;
	return n;
}
