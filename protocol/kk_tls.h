/*
 * kk_tls.h - a TLS handshake bounded by a deadline, for both sides: the
 * server's tls-alpn-01 validation dials one, the client's tls-alpn-01
 * responder accepts one. Socket timeouts bound each read only, and a peer
 * sending a byte at a time would renew them for as long as it liked.
 */
#ifndef KK_TLS_H
#define KK_TLS_H

#include <time.h>

#include <openssl/ssl.h>

/*
 * Completes ssl's handshake on fd, which must be non-blocking, with its
 * role set (SSL_set_connect_state or SSL_set_accept_state), waiting only
 * until end (kk_deadline.h). 1 when it completed, 0 when it failed (the
 * cause in OpenSSL's error queue, if OpenSSL's; or poll failed), -1 when
 * time ran out.
 */
int kk_tls_handshake(SSL *ssl, int fd, const struct timespec *end);

#endif
