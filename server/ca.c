/*
 * ca.c - the issuing CA: leaves from verified data, checks of our own
 * certificates, CRLs.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_x509.h"
#include "kk_file.h"
#include "p11.h"

/* Longest validity a leaf may ask for; the policy loader has its own
 * narrower limit, this one only keeps the arithmetic sane. */
#define MAX_VALIDITY_DAYS 3650
#define BACKDATE_SECONDS 300
/* RFC 5280 4.1.2.2: serial numbers are at most 20 octets. */
#define MAX_SERIAL_HEX 40

struct ca {
	X509 *root;
	X509 *issuing;
	STACK_OF(X509) * chain; /* issuing, then any intermediates */
	EVP_PKEY *key;
	struct p11_key *token; /* holds key when it is in a token */
	/* One signature at a time. libp11 locks its own sessions, but a
	 * token (a smart card above all) may serve one operation at a time
	 * whatever its module says; a CA signs too rarely to notice. */
	pthread_mutex_t sign_lock;
	int lock_made;
	char *chain_pem;
	char *issuer_id;
};

static enum kk_status
read_certs_at(const char *dir, const char *name, STACK_OF(X509) * *out)
{
	enum kk_status st;
	char *path;

	if ((st = kk_path_join(dir, name, &path)) != KK_OK)
		return st;
	st = ca_x509_read_certs(path, out);
	free(path);
	return st;
}

