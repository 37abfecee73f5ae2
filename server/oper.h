/*
 * oper.h - the operator API (/operator/v1/): the verification queue,
 * approvals and rejections, organizations, EAB keys, certificates and the
 * audit log, for bearer tokens with the role "operator" (read and write)
 * or "auditor" (read only).
 */
#ifndef OPER_H
#define OPER_H

#include "http_msg.h"
#include "srv.h"

/* Answers a request whose path starts with /operator/v1/; sub is the rest. */
void oper_handle(struct srv *s, const struct http_req *req,
    struct http_resp *resp, const char *sub);

/*
 * Creates a token for name with role and prints nothing: *token (caller
 * frees; shown once to the operator) is 43 base64url characters of which
 * only the SHA-256 is stored.
 */
enum kk_status oper_token_create(
    struct store *st, const char *name, const char *role, char **token);

#endif
