/*
 * acme.h - the ACME (RFC 8555) client engine: directory, nonces, signed
 * requests, accounts, orders, finalization, download and revocation.
 *
 * Every POST is a JWS signed with the account key through protocol/jws.h;
 * reads are POST-as-GET. A badNonce answer is retried, up to
 * ACME_NONCE_TRIES times in all, with the nonce it carries. A 429 or 503
 * answer with Retry-After is retried after that many seconds when they are
 * at most ACME_WAIT_MAX (ACME_WAIT_TRIES times at most); a longer wait is
 * an error with EX_TEMPFAIL saying when to come back. A problem document
 * from the server becomes an error naming its type and detail, with the
 * exit code it implies: rateLimited is EX_TEMPFAIL (retry later),
 * 502/503/504 EX_UNAVAILABLE, anything else 1.
 */
#ifndef KC_ACME_H
#define KC_ACME_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "err.h"
#include "http.h"

/*
 * Tries per request against badNonce. Servers may reject nonces at
 * random (Pebble does by default, and under test at 50 %); with 16 an
 * enrollment of some 15 requests gets through half-rejecting servers
 * with odds better than 4000 to 1, and a server rejecting every nonce
 * still ends the run.
 */
#define ACME_NONCE_TRIES 16
#define ACME_WAIT_MAX 60 /* seconds: the longest Retry-After slept through */
#define ACME_WAIT_TRIES 3

struct acme;

/* An identifier of an order: type "org" or "dns", and its value. */
struct acme_id {
	const char *type;
	const char *value;
};

/*
 * The base URL rule for what the user gave as --server: a URL ending in
 * "/directory" is taken as is, anything else is a base URL to which
 * "/acme/directory" is appended. *out caller frees.
 */
enum kk_status acme_directory_url(const char *server, char **out);

/* scheme://host[:port] of a URL, for the operator API. *out caller frees. */
enum kk_status acme_origin(const char *url, char **out);

/*
 * Fetches the directory: server as given when it answers one (a JSON
 * object with newNonce, newAccount and newOrder), else the base URL rule.
 * When neither does, the error names both URLs, with EX_CONFIG (or
 * EX_UNAVAILABLE when the server could not be reached or was unavailable).
 * http is borrowed. Free *out with acme_free().
 */
enum kk_status acme_open(struct http *http, const char *server,
    struct acme **out, struct kc_err *err);
void acme_free(struct acme *a);

/* A URL of the directory ("newOrder", ...), borrowed; NULL if absent. */
const char *acme_resource(const struct acme *a, const char *name);
/* meta.externalAccountRequired */
int acme_eab_required(const struct acme *a);

/* The account key (borrowed) and URL (copied; NULL before an account). */
enum kk_status acme_set_account(struct acme *a, EVP_PKEY *key, const char *kid);
const char *acme_account_url(const struct acme *a);

/*
 * Signs payload (NULL: POST-as-GET) for url and posts it. On a 2xx answer
 * *res is the caller's (http_response_clear); on a problem err holds it.
 */
enum kk_status acme_post(struct acme *a, const char *url, const cJSON *payload,
    struct http_response *res, struct kc_err *err);

/* acme_post and parse a JSON object answer; *obj caller frees. location
 * and retry_after may be NULL. */
enum kk_status acme_post_json(struct acme *a, const char *url,
    const cJSON *payload, cJSON **obj, char **location, long *retry_after,
    struct kc_err *err);

/*
 * newAccount: finds or creates the account of the key set with
 * acme_set_account. contacts NULL-ended or NULL. eab_kid/eab_hmac
 * (base64url) for External Account Binding, or NULL. only_existing: do not
 * create. On success the account URL is set.
 */
enum kk_status acme_account(struct acme *a, const char *const *contacts,
    const char *eab_kid, const char *eab_hmac, int only_existing,
    struct kc_err *err);

/* keyChange to new_key (RFC 8555 7.3.5); on success new_key is in use. */
enum kk_status acme_key_change(
    struct acme *a, EVP_PKEY *new_key, struct kc_err *err);

/*
 * newOrder for n identifiers; *order and *url caller frees. replaces (may
 * be NULL) is the certID of the certificate the order replaces (RFC 9773);
 * when the server answers that it is replaced already (409), the order is
 * placed again without it.
 */
enum kk_status acme_new_order(struct acme *a, const struct acme_id *ids,
    size_t n, const char *replaces, cJSON **order, char **url,
    struct kc_err *err);

/* Finalize with a DER CSR; *order (caller frees) is the updated order. */
enum kk_status acme_finalize(struct acme *a, const char *url,
    const unsigned char *csr, size_t len, cJSON **order, long *retry_after,
    struct kc_err *err);

/* Downloads the PEM chain; *pem caller frees. */
enum kk_status acme_download(struct acme *a, const char *url, char **pem,
    size_t *len, struct kc_err *err);

/* revokeCert by the account key for a DER certificate, RFC 5280 reason. */
enum kk_status acme_revoke(struct acme *a, const unsigned char *der, size_t len,
    int reason, struct kc_err *err);

/* Formats a problem document as "type: detail" into err with code. */
enum kk_status acme_problem_err(const char *what, long status, const char *body,
    size_t len, struct kc_err *err);

#endif
