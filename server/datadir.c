/*
 * datadir.c - creating and completing the server's data directory: the
 * CA (generated or imported), the listener's TLS certificate, the policy.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_x509.h"
#include "csr.h"
#include "datadir.h"
#include "kk_file.h"

#define DAY 86400L
#define ROOT_DAYS 3652L    /* 10 years */
#define ISSUING_DAYS 1826L /* 5 years */
#define TLS_DAYS 365L
#define TLS_RENEW_DAYS 30L
#define BACKDATE 300L
#define MAX_POLICY (1024L * 1024L)
#define MAX_DNS_NAME 253

/* One run of init or ensure: the options, the paths, the first error. */
struct dd {
	const struct datadir_opts *o;
	char **err;
	char *priv;
	char *root_pem;
	char *issuing_pem;
	char *policy;
	char *db;
	char *root_key;
	char *issuing_key;
	char *tls;
};

/* The CA as found on disk or just made. */
struct ca_set {
	X509 *root;
	EVP_PKEY *root_key;     /* NULL for an imported CA */
	STACK_OF(X509) * chain; /* issuing first, then intermediates */
	EVP_PKEY *issuing_key;
};

/* Records the first failure as a message for the caller; returns st so
 * that "return fail(...)" reads naturally. */
static enum kk_status
fail(struct dd *d, enum kk_status st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->err == NULL || *d->err != NULL)
		return st;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (*d->err = malloc((size_t)n + 1)) == NULL)
		return st;
	va_start(ap, fmt);
	vsnprintf(*d->err, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return st;
}

static void
dd_free(struct dd *d)
{
	free(d->priv);
	free(d->root_pem);
	free(d->issuing_pem);
	free(d->policy);
	free(d->db);
	free(d->root_key);
	free(d->issuing_key);
	free(d->tls);
}

static enum kk_status
dd_init(struct dd *d, const struct datadir_opts *o, char **err)
{
	memset(d, 0, sizeof(*d));
	d->o = o;
	d->err = err;
	if (err != NULL)
		*err = NULL;
	if (o == NULL || o->dir == NULL || *o->dir == '\0')
		return fail(d, KK_EINVAL, "no data directory given");
	if ((o->ca_cert == NULL) != (o->ca_key == NULL))
		return fail(d, KK_EINVAL,
		    "importing a CA needs both its certificate and its key");
	if (kk_path_join(o->dir, "private", &d->priv) != KK_OK ||
	    kk_path_join(o->dir, "root.pem", &d->root_pem) != KK_OK ||
	    kk_path_join(o->dir, "issuing.pem", &d->issuing_pem) != KK_OK ||
	    kk_path_join(o->dir, "policy.json", &d->policy) != KK_OK ||
	    kk_path_join(o->dir, "kakuin.db", &d->db) != KK_OK ||
	    kk_path_join(d->priv, "root.key", &d->root_key) != KK_OK ||
	    kk_path_join(d->priv, "issuing.key", &d->issuing_key) != KK_OK ||
	    kk_path_join(d->priv, "tls.pem", &d->tls) != KK_OK)
		return fail(d, KK_ENOMEM, "out of memory");
	return KK_OK;
}

static void
ca_set_free(struct ca_set *c)
{
	X509_free(c->root);
	EVP_PKEY_free(c->root_key);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->issuing_key);
	memset(c, 0, sizeof(*c));
}

/* 1 if path exists (as anything, even a dangling link), 0 if not, -1 on
 * another error. */
static int
exists(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static enum kk_status
make_dir(struct dd *d, const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0) {
		/* Exactly mode, whatever the umask. */
		if (chmod(path, mode) != 0)
			return fail(
			    d, KK_EIO, "chmod %s: %s", path, strerror(errno));
	} else if (errno != EEXIST) {
		return fail(
		    d, KK_EIO, "cannot create %s: %s", path, strerror(errno));
	}
	return KK_OK;
}

