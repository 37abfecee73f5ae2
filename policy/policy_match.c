/*
 * policy_match.c - applying a loaded policy to values from requests:
 * organization identifiers, CNs, key types and profile names.
 */
#include <string.h>

#include "policy.h"

#define ORG_VALUE_MAX 128 /* far above any EN 319 412-1 identifier */
#define CN_MAX 64         /* ub-common-name, RFC 5280 */
#define NTRJP_PREFIX "NTRJP-"

static const struct {
	const char *name;
	unsigned bit;
} key_types[] = {
    {"ec-p256", POLICY_KEY_EC_P256},
    {"ec-p384", POLICY_KEY_EC_P384},
    {"rsa-2048", POLICY_KEY_RSA_2048},
    {"rsa-3072", POLICY_KEY_RSA_3072},
    {"rsa-4096", POLICY_KEY_RSA_4096},
    {"ed25519", POLICY_KEY_ED25519},
};

unsigned
policy_key_bit(const char *key_type)
{
	size_t i;

	if (key_type == NULL)
		return 0;
	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(key_types[i].name, key_type) == 0)
			return key_types[i].bit;
	return 0;
}

/*
 * The check digit comes first: 9 - (sum of Pn * Qn mod 9), Pn the n-th of
 * the other twelve digits counted from the right, Qn 1 for odd n and 2 for
 * even n. It is always 1..9, so a leading 0 never passes.
 */
int
policy_ntrjp_valid(const char *digits)
{
	unsigned sum = 0, n;
	size_t i;

	if (digits == NULL)
		return 0;
	/* Stops at the NUL of a short string, so never reads past it. */
	for (i = 0; i < 13; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
	if (digits[13] != '\0')
		return 0;
	for (n = 1; n <= 12; n++)
		sum += (unsigned)(digits[13 - n] - '0') * (n % 2 ? 1 : 2);
	return (unsigned)(digits[0] - '0') == 9 - sum % 9;
}

enum kk_status
policy_check_org(const struct policy *p, const char *value, const char **why)
{
	const char *reason = NULL;
	size_t len = value ? strnlen(value, ORG_VALUE_MAX + 1) : 0;

	if (len == 0)
		reason = "the organization identifier is empty";
	else if (len > ORG_VALUE_MAX)
		reason = "the organization identifier is too long";
	else if (regexec(&p->org_re, value, 0, NULL, 0) != 0)
		reason = "the organization identifier does not match the "
		         "policy's pattern";
	else if (p->ntrjp_check_digit &&
	         strncmp(value, NTRJP_PREFIX, strlen(NTRJP_PREFIX)) == 0 &&
	         !policy_ntrjp_valid(value + strlen(NTRJP_PREFIX)))
		reason = "the corporate number's check digit is wrong";
	if (why != NULL)
		*why = reason;
	return reason != NULL ? KK_EINVAL : KK_OK;
}

const struct policy_profile *
policy_profile(const struct policy *p, const char *name)
{
	size_t i;

	if (p == NULL || p->n_profiles == 0)
		return NULL;
	if (name == NULL)
		return &p->profiles[0];
	for (i = 0; i < p->n_profiles; i++)
		if (strcmp(p->profiles[i].name, name) == 0)
			return &p->profiles[i];
	return NULL;
}

int
policy_cn_ok(const struct policy_profile *pr, const char *cn)
{
	if (pr == NULL || cn == NULL || strnlen(cn, CN_MAX + 1) > CN_MAX)
		return 0;
	return regexec(&pr->cn_re, cn, 0, NULL, 0) == 0;
}
