/*
 * ca_x509.h - certificate building blocks shared inside kakuin_ca: ca.c
 * issues leaves and CRLs, datadir.c makes the CA and TLS certificates. Not a
 * contract for the rest of the server: only ca*.c and datadir*.c include it.
 */
#ifndef CA_X509_H
#define CA_X509_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "kk_status.h"

/*
 * A new v3 certificate for key and subject, issued under issuer's subject
 * name (subject's own if issuer is NULL: self-signed), valid from not_before
 * to not_after, with a fresh serial of 16 random bytes (top bit clear so it
 * is positive, next bit set so it always has the same length). Nothing is
 * signed yet. *out is freed with X509_free(). For EC and Ed25519 keys the
 * certificate holds the key's encoding only, not the key itself, so
 * X509_get0_pubkey() on it returns NULL until it is written and read back.
 */
enum kk_status ca_x509_new(EVP_PKEY *key, const X509_NAME *subject,
    const X509 *issuer, time_t not_before, time_t not_after, X509 **out);

/* The DER SubjectPublicKeyInfo of key, as i2d_PUBKEY makes it but cheaper;
 * *der freed with OPENSSL_free(). */
enum kk_status ca_x509_spki_der(
    EVP_PKEY *key, unsigned char **der, size_t *len);

/*
 * Adds the extension nid from an OpenSSL configuration value such as
 * "critical,CA:TRUE". value must be a constant of ours, never outside input:
 * commas and prefixes in it are syntax. issuer is the signing certificate
 * (NULL when cert signs itself).
 */
enum kk_status ca_x509_ext(
    X509 *cert, X509 *issuer, int nid, const char *value);

/* Adds a UTF-8 attribute to name; KK_EINVAL if the value is empty, too long
 * for the attribute or not valid for its string type. */
enum kk_status ca_x509_name_add(X509_NAME *name, int nid, const char *value);

/* The digest that goes with a signing key: SHA-384 for P-384 and larger EC
 * keys, SHA-256 for other EC and RSA keys, none (NULL) for EdDSA. */
const EVP_MD *ca_x509_md(const EVP_PKEY *key);

/* Signs cert with key using ca_x509_md(key). */
enum kk_status ca_x509_sign(X509 *cert, EVP_PKEY *key);

/* Lower-case hex of n bytes; *hex (caller frees with free()). */
enum kk_status ca_x509_hex(const unsigned char *p, size_t n, char **hex);

/* A positive serial number as lower-case hex, no leading zero bytes;
 * *hex is freed with free(). */
enum kk_status ca_x509_serial_hex(const ASN1_INTEGER *serial, char **hex);

/*
 * Every PEM certificate in the file at path, in order (KK_ENOTFOUND if the
 * file does not exist, KK_EINVAL if it holds none or a broken one). *out is
 * freed with sk_X509_pop_free(*out, X509_free).
 */
enum kk_status ca_x509_read_certs(const char *path, STACK_OF(X509) * *out);

/* An unencrypted PEM private key from path (never prompts for a
 * passphrase); *out is freed with EVP_PKEY_free(). */
enum kk_status ca_x509_read_key(const char *path, EVP_PKEY **out);

/* The environment variable a token PIN may come from. */
#define CA_PIN_ENV "KAKUIN_CA_PIN"
/* In the data directory: the URI of an issuing key held by a token. */
#define CA_KEY_URI_FILE "private/issuing.uri"

/*
 * The URI of the issuing key of the data directory dir: uri when it is a
 * pkcs11: URI, else the first line of dir/private/issuing.uri; *out
 * (caller frees) is NULL when neither: the key is a file.
 */
enum kk_status ca_x509_key_uri(const char *dir, const char *uri, char **out);

/*
 * Checks that cert chains to trust through untrusted (may be NULL) and that
 * every certificate on the way is valid now. trust need not be self-signed.
 * On KK_EINVAL, *why (if why is not NULL) is a static reason.
 */
enum kk_status ca_x509_chain_check(
    X509 *cert, STACK_OF(X509) * untrusted, X509 *trust, const char **why);

#endif