/* mkdir -p, with mode for what it creates. */
static enum kk_status
make_dirs(struct dd *d, const char *dir, mode_t mode)
{
	enum kk_status st = KK_OK;
	struct stat sb;
	char *p, *s;

	if ((p = strdup(dir)) == NULL)
		return fail(d, KK_ENOMEM, "out of memory");
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		st = make_dir(d, p, mode);
		*s = '/';
		if (st != KK_OK)
			goto out;
	}
	if ((st = make_dir(d, p, mode)) != KK_OK)
		goto out;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		st = fail(d, KK_EIO, "%s is not a directory", dir);
out:
	free(p);
	return st;
}

/* Keys are refused when others could read them, as ssh does. */
static enum kk_status
check_private(struct dd *d, const char *path, int want_dir)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return KK_OK;
		return fail(
		    d, KK_EIO, "cannot stat %s: %s", path, strerror(errno));
	}
	if (want_dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode))
		return fail(d, KK_EINVAL, "%s is not a %s", path,
		    want_dir ? "directory" : "regular file");
	if ((sb.st_mode & 077) != 0)
		return fail(d, KK_EINVAL,
		    "%s is accessible by others (mode %03o); chmod %s it", path,
		    (unsigned)(sb.st_mode & 0777), want_dir ? "700" : "600");
	return KK_OK;
}

/* Writes a whole file or nothing (kk_file_write_atomic); unless replace
 * is set, an existing file is never overwritten. */
static enum kk_status
write_file(struct dd *d, const char *path, const void *data, size_t len,
    mode_t mode, int replace)
{
	enum kk_status st =
	    kk_file_write_atomic(path, data, len, mode, replace);

	if (st == KK_OK)
		return KK_OK;
	if (st == KK_ENOMEM)
		return fail(d, st, "out of memory");
	return fail(d, st, "cannot create %s: %s", path, strerror(errno));
}

/*
 * One PEM file: key (if any) first, then the certificates, as civetweb
 * wants them for ssl_certificate. Secure memory holds the key's text.
 */
static enum kk_status
write_pem(struct dd *d, const char *path, EVP_PKEY *key, X509 *const *certs,
    int ncerts, STACK_OF(X509) * more, mode_t mode, int replace)
{
	enum kk_status st = KK_ENOMEM;
	BIO *b;
	char *p;
	long n;
	int i;

	if ((b = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem())) == NULL)
		return fail(d, KK_ENOMEM, "out of memory");
	if (key != NULL &&
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	for (i = 0; i < ncerts; i++)
		if (PEM_write_bio_X509(b, certs[i]) != 1)
			goto out;
	for (i = 0; i < sk_X509_num(more); i++)
		if (PEM_write_bio_X509(b, sk_X509_value(more, i)) != 1)
			goto out;
	if ((n = BIO_get_mem_data(b, &p)) <= 0)
		goto out;
	st = KK_OK;
out:
	if (st != KK_OK)
		st = fail(d, st, "cannot encode %s", path);
	else
		st = write_file(d, path, p, (size_t)n, mode, replace);
	ERR_clear_error();
	BIO_free(b);
	return st;
}

static enum kk_status
new_key(struct dd *d, const char *curve, EVP_PKEY **out)
{
	if ((*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve)) == NULL) {
		ERR_clear_error();
		return fail(
		    d, KK_ECRYPTO, "cannot generate an EC %s key", curve);
	}
	return KK_OK;
}

static enum kk_status
name_of(const char *org, const char *cn, X509_NAME **out)
{
	X509_NAME *name;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL)
		return KK_ENOMEM;
	if (ca_x509_name_add(name, NID_organizationName, org) != KK_OK ||
	    ca_x509_name_add(name, NID_commonName, cn) != KK_OK) {
		X509_NAME_free(name);
		return KK_EINVAL;
	}
	*out = name;
	return KK_OK;
}

/* A CA certificate for key under cn, signed by issuer (self-signed if
 * NULL). */
