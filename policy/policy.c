/*
 * policy.c - loading and validating the policy file.
 *
 * The file is the operator's one lever on what the CA does, so the loader
 * is strict: every member is checked for type and range, unknown and
 * repeated members are errors (a misspelt "aprovals_required" must not fall
 * back to a default unnoticed), and the first problem found is reported
 * with the file name and the member's path.
 *
 * Invariants policy_free() relies on, also for half-built policies:
 * org_pattern is set only once org_re is compiled, and a profile's
 * cn_pattern only once its cn_re is; every other pointer is NULL or owned.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "pattern.h"
#include "policy.h"

#define POLICY_MAX_FILE JSON_MAX_LEN
#define PATTERN_MAX 1024 /* bytes of a regular expression */
#define PROFILE_NAME_MAX 64
#define PATH_LEN 160 /* a member path such as profiles[3].key_types[5] */
#define SHOWN_MAX 48 /* bytes of a name or value quoted in an error */

struct loader {
	const char *file;
	char *err; /* the first error, owned */
};

static const char *const top_members[] = {"org_identifier", "verification",
    "eab_required", "rate_limits", "order_lifetime_hours", "terms_of_service",
    "website", "instructions", "profiles", "renewal_info_retry_after", NULL};
static const char *const org_members[] = {"pattern", "ntrjp_check_digit", NULL};
static const char *const verification_members[] = {
    "methods", "lifetime_days", "approvals_required", NULL};
static const char *const rate_members[] = {
    "orders_per_account_per_hour", "new_accounts_per_ip_per_hour", NULL};
static const char *const profile_members[] = {"name", "description",
    "validity_days", "key_types", "cn_pattern", "eku", "identifiers", "mixed",
    "dns_unbound_accounts", NULL};

/*
 * Records "file: path: message" (or "file: message" for a NULL path) as the
 * error and returns st, or KK_ENOMEM if even that cannot be allocated.
 */
static enum kk_status
fail(
    struct loader *l, enum kk_status st, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	size_t size;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->err != NULL)
		return st;
	n = snprintf(NULL, 0, "%s: %s%s%s", l->file, path ? path : "",
	    path ? ": " : "", msg);
	if (n < 0)
		return KK_ENOMEM;
	size = (size_t)n + 1;
	if ((l->err = malloc(size)) == NULL)
		return KK_ENOMEM;
	snprintf(l->err, size, "%s: %s%s%s", l->file, path ? path : "",
	    path ? ": " : "", msg);
	return st;
}

/*
 * Copies at most SHOWN_MAX bytes of s into buf for quoting in a message,
 * with anything unprintable replaced, so that a hostile or binary file
 * cannot write control sequences to the operator's terminal.
 */
static void
shown(char *buf, size_t size, const char *s)
{
	size_t i, max = size - 4;

	if (max > SHOWN_MAX)
		max = SHOWN_MAX;
	for (i = 0; i < max && s[i] != '\0'; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
}

static void
member_path(char *buf, size_t size, const char *parent, const char *name)
{
	char n[SHOWN_MAX + 4];

	shown(n, sizeof(n), name);
	snprintf(buf, size, "%s%s%s", parent, *parent ? "." : "", n);
}

static void
index_path(char *buf, size_t size, const char *parent, int i)
{
	/* A path too long to show whole is cut: it only names a field in a
	 * message. */
	if (snprintf(buf, size, "%s[%d]", parent, i) >= (int)size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/*
 * Refuses members not in known. Repeated names never get here: json_parse
 * refuses them.
 */
static enum kk_status
check_members(struct loader *l, const cJSON *obj, const char *path,
    const char *const *known)
{
	const cJSON *m;
	char mp[PATH_LEN];
	size_t i;

	cJSON_ArrayForEach(m, obj)
	{
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], m->string) == 0)
				break;
		if (known[i] == NULL) {
			member_path(mp, sizeof(mp), path, m->string);
			return fail(l, KK_EINVAL, mp, "unknown field");
		}
	}
	return KK_OK;
}

