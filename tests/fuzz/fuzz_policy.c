/*
 * fuzz_policy: policy_load on any file content. A failure says why, naming
 * the file; an accepted policy holds only values in the documented ranges,
 * and its matchers (organization pattern with the NTRJP- check digit,
 * profile CN patterns) answer for any string.
 */
#include "fuzz_common.h"

#include "json.h"
#include "policy.h"

static char *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_ASSERT(
	    asprintf(&path, "%s/policy.json", fuzz_tmpdir()) > 0, "oom");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	const struct policy_profile *pr;
	char *err = NULL, *probe;
	const char *why = NULL;
	enum kk_status st;

	fuzz_write(path, data, size);
	st = policy_load(path, &p, &err);
	if (st != KK_OK) {
		FUZZ_ASSERT(p == NULL, "policy on failure");
		FUZZ_ASSERT(st == KK_EINVAL || st == KK_ETOOBIG ||
		                st == KK_ENOMEM || st == KK_EIO,
		    "status %d", (int)st);
		FUZZ_ASSERT(
		    st == KK_ENOMEM ||
		        (err != NULL && strncmp(err, path, strlen(path)) == 0),
		    "the error does not name the file: %s",
		    err ? err : "(none)");
		FUZZ_ASSERT(size <= JSON_MAX_LEN || st == KK_ETOOBIG,
		    "%zu bytes gave %d", size, (int)st);
		free(err);
		return 0;
	}
	FUZZ_ASSERT(err == NULL, "an error on success");
	FUZZ_ASSERT(size <= JSON_MAX_LEN, "accepted %zu bytes", size);
	FUZZ_ASSERT(p->org_pattern != NULL, "no org pattern");
	FUZZ_ASSERT(p->approvals_required == 1 || p->approvals_required == 2,
	    "approvals %d", p->approvals_required);
	FUZZ_ASSERT(p->methods != 0 &&
	                (p->methods & ~(unsigned)(POLICY_METHOD_PHONE |
	                                          POLICY_METHOD_DOCUMENT)) == 0,
	    "methods %#x", p->methods);
	FUZZ_ASSERT(p->verification_lifetime_days > 0 &&
	                p->order_lifetime_hours > 0 &&
	                p->orders_per_account_per_hour >= 0 &&
	                p->new_accounts_per_ip_per_hour >= 0,
	    "a number out of range");
	FUZZ_ASSERT(p->instructions != NULL, "no instructions");
	FUZZ_ASSERT(p->n_profiles >= 1 && p->profiles != NULL, "no profile");
	for (size_t i = 0; i < p->n_profiles; i++) {
		pr = &p->profiles[i];
		FUZZ_ASSERT(pr->name != NULL && pr->description != NULL &&
		                pr->cn_pattern != NULL,
		    "profile %zu incomplete", i);
		FUZZ_ASSERT(pr->validity_days >= 1 && pr->validity_days <= 825,
		    "validity %d", pr->validity_days);
		FUZZ_ASSERT(pr->key_types != 0 && pr->key_types < 0x40,
		    "key types %#x", pr->key_types);
		FUZZ_ASSERT(
		    policy_profile(p, pr->name) != NULL, "lookup %s", pr->name);
	}
	FUZZ_ASSERT(policy_profile(p, NULL) == &p->profiles[0], "default");

	/* The matchers on the input itself, cut at 200 bytes. */
	probe = fuzz_strndup(data, size < 200 ? size : 200);
	st = policy_check_org(p, probe, &why);
	FUZZ_ASSERT((st == KK_OK) == (why == NULL), "check_org: why");
	if (st == KK_OK)
		FUZZ_ASSERT(strlen(probe) > 0 && strlen(probe) <= 128,
		    "accepted an org of %zu bytes", strlen(probe));
	st = policy_check_org(p, "NTRJP-1234567890123", &why);
	FUZZ_ASSERT((st == KK_OK) == (why == NULL), "check_org: why");
	if (policy_cn_ok(&p->profiles[0], probe))
		FUZZ_ASSERT(strlen(probe) <= 64, "accepted a CN of %zu bytes",
		    strlen(probe));
	FUZZ_ASSERT(policy_check_org(p, NULL, &why) == KK_EINVAL, "NULL org");
	free(probe);
	policy_free(p);
	return 0;
}