static enum kk_status
make_ca_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    long days, const char *constraints, X509 **out)
{
	enum kk_status st;
	X509_NAME *name = NULL;
	time_t now = time(NULL);
	X509 *x = NULL;

	*out = NULL;
	if ((st = name_of("Kakuin", cn, &name)) != KK_OK ||
	    (st = ca_x509_new(key, name, issuer, now - BACKDATE,
	         now + days * DAY, &x)) != KK_OK)
		goto out;
	if ((st = ca_x509_ext(x, issuer, NID_basic_constraints, constraints)) !=
	        KK_OK ||
	    (st = ca_x509_ext(x, issuer, NID_key_usage,
	         "critical,keyCertSign,cRLSign")) != KK_OK ||
	    (st = ca_x509_ext(x, issuer, NID_subject_key_identifier, "hash")) !=
	        KK_OK)
		goto out;
	if (issuer != NULL &&
	    (st = ca_x509_ext(x, issuer, NID_authority_key_identifier,
	         "keyid:always")) != KK_OK)
		goto out;
	if ((st = ca_x509_sign(x, issuer_key != NULL ? issuer_key : key)) !=
	    KK_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_free(x);
	X509_NAME_free(name);
	return st;
}

static enum kk_status
generate_ca(struct dd *d, struct ca_set *c)
{
	enum kk_status st;
	unsigned char rnd[4];
	char *hex = NULL, cn[64];
	X509 *issuing = NULL;

	/* A random suffix tells two installations' roots apart in a trust
	 * store. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    ca_x509_hex(rnd, sizeof(rnd), &hex) != KK_OK)
		return fail(d, KK_ECRYPTO, "no random bytes");
	if ((st = new_key(d, "P-384", &c->root_key)) != KK_OK ||
	    (st = new_key(d, "P-256", &c->issuing_key)) != KK_OK)
		goto out;
	snprintf(cn, sizeof(cn), "Kakuin Root CA %s", hex);
	if ((st = make_ca_cert(c->root_key, cn, NULL, NULL, ROOT_DAYS,
	         "critical,CA:TRUE", &c->root)) != KK_OK) {
		st = fail(d, st, "cannot make the root CA certificate");
		goto out;
	}
	snprintf(cn, sizeof(cn), "Kakuin Issuing CA %s", hex);
	if ((st = make_ca_cert(c->issuing_key, cn, c->root, c->root_key,
	         ISSUING_DAYS, "critical,CA:TRUE,pathlen:0", &issuing)) !=
	    KK_OK) {
		st = fail(d, st, "cannot make the issuing CA certificate");
		goto out;
	}
	if ((c->chain = sk_X509_new_null()) == NULL ||
	    sk_X509_push(c->chain, issuing) == 0) {
		st = fail(d, KK_ENOMEM, "out of memory");
		goto out;
	}
	issuing = NULL;
out:
	ERR_clear_error();
	X509_free(issuing);
	free(hex);
	return st;
}

static enum kk_status
read_certs(struct dd *d, const char *path, STACK_OF(X509) * *out)
{
	enum kk_status st;

	if ((st = ca_x509_read_certs(path, out)) == KK_OK)
		return KK_OK;
	if (st == KK_ENOTFOUND)
		return fail(d, st, "%s does not exist", path);
	if (st == KK_EIO)
		return fail(d, st, "cannot read %s: %s", path, strerror(errno));
	return fail(d, st, "%s holds no valid PEM certificate", path);
}

static enum kk_status
read_key(struct dd *d, const char *path, EVP_PKEY **out)
{
	enum kk_status st;

	if ((st = ca_x509_read_key(path, out)) == KK_OK)
		return KK_OK;
	if (st == KK_ENOTFOUND)
		return fail(d, st, "%s does not exist", path);
	if (st == KK_EIO)
		return fail(d, st, "cannot read %s: %s", path, strerror(errno));
	return fail(
	    d, st, "%s holds no private key (unencrypted PEM expected)", path);
}

/* What a CA certificate and key must be to issue leaves and CRLs. */
static enum kk_status
check_ca(
    struct dd *d, const char *cert_path, const char *key_path, struct ca_set *c)
{
	X509 *issuing = sk_X509_value(c->chain, 0);
	STACK_OF(X509) *mid = NULL;
	const char *type, *why = NULL;
	enum kk_status st;
	int i;

	if (X509_check_private_key(issuing, c->issuing_key) != 1) {
		ERR_clear_error();
		return fail(d, KK_EKEY,
		    "the key in %s does not match the certificate in %s",
		    key_path, cert_path);
	}
	if (csr_key_type(c->issuing_key, &type) != KK_OK)
		return fail(d, KK_EKEY,
		    "%s: unsupported CA key (EC P-256/P-384, RSA "
		    "2048/3072/4096 "
		    "or Ed25519)",
		    key_path);
	if (X509_check_ca(issuing) < 1 ||
	    (X509_get_key_usage(issuing) & KU_CRL_SIGN) == 0)
		return fail(d, KK_EINVAL,
		    "%s is not a CA certificate that may sign certificates "
		    "and CRLs",
		    cert_path);
	if (X509_get0_subject_key_id(issuing) == NULL)
		return fail(d, KK_EINVAL,
		    "%s has no subject key identifier (RFC 5280 4.2.1.2)",
		    cert_path);
	if ((mid = sk_X509_new_null()) == NULL)
		return fail(d, KK_ENOMEM, "out of memory");
	for (i = 1; i < sk_X509_num(c->chain); i++)
		if (sk_X509_push(mid, sk_X509_value(c->chain, i)) == 0) {
			sk_X509_free(mid);
			return fail(d, KK_ENOMEM, "out of memory");
		}
	st = ca_x509_chain_check(issuing, mid, c->root, &why);
	sk_X509_free(mid);
	if (st != KK_OK)
		return fail(d, st, "%s does not chain to its root: %s",
		    cert_path, why != NULL ? why : "unknown reason");
	return KK_OK;
}

/*
 * The imported file holds the issuing certificate first and its root last
 * (the same certificate when there is only one); what lies between are
 * intermediates that follow the issuing certificate in issuing.pem.
 */
static enum kk_status
import_ca(struct dd *d, struct ca_set *c)
{
	enum kk_status st;
	X509 *root;

	if ((st = read_certs(d, d->o->ca_cert, &c->chain)) != KK_OK ||
	    (st = read_key(d, d->o->ca_key, &c->issuing_key)) != KK_OK)
		return st;
	if (sk_X509_num(c->chain) > 1)
		root = sk_X509_pop(c->chain);
	else if ((root = X509_dup(sk_X509_value(c->chain, 0))) == NULL)
		return fail(d, KK_ENOMEM, "out of memory");
	c->root = root;
	return check_ca(d, d->o->ca_cert, d->o->ca_key, c);
}

static enum kk_status
load_ca(struct dd *d, struct ca_set *c)
{
	STACK_OF(X509) *roots = NULL;
	enum kk_status st;

	if ((st = read_certs(d, d->root_pem, &roots)) != KK_OK ||
	    (st = read_certs(d, d->issuing_pem, &c->chain)) != KK_OK ||
	    (st = check_private(d, d->issuing_key, 0)) != KK_OK ||
	    (st = check_private(d, d->root_key, 0)) != KK_OK ||
	    (st = read_key(d, d->issuing_key, &c->issuing_key)) != KK_OK)
		goto out;
	c->root = sk_X509_shift(roots);
	/* The root key may have been moved offline, as it should be. */
	if (exists(d->root_key) == 1 &&
	    (st = read_key(d, d->root_key, &c->root_key)) != KK_OK)
		goto out;
	if (c->root_key != NULL &&
	    X509_check_private_key(c->root, c->root_key) != 1) {
		ERR_clear_error();
		st = fail(d, KK_EKEY,
		    "the key in %s does not match the certificate in %s",
		    d->root_key, d->root_pem);
		goto out;
	}
	st = check_ca(d, d->issuing_pem, d->issuing_key, c);
out:
	sk_X509_pop_free(roots, X509_free);
	return st;
}

static enum kk_status
save_ca(struct dd *d, struct ca_set *c)
{
	enum kk_status st;

	if (c->root_key != NULL && (st = write_pem(d, d->root_key, c->root_key,
	                                NULL, 0, NULL, 0600, 0)) != KK_OK)
		return st;
	if ((st = write_pem(d, d->issuing_key, c->issuing_key, NULL, 0, NULL,
	         0600, 0)) != KK_OK ||
	    (st = write_pem(
	         d, d->root_pem, NULL, &c->root, 1, NULL, 0644, 0)) != KK_OK ||
	    (st = write_pem(
	         d, d->issuing_pem, NULL, NULL, 0, c->chain, 0644, 0)) != KK_OK)
		return st;
	return KK_OK;
}

/* The listen host without the brackets of "[::1]"; NULL if out of
 * memory. */
static char *
bare_host(const char *host)
{
	size_t n = strlen(host);

	if (host[0] == '[' && n > 2 && host[n - 1] == ']')
		return strndup(host + 1, n - 2);
	return strdup(host);
}

/* A DNS name as RFC 1123 allows it; anything else is not put in a SAN. */
static int
dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MAX_DNS_NAME &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789-.") == n &&
	       s[0] != '-' && s[0] != '.';
}

static enum kk_status
san_push(GENERAL_NAMES *gens, int type, ASN1_STRING *value)
{
	GENERAL_NAME *gn;

	if ((gn = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(value);
		return KK_ENOMEM;
	}
	GENERAL_NAME_set0_value(gn, type, value);
	if (sk_GENERAL_NAME_push(gens, gn) == 0) {
		GENERAL_NAME_free(gn);
		return KK_ENOMEM;
	}
	return KK_OK;
}

static enum kk_status
san_dns(GENERAL_NAMES *gens, const char *name)
{
	ASN1_IA5STRING *s;

	if ((s = ASN1_IA5STRING_new()) == NULL)
		return KK_ENOMEM;
	if (ASN1_STRING_set(s, name, -1) != 1) {
		ASN1_IA5STRING_free(s);
		return KK_ENOMEM;
	}
	return san_push(gens, GEN_DNS, s);
}

/*
 * The SANs built from their parts, not from an "IP:...,DNS:..." string in
 * which a listen host with a comma could add names of its choosing.
 */
static enum kk_status
tls_sans(struct dd *d, X509 *x)
{
	enum kk_status st = KK_ENOMEM;
	const char *host = d->o->listen_host;
	GENERAL_NAMES *gens;
	ASN1_OCTET_STRING *ip = NULL, *lo;
	char *bare = NULL;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return fail(d, KK_ENOMEM, "out of memory");
	if ((lo = a2i_IPADDRESS("127.0.0.1")) == NULL ||
	    (st = san_push(gens, GEN_IPADD, lo)) != KK_OK ||
	    (st = san_dns(gens, "localhost")) != KK_OK)
		goto out;
	if (host != NULL && *host != '\0') {
		if ((bare = bare_host(host)) == NULL)
			goto out;
		if ((ip = a2i_IPADDRESS(bare)) != NULL) {
			if (ASN1_STRING_cmp(ip, lo) != 0) {
				st = san_push(gens, GEN_IPADD, ip);
				ip = NULL;
			}
		} else if (dns_name_ok(bare)) {
			if (OPENSSL_strcasecmp(bare, "localhost") != 0)
				st = san_dns(gens, bare);
		} else {
			st = fail(d, KK_EINVAL,
			    "listen host \"%s\" is neither an IP address nor "
			    "a DNS name",
			    host);
			goto out;
		}
		if (st != KK_OK)
			goto out;
	}
	st = X509_add1_ext_i2d(
	         x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1
	         ? KK_OK
	         : KK_ECRYPTO;
out:
	ERR_clear_error();
	free(bare);
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAMES_free(gens);
	return st;
}

/*
 * Signed by the root when its key is here; otherwise by the issuing CA,
 * whose certificates then follow the TLS certificate in tls.pem so that
 * clients trusting root.pem can build the path.
 */
static enum kk_status
issue_tls(struct dd *d, struct ca_set *c)
{
	enum kk_status st;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL, *signer_key;
	X509_NAME *name = NULL;
	X509 *x = NULL, *signer;
	time_t now = time(NULL);
	int i;

	if (c->root_key != NULL) {
		signer = c->root;
		signer_key = c->root_key;
	} else {
		signer = sk_X509_value(c->chain, 0);
		signer_key = c->issuing_key;
		if ((chain = sk_X509_new_null()) == NULL) {
			st = fail(d, KK_ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < sk_X509_num(c->chain); i++) {
			X509 *ci = sk_X509_value(c->chain, i);

			/* The anchor itself need not be sent. */
			if (X509_cmp(ci, c->root) != 0 &&
			    sk_X509_push(chain, ci) == 0) {
				st = fail(d, KK_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if ((st = new_key(d, "P-256", &key)) != KK_OK)
		goto out;
	if ((st = name_of("Kakuin", "Kakuin server", &name)) != KK_OK ||
	    (st = ca_x509_new(key, name, signer, now - BACKDATE,
	         now + TLS_DAYS * DAY, &x)) != KK_OK) {
		st = fail(d, st, "cannot make the TLS certificate");
		goto out;
	}
	if ((st = ca_x509_ext(x, signer, NID_basic_constraints,
	         "critical,CA:FALSE")) != KK_OK ||
	    (st = ca_x509_ext(x, signer, NID_key_usage,
	         "critical,digitalSignature")) != KK_OK ||
	    (st = ca_x509_ext(x, signer, NID_ext_key_usage, "serverAuth")) !=
	        KK_OK ||
	    (st = ca_x509_ext(x, signer, NID_subject_key_identifier, "hash")) !=
	        KK_OK ||
	    (st = ca_x509_ext(x, signer, NID_authority_key_identifier,
	         "keyid:always")) != KK_OK ||
	    (st = tls_sans(d, x)) != KK_OK ||
	    (st = ca_x509_sign(x, signer_key)) != KK_OK) {
		st = fail(d, st, "cannot make the TLS certificate");
		goto out;
	}
	st = write_pem(d, d->tls, key, &x, 1, chain, 0600, 1);
out:
	ERR_clear_error();
	sk_X509_free(chain);
	X509_free(x);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return st;
}

/*
 * Whether tls.pem must be (re)issued: missing, or ours and expiring within
 * 30 days or not naming the listen host. A certificate from another CA that
 * the operator put there is left alone.
 */
static enum kk_status
tls_stale(struct dd *d, struct ca_set *c, int *stale)
{
	STACK_OF(X509) *certs = NULL;
	const char *host = d->o->listen_host;
	enum kk_status st;
	time_t soon = time(NULL) + TLS_RENEW_DAYS * DAY;
	X509 *x;
	char *bare = NULL;
	int ok;

	*stale = 0;
	if ((st = check_private(d, d->tls, 0)) != KK_OK)
		return st;
	if (exists(d->tls) == 0) {
		*stale = 1;
		return KK_OK;
	}
	if ((st = read_certs(d, d->tls, &certs)) != KK_OK)
		return st;
	x = sk_X509_value(certs, 0);
	if (X509_check_issued(c->root, x) != X509_V_OK &&
	    X509_check_issued(sk_X509_value(c->chain, 0), x) != X509_V_OK)
		goto out;
	if (X509_cmp_time(X509_get0_notAfter(x), &soon) < 0) {
		*stale = 1;
		goto out;
	}
	if (host != NULL && *host != '\0') {
		if ((bare = bare_host(host)) == NULL) {
			st = fail(d, KK_ENOMEM, "out of memory");
			goto out;
		}
		ok = X509_check_ip_asc(x, bare, 0) == 1 ||
		     X509_check_host(x, bare, 0, 0, NULL) == 1;
		if (!ok)
			*stale = 1;
	}
out:
	ERR_clear_error();
	free(bare);
	sk_X509_pop_free(certs, X509_free);
	return st;
}

static enum kk_status
copy_policy(struct dd *d)
{
	enum kk_status st = KK_EIO;
	const char *src = d->o->default_policy;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	if (src == NULL || exists(d->policy) != 0)
		return KK_OK;
	if ((f = fopen(src, "rb")) == NULL)
		return fail(d, KK_EIO, "cannot read the default policy %s: %s",
		    src, strerror(errno));
	if ((buf = malloc(MAX_POLICY + 1)) == NULL) {
		st = fail(d, KK_ENOMEM, "out of memory");
		goto out;
	}
	n = fread(buf, 1, MAX_POLICY + 1, f);
	if (ferror(f)) {
		st = fail(d, KK_EIO, "cannot read the default policy %s: %s",
		    src, strerror(errno));
		goto out;
	}
	if (n > MAX_POLICY) {
		st = fail(d, KK_ETOOBIG,
		    "the default policy %s is over %ld bytes", src, MAX_POLICY);
		goto out;
	}
	st = write_file(d, d->policy, buf, n, 0644, 0);
out:
	free(buf);
	fclose(f);
	return st;
}

/* The CA already in the directory must be the one asked to import. */
static enum kk_status
same_import(struct dd *d, struct ca_set *c)
{
	STACK_OF(X509) *certs = NULL;
	enum kk_status st;

	if ((st = read_certs(d, d->o->ca_cert, &certs)) != KK_OK)
		return st;
	if (X509_cmp(sk_X509_value(certs, 0), sk_X509_value(c->chain, 0)) != 0)
		st = fail(d, KK_ECONFLICT,
		    "%s already holds a CA other than the one in %s", d->o->dir,
		    d->o->ca_cert);
	sk_X509_pop_free(certs, X509_free);
	return st;
}

static enum kk_status
setup(const struct datadir_opts *o, int init, char **err)
{
	enum kk_status st;
	struct ca_set c = {0};
	struct dd d;
	int have[4], n = 0, stale = 0;
	const char *missing = NULL;
	size_t i;

	if ((st = dd_init(&d, o, err)) != KK_OK)
		goto out;
	if (init) {
		const char *all[] = {d.root_pem, d.issuing_pem, d.policy, d.db,
		    d.root_key, d.issuing_key, d.tls};

		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			int e = exists(all[i]);

			if (e < 0) {
				st = fail(&d, KK_EIO, "cannot check %s: %s",
				    all[i], strerror(errno));
				goto out;
			}
			if (e == 1) {
				st = fail(&d, KK_EEXIST,
				    "%s already exists; refusing to overwrite "
				    "anything in %s",
				    all[i], o->dir);
				goto out;
			}
		}
	}
	if ((st = make_dirs(&d, o->dir, 0755)) != KK_OK ||
	    (st = make_dirs(&d, d.priv, 0700)) != KK_OK ||
	    (st = check_private(&d, d.priv, 1)) != KK_OK)
		goto out;

	/* The CA is all there, or not there at all: anything between is
	 * the trace of a failure an operator must look at, not paper over. */
	have[0] = exists(d.root_pem);
	have[1] = exists(d.issuing_pem);
	have[2] = exists(d.issuing_key);
	have[3] = exists(d.root_key);
	for (i = 0; i < 4; i++)
		if (have[i] == 1)
			n++;
	if (n == 0) {
		st = o->ca_cert != NULL ? import_ca(&d, &c)
		                        : generate_ca(&d, &c);
		if (st != KK_OK || (st = save_ca(&d, &c)) != KK_OK)
			goto out;
	} else {
		if (have[0] != 1)
			missing = d.root_pem;
		else if (have[1] != 1)
			missing = d.issuing_pem;
		else if (have[2] != 1)
			missing = d.issuing_key;
		if (missing != NULL) {
			st = fail(&d, KK_ECONFLICT,
			    "%s holds an incomplete CA: %s is missing; restore "
			    "it or start from an empty directory",
			    o->dir, missing);
			goto out;
		}
		if ((st = load_ca(&d, &c)) != KK_OK)
			goto out;
		if (o->ca_cert != NULL && (st = same_import(&d, &c)) != KK_OK)
			goto out;
	}
	if ((st = tls_stale(&d, &c, &stale)) != KK_OK)
		goto out;
	if (stale && (st = issue_tls(&d, &c)) != KK_OK)
		goto out;
	st = copy_policy(&d);
out:
	ca_set_free(&c);
	dd_free(&d);
	return st;
}

enum kk_status
datadir_init(const struct datadir_opts *o, char **err)
{
	return setup(o, 1, err);
}

enum kk_status
datadir_ensure(const struct datadir_opts *o, char **err)
{
	return setup(o, 0, err);
}