/*
 * The getters below look up obj's member name and write its path to path
 * (PATH_LEN bytes) where they take one. An absent member is an error when
 * required; otherwise the output keeps the default the caller put there
 * (for strings, NULL).
 */
static enum kk_status
get_member(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int required, const cJSON **item, char *path)
{
	member_path(path, PATH_LEN, parent, name);
	*item = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (*item == NULL && required)
		return fail(l, KK_EINVAL, path, "is required");
	return KK_OK;
}

static enum kk_status
get_object(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int required, const cJSON **out, char *path)
{
	enum kk_status st;

	if ((st = get_member(l, obj, parent, name, required, out, path)) !=
	    KK_OK)
		return st;
	if (*out != NULL && !cJSON_IsObject(*out))
		return fail(l, KK_EINVAL, path, "must be an object");
	return KK_OK;
}

static enum kk_status
get_array(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int required, const cJSON **out, char *path)
{
	enum kk_status st;

	if ((st = get_member(l, obj, parent, name, required, out, path)) !=
	    KK_OK)
		return st;
	if (*out != NULL && !cJSON_IsArray(*out))
		return fail(l, KK_EINVAL, path, "must be an array");
	if (*out != NULL && cJSON_GetArraySize(*out) == 0)
		return fail(l, KK_EINVAL, path, "must not be empty");
	return KK_OK;
}

static enum kk_status
get_bool(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int *out)
{
	const cJSON *item;
	char path[PATH_LEN];
	enum kk_status st;

	if ((st = get_member(l, obj, parent, name, 0, &item, path)) != KK_OK)
		return st;
	if (item == NULL)
		return KK_OK;
	if (!cJSON_IsBool(item))
		return fail(l, KK_EINVAL, path, "must be true or false");
	*out = cJSON_IsTrue(item);
	return KK_OK;
}

static enum kk_status
get_int(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int required, int lo, int hi, int *out)
{
	const cJSON *item;
	char path[PATH_LEN];
	enum kk_status st;
	double d;

	if ((st = get_member(l, obj, parent, name, required, &item, path)) !=
	    KK_OK)
		return st;
	if (item == NULL)
		return KK_OK;
	d = cJSON_IsNumber(item) ? item->valuedouble : (double)lo - 1;
	if (d < lo || d > hi || d != (double)(int)d) {
		if (hi == lo + 1)
			return fail(
			    l, KK_EINVAL, path, "must be %d or %d", lo, hi);
		if (hi == INT_MAX)
			return fail(l, KK_EINVAL, path,
			    "must be an integer of at least %d", lo);
		return fail(l, KK_EINVAL, path,
		    "must be an integer from %d to %d", lo, hi);
	}
	*out = (int)d;
	return KK_OK;
}

/* *out is a copy (caller frees), or stays NULL when absent or null. */
static enum kk_status
get_string(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, int required, char **out, char *path)
{
	const cJSON *item;
	enum kk_status st;

	if ((st = get_member(l, obj, parent, name, required, &item, path)) !=
	    KK_OK)
		return st;
	if (item == NULL || (!required && cJSON_IsNull(item)))
		return KK_OK;
	if (!cJSON_IsString(item))
		return fail(l, KK_EINVAL, path,
		    required ? "must be a string" : "must be a string or null");
	if (required && item->valuestring[0] == '\0')
		return fail(l, KK_EINVAL, path, "must not be empty");
	if ((*out = strdup(item->valuestring)) == NULL)
		return KK_ENOMEM;
	return KK_OK;
}

static enum kk_status
get_url(struct loader *l, const cJSON *obj, const char *name, char **out)
{
	char path[PATH_LEN];
	enum kk_status st;
	const char *s;
	size_t skip;

	if ((st = get_string(l, obj, "", name, 0, out, path)) != KK_OK ||
	    *out == NULL)
		return st;
	s = *out;
	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	if (skip == 0 || s[skip] == '\0' || s[skip] == '/')
		return fail(l, KK_EINVAL, path,
		    "must be null or an http:// or https:// URL");
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return fail(l, KK_EINVAL, path,
			    "a URL must not contain spaces or control "
			    "characters");
	return KK_OK;
}

