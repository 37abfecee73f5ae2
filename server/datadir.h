/*
 * datadir.h - the server's data directory: the fixed public names
 * (root.pem, issuing.pem, policy.json, kakuin.db) and private/ (0700) with
 * root.key, issuing.key (or issuing.uri when the key is in a PKCS#11
 * token) and tls.pem (key and certificate in one file for civetweb), all
 * 0600.
 */
#ifndef DATADIR_H
#define DATADIR_H

#include "kk_status.h"

struct datadir_opts {
	const char *dir;
	const char *listen_host;    /* added to the TLS certificate's SANs */
	const char *ca_cert;        /* import instead of generating, or NULL */
	const char *ca_key;         /* its key, required with ca_cert; or a
	                               pkcs11: URI (see below) */
	const char *ca_pin_file;    /* the token's PIN, else KAKUIN_CA_PIN */
	const char *default_policy; /* file copied to policy.json if missing */
};

/*
 * init: creates the directory and everything in it; KK_EEXIST (nothing
 * touched) if the directory already holds any of the files. Generates an EC
 * P-384 root (10 years) and an EC P-256 issuing CA (5 years,
 * pathlen 0) unless ca_cert/ca_key are given: then the imported certificate
 * becomes issuing.pem, and root.pem is the last certificate in the
 * ca_cert file (the same one if it is self-signed). A TLS certificate for
 * the listener (EC P-256, 1 year, serverAuth, SANs IP:127.0.0.1, DNS:localhost
 * and listen_host) is signed by the root, or by the imported CA. On
 * failure *err (caller frees) says what went wrong, naming the file.
 *
 * When ca_key is a pkcs11: URI (RFC 7512) the issuing key lives in that
 * token: generated there (EC P-256, sensitive, not extractable) unless
 * ca_cert is imported, and private/issuing.uri records its URI (with its
 * id, never a PIN) instead of private/issuing.key. The root key stays a
 * file, private/root.key, to be moved offline after init.
 */
enum kk_status datadir_init(const struct datadir_opts *o, char **err);

/* serve: like init, but only creates what is missing. */
enum kk_status datadir_ensure(const struct datadir_opts *o, char **err);

#endif
