/*
 * csr_names.h - the PKCS#10 request for an order with dns identifiers:
 * like csr_build's (organizationIdentifier when there is an org, CN), plus
 * a subjectAltName with every dns name, which RFC 8555 7.4 servers compare
 * with the order's identifiers.
 */
#ifndef KC_CSR_NAMES_H
#define KC_CSR_NAMES_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

/* org may be NULL; *der (caller frees with free()) holds *len bytes. */
enum kk_status csr_build_names(EVP_PKEY *key, const char *org, const char *cn,
    char *const *dns, size_t ndns, unsigned char **der, size_t *len,
    struct kc_err *err);

#endif
