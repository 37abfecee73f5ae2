/*
 * sslshim.c - the one symbol Debian's civetweb 1.15 misses in OpenSSL 3.
 *
 * civetweb loads OpenSSL at run time with dlopen("libssl.so") and looks its
 * functions up by their OpenSSL 1.1 names. OpenSSL 3 renamed
 * SSL_get_peer_certificate to SSL_get1_peer_certificate (the old name is
 * only a macro now), so civetweb's pointer stays NULL, TLS is reported as
 * not initialised and the first connection jumps to address 0.
 *
 * This library carries the SONAME "libssl.so", depends on the real
 * libssl.so.3 and is linked into kakuin-server, so civetweb's dlopen()
 * finds it already loaded: the old name resolves here, everything else
 * through the dependency. Remove it once civetweb speaks OpenSSL 3.
 */

#include <openssl/ssl.h>

/* ssl.h maps the old name to the new one with a macro; define the name. */
#undef SSL_get_peer_certificate

/* Same reference counting as in 1.1: the caller frees the certificate. */
__attribute__((visibility("default"))) X509 *SSL_get_peer_certificate(
    const SSL *s);

X509 *
SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