static enum kk_status
chain_to_pem(STACK_OF(X509) * chain, char **pem)
{
	enum kk_status st = KK_ENOMEM;
	BIO *b;
	char *p;
	long n;
	int i;

	*pem = NULL;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return KK_ENOMEM;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (PEM_write_bio_X509(b, sk_X509_value(chain, i)) != 1)
			goto out;
	if ((n = BIO_get_mem_data(b, &p)) <= 0)
		goto out;
	if ((*pem = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(*pem, p, (size_t)n);
	(*pem)[n] = '\0';
	st = KK_OK;
out:
	BIO_free(b);
	return st;
}

/* issuing.pem, and the intermediates after it, lead to root.pem. */
static enum kk_status
chain_check(struct ca *ca)
{
	STACK_OF(X509) * rest;
	enum kk_status st;

	if ((rest = sk_X509_dup(ca->chain)) == NULL)
		return KK_ENOMEM;
	(void)sk_X509_shift(rest);
	st = ca_x509_chain_check(ca->issuing, rest, ca->root, NULL);
	sk_X509_free(rest);
	return st;
}

/* The issuing key from the token uri names; *err names the URI. */
static enum kk_status
token_key(
    struct ca *ca, const char *uri, const struct ca_key_opts *opts, char **err)
{
	struct p11_pin pin = {opts != NULL ? opts->pin_file : NULL, CA_PIN_ENV};
	enum kk_status st;
	char *why = NULL, *name = NULL;

	if ((st = p11_key_open(uri, &pin, &ca->token, &why)) == KK_OK) {
		ca->key = p11_key_pkey(ca->token);
		if (EVP_PKEY_up_ref(ca->key) != 1) {
			ca->key = NULL;
			st = KK_ENOMEM;
		}
	} else if (p11_uri_display(uri, &name) == KK_OK) {
		kk_say(err, st, "issuing CA key %s: %s", name,
		    why != NULL ? why : kk_strerror(st));
	}
	free(why);
	free(name);
	return st;
}

enum kk_status
ca_load(const char *dir, struct ca **out)
{
	return ca_open(dir, NULL, out, NULL);
}

enum kk_status
ca_open(const char *dir, const struct ca_key_opts *opts, struct ca **out,
    char **err)
{
	enum kk_status st;
	STACK_OF(X509) *roots = NULL;
	const ASN1_OCTET_STRING *skid;
	struct ca *ca;
	char *path = NULL, *uri = NULL;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return KK_ENOMEM;
	if (pthread_mutex_init(&ca->sign_lock, NULL) != 0) {
		free(ca);
		return KK_ENOMEM;
	}
	ca->lock_made = 1;
	if ((st = read_certs_at(dir, "root.pem", &roots)) != KK_OK ||
	    (st = read_certs_at(dir, "issuing.pem", &ca->chain)) != KK_OK)
		goto out;
	ca->root = sk_X509_shift(roots);
	ca->issuing = sk_X509_value(ca->chain, 0);
	if ((st = ca_x509_key_uri(
	         dir, opts != NULL ? opts->uri : NULL, &uri)) != KK_OK) {
		kk_say(
		    err, st, "%s/%s: not a pkcs11: URI", dir, CA_KEY_URI_FILE);
		goto out;
	}
	if (uri != NULL) {
		if ((st = token_key(ca, uri, opts, err)) != KK_OK)
			goto out;
	} else if ((st = kk_path_join(dir, "private/issuing.key", &path)) !=
	               KK_OK ||
	           (st = ca_x509_read_key(path, &ca->key)) != KK_OK)
		goto out;
	st = KK_EKEY;
	if (X509_check_private_key(ca->issuing, ca->key) != 1) {
		kk_say(err, st, "the issuing key does not match %s/issuing.pem",
		    dir);
		goto out;
	}
	st = KK_EINVAL;
	/* A CA whose certificates say it may sign, and a subject key id for
	 * the AKI of everything it signs (RFC 5280 4.2.1.2). */
	if (X509_check_ca(ca->issuing) < 1 ||
	    (skid = X509_get0_subject_key_id(ca->issuing)) == NULL)
		goto out;
	if ((st = chain_check(ca)) != KK_OK)
		goto out;
	if ((st = chain_to_pem(ca->chain, &ca->chain_pem)) != KK_OK ||
	    (st = ca_x509_hex(ASN1_STRING_get0_data(skid),
	         (size_t)ASN1_STRING_length(skid), &ca->issuer_id)) != KK_OK)
		goto out;
	*out = ca;
	ca = NULL;
out:
	ERR_clear_error();
	free(path);
	free(uri);
	sk_X509_pop_free(roots, X509_free);
	ca_free(ca);
	return st;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->root);
	/* ca->issuing is the chain's first element. */
	sk_X509_pop_free(ca->chain, X509_free);
	/* The key refers to the token's objects: it goes first. */
	EVP_PKEY_free(ca->key);
	p11_key_free(ca->token);
	if (ca->lock_made)
		pthread_mutex_destroy(&ca->sign_lock);
	free(ca->chain_pem);
	free(ca->issuer_id);
	free(ca);
}

const char *
ca_chain_pem(const struct ca *ca)
{
	return ca->chain_pem;
}

const char *
ca_issuer_id(const struct ca *ca)
{
	return ca->issuer_id;
}

/* A URL goes into an IA5String: printable ASCII, no spaces. */
static int
url_ok(const char *url)
{
	const char *p;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return 0;
	for (p = url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return p - url <= 2048;
}

/*
 * The CRL distribution point is built from its ASN.1 parts rather than
 * from an "URI:..." configuration string, where a comma in the URL would
 * start a second, attacker-chosen name.
 */
static enum kk_status
add_crl_dp(X509 *cert, const char *url)
{
	enum kk_status st = KK_ENOMEM;
	CRL_DIST_POINTS *dps = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *uri = NULL;

	if ((dps = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (uri = ASN1_IA5STRING_new()) == NULL)
		goto out;
	if (ASN1_STRING_set(uri, url, -1) != 1)
		goto out;
	dp->distpoint->type = 0; /* fullName */
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	if (sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) == 0)
		goto out;
	gn = NULL;
	if (sk_DIST_POINT_push(dps, dp) == 0)
		goto out;
	dp = NULL;
	st = X509_add1_ext_i2d(cert, NID_crl_distribution_points, dps, 0,
	         X509V3_ADD_DEFAULT) == 1
	         ? KK_OK
	         : KK_ECRYPTO;
out:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return st;
}

static enum kk_status
leaf_subject(const struct ca_leaf *leaf, X509_NAME **out)
{
	enum kk_status st = KK_ENOMEM;
	X509_NAME *name;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL)
		return KK_ENOMEM;
	if ((st = ca_x509_name_add(name, NID_countryName, leaf->country)) !=
	        KK_OK ||
	    (st = ca_x509_name_add(
	         name, NID_organizationName, leaf->org_name)) != KK_OK ||
	    (st = ca_x509_name_add(
	         name, NID_organizationIdentifier, leaf->org_id)) != KK_OK ||
	    (st = ca_x509_name_add(name, NID_commonName, leaf->cn)) != KK_OK) {
		X509_NAME_free(name);
		return st;
	}
	*out = name;
	return KK_OK;
}

static enum kk_status
not_after_of(const X509 *x, time_t *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return KK_ECRYPTO;
	*t = timegm(&tm);
	return KK_OK;
}

enum kk_status
ca_issue(struct ca *ca, const struct ca_leaf *leaf, char **pem,
    char **serial_hex, time_t *not_before, time_t *not_after)
{
	enum kk_status st;
	X509_NAME *subject = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	char *p, *out_pem = NULL, *out_serial = NULL;
	time_t nb, na, ca_end;
	long n;
	int rsa;

	*pem = NULL;
	*serial_hex = NULL;
	*not_before = *not_after = 0;
	if (leaf->key == NULL || leaf->crl_url == NULL ||
	    !url_ok(leaf->crl_url) || leaf->validity_days <= 0 ||
	    leaf->validity_days > MAX_VALIDITY_DAYS)
		return KK_EINVAL;
	/* A subject that holds the CA's own key would let its holder sign
	 * as the CA. */
	if (EVP_PKEY_eq(leaf->key, ca->key) == 1)
		return KK_EKEY;
	if ((st = leaf_subject(leaf, &subject)) != KK_OK)
		return st;
	nb = time(NULL) - BACKDATE_SECONDS;
	na = nb + (time_t)leaf->validity_days * 86400;
	/* Nothing outlives its issuer: a chain is only as valid as its
	 * shortest-lived certificate. */
	if ((st = not_after_of(ca->issuing, &ca_end)) != KK_OK)
		goto out;
	if (ca_end <= nb) {
		st = KK_ECONFLICT;
		goto out;
	}
	if (na > ca_end)
		na = ca_end;
	if ((st = ca_x509_new(leaf->key, subject, ca->issuing, nb, na, &x)) !=
	    KK_OK)
		goto out;
	rsa = EVP_PKEY_is_a(leaf->key, "RSA");
	if ((st = ca_x509_ext(x, ca->issuing, NID_basic_constraints,
	         "critical,CA:FALSE")) != KK_OK ||
	    (st = ca_x509_ext(x, ca->issuing, NID_key_usage,
	         rsa ? "critical,digitalSignature,keyEncipherment"
	             : "critical,digitalSignature")) != KK_OK ||
	    (st = ca_x509_ext(
	         x, ca->issuing, NID_ext_key_usage, "clientAuth")) != KK_OK ||
	    (st = ca_x509_ext(x, ca->issuing, NID_subject_key_identifier,
	         "hash")) != KK_OK ||
	    (st = ca_x509_ext(x, ca->issuing, NID_authority_key_identifier,
	         "keyid:always")) != KK_OK ||
	    (st = add_crl_dp(x, leaf->crl_url)) != KK_OK)
		goto out;
	pthread_mutex_lock(&ca->sign_lock);
	st = ca_x509_sign(x, ca->key);
	pthread_mutex_unlock(&ca->sign_lock);
	if (st != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, x) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (out_pem = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(out_pem, p, (size_t)n);
	out_pem[n] = '\0';
	if ((st = ca_x509_serial_hex(X509_get0_serialNumber(x), &out_serial)) !=
	    KK_OK)
		goto out;
	*pem = out_pem;
	*serial_hex = out_serial;
	*not_before = nb;
	*not_after = na;
	out_pem = out_serial = NULL;
	st = KK_OK;
out:
	ERR_clear_error();
	free(out_pem);
	free(out_serial);
	BIO_free(b);
	X509_free(x);
	X509_NAME_free(subject);
	return st;
}

enum kk_status
ca_cert_check(const struct ca *ca, const unsigned char *der, size_t len,
    char **serial_hex, EVP_PKEY **key)
{
	enum kk_status st = KK_EINVAL;
	const unsigned char *p = der;
	EVP_PKEY *issuer_key, *k = NULL;
	char *serial = NULL;
	X509 *x = NULL;

	if (serial_hex != NULL)
		*serial_hex = NULL;
	if (key != NULL)
		*key = NULL;
	if (der == NULL || len == 0 || len > LONG_MAX)
		return KK_EINVAL;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	/* Ours means: issued under our name and key id, and our signature
	 * verifies. The name alone could be copied by anyone. */
	st = KK_ENOTFOUND;
	if ((issuer_key = X509_get0_pubkey(ca->issuing)) == NULL ||
	    X509_check_issued(ca->issuing, x) != X509_V_OK ||
	    X509_verify(x, issuer_key) != 1)
		goto out;
	if ((st = ca_x509_serial_hex(X509_get0_serialNumber(x), &serial)) !=
	    KK_OK)
		goto out;
	st = KK_EKEY;
	if ((k = X509_get_pubkey(x)) == NULL)
		goto out;
	if (serial_hex != NULL) {
		*serial_hex = serial;
		serial = NULL;
	}
	if (key != NULL) {
		*key = k;
		k = NULL;
	}
	st = KK_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	free(serial);
	X509_free(x);
	return st;
}

enum kk_status
ca_spki_sha256(EVP_PKEY *key, char **hex)
{
	enum kk_status st = KK_ECRYPTO;
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen;
	size_t n;

	*hex = NULL;
	if (key == NULL)
		return KK_EINVAL;
	if ((st = ca_x509_spki_der(key, &der, &n)) != KK_OK)
		goto out;
	st = KK_ECRYPTO;
	if (EVP_Digest(der, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		goto out;
	st = ca_x509_hex(md, mdlen, hex);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	return st;
}

/* A serial in lower- or upper-case hex, as ca_issue and ca_cert_check
 * return it. */
static enum kk_status
serial_from_hex(const char *hex, ASN1_INTEGER **out)
{
	BIGNUM *bn = NULL;
	size_t n;

	*out = NULL;
	if (hex == NULL || (n = strlen(hex)) == 0 || n > MAX_SERIAL_HEX ||
	    strspn(hex, "0123456789abcdefABCDEF") != n)
		return KK_EINVAL;
	if (BN_hex2bn(&bn, hex) != (int)n || BN_is_zero(bn)) {
		BN_free(bn);
		return KK_EINVAL;
	}
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out != NULL ? KK_OK : KK_ENOMEM;
}

static enum kk_status
crl_add_revoked(X509_CRL *crl, const struct ca_revoked *r)
{
	enum kk_status st;
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_TIME *when = NULL;

	/* RFC 5280 5.3.1: 7 is unassigned and removeFromCRL (8) belongs in
	 * delta CRLs only. */
	if (r->reason < 0 || r->reason > 10 || r->reason == 7 || r->reason == 8)
		return KK_EINVAL;
	if ((st = serial_from_hex(r->serial_hex, &serial)) != KK_OK)
		return st;
	st = KK_ENOMEM;
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (when = ASN1_TIME_set(NULL, r->revoked_at)) == NULL)
		goto out;
	if (X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, when) != 1)
		goto out;
	if (r->reason != 0) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    ASN1_ENUMERATED_set(reason, r->reason) != 1 ||
		    X509_REVOKED_add1_ext_i2d(
		        rev, NID_crl_reason, reason, 0, 0) != 1)
			goto out;
	}
	if (X509_CRL_add0_revoked(crl, rev) != 1)
		goto out;
	rev = NULL;
	st = KK_OK;
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	X509_REVOKED_free(rev);
	return st;
}

