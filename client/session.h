/*
 * session.h - what every command that talks to the server needs: the
 * state directory, the settings resolved from the command line, the
 * environment and what enroll remembered (in that order of precedence),
 * the HTTP transport, the ACME engine and the account key.
 */
#ifndef KC_SESSION_H
#define KC_SESSION_H

#include <openssl/evp.h>

#include "acme.h"
#include "err.h"
#include "http.h"
#include "state.h"

/* Global options as given on the command line (NULL when absent). */
struct kc_opts {
	const char *server;
	const char *state_dir;
	const char *ca_bundle;
	int quiet;
};

struct session {
	struct state *state;
	char *server;    /* resolved */
	char *ca_bundle; /* resolved, may be NULL */
	struct http *http;
	struct acme *acme;     /* NULL until session_connect */
	EVP_PKEY *account_key; /* NULL until session_account */
};

/* Resolves the options and opens (create: makes) the state directory. */
enum kk_status session_open(
    const struct kc_opts *o, int create, struct session *s, struct kc_err *err);

/* Fetches the directory; EX_CONFIG when no server is known. */
enum kk_status session_connect(struct session *s, struct kc_err *err);

/*
 * Loads the account key and URL. With create, makes a key (EC P-256) and
 * account when there is none, with contacts and EAB (either may be NULL);
 * without, a missing account is EX_CONFIG.
 */
enum kk_status session_account(struct session *s, int create,
    const char *const *contacts, const char *eab_kid, const char *eab_hmac,
    struct kc_err *err);

/* Remembers server and CA bundle in the state directory for renew. */
enum kk_status session_remember(struct session *s, struct kc_err *err);

void session_close(struct session *s);

#endif
