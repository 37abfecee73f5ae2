/*
 * acme.h - the RFC 8555 resources, one file per step as in OpenBSD's
 * acme-client: acme_post.c authenticates a POST, acme_dir.c serves the
 * directory and nonces, acme_account.c accounts and key changes,
 * acme_order.c orders and finalize, acme_authz.c authorizations, oob-01
 * challenges and their instructions page, acme_cert.c certificates,
 * revocation and the CRL. Handlers are srv_handler functions, called by
 * srv.c's routing table with the path's id in c->id; they fill resp and
 * never fail otherwise.
 */
#ifndef ACME_H
#define ACME_H

#include <openssl/evp.h>
#include <cjson/cJSON.h>

#include "http_msg.h"
#include "jws.h"
#include "model.h"
#include "srv.h"

#define ACME_RETRY_AFTER 30 /* seconds a client should wait on processing */
/* Seconds before retrying a request the storage could not serve. */
#define STORE_RETRY_AFTER 5

enum acme_auth {
	ACME_AUTH_KID,    /* an existing, valid account signs (most URLs) */
	ACME_AUTH_JWK,    /* a key signs with its jwk (newAccount) */
	ACME_AUTH_EITHER, /* revokeCert: the account or the cert's key */
};

/* A verified POST. */
struct acme_post {
	struct jws jws;
	struct account *account; /* set when signed by "kid" */
	EVP_PKEY *key;           /* the key that signed; borrowed from jws */
	EVP_PKEY *account_key;   /* owned: the account's key, when kid */
	cJSON *payload;          /* NULL for POST-as-GET */
};

/*
 * Checks a POST per RFC 8555 section 6: content type, flattened JWS,
 * algorithm, nonce, url, kid or jwk as auth demands, signature, account
 * status, payload JSON. On failure resp holds the problem and p is clean.
 * Release with acme_post_clear.
 */
enum kk_status acme_post_open(struct srv *s, const struct http_req *req,
    enum acme_auth auth, struct acme_post *p, struct http_resp *resp);
void acme_post_clear(struct acme_post *p);

/* Answers with the problem matching a storage failure. */
void acme_store_error(
    struct http_resp *resp, enum kk_status st, const char *what);

void acme_directory(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_new_nonce(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

void acme_new_account(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_account(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_account_orders(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_key_change(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

void acme_new_order(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_order(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_finalize(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

void acme_authz(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_challenge(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_oob_page(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

void acme_cert(struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_revoke(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void acme_crl(struct srv *s, const struct srv_call *c, struct http_resp *resp);

/* 1 while one of the authorization's challenges waits for an operator:
 * what gets a Retry-After on the order, authorization and challenge. */
int acme_authz_awaiting_operator(struct srv *s, const char *authz_id);

/* JSON views of records; *out owned by the caller. */
enum kk_status acme_challenge_json(
    struct srv *s, const struct challenge *c, cJSON **out);

/* newAuthz (RFC 8555 7.4.1), in acme_authz.c. */
void acme_new_authz(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/*
 * Renewal information (RFC 9773), in acme_ari.c: the renewalInfo handler
 * and certIDs. acme_cert_id makes the certID of the certificate with the
 * serial (lower-case hex); acme_cert_id_serial maps one back (KK_EINVAL:
 * not a certID; KK_ENOTFOUND: another issuer's). Outputs caller frees.
 */
void acme_renewal_info(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
enum kk_status acme_cert_id(struct srv *s, const char *serial, char **out);
enum kk_status acme_cert_id_serial(
    struct srv *s, const char *cert_id, char **serial);
/* 1 when id may be a certID in a URL path (base64url and dots). */
int acme_cert_id_ok(const char *id);
/*
 * A newOrder's "replaces": *serial (caller frees) is NULL when absent.
 * On failure the problem is answered in resp.
 */
enum kk_status acme_order_replaces(
    struct srv *s, const cJSON *payload, char **serial, struct http_resp *resp);
/* Adds "replaces", the certID of the certificate with serial (lower-case
 * hex), to order JSON j; nothing for a NULL serial. */
enum kk_status acme_order_add_replaces(
    struct srv *s, const char *serial, cJSON *j);

#endif
