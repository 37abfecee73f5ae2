#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kk_deadline.h"
#include "kk_tls.h"
#include "solve_alpn.h"

#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

struct solve_alpn {
	SSL_CTX *ctx;
	EVP_PKEY *key; /* one key for all the certificates */
	const struct solve_item *items;
	X509 **certs; /* certs[i] for items[i] */
	size_t n;
};

/* The critical acmeIdentifier: extnValue is DER OCTET STRING (hash). */
static X509_EXTENSION *
acme_identifier(const char *keyauth)
{
	unsigned char der[2 + 32];
	unsigned int len;
	ASN1_OCTET_STRING *os = NULL;
	ASN1_OBJECT *obj = NULL;
	X509_EXTENSION *ext = NULL;

	der[0] = V_ASN1_OCTET_STRING;
	der[1] = 32;
	if (!EVP_Digest(
	        keyauth, strlen(keyauth), der + 2, &len, EVP_sha256(), NULL) ||
	    len != 32)
		return NULL;
	if ((obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1)) != NULL &&
	    (os = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(os, der, sizeof(der)))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ext;
}

enum kk_status
solve_alpn_cert(EVP_PKEY *key, const struct solve_item *it, X509 **out)
{
	X509_EXTENSION *ext = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509 *x;
	int ok = 0;

	*out = NULL;
	if ((x = X509_new()) == NULL)
		return KK_ENOMEM;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) ||
	    !X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	        NID_commonName, MBSTRING_UTF8, (const unsigned char *)it->name,
	        -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    !X509_set_pubkey(x, key))
		goto out;
	/* RFC 8737 3: the identifier as the only dNSName SAN. */
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, it->name, -1))
		goto out;
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto out;
	gen = NULL;
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0))
		goto out;
	if ((ext = acme_identifier(it->keyauth)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	X509_EXTENSION_free(ext);
	GENERAL_NAMES_free(gens);
	GENERAL_NAME_free(gen);
	ASN1_IA5STRING_free(ia5);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return KK_ECRYPTO;
	}
	*out = x;
	return KK_OK;
}

/*
 * 1 when the ClientHello's ALPN extension (RFC 7301 3.1: a 2-byte list
 * length, then 1-byte-length names) offers "acme-tls/1".
 */
static int
offers_acme_tls(const unsigned char *p, size_t len)
{
	static const char proto[] = SOLVE_ALPN_PROTO;
	size_t list, n;

	if (len < 2)
		return 0;
	list = (size_t)p[0] << 8 | p[1];
	if (list != len - 2)
		return 0;
	for (p += 2, len -= 2; len > 0; p += n, len -= n) {
		n = *p++;
		len--;
		if (n == 0 || n > len)
			return 0;
		if (n == sizeof(proto) - 1 && memcmp(p, proto, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * RFC 8737 4: the validation certificate is for a ClientHello that offers
 * ALPN "acme-tls/1" only. Without the extension OpenSSL would not call
 * on_alpn at all and the handshake would go on with the certificate, so
 * the hello is refused here, before on_servername picks one.
 */
static int
on_client_hello(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *p;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl,
	        TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	        &len) != 1 ||
	    !offers_acme_tls(p, len)) {
		*alert = TLS1_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* The certificate for the name the validator asked for, or none at all. */
static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	struct solve_alpn *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;

	(void)alert;
	for (i = 0; name != NULL && i < t->n; i++) {
		if (strcasecmp(name, t->items[i].name) != 0)
			continue;
		if (SSL_use_certificate(ssl, t->certs[i]) != 1 ||
		    SSL_use_PrivateKey(ssl, t->key) != 1)
			break;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* RFC 8737 4: only "acme-tls/1" may be negotiated. */
static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0a" SOLVE_ALPN_PROTO;
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
	        inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

enum kk_status
solve_alpn_prepare(const struct solve_item *items, size_t n,
    struct solve_alpn **out, struct kc_err *err)
{
	struct solve_alpn *t;
	enum kk_status st = KK_ECRYPTO;
	size_t i;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->certs = calloc(n, sizeof(*t->certs))) == NULL) {
		free(t);
		return KK_ENOMEM;
	}
	t->items = items;
	t->n = n;
	if ((t->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((st = solve_alpn_cert(t->key, &items[i], &t->certs[i])) !=
		    KK_OK)
			goto out;
	st = KK_ECRYPTO;
	if ((t->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION))
		goto out;
	SSL_CTX_set_tlsext_servername_callback(t->ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
	SSL_CTX_set_alpn_select_cb(t->ctx, on_alpn, NULL);
	SSL_CTX_set_client_hello_cb(t->ctx, on_client_hello, NULL);
	st = KK_OK;
out:
	if (st != KK_OK) {
		solve_alpn_free(t);
		return err_set(
		    err, st, 1, "cannot make the tls-alpn-01 certificates");
	}
	*out = t;
	return KK_OK;
}

void
solve_alpn_free(struct solve_alpn *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->certs != NULL && i < t->n; i++)
		X509_free(t->certs[i]);
	free(t->certs);
	SSL_CTX_free(t->ctx);
	EVP_PKEY_free(t->key);
	free(t);
}

void
solve_alpn_serve(int lfd, int quitfd, struct solve_alpn *t)
{
	struct timespec end;
	SSL *ssl;
	int c, fl;

	while ((c = solve_accept(lfd, quitfd)) != -1) {
		kk_deadline_in(&end, SOLVE_CONN_TIMEOUT);
		if ((fl = fcntl(c, F_GETFL)) != -1 &&
		    fcntl(c, F_SETFL, fl | O_NONBLOCK) != -1 &&
		    (ssl = SSL_new(t->ctx)) != NULL) {
			/* The close_notify is a courtesy: sent once, not
			 * waited for. */
			SSL_set_accept_state(ssl);
			if (SSL_set_fd(ssl, c) &&
			    kk_tls_handshake(ssl, c, &end) == 1)
				SSL_shutdown(ssl);
			SSL_free(ssl);
		}
		close(c);
	}
}