enum kk_status
ca_crl(struct ca *ca, const struct ca_revoked *revoked, size_t n,
    long crl_number, time_t this_update, time_t next_update,
    unsigned char **der, size_t *len)
{
	enum kk_status st = KK_ENOMEM;
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *skid;
	unsigned char *out = NULL;
	size_t i;
	int m, signed_ok;

	*der = NULL;
	*len = 0;
	if (crl_number < 0 || next_update <= this_update ||
	    (n > 0 && revoked == NULL))
		return KK_EINVAL;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL ||
	    (num = ASN1_INTEGER_new()) == NULL ||
	    (akid = AUTHORITY_KEYID_new()) == NULL)
		goto out;
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->issuing)) !=
	        1 ||
	    ASN1_TIME_set(t, this_update) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    ASN1_TIME_set(t, next_update) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if ((st = crl_add_revoked(crl, &revoked[i])) != KK_OK)
			goto out;
	st = KK_ENOMEM;
	/* RFC 5280 5.2.1: the AKI names the key that signed, by the same
	 * key identifier the leaves carry. */
	skid = X509_get0_subject_key_id(ca->issuing);
	if (skid == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(skid)) == NULL ||
	    ASN1_INTEGER_set_int64(num, crl_number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    X509_CRL_add1_ext_i2d(
	        crl, NID_authority_key_identifier, akid, 0, 0) != 1)
		goto out;
	st = KK_ECRYPTO;
	if (X509_CRL_sort(crl) != 1)
		goto out;
	pthread_mutex_lock(&ca->sign_lock);
	signed_ok = X509_CRL_sign(crl, ca->key, ca_x509_md(ca->key)) > 0;
	pthread_mutex_unlock(&ca->sign_lock);
	if (!signed_ok || (m = i2d_X509_CRL(crl, &out)) <= 0)
		goto out;
	*der = out;
	*len = (size_t)m;
	st = KK_OK;
out:
	ERR_clear_error();
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return st;
}
