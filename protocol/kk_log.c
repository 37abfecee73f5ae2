/*
 * Timestamped log lines on stderr. The program name comes from the C
 * library (program_invocation_short_name) so that no global has to be set
 * before the first line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kk_log.h"
#include "rfc3339.h"

void
kk_log(const char *fmt, ...)
{
	char ts[RFC3339_LEN], msg[1024], line[1200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rfc3339_format(time(NULL), ts);
	n = snprintf(line, sizeof(line), "%s %s: %s\n", ts,
	    program_invocation_short_name, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Nothing useful is left to do if stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
