/*
 * csr.h - the PKCS#10 request the client sends to finalize an order:
 * subject organizationIdentifier (OID 2.5.4.97) = the org identifier and
 * CN = the certificate's name, signed with the certificate key. The
 * server builds the real subject from verified data; these two values are
 * what it checks.
 */
#ifndef KC_CSR_H
#define KC_CSR_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

/* *der (caller frees with free()) holds *len bytes of DER. */
enum kk_status csr_build(EVP_PKEY *key, const char *org, const char *cn,
    unsigned char **der, size_t *len, struct kc_err *err);

#endif
