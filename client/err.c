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
err_clear(struct kc_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}
