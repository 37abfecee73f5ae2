/*
 * ra_registry.h - the registration authority's rule for approvals against
 * the corporate-number registry (registry.h): the legal name an operator
 * approves must be the one the registry has for the requested corporate
 * number, and the corporation must not be closed, unless the approval
 * carries an override_reason, which the approval's audit event records.
 * Used by ra_order.c inside the approval's transaction.
 */
#ifndef RA_REGISTRY_H
#define RA_REGISTRY_H

#include <cjson/cJSON.h>

#include "ra.h"
#include "ra_attach.h"
#include "registry.h"

/*
 * ra_verification_approve_docs (ra_attach.h) under the registry's rule:
 * when the organization identifier is a corporate number the registry
 * has, the legal name must match its name and the corporation must be
 * open, else KK_ECONFLICT, unless override_reason is given (NULL: none);
 * it is recorded in the approval's audit event. ra_verification_approve
 * and ra_verification_approve_docs are this without an override_reason.
 */
enum kk_status ra_verification_approve_override(struct ra *ra, const char *op,
    const char *id, const struct approval *ap, const struct ra_docs *docs,
    const char *override_reason, time_t now, struct verification **out,
    const char **why);

/*
 * registry_import (registry.h) of f, named name, by actor, and its audit
 * event "registry.import" with the counts. Only ra->store is used, so the
 * command line calls it with a registration authority of a store alone.
 * A failed import is audited too when it stored anything.
 */
enum kk_status ra_registry_import(struct ra *ra, const char *actor,
    const char *name, FILE *f, time_t now, struct registry_report *rep,
    registry_reject_fn *reject, void *arg, char **err);

/* What the registry said about one approval. */
struct ra_registry_verdict {
	char *name;     /* the registry's name, or NULL: not in the registry */
	char *override; /* the approval's override_reason, or NULL */
	int matches;
	int closed;
};

/*
 * Looks org up and checks ap against it, filling *v (cleared with
 * ra_registry_verdict_clear whatever the outcome). An organization
 * identifier that is no corporate number, or one the registry does not
 * have, passes. KK_ECONFLICT with *why when the rule refuses.
 */
enum kk_status ra_registry_check(struct ra *ra, const char *org,
    const struct approval *ap, const char *override_reason,
    struct ra_registry_verdict *v, const char **why);
void ra_registry_verdict_clear(struct ra_registry_verdict *v);

/* Adds the verdict and the override reason to an audit detail. 0, or -1
 * when out of memory. */
int ra_registry_audit(cJSON *detail, const struct ra_registry_verdict *v);

#endif
