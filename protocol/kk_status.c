#include <stdarg.h>
#include <stdio.h>

#include "kk_status.h"

const char *
kk_strerror(enum kk_status st)
{
	switch (st) {
	case KK_OK:
		return "success";
	case KK_ENOMEM:
		return "out of memory";
	case KK_EINVAL:
		return "malformed input";
	case KK_ETOOBIG:
		return "input too large";
	case KK_EALG:
		return "algorithm not accepted";
	case KK_EKEY:
		return "unsupported or invalid key";
	case KK_ESIG:
		return "signature does not verify";
	case KK_ECRYPTO:
		return "cryptographic library failure";
	case KK_ENOTFOUND:
		return "not found";
	case KK_EEXIST:
		return "already exists";
	case KK_ECONFLICT:
		return "not allowed in the current state";
	case KK_EIO:
		return "input/output failure";
	case KK_ELIMIT:
		return "limit reached";
	case KK_EAGAIN:
		return "temporarily unavailable";
	case KK_ERACE:
		return "lost a race with a concurrent transaction";
	}
	return "unknown status";
}

enum kk_status
kk_say(char **err, enum kk_status st, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || *err != NULL)
		return st;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return st;
}
