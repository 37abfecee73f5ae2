/*
 * oper.h - the operator API (/operator/v1/): the verification queue,
 * approvals and rejections, organizations, EAB keys, certificates and the
 * audit log, for bearer tokens with the role "operator" (read and write)
 * or "auditor" (read only).
 */
#ifndef OPER_H
#define OPER_H

#include <cjson/cJSON.h>

#include "http_msg.h"
#include "srv.h"

/*
 * The bearer token's record (caller frees with op_token_free), or NULL
 * with a 401 answered in resp.
 */
struct op_token *oper_authenticate(
    struct srv *s, const struct http_req *req, struct http_resp *resp);

/*
 * Answers status with the JSON j, which it frees (NULL: out of memory,
 * answered as a 500).
 */
void oper_send_json(struct http_resp *resp, int status, cJSON *j);

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
/* Organization domains and the renewal-window drill (oper_ari.c). */
void oper_org_domains(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_org_domains_add(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
void oper_renewal_window(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);
/*
 * Adds to the JSON js[i] of each certificate cs[i] (i < n; a NULL js[i]
 * is skipped) what renewal information says of it: "renewal_window"
 * {"start", "end"} when an operator moved it, and "replaced_by", the
 * serial of the certificate that replaced it, once the replacing order is
 * valid. The records are read for all n at once (a page costs one or two
 * store calls, not one or two per certificate). Best effort: a lookup
 * that fails adds nothing. Nothing is kept; js stay the caller's.
 */
void oper_certs_renewal(
    struct srv *s, const struct cert *const *cs, cJSON *const *js, size_t n);
void oper_audit(
    struct srv *s, const struct srv_call *c, struct http_resp *resp);

/*
 * For the handlers in other files (oper_ari.c): the request body as a
 * JSON object (an empty one when there is none; -1 with a 400 answered
 * otherwise), and an answer of j (taken over) with status.
 */
int oper_body(const struct http_req *req, cJSON **body, struct http_resp *resp);
void oper_send(struct http_resp *resp, int status, cJSON *j);

#endif
