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
 * What renew --all needs of every installed certificate: its validity,
 * and what RFC 9773 names it by (the serial number's DER content octets
 * and the authority key identifier's keyIdentifier).
 */
struct certinfo_brief {
	time_t not_before;
	time_t not_after;
	unsigned char *serial; /* a copy, or NULL: see certinfo_read_brief */
	size_t n_serial;
	unsigned char *keyid; /* a copy, or NULL */
	size_t n_keyid;
};

/*
 * The brief of the first certificate of a PEM file, from one read of it,
 * for callers that look at many certificates (renew --all): the DER is
 * walked with OpenSSL's TLV reader instead of being decoded whole, which
 * in OpenSSL 3 also decodes the public key through the provider
 * machinery, some twenty times the cost. The structure is checked
 * (lengths, tags) as far as it is walked, so a certificate certinfo_read
 * refuses may still give dates here; where both read it, the dates are
 * the same. serial and keyid are both set or both NULL: NULL when the
 * serial number is empty, or the certificate has no keyIdentifier or
 * cannot be read past its validity (it can then have no renewal
 * information). KK_ENOMEM when a copy cannot be made. KK_ENOTFOUND (err
 * untouched) when path does not exist; KK_EINVAL with err naming the
 * file when it holds no certificate with a readable validity. *b is the
 * caller's to release with certinfo_brief_clear(), whatever the result.
 */
enum kk_status certinfo_read_brief(
    const char *path, struct certinfo_brief *b, struct kc_err *err);

void certinfo_brief_clear(struct certinfo_brief *b);

void certinfo_clear(struct certinfo *ci);

/* RFC 3339 UTC ("2026-11-24T20:15:01Z") into buf of at least 21 bytes. */
void certinfo_time(time_t t, char *buf, size_t len);

#endif