/*
 * Compiles pattern anchored at both ends, so that "NTRJP-[0-9]{13}" cannot
 * match inside a longer value, if its cost is bounded (pattern.h). The pattern
 * is first compiled alone: wrapped in "^(...)$", an unbalanced ")(" would
 * otherwise pass.
 */
static enum kk_status
compile(struct loader *l, const char *path, const char *pattern, regex_t *re)
{
	char why[128], *anchored;
	const char *costly;
	size_t i, len = strlen(pattern);
	int rc;

	if (len > PATTERN_MAX)
		return fail(l, KK_EINVAL, path,
		    "must be a regular expression of 1 to %d bytes",
		    PATTERN_MAX);
	/* Wrapping renumbers groups: \1 would name the wrapper's group. */
	for (i = 0; i + 1 < len; i++)
		if (pattern[i] == '\\' && pattern[i + 1] >= '1' &&
		    pattern[i + 1] <= '9')
			return fail(l, KK_EINVAL, path,
			    "back-references (\\%c) are not supported",
			    pattern[i + 1]);
	/* Before regcomp(), which some patterns keep busy for minutes. */
	if (pattern_bounded(pattern, &costly) != KK_OK)
		return fail(l, KK_EINVAL, path,
		    "a regular expression too costly to compile is refused: "
		    "%s",
		    costly);
	if ((rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, re, why, sizeof(why));
		return fail(l, KK_EINVAL, path,
		    "not a valid POSIX extended regular expression: %s", why);
	}
	regfree(re);
	if ((anchored = malloc(len + 5)) == NULL)
		return KK_ENOMEM;
	snprintf(anchored, len + 5, "^(%s)$", pattern);
	rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		regerror(rc, re, why, sizeof(why));
		return fail(l, KK_EINVAL, path,
		    "not a valid POSIX extended regular expression: %s", why);
	}
	return KK_OK;
}

/*
 * Reads a pattern member and compiles it into *re; *out is set only once
 * *re holds a compiled expression.
 */
static enum kk_status
get_pattern(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, char **out, regex_t *re)
{
	char path[PATH_LEN], *pattern = NULL;
	enum kk_status st;

	if ((st = get_string(l, obj, parent, name, 1, &pattern, path)) != KK_OK)
		goto out;
	if ((st = compile(l, path, pattern, re)) != KK_OK)
		goto out;
	*out = pattern;
	pattern = NULL;
out:
	free(pattern);
	return st;
}

/*
 * Reads an array of distinct names, each mapped to a bit by lookup, into
 * *bits. known lists the accepted names for the error message.
 */
static enum kk_status
get_names(struct loader *l, const cJSON *obj, const char *parent,
    const char *name, unsigned (*lookup)(const char *), const char *what,
    const char *known, unsigned *bits)
{
	const cJSON *arr, *item;
	char path[PATH_LEN], ip[PATH_LEN], v[SHOWN_MAX + 4];
	enum kk_status st;
	unsigned bit;
	int i = 0;

	if ((st = get_array(l, obj, parent, name, 1, &arr, path)) != KK_OK)
		return st;
	*bits = 0;
	cJSON_ArrayForEach(item, arr)
	{
		index_path(ip, sizeof(ip), path, i++);
		if (!cJSON_IsString(item))
			return fail(l, KK_EINVAL, ip, "must be a string");
		shown(v, sizeof(v), item->valuestring);
		if ((bit = lookup(item->valuestring)) == 0)
			return fail(l, KK_EINVAL, ip,
			    "unknown %s \"%s\" (known: %s)", what, v, known);
		if (*bits & bit)
			return fail(
			    l, KK_EINVAL, ip, "\"%s\" is listed twice", v);
		*bits |= bit;
	}
	return KK_OK;
}

