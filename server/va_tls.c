/*
 * tls-alpn-01 (RFC 8737): a TLS handshake with the name as SNI offering
 * only the "acme-tls/1" protocol; the self-signed certificate the client
 * answers with must name exactly the dns name in its subjectAltName and
 * carry the critical acmeIdentifier extension (id-pe-acmeIdentifier,
 * 1.3.6.1.5.5.7.1.31) whose value is the DER OCTET STRING of
 * SHA-256(key authorization). The certificate is not otherwise checked:
 * it exists to carry that digest.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kk_deadline.h"
#include "kk_tls.h"
#include "va_internal.h"

#define ACME_TLS_1 "acme-tls/1"

/*
 * A TCP connection to addr:port within the time left, left non-blocking
 * for the handshake; -1 with res set.
 */
static int
dial(const char *addr, int port, const struct timespec *deadline,
    struct va_result *res)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct pollfd pfd;
	socklen_t len;
	int fd, err = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		len = sizeof(*s6);
	} else {
		va_fail(res, ACME_DNS, "tls-alpn-01: bad address %s", addr);
		return -1;
	}
	/* Non-blocking from the start: the connect and the handshake wait
	 * in poll, for the time left only. */
	if ((fd = socket(ss.ss_family,
	         SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
		va_fail(res, ACME_CONNECTION, "tls-alpn-01: socket: %s",
		    strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS)
			err = errno;
		else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (kk_deadline_poll(&pfd, deadline) != 1)
				err = ETIMEDOUT;
			else {
				len = sizeof(err);
				getsockopt(
				    fd, SOL_SOCKET, SO_ERROR, &err, &len);
			}
		}
	}
	if (err != 0) {
		va_fail(res, ACME_CONNECTION,
		    "tls-alpn-01: cannot connect to %s port %d: %s", addr, port,
		    strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

/* The certificate names name, and only it (RFC 8737 3). */
static int
san_is(X509 *x, const char *name)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *g;
	int ok = 0;

	if (gens != NULL && sk_GENERAL_NAME_num(gens) == 1 &&
	    (g = sk_GENERAL_NAME_value(gens, 0))->type == GEN_DNS) {
		const ASN1_IA5STRING *s = g->d.dNSName;
		size_t n = (size_t)ASN1_STRING_length(s);

		ok = n == strlen(name) &&
		     OPENSSL_strncasecmp(
		         (const char *)ASN1_STRING_get0_data(s), name, n) == 0;
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

/* Checks the peer certificate x; sets res. */
static void
check_cert(
    X509 *x, const char *name, const char *key_auth, struct va_result *res)
{
	unsigned char want[34];
	unsigned int dl = 0;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	const X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	int i;

	if (oid == NULL) {
		va_fail(res, ACME_SERVER_INTERNAL, "out of memory");
		return;
	}
	/* The extension's value is itself DER: OCTET STRING, 32 bytes. */
	want[0] = 0x04;
	want[1] = 32;
	EVP_Digest(
	    key_auth, strlen(key_auth), want + 2, &dl, EVP_sha256(), NULL);
	if (!san_is(x, name))
		va_fail(res, ACME_UNAUTHORIZED,
		    "tls-alpn-01: the certificate's subjectAltName is not "
		    "exactly the dNSName %s",
		    name);
	else if ((i = X509_get_ext_by_OBJ(x, oid, -1)) < 0)
		va_fail(res, ACME_UNAUTHORIZED,
		    "tls-alpn-01: the certificate has no acmeIdentifier "
		    "extension");
	else if (X509_get_ext_by_OBJ(x, oid, i) >= 0)
		va_fail(res, ACME_UNAUTHORIZED,
		    "tls-alpn-01: the certificate has two acmeIdentifier "
		    "extensions");
	else if (!X509_EXTENSION_get_critical(ext = X509_get_ext(x, i)))
		va_fail(res, ACME_UNAUTHORIZED,
		    "tls-alpn-01: the acmeIdentifier extension is not "
		    "critical");
	else if ((v = X509_EXTENSION_get_data((X509_EXTENSION *)ext)) == NULL ||
	         ASN1_STRING_length(v) != (int)sizeof(want) ||
	         CRYPTO_memcmp(ASN1_STRING_get0_data(v), want, sizeof(want)) !=
	             0)
		va_fail(res, ACME_INCORRECT_RESPONSE,
		    "tls-alpn-01: the acmeIdentifier is not the SHA-256 of "
		    "the key authorization");
	else
		res->valid = 1;
	ASN1_OBJECT_free(oid);
}

enum kk_status
va_tlsalpn01(const struct va_config *c, const char *name, const char *key_auth,
    const struct timespec *deadline, struct va_result *res)
{
	static const unsigned char alpn[] = "\x0a" ACME_TLS_1;
	char addr[VA_ADDR_LEN];
	const unsigned char *sel = NULL;
	unsigned int sel_len = 0;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *peer = NULL;
	enum kk_status st;
	int fd = -1, hs = 0;

	if ((st = va_resolve(c, name, deadline, addr, res)) != KK_OK ||
	    res->detail[0] != '\0')
		return st;
	if ((fd = dial(addr, c->tls_port, deadline, res)) == -1)
		return KK_OK;
	st = KK_ENOMEM;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0 ||
	    SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    SSL_set_fd(ssl, fd) != 1)
		goto out;
	st = KK_OK;
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_connect_state(ssl);
	if ((hs = kk_tls_handshake(ssl, fd, deadline)) != 1) {
		unsigned long e = ERR_peek_last_error();

		if (hs < 0)
			va_fail(res, ACME_CONNECTION,
			    "tls-alpn-01: the TLS handshake with %s port %d "
			    "did not finish in time",
			    addr, c->tls_port);
		else
			va_fail(res, ACME_TLS,
			    "tls-alpn-01: the TLS handshake with %s port %d "
			    "failed%s%s",
			    addr, c->tls_port, e ? ": " : "",
			    e ? ERR_reason_error_string(e) : "");
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	if (sel_len != strlen(ACME_TLS_1) ||
	    memcmp(sel, ACME_TLS_1, sel_len) != 0) {
		va_fail(res, ACME_TLS,
		    "tls-alpn-01: %s port %d did not select the acme-tls/1 "
		    "protocol",
		    addr, c->tls_port);
		goto out;
	}
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL) {
		va_fail(res, ACME_TLS, "tls-alpn-01: no certificate");
		goto out;
	}
	check_cert(peer, name, key_auth, res);
out:
	X509_free(peer);
	/* The close_notify only after a handshake, and not waited for. */
	if (hs == 1)
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	return st;
}
