/*
 * p11.h - private keys held by a PKCS#11 token (a hardware security
 * module, a smart card, SoftHSM), named by RFC 7512 URIs such as
 *
 *   pkcs11:token=kakuin;object=issuing?module-path=/usr/lib/softhsm/
 *   libsofthsm2.so
 *
 * The key never leaves the token: p11_key_generate makes it there
 * (sensitive, not extractable) and the EVP_PKEY handed out signs through
 * the token. Shared by the server (its issuing CA key) and the client (host
 * certificate keys).
 *
 * Tokens are reached through libp11's PKCS11_* API (not the deprecated
 * ENGINE); key generation and deletion, which libp11 0.4.12 does not offer
 * for EC keys, are raw PKCS#11 calls into the module libp11 loaded.
 *
 * Only one p11_key may be open at a time in a process for a given module:
 * the module is initialised on open and finalised on free.
 */
#ifndef P11_H
#define P11_H

#include <stddef.h>

#include <openssl/evp.h>

#include "kk_status.h"

#define P11_SCHEME "pkcs11:"
#define P11_ID_MAX 64

/* An RFC 7512 URI taken apart; every field may be NULL (absent). */
struct p11_uri {
	char *token;                  /* token label */
	char *manufacturer;           /* token manufacturer */
	char *model;                  /* token model */
	char *serial;                 /* token serial number */
	char *object;                 /* object label, CKA_LABEL */
	unsigned char id[P11_ID_MAX]; /* CKA_ID, id_len bytes */
	size_t id_len;
	char *module_path; /* query: the PKCS#11 module to load */
	char *pin_value;   /* query: the user PIN itself (visible in ps!) */
	char *pin_source;  /* query: a file holding the user PIN */
};

/* Where the PIN may come from when the URI names none. */
struct p11_pin {
	const char *file; /* a file whose first line is the PIN, or NULL */
	const char *env;  /* an environment variable's name, or NULL */
};

/* 1 when s is a pkcs11: URI rather than a file name. */
int p11_is_uri(const char *s);

/*
 * Parses s into u (cleared first; release with p11_uri_clear). Percent
 * escapes are decoded; an unknown path attribute, a type other than
 * "private", or a repeated attribute is KK_EINVAL with *err (caller frees)
 * saying which. Unknown query attributes are ignored, as RFC 7512 allows.
 */
enum kk_status p11_uri_parse(const char *s, struct p11_uri *u, char **err);
void p11_uri_clear(struct p11_uri *u);

/*
 * The URI of u as text, type=private added, without pin-value: what may
 * be written to a file or a log. *out is the caller's (free()).
 */
enum kk_status p11_uri_format(const struct p11_uri *u, char **out);

/*
 * uri without any pin-value, for messages and files: *out (caller frees)
 * is uri re-encoded by p11_uri_format, or "pkcs11:(malformed)".
 */
enum kk_status p11_uri_display(const char *uri, char **out);

/*
 * The user PIN for u, first found of: pin-value, pin-source, pin->file,
 * the environment variable pin->env. *out is NULL when there is none (a
 * token may not need one); otherwise the caller cleanses and frees it.
 * A PIN file with any group or other permission, or owned by someone
 * other than the effective user or root, is KK_EKEY with *err saying so.
 */
enum kk_status p11_pin_get(
    const struct p11_uri *u, const struct p11_pin *pin, char **out, char **err);

struct p11_key;

/*
 * Opens the token uri names, logs in if it needs it, and finds the one
 * private key with uri's object label and id (either may be absent, but
 * not both). KK_ENOTFOUND when the module, token or key is missing,
 * KK_ECONFLICT when several keys match, KK_EKEY when the PIN is wrong or
 * missing; *err (caller frees) then names the URI's token and object.
 */
enum kk_status p11_key_open(const char *uri, const struct p11_pin *pin,
    struct p11_key **out, char **err);

/*
 * Generates a key pair of type ("ec-p256", "ec-p384", "rsa-2048",
 * "rsa-3072", "rsa-4096") in the token, labelled with uri's object. Its
 * CKA_ID is uri's id if it has one (KK_EEXIST if a key has it already),
 * else 16 random bytes. The private half is sensitive and not extractable.
 * The new key is open as by p11_key_open.
 */
enum kk_status p11_key_generate(const char *uri, const struct p11_pin *pin,
    const char *type, struct p11_key **out, char **err);

/* The key, signing through the token; borrowed, valid until p11_key_free. */
EVP_PKEY *p11_key_pkey(const struct p11_key *k);

/* The URI naming exactly this key (object and id, module-path, no PIN);
 * borrowed. */
const char *p11_key_uri(const struct p11_key *k);

/* Logs out, closes the token and unloads the module. NULL is fine. */
void p11_key_free(struct p11_key *k);

/*
 * Destroys the key pairs (private and public objects) in uri's token that
 * carry uri's object label and an id none of the n URIs in keep name.
 * *destroyed (if not NULL) counts the private keys destroyed.
 */
enum kk_status p11_key_prune(const char *uri, const struct p11_pin *pin,
    const char *const *keep, size_t n, int *destroyed, char **err);

#endif
