/*
 * fuzz_csr: csr_parse on DER. An accepted CSR has a key of a named class
 * that csr_key_type agrees on, a self-signature that OpenSSL verifies
 * independently, at most one organizationIdentifier and CN whose values
 * are the ones returned, bounded and free of control characters; and the
 * policy checks on those values (policy_check_org, policy_cn_ok) are safe
 * to call on whatever a CSR carries.
 */
#include <openssl/x509.h>

#include "fuzz_common.h"

#include "csr.h"
#include "policy.h"

static struct policy *pol;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *path = NULL, *err = NULL;

	FUZZ_ASSERT(
	    asprintf(&path, "%s/policy.json", fuzz_tmpdir()) > 0, "oom");
	fuzz_write(path, FUZZ_POLICY, strlen(FUZZ_POLICY));
	FUZZ_ASSERT(policy_load(path, &pol, &err) == KK_OK, "policy: %s",
	    err ? err : "?");
	free(path);
	return 0;
}

static void
check_text(const char *what, const char *v, size_t max)
{
	size_t n = strlen(v);

	FUZZ_ASSERT(n > 0 && n <= max, "%s of %zu bytes", what, n);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)v[i] >= 0x20 && v[i] != 0x7f,
		    "%s holds control character 0x%02x", what, v[i]);
}

/* How many times nid appears in the subject. */
static int
count_nid(const X509_NAME *name, int nid)
{
	int n = 0, i = -1;

	while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0)
		n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"ec-p256", "ec-p384", "rsa-2048",
	    "rsa-3072", "rsa-4096", "ed25519"};
	const struct policy_profile *pr;
	struct csr_info info;
	const unsigned char *p = data;
	const char *type = NULL, *why = NULL;
	X509_REQ *req = NULL;
	enum kk_status st;
	size_t i;

	st = csr_parse(data, size, &info);
	if (st != KK_OK) {
		FUZZ_ASSERT(
		    info.key == NULL && info.org_id == NULL && info.cn == NULL,
		    "output on failure");
		return 0;
	}
	FUZZ_ASSERT(info.key != NULL && info.key_type != NULL, "no key");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i], info.key_type) == 0)
			break;
	FUZZ_ASSERT(
	    i < sizeof(types) / sizeof(types[0]), "key type %s", info.key_type);
	FUZZ_ASSERT(csr_key_type(info.key, &type) == KK_OK &&
	                strcmp(type, info.key_type) == 0,
	    "csr_key_type disagrees");
	FUZZ_ASSERT(policy_key_bit(info.key_type) != 0, "unknown to policy");

	req = d2i_X509_REQ(NULL, &p, (long)size);
	FUZZ_ASSERT(req != NULL && p == data + size, "OpenSSL cannot read it");
	FUZZ_ASSERT(X509_REQ_verify(req, info.key) == 1,
	    "accepted a CSR whose signature does not verify");
	FUZZ_ASSERT(count_nid(X509_REQ_get_subject_name(req),
	                NID_organizationIdentifier) == (info.org_id != NULL),
	    "organizationIdentifier count");
	FUZZ_ASSERT(count_nid(X509_REQ_get_subject_name(req), NID_commonName) ==
	                (info.cn != NULL),
	    "commonName count");
	if (info.org_id != NULL) {
		check_text("organizationIdentifier", info.org_id, 128);
		st = policy_check_org(pol, info.org_id, &why);
		FUZZ_ASSERT((st == KK_OK) == (why == NULL), "check_org why");
	}
	if (info.cn != NULL) {
		check_text("commonName", info.cn, 64);
		pr = policy_profile(pol, NULL);
		FUZZ_ASSERT(pr != NULL, "no default profile");
		(void)policy_cn_ok(pr, info.cn);
	}
	X509_REQ_free(req);
	csr_info_clear(&info);
	FUZZ_ASSERT(info.key == NULL && info.org_id == NULL && info.cn == NULL,
	    "csr_info_clear");
	return 0;
}
