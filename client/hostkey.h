/*
 * hostkey.h - where a certificate's key lives: a PEM file (pending.key in
 * the state directory, key.pem in --out), or an object in a PKCS#11 token
 * (--key-uri) of which only the RFC 7512 URI is written down
 * (pending.uri, key.uri). A token key is generated in the token and never
 * leaves it.
 *
 * Token keys of one certificate share its --key-uri's object label and
 * differ by id: each renewal makes a new one, and once the new certificate
 * is installed every other key under that label is destroyed
 * (hostkey_prune), so a label belongs to one certificate.
 */
#ifndef KC_HOSTKEY_H
#define KC_HOSTKEY_H

#include <openssl/evp.h>

#include "err.h"
#include "p11.h"
#include "state.h"

#define HOSTKEY_PIN_ENV "KAKUIN_PKCS11_PIN"

struct hostkey {
	EVP_PKEY *pkey;      /* the key; for a token key, borrowed from tok */
	struct p11_key *tok; /* the open token, or NULL for a file key */
};

/*
 * Checks a --key-uri for enroll: a pkcs11: URI with object= (the label
 * of this certificate's keys) and no id= (kakuin picks ids), for a key
 * type a token can generate. EX_USAGE with a message otherwise.
 */
enum kk_status hostkey_check_uri(
    const char *uri, const char *key_type, struct kc_err *err);

/* A new key for cfg: in memory, or in cfg's token when cfg->key_uri. */
enum kk_status hostkey_generate(
    const struct cert_config *cfg, struct hostkey *k, struct kc_err *err);

/* Opens the token key uri names, with cfg's PIN. */
enum kk_status hostkey_open(const struct cert_config *cfg, const char *uri,
    struct hostkey *k, struct kc_err *err);

/* The first line of a pending.uri or key.uri file; KK_ENOTFOUND (err
 * untouched) when it does not exist. *uri is the caller's. */
enum kk_status hostkey_read_uri(
    const char *path, char **uri, struct kc_err *err);

/*
 * Destroys cfg's token keys (its label) other than the one keep names.
 * *destroyed (may be NULL) counts them.
 */
enum kk_status hostkey_prune(const struct cert_config *cfg, const char *keep,
    int *destroyed, struct kc_err *err);

/* Closes the token (after freeing the key); k is zeroed. */
void hostkey_clear(struct hostkey *k);

#endif