static unsigned
method_bit(const char *name)
{
	if (strcmp(name, "phone") == 0)
		return POLICY_METHOD_PHONE;
	if (strcmp(name, "document") == 0)
		return POLICY_METHOD_DOCUMENT;
	return 0;
}

static unsigned
eku_bit(const char *name)
{
	if (strcmp(name, "clientAuth") == 0)
		return POLICY_EKU_CLIENT;
	if (strcmp(name, "serverAuth") == 0)
		return POLICY_EKU_SERVER;
	return 0;
}

static unsigned
id_bit(const char *name)
{
	if (strcmp(name, "org") == 0)
		return POLICY_ID_ORG;
	if (strcmp(name, "dns") == 0)
		return POLICY_ID_DNS;
	return 0;
}

static enum kk_status
load_org(struct loader *l, const cJSON *root, struct policy *p)
{
	const cJSON *org;
	char path[PATH_LEN];
	enum kk_status st;

	if ((st = get_object(l, root, "", "org_identifier", 1, &org, path)) !=
	        KK_OK ||
	    (st = check_members(l, org, path, org_members)) != KK_OK)
		return st;
	if ((st = get_pattern(l, org, path, "pattern", &p->org_pattern,
	         &p->org_re)) != KK_OK)
		return st;
	p->ntrjp_check_digit = 1;
	return get_bool(
	    l, org, path, "ntrjp_check_digit", &p->ntrjp_check_digit);
}

static enum kk_status
load_verification(struct loader *l, const cJSON *root, struct policy *p)
{
	const cJSON *v;
	char path[PATH_LEN];
	enum kk_status st;

	if ((st = get_object(l, root, "", "verification", 1, &v, path)) !=
	        KK_OK ||
	    (st = check_members(l, v, path, verification_members)) != KK_OK)
		return st;
	if ((st = get_names(l, v, path, "methods", method_bit,
	         "verification method", "phone, document", &p->methods)) !=
	    KK_OK)
		return st;
	p->verification_lifetime_days = 397;
	if ((st = get_int(l, v, path, "lifetime_days", 0, 1, 825,
	         &p->verification_lifetime_days)) != KK_OK)
		return st;
	p->approvals_required = 1;
	return get_int(
	    l, v, path, "approvals_required", 0, 1, 2, &p->approvals_required);
}

static enum kk_status
load_rate_limits(struct loader *l, const cJSON *root, struct policy *p)
{
	const cJSON *r;
	char path[PATH_LEN];
	enum kk_status st;

	if ((st = get_object(l, root, "", "rate_limits", 1, &r, path)) !=
	        KK_OK ||
	    (st = check_members(l, r, path, rate_members)) != KK_OK)
		return st;
	if ((st = get_int(l, r, path, "orders_per_account_per_hour", 1, 0,
	         INT_MAX, &p->orders_per_account_per_hour)) != KK_OK)
		return st;
	return get_int(l, r, path, "new_accounts_per_ip_per_hour", 1, 0,
	    INT_MAX, &p->new_accounts_per_ip_per_hour);
}

static enum kk_status
check_profile_name(
    struct loader *l, const struct policy *p, size_t i, const char *path)
{
	const char *s = p->profiles[i].name;
	char v[SHOWN_MAX + 4];
	size_t j;

	for (j = 0; s[j] != '\0'; j++)
		if (!((s[j] >= 'a' && s[j] <= 'z') ||
		        (s[j] >= 'A' && s[j] <= 'Z') ||
		        (s[j] >= '0' && s[j] <= '9') || s[j] == '-' ||
		        s[j] == '_' || s[j] == '.'))
			break;
	if (s[j] != '\0' || j > PROFILE_NAME_MAX)
		return fail(l, KK_EINVAL, path,
		    "must be 1 to %d letters, digits, '-', '_' or '.'",
		    PROFILE_NAME_MAX);
	for (j = 0; j < i; j++)
		if (strcmp(p->profiles[j].name, s) == 0) {
			shown(v, sizeof(v), s);
			return fail(l, KK_EINVAL, path,
			    "\"%s\" is already the name of profiles[%zu]", v,
			    j);
		}
	return KK_OK;
}

