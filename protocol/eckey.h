/*
 * eckey.h - EC public keys from their encoded points, quickly.
 *
 * EVP_PKEY_fromdata builds the curve's group from its name on every call
 * (the field, the generator, the Montgomery constants), which in OpenSSL
 * 3.0 costs several times what the point itself does. Here each supported
 * curve's parameters are built once per process and copied into every key,
 * and only the point is decoded per call.
 */
#ifndef ECKEY_H
#define ECKEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "kk_status.h"

/*
 * The public key with the encoded SEC 1 point (uncompressed or compressed)
 * on the curve with OpenSSL short name group ("prime256v1", "secp384r1",
 * "secp521r1"; other names take the slow way). Points off the curve, or
 * outside the field, are refused with KK_EKEY. Thread-safe. *out is owned
 * by the caller (EVP_PKEY_free).
 */
enum kk_status eckey_from_point(
    const char *group, const unsigned char *point, size_t len, EVP_PKEY **out);

#endif
