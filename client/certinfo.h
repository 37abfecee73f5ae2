/*
 * certinfo.h - the few facts the client needs from a certificate: serial,
 * validity, subject organizationIdentifier and CN.
 */
#ifndef KC_CERTINFO_H
#define KC_CERTINFO_H

#include <time.h>

#include <openssl/x509.h>

#include "err.h"

struct certinfo {
	char *serial; /* lowercase hex, no leading zeros */
	char *org;    /* organizationIdentifier, or NULL */
	char *cn;     /* or NULL */
	time_t not_before;
	time_t not_after;
};

/* Fills *ci from cert; release with certinfo_clear(). */
enum kk_status certinfo_from_x509(X509 *cert, struct certinfo *ci);

/*
 * Reads the first certificate of a PEM file. KK_ENOTFOUND (err untouched)
 * when path does not exist; KK_EINVAL with err naming the file when it
 * holds no certificate.
 */
enum kk_status certinfo_read(
    const char *path, struct certinfo *ci, struct kc_err *err);

/*
 * Only the validity of the first certificate of a PEM file, for callers
 * that look at many certificates (renew --all): the DER is walked down to
 * tbsCertificate.validity with OpenSSL's TLV reader instead of being
 * decoded whole, which in OpenSSL 3 also decodes the public key through
 * the provider machinery, some twenty times the cost. The outer
 * structure is checked (lengths, tags up to the validity), not the rest.
 * Same results as certinfo_read otherwise.
 */
enum kk_status certinfo_read_validity(const char *path, time_t *not_before,
    time_t *not_after, struct kc_err *err);

/*
 * What RFC 9773 names a certificate by, read as certinfo_read_validity
 * reads the dates (without decoding the public key): the serial number's
 * DER content octets and the authority key identifier's keyIdentifier,
 * each a copy the caller frees. KK_ENOTFOUND when the certificate has no
 * keyIdentifier or cannot be read that far.
 */
enum kk_status certinfo_read_ids(const char *path, unsigned char **serial,
    size_t *n_serial, unsigned char **keyid, size_t *n_keyid,
    struct kc_err *err);

void certinfo_clear(struct certinfo *ci);

/* RFC 3339 UTC ("2026-11-24T20:15:01Z") into buf of at least 21 bytes. */
void certinfo_time(time_t t, char *buf, size_t len);

#endif