static enum kk_status
load_profile(struct loader *l, const cJSON *obj, const char *path,
    struct policy *p, size_t i)
{
	struct policy_profile *pr = &p->profiles[i];
	char mp[PATH_LEN];
	enum kk_status st;

	if (!cJSON_IsObject(obj))
		return fail(l, KK_EINVAL, path, "must be an object");
	if ((st = check_members(l, obj, path, profile_members)) != KK_OK)
		return st;
	if ((st = get_string(l, obj, path, "name", 1, &pr->name, mp)) !=
	        KK_OK ||
	    (st = check_profile_name(l, p, i, mp)) != KK_OK)
		return st;
	if ((st = get_string(l, obj, path, "description", 0, &pr->description,
	         mp)) != KK_OK)
		return st;
	if (pr->description == NULL && (pr->description = strdup("")) == NULL)
		return KK_ENOMEM;
	if ((st = get_int(l, obj, path, "validity_days", 1, 1, 825,
	         &pr->validity_days)) != KK_OK)
		return st;
	if ((st = get_names(l, obj, path, "key_types", policy_key_bit,
	         "key type",
	         "ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519",
	         &pr->key_types)) != KK_OK)
		return st;
	if ((st = get_pattern(l, obj, path, "cn_pattern", &pr->cn_pattern,
	         &pr->cn_re)) != KK_OK)
		return st;
	pr->eku = POLICY_EKU_CLIENT;
	if (cJSON_GetObjectItemCaseSensitive(obj, "eku") != NULL &&
	    (st = get_names(l, obj, path, "eku", eku_bit, "extended key usage",
	         "clientAuth, serverAuth", &pr->eku)) != KK_OK)
		return st;
	if (pr->eku == 0)
		return fail(l, KK_EINVAL, path, "eku: name at least one");
	pr->identifiers = POLICY_ID_ORG;
	if (cJSON_GetObjectItemCaseSensitive(obj, "identifiers") != NULL &&
	    (st = get_names(l, obj, path, "identifiers", id_bit,
	         "identifier type", "org, dns", &pr->identifiers)) != KK_OK)
		return st;
	if (pr->identifiers == 0)
		return fail(
		    l, KK_EINVAL, path, "identifiers: name at least one");
	if ((st = get_bool(l, obj, path, "mixed", &pr->mixed)) != KK_OK ||
	    (st = get_bool(l, obj, path, "dns_unbound_accounts",
	         &pr->dns_unbound)) != KK_OK)
		return st;
	if (pr->mixed && pr->identifiers != (POLICY_ID_ORG | POLICY_ID_DNS))
		return fail(l, KK_EINVAL, path,
		    "mixed: needs identifiers [\"org\", \"dns\"]");
	if (pr->dns_unbound && !(pr->identifiers & POLICY_ID_DNS))
		return fail(l, KK_EINVAL, path,
		    "dns_unbound_accounts: needs \"dns\" in identifiers");
	return KK_OK;
}

static enum kk_status
load_profiles(struct loader *l, const cJSON *root, struct policy *p)
{
	const cJSON *arr, *item;
	char path[PATH_LEN], ip[PATH_LEN];
	enum kk_status st;
	size_t i = 0;

	if ((st = get_array(l, root, "", "profiles", 1, &arr, path)) != KK_OK)
		return st;
	p->profiles =
	    calloc((size_t)cJSON_GetArraySize(arr), sizeof(*p->profiles));
	if (p->profiles == NULL)
		return KK_ENOMEM;
	p->n_profiles = (size_t)cJSON_GetArraySize(arr);
	cJSON_ArrayForEach(item, arr)
	{
		index_path(ip, sizeof(ip), path, (int)i);
		if ((st = load_profile(l, item, ip, p, i)) != KK_OK)
			return st;
		i++;
	}
	return KK_OK;
}

