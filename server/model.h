/*
 * model.h - the server's records, as the ACME and operator logic see them
 * and as the storage backends persist them.
 *
 * Every string member is owned by the record and freed by its *_free
 * function; states are enums (acme_status.h), names only in JSON and SQL;
 * times are seconds since the epoch (0 = unset). Identifiers of ACME
 * resources are random base64url strings (model_new_id) so that URLs
 * reveal nothing and cannot be enumerated.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "acme_status.h"
#include "kk_status.h"

#define MODEL_ID_LEN 22 /* characters of a resource id: 128 random bits */

struct account {
	char *id;
	enum acme_status status; /* valid, deactivated, revoked */
	char *jwk;               /* public JWK, compact JSON */
	char *thumbprint;        /* RFC 7638, unique among accounts */
	char *contacts;          /* JSON array of URIs, "[]" if none */
	char *org;     /* organization the account is bound to, or NULL */
	char *eab_kid; /* EAB key it was created with, or NULL */
	char *created_ip;
	time_t created_at;
	int tos_agreed;
};

struct order {
	char *id;
	char *account_id;
	enum acme_status
	    status;        /* pending, ready, processing, valid, invalid */
	char *org;         /* the organization the certificate names: the
	                      org identifier's value, or for dns names alone
	                      the organization the account is bound to */
	char *authz_id;    /* its first authorization (the org identifier's,
	                      else the first dns name's) */
	char *profile;     /* certificate profile name */
	char *error;       /* problem JSON when invalid, or NULL */
	char *cert_serial; /* hex, once valid */
	time_t created_at;
	time_t expires;
	/* The serial of the certificate it replaces (RFC 9773), or NULL:
	 * read with the order from the certificate's renewal record, never
	 * written with it (store_renewal_set_replaced records it). */
	char *replaces;
};

struct authz {
	char *id;
	char *account_id;
	char *id_type; /* "org" or "dns" */
	char *id_value;
	/* pending, valid, invalid, deactivated, expired, revoked */
	enum acme_status status;
	time_t expires;
	time_t created_at;
	char *order_id; /* the order it was made for; NULL on records made
	                   before orders had several authorizations */
	int order_pos;  /* its place among the order's identifiers */
};

struct challenge {
	char *id;
	char *authz_id;
	char *type; /* "oob-01", "http-01", "dns-01" or "tls-alpn-01" */
	enum acme_status status; /* pending, processing, valid, invalid */
	char *token;             /* random, shown to the client */
	char *error;             /* problem JSON when invalid, or NULL */
	time_t validated;        /* when valid; for an http-01, dns-01 or
	                            tls-alpn-01 challenge being validated, when
	                            the validation began */
};

struct approval {
	char *operator_name;
	char *method; /* "phone" or "document" */
	char *legal_name;
	char *country;
	char *evidence;
	time_t at;
};

/* One request for out-of-band verification: made when a client POSTs to
 * an oob-01 challenge, decided by operators. */
struct verification {
	char *id;
	char *org;
	char *account_id;
	char *authz_id;
	char *challenge_id;
	enum acme_status status; /* processing, valid, invalid */
	char *reason;            /* rejection reason, or NULL */
	time_t requested_at;
	time_t decided_at;
	struct approval *approvals;
	size_t n_approvals;
};

struct org {
	char *id; /* the identifier value, e.g. NTRJP-9234567890123 */
	char *legal_name;
	char *country;
	char *method; /* how the latest verification was done */
	time_t verified_at;
	time_t expires; /* verification expiry; in the past = lapsed */
};

struct cert {
	char *serial; /* lower-case hex, no leading zeros stripped */
	char *account_id;
	char *order_id;
	char *org;
	char *cn;
	char *pem;         /* the leaf only */
	char *spki_sha256; /* hex SHA-256 of the subject public key info DER */
	enum acme_status status; /* valid or revoked */
	time_t not_before;
	time_t not_after;
	time_t revoked_at;
	int reason; /* RFC 5280 CRLReason, when revoked */
};

struct eab_key {
	char *kid;
	unsigned char *hmac_key;
	size_t hmac_key_len;
	char *org;
	char *created_by;
	time_t created_at;
	time_t expires; /* 0 = never */
	int max_uses;   /* 0 = unlimited */
	int uses;
};

struct op_token {
	char *name;
	char *role; /* "operator" or "auditor" */
	unsigned char
	    hash[32]; /* SHA-256 of the token; the token is not kept */
	time_t created_at;
	time_t revoked_at; /* 0 = active */
};

/* The CRL every replica serves, kept in the store (one per issuer). */
struct crl_state {
	char *issuer;   /* ca_issuer_id() of the CA that signed it */
	int64_t number; /* its cRLNumber */
	time_t this_update;
	time_t next_update;
	int64_t revoked; /* revoked certificates in the store it lists */
	unsigned char *der;
	size_t der_len;
};

struct audit_event {
	int64_t seq;
	time_t at;
	char *actor;  /* operator name, "acme:<account id>" or "system" */
	char *action; /* e.g. "verification.approve" */
	char *object; /* e.g. the verification id */
	char *detail; /* JSON object text, or NULL */
};

/*
 * What the server says about a certificate's renewal (RFC 9773, ARI),
 * beyond what its validity implies: a window an operator moved (both 0
 * for the default one) and the order that replaces it.
 */
struct renewal {
	char *serial;
	time_t start; /* suggested window set by an operator, or 0 */
	time_t end;
	char *replaced_by; /* id of the order replacing it, or NULL */
};

/* A fresh random id of MODEL_ID_LEN base64url characters; caller frees. */
enum kk_status model_new_id(char **out);

/*
 * Fills raw with n random bytes whose base64url form (*out, caller frees)
 * does not begin with '-', so that it can follow any command-line option.
 * For ids, operator tokens and EAB keys alike.
 */
enum kk_status model_random_b64(unsigned char *raw, size_t n, char **out);

void account_free(struct account *a);
void order_free(struct order *o);
/* A deep copy of o in *out (caller frees with order_free); KK_ENOMEM. */
enum kk_status order_dup(const struct order *o, struct order **out);
void authz_free(struct authz *a);
/* A deep copy of a in *out (caller frees with authz_free); KK_ENOMEM. */
enum kk_status authz_dup(const struct authz *a, struct authz **out);
void challenge_free(struct challenge *c);
void verification_free(struct verification *v);
void org_free(struct org *o);
void cert_free(struct cert *c);
void eab_key_free(struct eab_key *k);
void op_token_free(struct op_token *t);
void audit_event_free(struct audit_event *e);
void renewal_free(struct renewal *r);
void crl_state_free(struct crl_state *c);

/*
 * A document an operator attached to a verification (a PDF or an image of
 * a seal certificate, a registry extract): kept with its SHA-256, which is
 * how approvals and the audit log name it.
 */
struct attachment {
	char *verification_id;
	char *sha256;       /* 64 lowercase hex digits */
	char *content_type; /* application/pdf, image/png or image/jpeg */
	char *uploaded_by;  /* the operator's name */
	time_t uploaded_at;
	size_t size;
	unsigned char *data; /* size bytes; NULL in lists */
};

void attachment_free(struct attachment *a);

#endif
