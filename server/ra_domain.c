/*
 * Organization domains: dns names an operator has recorded as belonging
 * to a verified organization. A bound account's dns authorization for a
 * name equal to or under one of them is valid at once, as commercial CAs
 * do for pre-validated domains of an EAB customer; nothing else about
 * dns identifiers lives here.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_internal.h"

#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

enum kk_status
ra_domain_normalize(const char *name, char **out)
{
	size_t len, label = 0, labels = 1;
	int address = 1;
	char *s;

	*out = NULL;
	if (name == NULL || (len = strlen(name)) == 0 || len > DNS_NAME_MAX)
		return KK_EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			/* Empty labels and hyphens at a label's edge. */
			if (label == 0 || name[i - 1] == '-')
				return KK_EINVAL;
			label = 0;
			labels++;
			continue;
		}
		if (!isalnum(ch) && ch != '-')
			return KK_EINVAL;
		if (ch == '-' && label == 0)
			return KK_EINVAL;
		if (!isdigit(ch))
			address = 0;
		if (++label > DNS_LABEL_MAX)
			return KK_EINVAL;
	}
	if (label == 0 || name[len - 1] == '-' || labels < 2 || address)
		return KK_EINVAL;
	if ((s = strdup(name)) == NULL)
		return KK_ENOMEM;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	*out = s;
	return KK_OK;
}

/* Audits org.domains.add with the names added (JSON array). */
static enum kk_status
audit_domains(struct ra *ra, const char *actor, const char *org_id,
    cJSON *added, time_t now)
{
	cJSON *d = cJSON_CreateObject();
	enum kk_status st = KK_ENOMEM;

	if (d != NULL && cJSON_AddItemReferenceToObject(d, "added", added))
		st = audit_record(
		    ra->store, now, actor, "org.domains.add", org_id, d);
	cJSON_Delete(d);
	return st;
}

/* One attempt at ra_org_domains_add. */
static enum kk_status
org_domains_add_once(struct ra *ra, const char *actor, const char *org_id,
    char *const *names, size_t n, time_t now, int *added, const char **why)
{
	cJSON *list = cJSON_CreateArray();
	char *owner = NULL;
	enum kk_status st;
	int count = 0;

	if (added != NULL)
		*added = 0;
	if (list == NULL)
		return KK_ENOMEM;
	if ((st = store_begin(ra->store)) != KK_OK)
		goto done;
	for (size_t i = 0; i < n && st == KK_OK; i++) {
		st = store_org_domain_owner(ra->store, names[i], &owner);
		if (st == KK_OK && strcmp(owner, org_id) != 0)
			st = ra_refuse(why, "a name is recorded for another "
			                    "organization already");
		else if (st == KK_ENOTFOUND &&
		         (st = store_org_domain_add(ra->store, org_id, names[i],
		              actor, now)) == KK_OK) {
			count++;
			if (!cJSON_AddItemToArray(
			        list, cJSON_CreateString(names[i])))
				st = KK_ENOMEM;
		}
		free(owner);
		owner = NULL;
	}
	if (st == KK_OK && count > 0)
		st = audit_domains(ra, actor, org_id, list, now);
	if ((st = ra_finish(ra, st)) != KK_OK)
		goto done;
	kk_log("%d domains recorded for %s by %s", count, org_id, actor);
	if (added != NULL)
		*added = count;
done:
	cJSON_Delete(list);
	return st;
}

enum kk_status
ra_org_domains_add(struct ra *ra, const char *actor, const char *org_id,
    char *const *names, size_t n, time_t now, int *added, const char **why)
{
	enum kk_status st;
	int tries = 0;

	do
		st = org_domains_add_once(
		    ra, actor, org_id, names, n, now, added, why);
	while (ra_again(&st, &tries));
	return st;
}

/*
 * Whether name equals or lies under a domain of org: each suffix of name
 * that starts at a label, from the name itself to its last two labels,
 * is looked up by its owner.
 */
static enum kk_status
covered(struct ra *ra, const char *org, const char *name, int *yes)
{
	const char *p = name;
	char *owner = NULL;
	enum kk_status st;

	*yes = 0;
	while (p != NULL && strchr(p, '.') != NULL) {
		st = store_org_domain_owner(ra->store, p, &owner);
		if (st == KK_OK) {
			*yes = strcmp(owner, org) == 0;
			free(owner);
			/* The longest recorded suffix decides: a name under
			 * another organization's subdomain is not ours. */
			return KK_OK;
		}
		if (st != KK_ENOTFOUND)
			return st;
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	return KK_OK;
}

enum kk_status
ra_domain_apply(struct ra *ra, const struct account *acct, struct authz *az,
    time_t now, int *granted)
{
	struct org *org = NULL;
	enum kk_status st;
	int yes = 0;

	*granted = 0;
	if (acct->status != ACME_STATUS_VALID || acct->org == NULL ||
	    strcmp(az->id_type, "dns") != 0)
		return KK_OK;
	st = store_org_get(ra->store, acct->org, &org);
	if (st == KK_ENOTFOUND)
		return KK_OK;
	if (st != KK_OK)
		return st;
	if (org->expires <= now ||
	    (st = covered(ra, org->id, az->id_value, &yes)) != KK_OK || !yes)
		goto out;
	if ((st = store_org_domain_grant(ra->store, az->id, org->id)) != KK_OK)
		goto out;
	az->status = ACME_STATUS_VALID;
	az->expires = org->expires;
	*granted = 1;
out:
	org_free(org);
	return st;
}
