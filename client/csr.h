/*
 * csr.h - the PKCS#10 request the client sends to finalize an order:
 * subject organizationIdentifier (OID 2.5.4.97) = the org identifier (when
 * there is one) and CN = the certificate's name, and a subjectAltName with
 * every dns name, which RFC 8555 7.4 servers compare with the order's
 * identifiers; signed with the certificate key. Our server builds the real
 * subject from verified data; these values are what it checks.
 */
#ifndef KC_CSR_H
#define KC_CSR_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

/*
 * org may be NULL; dns holds ndns names (none: no subjectAltName). *der
 * (caller frees with free()) holds *len bytes of DER.
 */
enum kk_status csr_build(EVP_PKEY *key, const char *org, const char *cn,
    char *const *dns, size_t ndns, unsigned char **der, size_t *len,
    struct kc_err *err);

#endif
