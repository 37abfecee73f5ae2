/*
 * ari.h - renewal information (RFC 9773, ARI) for an installed
 * certificate: the window the server suggests, and one moment chosen at
 * random inside it, kept in certs/NAME/ari.json so that every cron run
 * agrees on it. The server is asked again only once its Retry-After has
 * passed (or when the certificate changed); a server without renewalInfo
 * is looked at again a day later, and meanwhile the lifetime rule of
 * renew.h applies.
 */
#ifndef KC_ARI_H
#define KC_ARI_H

#include <time.h>

#include "err.h"
#include "renew.h"
#include "session.h"
#include "state.h"

#define ARI_RETRY_DEFAULT 21600 /* no Retry-After: six hours */
#define ARI_RETRY_MAX 86400     /* the longest Retry-After obeyed */
#define ARI_NONE_RECHECK 86400  /* a server without renewalInfo */

struct certinfo_brief;

struct ari {
	char *cert_id;     /* the certificate this is about, or NULL */
	int offered;       /* the server gave a window for it */
	time_t start, end; /* the suggested window, when offered */
	time_t pick;       /* the moment chosen in it */
	time_t next;       /* not asked again before */
};

void ari_clear(struct ari *a);

/*
 * The certID of the first certificate in the PEM file path:
 * base64url(AKI keyIdentifier) "." base64url(serial DER content octets).
 * *out caller frees. KK_ENOTFOUND (err untouched) when path does not
 * exist, or the certificate can have no renewal information: no AKI
 * keyIdentifier, an empty serial number or one longer than RFC 5280
 * allows, or nothing readable past its validity. KK_EINVAL with err when
 * it does not parse as far as its validity.
 */
enum kk_status ari_cert_id(const char *path, char **out, struct kc_err *err);

/*
 * The same certID from a brief already read (certinfo_read_brief); *out
 * caller frees. KK_ENOTFOUND when the brief has no ids, or a serial
 * number longer than RFC 5280 allows.
 */
enum kk_status ari_cert_id_of(const struct certinfo_brief *cb, char **out);

/* certs/NAME/ari.json; KK_ENOTFOUND when there is none. */
enum kk_status ari_load(const struct state *s, const char *name,
    struct ari *out, struct kc_err *err);

/* 1 when a holds nothing current for cert_id at now: ask the server. */
int ari_stale(const struct ari *a, const char *cert_id, time_t now);

/*
 * Asks the server (connecting s when needed) for the window of cert_id and
 * stores it in certs/NAME/ari.json with its next time to ask; a is the
 * stored state before (the moment chosen is kept while the window stays
 * the same) and is updated. A server without renewalInfo, or one that
 * does not know the certificate (404), is stored as not offering a window,
 * to be asked again a day later. On failure (unreachable, an error
 * answer) nothing is stored and err says why: its code is 1 for a problem
 * the server had with this request.
 */
enum kk_status ari_fetch(struct session *s, const char *name,
    const char *cert_id, time_t now, struct ari *a, struct kc_err *err);

/*
 * The window renew_due takes when the server offered one for cert_id:
 * from the moment chosen to the window's end. NULL when a does not apply
 * (then the lifetime rule does).
 */
const struct renew_window *ari_window(
    const struct ari *a, const char *cert_id, struct renew_window *w);

#endif
