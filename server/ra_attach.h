/*
 * ra_attach.h - documents attached to verifications: the registration
 * authority's side (ra.h's conventions hold). An operator attaches the
 * evidence a verification rests on (a PDF, a scan or a photograph of a
 * seal certificate); approvals name it by SHA-256, and it stays
 * downloadable for as long as the verification is kept.
 */
#ifndef RA_ATTACH_H
#define RA_ATTACH_H

#include <stddef.h>
#include <time.h>

#include "ra.h"

/* The most an attachment may hold. */
#define RA_ATTACH_MAX (5 * 1024 * 1024)
/* The most attachments one verification may have (and an approval may
 * name). */
#define RA_ATTACH_PER_VERIFICATION 20
#define RA_DOCS_MAX RA_ATTACH_PER_VERIFICATION

/*
 * The content type an attachment may have, as stored ("application/pdf",
 * "image/png" or "image/jpeg"), for a Content-Type header value (its
 * parameters ignored); NULL when it is none of them.
 */
const char *ra_attach_type(const char *content_type);

/*
 * Attaches len bytes of data of type (ra_attach_type's answer) to
 * verification id for op, audited as "verification.attach" with the
 * SHA-256, type and size. The data must be what type says (its magic
 * bytes) and at most RA_ATTACH_MAX. The same document again changes
 * nothing: *created (may be NULL) is 0 then. KK_ECONFLICT, *why: the data
 * is not of its type, is empty or too large, or the verification has
 * RA_ATTACH_PER_VERIFICATION already. *out: the attachment without its
 * data.
 */
enum kk_status ra_attachment_add(struct ra *ra, const char *op, const char *id,
    const char *type, const unsigned char *data, size_t len, time_t now,
    struct attachment **out, int *created, const char **why);

/* The documents an approval rests on, by SHA-256 (borrowed). */
struct ra_docs {
	const char *const *sha;
	size_t n;
};

/*
 * ra_verification_approve (ra.h), naming the attachments docs (may be
 * NULL) the approval rests on: each must be attached to the verification
 * (else KK_ECONFLICT), and the approval's audit event lists them.
 */
enum kk_status ra_verification_approve_docs(struct ra *ra, const char *op,
    const char *id, const struct approval *ap, const struct ra_docs *docs,
    time_t now, struct verification **out, const char **why);

/*
 * Inside an approval's transaction: KK_OK when every SHA-256 in docs (may
 * be NULL) is attached to verification id, else KK_ECONFLICT with *why.
 */
enum kk_status ra_attachments_check(struct ra *ra, const char *id,
    const struct ra_docs *docs, const char **why);

#endif
