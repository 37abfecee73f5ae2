/*
 * renew.h - when a certificate is due for renewal.
 *
 * Without the server's renewal information (RFC 9773, ARI) a certificate
 * is due once less than a third of its lifetime is left. When the server
 * suggests a window, the window decides instead: due from its start on.
 * Keeping the decision in one pure function of its inputs makes it
 * testable and lets ARI take over without touching the callers.
 */
#ifndef KC_RENEW_H
#define KC_RENEW_H

#include <time.h>

struct renew_window {
	time_t start;
	time_t end;
};

/*
 * 1 when a certificate valid from not_before to not_after must be renewed
 * at now, 0 when not. ari is the server's suggested window or NULL. *when
 * (if not NULL) receives the moment it becomes or became due.
 */
int renew_due(time_t not_before, time_t not_after, time_t now,
    const struct renew_window *ari, time_t *when);

#endif
