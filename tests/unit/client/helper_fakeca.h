/*
 * helper_fakeca.h - what the client's tests need to play an ACME server
 * over HTTPS on loopback: a directory of their own, a self-signed identity
 * for 127.0.0.1 whose certificate the client is told to trust, and the
 * reading and answering of one request. Linked into every client test.
 */
#ifndef HELPER_FAKECA_H
#define HELPER_FAKECA_H

#include <stddef.h>

#include <openssl/ssl.h>

struct fakeca {
	char dir[64];     /* a fresh directory, removed by fakeca_clear */
	char ca_path[96]; /* dir/ca.pem: cert, for the client to trust */
	EVP_PKEY *key;    /* the server's key */
	X509 *cert;       /* its certificate, for IP 127.0.0.1 */
};

/*
 * Makes f's directory (/tmp/kk-TAG-XXXXXX), key and certificate, and
 * unsets the proxy variables: nothing may stand between the client and a
 * server on loopback. Fails the test (Criterion) on any error.
 */
void fakeca_init(struct fakeca *f, const char *tag);

/* Removes f's directory and frees its key and certificate. */
void fakeca_clear(struct fakeca *f);

/* Reads one request (head and Content-Length body) into buf: 0, or -1. */
int fakeca_read(SSL *ssl, char *buf, size_t cap);

/*
 * Answers with status, the header lines in extra ("" for none, each
 * ending in CRLF) and body, closing the connection after it.
 */
void fakeca_respond(SSL *ssl, int status, const char *extra, const char *body);

#endif