static enum kk_status
load_root(struct loader *l, const cJSON *root, struct policy *p)
{
	char path[PATH_LEN];
	enum kk_status st;

	if (!cJSON_IsObject(root))
		return fail(
		    l, KK_EINVAL, NULL, "the policy must be a JSON object");
	if ((st = check_members(l, root, "", top_members)) != KK_OK ||
	    (st = load_org(l, root, p)) != KK_OK ||
	    (st = load_verification(l, root, p)) != KK_OK ||
	    (st = get_bool(l, root, "", "eab_required", &p->eab_required)) !=
	        KK_OK ||
	    (st = load_rate_limits(l, root, p)) != KK_OK)
		return st;
	p->order_lifetime_hours = 168;
	if ((st = get_int(l, root, "", "order_lifetime_hours", 0, 1, 8760,
	         &p->order_lifetime_hours)) != KK_OK ||
	    (st = get_url(l, root, "terms_of_service", &p->terms_of_service)) !=
	        KK_OK ||
	    (st = get_url(l, root, "website", &p->website)) != KK_OK ||
	    (st = get_string(l, root, "", "instructions", 1, &p->instructions,
	         path)) != KK_OK)
		return st;
	p->renewal_info_retry_after = 21600;
	if ((st = get_int(l, root, "", "renewal_info_retry_after", 0, 1, 86400,
	         &p->renewal_info_retry_after)) != KK_OK)
		return st;
	return load_profiles(l, root, p);
}

/*
 * Reads the whole file into *buf (caller frees), refusing more than
 * POLICY_MAX_FILE bytes without reading further.
 */
static enum kk_status
read_file(struct loader *l, char **buf, size_t *len)
{
	enum kk_status st = KK_OK;
	FILE *f = NULL;

	*buf = NULL;
	if ((f = fopen(l->file, "re")) == NULL) {
		st = fail(l, KK_EIO, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	if ((*buf = malloc(POLICY_MAX_FILE + 1)) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	*len = fread(*buf, 1, POLICY_MAX_FILE + 1, f);
	if (ferror(f)) {
		st = fail(l, KK_EIO, NULL, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (*len > POLICY_MAX_FILE)
		st = fail(l, KK_ETOOBIG, NULL,
		    "the policy is larger than %d bytes", POLICY_MAX_FILE);
out:
	if (f != NULL)
		fclose(f);
	if (st != KK_OK) {
		free(*buf);
		*buf = NULL;
	}
	return st;
}

enum kk_status
policy_load(const char *path, struct policy **out, char **err)
{
	struct loader l = {.file = path, .err = NULL};
	struct policy *p = NULL;
	cJSON *root = NULL;
	char *text = NULL;
	enum kk_status st;
	size_t len = 0;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if ((st = read_file(&l, &text, &len)) != KK_OK)
		goto out;
	st = json_parse(text, len, &root);
	if (st == KK_ETOOBIG)
		st = fail(&l, KK_EINVAL, NULL, "JSON nested too deeply");
	else if (st == KK_EINVAL)
		st = fail(&l, KK_EINVAL, NULL,
		    "not valid JSON, or a name repeated within an object");
	if (st != KK_OK)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = load_root(&l, root, p)) != KK_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	policy_free(p);
	cJSON_Delete(root);
	free(text);
	if (err != NULL && st != KK_OK)
		*err = l.err;
	else
		free(l.err);
	return st;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->org_pattern != NULL)
		regfree(&p->org_re);
	free(p->org_pattern);
	for (i = 0; i < p->n_profiles; i++) {
		struct policy_profile *pr = &p->profiles[i];

		if (pr->cn_pattern != NULL)
			regfree(&pr->cn_re);
		free(pr->cn_pattern);
		free(pr->name);
		free(pr->description);
	}
	free(p->profiles);
	free(p->terms_of_service);
	free(p->website);
	free(p->instructions);
	free(p);
}
