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

/*
 * The bearer token's record (caller frees with op_token_free), or NULL
 * with a 401 answered in resp.
 */
struct op_token *oper_authenticate(
    struct srv *s, const struct http_req *req, struct http_resp *resp);

/* Valid operator path segments: letters, digits and "-_.:", 1 to 128. */
int oper_segment_ok(const char *seg);

/*
 * The resources, srv_handler functions that srv.c's routing table calls
 * after authentication (and, for POSTs, the "operator" role check), with
 * the path's id in c->id and the token in c->tok.
 */
void oper_verifications(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_verification(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_approve(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_reject(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_orgs(struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_org(struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_org_suspend(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_eab_create(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_eab_revoke(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_certificates(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_certificate_revoke(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_audit(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

#endif
