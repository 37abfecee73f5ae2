#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

enum kk_status
err_set(struct kc_err *e, enum kk_status st, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->code != 0)
		return st;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return st;
}

void
err_problem(struct kc_err *e, const char *type, const char *detail)
{
	if (e == NULL || e->type[0] != '\0' || e->detail[0] != '\0')
		return;
	if (type != NULL)
		snprintf(e->type, sizeof(e->type), "%s", type);
	if (detail != NULL)
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
}

void
err_retry_after(struct kc_err *e, long seconds)
{
	if (e != NULL && e->retry_after == 0 && seconds > 0)
		e->retry_after = seconds;
}

void
err_clear(struct kc_err *e)
{
	e->code = 0;
	e->status = 0;
	e->msg[0] = '\0';
	e->type[0] = '\0';
	e->detail[0] = '\0';
	e->retry_after = 0;
}

void
err_recode(struct kc_err *e, int code)
{
	if (e != NULL && e->code != 0)
		e->code = code;
}

int
err_definitive(const struct kc_err *e)
{
	return e != NULL && e->status >= 400 && e->status < 500 &&
	       e->code != EX_TEMPFAIL;
}

int
err_exit_code(const struct kc_err *e)
{
	switch (e->code) {
	case EX_USAGE:
	case EX_UNAVAILABLE:
	case EX_CANTCREAT:
	case EX_TEMPFAIL:
	case EX_CONFIG:
		return e->code;
	default:
		return 1;
	}
}
