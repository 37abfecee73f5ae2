/*
 * oper_attach.h - the operator API's documents and identity: attachments
 * of a verification (upload, list, download) and whoami, the caller's own
 * name and role (what the console shows and which buttons it offers).
 * srv.c's routing table calls them after authentication (and, for POSTs,
 * the "operator" role check), with the verification id in c->id and, for
 * a download, the SHA-256 in c->sub.
 */
#ifndef OPER_ATTACH_H
#define OPER_ATTACH_H

#include "srv.h"

/* GET /operator/v1/whoami: {"name", "role"}. */
void oper_whoami(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/*
 * POST .../verifications/{id}/attachments: the raw body is the document,
 * its Content-Type application/pdf, image/png or image/jpeg. 201 with the
 * attachment's record (200 when it was attached already).
 */
void oper_attachment_add(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/* GET .../verifications/{id}/attachments: {"attachments": [...]}. */
void oper_attachments(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/* GET .../verifications/{id}/attachments/{sha256}: the document, as a
 * download (Content-Disposition: attachment) of its stored type. */
void oper_attachment_get(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

#endif
