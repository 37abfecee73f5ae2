/*
 * prove.h - proves control of an order's dns identifiers: answers the
 * challenge of the configured type of each pending authorization
 * (solve.h), tells the CA to validate (RFC 8555 7.5.1), polls the
 * authorizations until each is valid or invalid, honouring Retry-After
 * within PROVE_TIMEOUT, and takes the answers down again, whatever the
 * outcome.
 */
#ifndef KC_PROVE_H
#define KC_PROVE_H

#include <stdio.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "acme.h"
#include "solve_cfg.h"

#define PROVE_TIMEOUT 120 /* seconds for the CA to validate */
#define PROVE_POLL_MAX 10 /* seconds between polls at most */

struct prove_authz {
	const char *url;    /* the authorization, borrowed */
	const cJSON *authz; /* its pending state, borrowed */
};

/*
 * KK_OK once every authorization is valid. An invalid one is KK_EINVAL,
 * exit 1, with the CA's problem in err; a server still validating after
 * PROVE_TIMEOUT (or asking to come back later than that) is KK_ECONFLICT
 * with EX_TEMPFAIL. key is the account key (for the key authorization);
 * log gets progress lines, or is NULL.
 */
enum kk_status prove_dns(struct acme *a, EVP_PKEY *key,
    const struct solve_cfg *c, const struct prove_authz *az, size_t n,
    FILE *log, struct kc_err *err);

#endif
