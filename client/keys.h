/*
 * keys.h - private keys: generation by --key-type name, PEM files written
 * 0600 and atomically, and reading them back.
 */
#ifndef KC_KEYS_H
#define KC_KEYS_H

#include <openssl/evp.h>

#include "err.h"

#define KEYS_DEFAULT_TYPE "ec-p256"

/* 1 when name is one of ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519. */
int keys_type_valid(const char *name);

/* The key-type name of key ("ec-p256" ...), static; NULL if none fits. */
const char *keys_type_of(EVP_PKEY *key);

/* A fresh key of the named type; *out is the caller's (EVP_PKEY_free). */
enum kk_status keys_generate(
    const char *type, EVP_PKEY **out, struct kc_err *err);

/* The PKCS#8 PEM of the private key; *pem (caller frees) NUL-terminated. */
enum kk_status keys_to_pem(EVP_PKEY *key, char **pem, size_t *len);

/* Writes the private key to path, mode 0600, replacing it atomically. */
enum kk_status keys_write(const char *path, EVP_PKEY *key, struct kc_err *err);

/*
 * Reads a PEM private key. KK_ENOTFOUND if path does not exist (err not
 * set); KK_EKEY with err naming the file if it does not parse.
 */
enum kk_status keys_read(const char *path, EVP_PKEY **out, struct kc_err *err);

#endif
