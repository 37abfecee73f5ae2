/*
 * kk_status.h - the one status type every Kakuin function returns.
 *
 * Functions return KK_OK or a failure code and deliver their results through
 * pointer arguments; on failure the outputs are left NULL/zero and nothing is
 * owed by the caller.
 */
#ifndef KK_STATUS_H
#define KK_STATUS_H

enum kk_status {
	KK_OK = 0,
	KK_ENOMEM,    /* an allocation failed */
	KK_EINVAL,    /* input is malformed */
	KK_ETOOBIG,   /* input exceeds a hard limit (length, depth) */
	KK_EALG,      /* algorithm missing, unknown or not allowed */
	KK_EKEY,      /* key malformed, unsupported or too weak */
	KK_ESIG,      /* signature or MAC does not verify */
	KK_ECRYPTO,   /* the crypto library failed for another reason */
	KK_ENOTFOUND, /* the named thing does not exist */
	KK_EEXIST,    /* the thing to create already exists */
	KK_ECONFLICT, /* state does not allow the operation */
	KK_EIO,       /* file, database or network I/O failed */
	KK_ELIMIT,    /* a rate or use limit was reached */
	KK_EAGAIN,    /* a service is unavailable for now: try again later */
	KK_ERACE, /* lost a race with a concurrent transaction: redo it now */
};

/* A static, human-readable name for a status; never NULL. */
const char *kk_strerror(enum kk_status st);

/*
 * Returns st, and when err is not NULL and holds no message yet, sets *err
 * to the formatted one (caller frees; left NULL if out of memory): the
 * first, most precise reason of a failure is the one kept.
 */
enum kk_status kk_say(char **err, enum kk_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
