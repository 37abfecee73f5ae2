/*
 * Approvals against the corporate-number registry (ra_registry.h).
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_internal.h"
#include "ra_registry.h"
#include "registry.h"

enum kk_status
ra_registry_check(struct ra *ra, const char *org, const struct approval *ap,
    const char *override_reason, struct ra_registry_verdict *v,
    const char **why)
{
	struct registry_entry *e = NULL;
	const char *number = registry_number(org);
	enum kk_status st;
	int m;

	memset(v, 0, sizeof(*v));
	if (override_reason != NULL &&
	    (v->override = strdup(override_reason)) == NULL)
		return KK_ENOMEM;
	if (number == NULL)
		return KK_OK;
	st = store_registry_get(ra->store, number, &e);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	if ((m = registry_name_matches(e, ap->legal_name)) < 0 ||
	    (v->name = strdup(e->name)) == NULL) {
		registry_entry_free(e);
		return KK_ENOMEM;
	}
	v->matches = m;
	v->closed = e->close_date != NULL;
	registry_entry_free(e);
	if (v->override != NULL)
		return KK_OK;
	if (v->closed)
		return ra_refuse(why,
		    "the corporate-number registry records this corporation "
		    "as closed; approve with an override_reason to go ahead "
		    "anyway");
	if (!v->matches)
		return ra_refuse(why,
		    "legal_name differs from the name the corporate-number "
		    "registry has for this corporation (see \"registry\" in "
		    "the verification); approve with that name, or give an "
		    "override_reason");
	return KK_OK;
}

void
ra_registry_verdict_clear(struct ra_registry_verdict *v)
{
	free(v->name);
	free(v->override);
	memset(v, 0, sizeof(*v));
}

int
ra_registry_audit(cJSON *detail, const struct ra_registry_verdict *v)
{
	cJSON *r;

	if (v->name != NULL) {
		if ((r = cJSON_AddObjectToObject(detail, "registry")) == NULL ||
		    cJSON_AddStringToObject(r, "name", v->name) == NULL ||
		    cJSON_AddBoolToObject(r, "name_matches", v->matches) ==
		        NULL ||
		    cJSON_AddBoolToObject(r, "closed", v->closed) == NULL)
			return -1;
	}
	if (v->override != NULL && cJSON_AddStringToObject(detail,
	                               "override_reason", v->override) == NULL)
		return -1;
	return 0;
}

enum kk_status
ra_registry_import(struct ra *ra, const char *actor, const char *name, FILE *f,
    time_t now, struct registry_report *rep, registry_reject_fn *reject,
    void *arg, char **err)
{
	enum kk_status st, au;
	cJSON *d;

	st = registry_import(ra->store, f, rep, reject, arg, err);
	if (st != KK_OK && rep->stored == 0)
		return st;
	/* The records are in; the event says how many, and whether the
	 * file broke off. */
	if ((d = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(d, "rows", (double)rep->rows) == NULL ||
	    cJSON_AddNumberToObject(d, "stored", (double)rep->stored) == NULL ||
	    cJSON_AddNumberToObject(d, "kept", (double)rep->kept) == NULL ||
	    cJSON_AddNumberToObject(d, "not_latest", (double)rep->not_latest) ==
	        NULL ||
	    cJSON_AddNumberToObject(d, "rejected", (double)rep->rejected) ==
	        NULL ||
	    cJSON_AddBoolToObject(d, "complete", st == KK_OK) == NULL) {
		cJSON_Delete(d);
		return st != KK_OK ? st : KK_ENOMEM;
	}
	au = audit_record(ra->store, now, actor, "registry.import", name, d);
	cJSON_Delete(d);
	if (au == KK_OK)
		kk_log("registry: %ld records imported from %s by %s",
		    rep->stored, name, actor);
	return st != KK_OK ? st : au;
}
