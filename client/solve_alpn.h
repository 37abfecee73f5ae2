/*
 * solve_alpn.h - tls-alpn-01 (RFC 8737): a TLS server that, for SNI
 * NAME and a ClientHello offering ALPN "acme-tls/1" only (and then
 * negotiating it), presents a self-signed certificate
 * whose only SAN is NAME and which carries the critical acmeIdentifier
 * extension (id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31) holding the
 * SHA-256 of the key authorization. solve.c forks the server.
 */
#ifndef KC_SOLVE_ALPN_H
#define KC_SOLVE_ALPN_H

#include <openssl/x509.h>

#include "solve.h"

#define SOLVE_ALPN_PROTO "acme-tls/1"

struct solve_alpn;

/* The certificates and TLS context for n items; free with solve_alpn_free. */
enum kk_status solve_alpn_prepare(const struct solve_item *items, size_t n,
    struct solve_alpn **out, struct kc_err *err);
void solve_alpn_free(struct solve_alpn *t);

/*
 * The server's loop (in the child): one connection at a time, each given
 * SOLVE_CONN_TIMEOUT seconds in all for its handshake, then closed. A
 * ClientHello without ALPN "acme-tls/1", or for a name not served, gets
 * a fatal alert and no certificate.
 */
void solve_alpn_serve(int lfd, int quitfd, struct solve_alpn *t);

/* The validation certificate for one item (for the unit tests too). */
enum kk_status solve_alpn_cert(
    EVP_PKEY *key, const struct solve_item *it, X509 **out);

#endif
