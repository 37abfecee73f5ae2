/*
 * test_policy.c - the policy loader and its checks.
 *
 * Invalid policies are made from policy/default.json by changing exactly
 * one thing, so that each test fails only because of that change.
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "policy.h"

#define DEFAULT_POLICY KAKUIN_SOURCE_DIR "/policy/default.json"

static cJSON *
default_doc(void)
{
	char buf[70000];
	size_t n;
	FILE *f;
	cJSON *doc;

	f = fopen(DEFAULT_POLICY, "r");
	cr_assert_not_null(f, "cannot open %s", DEFAULT_POLICY);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	doc = cJSON_Parse(buf);
	cr_assert_not_null(doc);
	return doc;
}

static cJSON *
profile0(cJSON *doc)
{
	return cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(doc, "profiles"), 0);
}

static cJSON *
member(cJSON *doc, const char *name)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, name);

	cr_assert_not_null(m, "no member %s", name);
	return m;
}

/* Replaces or adds obj's member name; takes ownership of v. */
static void
set(cJSON *obj, const char *name, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
	else
		cJSON_AddItemToObject(obj, name, v);
}

static cJSON *
strings(const char *a, const char *b)
{
	const char *v[2] = {a, b};

	return cJSON_CreateStringArray(v, b ? 2 : 1);
}

/* A temporary file holding len bytes of text; caller unlinks and frees. */
static char *
write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/kakuin-policy-XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static char *
write_doc(const cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc), *path;

	cr_assert_not_null(text);
	path = write_temp(text, strlen(text));
	cJSON_free(text);
	return path;
}

/*
 * Loads the text and expects status want with an error that starts with
 * the file name and contains part1 and, unless NULL, part2.
 */
static void
expect_text_error(const char *text, size_t len, enum kk_status want,
    const char *part1, const char *part2)
{
	struct policy *p = (struct policy *)1;
	char *path = write_temp(text, len), *err = NULL;
	enum kk_status st;

	st = policy_load(path, &p, &err);
	cr_assert_eq(st, want, "status %s, want %s (%s)", kk_strerror(st),
	    kk_strerror(want), err ? err : "no error text");
	cr_assert_null(p);
	cr_assert_not_null(err);
	cr_assert(strncmp(err, path, strlen(path)) == 0 &&
	              strncmp(err + strlen(path), ": ", 2) == 0,
	    "error does not name the file: %s", err);
	cr_assert_not_null(
	    strstr(err, part1), "\"%s\" not in \"%s\"", part1, err);
	if (part2 != NULL)
		cr_assert_not_null(
		    strstr(err, part2), "\"%s\" not in \"%s\"", part2, err);
	free(err);
	unlink(path);
	free(path);
}

/* Expects doc (deleted here) to be refused with field and msg. */
static void
expect_error(cJSON *doc, const char *field, const char *msg)
{
	char *text = cJSON_PrintUnformatted(doc), field_colon[128];

	cr_assert_not_null(text);
	snprintf(field_colon, sizeof(field_colon), ": %s: ", field);
	expect_text_error(text, strlen(text), KK_EINVAL, field_colon, msg);
	cJSON_free(text);
	cJSON_Delete(doc);
}

/* Loads doc (deleted here), which must be valid. */
static struct policy *
load_doc(cJSON *doc)
{
	struct policy *p = NULL;
	char *path = write_doc(doc), *err = NULL;
	enum kk_status st;

	st = policy_load(path, &p, &err);
	cr_assert_eq(st, KK_OK, "%s", err ? err : kk_strerror(st));
	cr_assert_null(err);
	cr_assert_not_null(p);
	unlink(path);
	free(path);
	cJSON_Delete(doc);
	return p;
}

Test(policy, default_loads)
{
	const struct policy_profile *pr;
	struct policy *p = NULL;
	char *err = NULL;

	cr_assert_eq(policy_load(DEFAULT_POLICY, &p, &err), KK_OK, "%s", err);
	cr_assert_null(err);
	cr_assert_str_eq(p->org_pattern, "^NTRJP-[0-9]{13}$");
	cr_assert_eq(p->ntrjp_check_digit, 1);
	cr_assert_eq(p->methods, POLICY_METHOD_PHONE | POLICY_METHOD_DOCUMENT);
	cr_assert_eq(p->verification_lifetime_days, 397);
	cr_assert_eq(p->approvals_required, 1);
	cr_assert_eq(p->eab_required, 0);
	cr_assert_eq(p->orders_per_account_per_hour, 300);
	cr_assert_eq(p->new_accounts_per_ip_per_hour, 100);
	cr_assert_eq(p->order_lifetime_hours, 168);
	cr_assert_null(p->terms_of_service);
	cr_assert_null(p->website);
	cr_assert_not_null(strstr(p->instructions, "call"));
	cr_assert_eq(p->n_profiles, 1);
	pr = &p->profiles[0];
	cr_assert_str_eq(pr->name, "client");
	cr_assert_gt(strlen(pr->description), 0);
	cr_assert_eq(pr->validity_days, 90);
	cr_assert_eq(pr->key_types,
	    POLICY_KEY_EC_P256 | POLICY_KEY_EC_P384 | POLICY_KEY_RSA_2048 |
	        POLICY_KEY_RSA_3072 | POLICY_KEY_RSA_4096 | POLICY_KEY_ED25519);
	cr_assert_str_eq(pr->cn_pattern, "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$");
	cr_assert_eq(pr->eku, POLICY_EKU_CLIENT);
	cr_assert_eq(pr->identifiers, POLICY_ID_ORG | POLICY_ID_DNS);
	cr_assert_eq(pr->mixed, 1);
	cr_assert_eq(pr->dns_unbound, 0);
	policy_free(p);
}

Test(policy, defaults_for_optional_fields)
{
	cJSON *doc = default_doc(), *pr = profile0(doc);
	struct policy *p;

	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "org_identifier"), "ntrjp_check_digit");
	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "verification"), "lifetime_days");
	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "verification"), "approvals_required");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "order_lifetime_hours");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "eab_required");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "terms_of_service");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "website");
	cJSON_DeleteItemFromObjectCaseSensitive(pr, "description");
	cJSON_DeleteItemFromObjectCaseSensitive(pr, "eku");
	p = load_doc(doc);
	cr_assert_eq(p->ntrjp_check_digit, 1);
	cr_assert_eq(p->verification_lifetime_days, 397);
	cr_assert_eq(p->approvals_required, 1);
	cr_assert_eq(p->order_lifetime_hours, 168);
	cr_assert_eq(p->eab_required, 0);
	cr_assert_null(p->terms_of_service);
	cr_assert_str_eq(p->profiles[0].description, "");
	policy_free(p);
}

Test(policy, non_default_values)
{
	cJSON *doc = default_doc(), *pr2;
	const struct policy_profile *pr;
	struct policy *p;

	set(member(doc, "verification"), "approvals_required",
	    cJSON_CreateNumber(2));
	set(member(doc, "verification"), "lifetime_days",
	    cJSON_CreateNumber(825));
	set(member(doc, "verification"), "methods", strings("document", NULL));
	set(member(doc, "org_identifier"), "ntrjp_check_digit",
	    cJSON_CreateFalse());
	set(doc, "eab_required", cJSON_CreateTrue());
	set(member(doc, "rate_limits"), "orders_per_account_per_hour",
	    cJSON_CreateNumber(0));
	set(doc, "order_lifetime_hours", cJSON_CreateNumber(24));
	set(doc, "terms_of_service",
	    cJSON_CreateString("https://ca.example/terms"));
	set(doc, "website", cJSON_CreateString("http://ca.example"));
	pr2 = cJSON_Duplicate(profile0(doc), 1);
	set(pr2, "name", cJSON_CreateString("short-lived"));
	set(pr2, "validity_days", cJSON_CreateNumber(1));
	set(pr2, "key_types", strings("ed25519", "ec-p384"));
	cJSON_AddItemToArray(member(doc, "profiles"), pr2);
	p = load_doc(doc);
	cr_assert_eq(p->approvals_required, 2);
	cr_assert_eq(p->verification_lifetime_days, 825);
	cr_assert_eq(p->methods, POLICY_METHOD_DOCUMENT);
	cr_assert_eq(p->ntrjp_check_digit, 0);
	cr_assert_eq(p->eab_required, 1);
	cr_assert_eq(p->orders_per_account_per_hour, 0);
	cr_assert_eq(p->order_lifetime_hours, 24);
	cr_assert_str_eq(p->terms_of_service, "https://ca.example/terms");
	cr_assert_str_eq(p->website, "http://ca.example");
	cr_assert_eq(p->n_profiles, 2);
	cr_assert_eq(policy_profile(p, NULL), &p->profiles[0]);
	cr_assert_eq(policy_profile(p, "client"), &p->profiles[0]);
	pr = policy_profile(p, "short-lived");
	cr_assert_eq(pr, &p->profiles[1]);
	cr_assert_eq(pr->validity_days, 1);
	cr_assert_eq(pr->key_types, POLICY_KEY_ED25519 | POLICY_KEY_EC_P384);
	cr_assert_null(policy_profile(p, "Client"));
	cr_assert_null(policy_profile(p, "nope"));
	policy_free(p);
}

/* Each refused field: the error names it. */

Test(policy, approvals_out_of_range)
{
	cJSON *doc = default_doc();

	set(member(doc, "verification"), "approvals_required",
	    cJSON_CreateNumber(3));
	expect_error(doc, "verification.approvals_required", "must be 1 or 2");
	doc = default_doc();
	set(member(doc, "verification"), "approvals_required",
	    cJSON_CreateNumber(0));
	expect_error(doc, "verification.approvals_required", "must be 1 or 2");
}

Test(policy, validity_out_of_range)
{
	cJSON *doc = default_doc();

	set(profile0(doc), "validity_days", cJSON_CreateNumber(0));
	expect_error(doc, "profiles[0].validity_days", "1 to 825");
	doc = default_doc();
	set(profile0(doc), "validity_days", cJSON_CreateNumber(826));
	expect_error(doc, "profiles[0].validity_days", "1 to 825");
	doc = default_doc();
	set(profile0(doc), "validity_days", cJSON_CreateNumber(90.5));
	expect_error(doc, "profiles[0].validity_days", "integer");
	doc = default_doc();
	set(profile0(doc), "validity_days", cJSON_CreateNumber(1e300));
	expect_error(doc, "profiles[0].validity_days", "integer");
}

Test(policy, lifetimes_out_of_range)
{
	cJSON *doc = default_doc();

	set(member(doc, "verification"), "lifetime_days",
	    cJSON_CreateNumber(0));
	expect_error(doc, "verification.lifetime_days", "1 to 825");
	doc = default_doc();
	set(member(doc, "verification"), "lifetime_days",
	    cJSON_CreateNumber(826));
	expect_error(doc, "verification.lifetime_days", "1 to 825");
	doc = default_doc();
	set(doc, "order_lifetime_hours", cJSON_CreateNumber(0));
	expect_error(doc, "order_lifetime_hours", "integer");
}

Test(policy, negative_rate_limit)
{
	cJSON *doc = default_doc();

	set(member(doc, "rate_limits"), "orders_per_account_per_hour",
	    cJSON_CreateNumber(-1));
	expect_error(
	    doc, "rate_limits.orders_per_account_per_hour", "at least 0");
	doc = default_doc();
	set(member(doc, "rate_limits"), "new_accounts_per_ip_per_hour",
	    cJSON_CreateNumber((double)INT_MAX + 1));
	expect_error(
	    doc, "rate_limits.new_accounts_per_ip_per_hour", "at least 0");
	doc = default_doc();
	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "rate_limits"), "new_accounts_per_ip_per_hour");
	expect_error(
	    doc, "rate_limits.new_accounts_per_ip_per_hour", "required");
}

Test(policy, unknown_key_type)
{
	cJSON *doc = default_doc();

	cJSON_AddItemToArray(
	    member(profile0(doc), "key_types"), cJSON_CreateString("rsa-1024"));
	expect_error(doc, "profiles[0].key_types[6]", "\"rsa-1024\"");
	doc = default_doc();
	set(profile0(doc), "key_types", strings("EC-P256", NULL));
	expect_error(doc, "profiles[0].key_types[0]", "unknown key type");
	doc = default_doc();
	set(profile0(doc), "key_types", strings("ec-p256", "ec-p256"));
	expect_error(doc, "profiles[0].key_types[1]", "twice");
	doc = default_doc();
	set(profile0(doc), "key_types", cJSON_CreateArray());
	expect_error(doc, "profiles[0].key_types", "empty");
}

Test(policy, bad_method)
{
	cJSON *doc = default_doc();

	set(member(doc, "verification"), "methods", strings("phone", "fax"));
	expect_error(doc, "verification.methods[1]", "\"fax\"");
	doc = default_doc();
	set(member(doc, "verification"), "methods", cJSON_CreateArray());
	expect_error(doc, "verification.methods", "empty");
}

Test(policy, bad_regex)
{
	char want[128], big[1026];
	struct policy *p;
	regex_t re;
	cJSON *doc;
	int rc;

	/* The message carries regerror's own words for the fault. */
	rc = regcomp(&re, "[a-", REG_EXTENDED | REG_NOSUB);
	cr_assert_neq(rc, 0);
	regerror(rc, &re, want, sizeof(want));
	doc = default_doc();
	set(profile0(doc), "cn_pattern", cJSON_CreateString("[a-"));
	expect_error(doc, "profiles[0].cn_pattern", want);

	doc = default_doc();
	set(member(doc, "org_identifier"), "pattern",
	    cJSON_CreateString("NTRJP-(["));
	expect_error(doc, "org_identifier.pattern", "regular expression");

	/* Balanced only once wrapped in ^( )$: must still be refused. */
	doc = default_doc();
	set(member(doc, "org_identifier"), "pattern",
	    cJSON_CreateString("a)(b"));
	expect_error(doc, "org_identifier.pattern", "regular expression");

	doc = default_doc();
	set(profile0(doc), "cn_pattern", cJSON_CreateString(""));
	expect_error(doc, "profiles[0].cn_pattern", "empty");
	doc = default_doc();
	set(profile0(doc), "cn_pattern", cJSON_CreateString("(a)\\1"));
	expect_error(doc, "profiles[0].cn_pattern", "back-references");
	doc = default_doc();
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set(profile0(doc), "cn_pattern", cJSON_CreateString(big));
	expect_error(doc, "profiles[0].cn_pattern", "1 to 1024 bytes");
	big[1024] = '\0';
	doc = default_doc();
	set(profile0(doc), "cn_pattern", cJSON_CreateString(big));
	p = load_doc(doc);
	cr_assert_str_eq(p->profiles[0].cn_pattern, big);
	policy_free(p);
}

Test(policy, unknown_fields)
{
	cJSON *doc = default_doc();

	cJSON_AddNumberToObject(doc, "aprovals_required", 2);
	expect_error(doc, "aprovals_required", "unknown field");
	doc = default_doc();
	cJSON_AddNumberToObject(
	    member(doc, "verification"), "aprovals_required", 2);
	expect_error(doc, "verification.aprovals_required", "unknown field");
	doc = default_doc();
	cJSON_AddTrueToObject(member(doc, "org_identifier"), "check_digit");
	expect_error(doc, "org_identifier.check_digit", "unknown field");
	doc = default_doc();
	cJSON_AddNumberToObject(
	    member(doc, "rate_limits"), "orders_per_day", 1);
	expect_error(doc, "rate_limits.orders_per_day", "unknown field");
	doc = default_doc();
	cJSON_AddStringToObject(profile0(doc), "ekus", "clientAuth");
	expect_error(doc, "profiles[0].ekus", "unknown field");
	/* Names are case-sensitive. */
	doc = default_doc();
	cJSON_AddFalseToObject(doc, "EAB_required");
	expect_error(doc, "EAB_required", "unknown field");
}

Test(policy, repeated_field)
{
	cJSON *doc = default_doc();
	char *text;

	/* cJSON adds without checking, as a hand-edited file may repeat. */
	cJSON_AddNumberToObject(
	    member(doc, "verification"), "approvals_required", 2);
	text = cJSON_PrintUnformatted(doc);
	cr_assert_not_null(text);
	expect_text_error(text, strlen(text), KK_EINVAL,
	    "a name repeated within an object", NULL);
	cJSON_free(text);
	cJSON_Delete(doc);
}

Test(policy, unknown_field_name_is_sanitized)
{
	cJSON *doc = default_doc();
	char *text, *path, *err = NULL;
	struct policy *p = NULL;

	cJSON_AddNumberToObject(doc, "bad\x1b[2Jname", 1);
	text = cJSON_PrintUnformatted(doc);
	path = write_temp(text, strlen(text));
	cr_assert_eq(policy_load(path, &p, &err), KK_EINVAL);
	cr_assert_not_null(
	    strstr(err, "bad?[2Jname: unknown field"), "%s", err);
	cr_assert_null(strchr(err, '\x1b'));
	free(err);
	unlink(path);
	free(path);
	cJSON_free(text);
	cJSON_Delete(doc);
}

Test(policy, wrong_types)
{
	cJSON *doc = default_doc();

	set(doc, "eab_required", cJSON_CreateString("no"));
	expect_error(doc, "eab_required", "true or false");
	doc = default_doc();
	set(member(doc, "org_identifier"), "ntrjp_check_digit",
	    cJSON_CreateNumber(1));
	expect_error(doc, "org_identifier.ntrjp_check_digit", "true or false");
	doc = default_doc();
	set(member(doc, "verification"), "lifetime_days",
	    cJSON_CreateString("397"));
	expect_error(doc, "verification.lifetime_days", "integer");
	doc = default_doc();
	set(doc, "verification", strings("phone", NULL));
	expect_error(doc, "verification", "must be an object");
	doc = default_doc();
	set(doc, "profiles", cJSON_CreateObject());
	expect_error(doc, "profiles", "must be an array");
	doc = default_doc();
	cJSON_AddItemToArray(member(doc, "profiles"), cJSON_CreateString("x"));
	expect_error(doc, "profiles[1]", "must be an object");
	doc = default_doc();
	set(doc, "instructions", cJSON_CreateNumber(1));
	expect_error(doc, "instructions", "must be a string");
	doc = default_doc();
	set(doc, "instructions", cJSON_CreateString(""));
	expect_error(doc, "instructions", "empty");
	doc = default_doc();
	set(profile0(doc), "key_types", cJSON_CreateString("ec-p256"));
	expect_error(doc, "profiles[0].key_types", "must be an array");
	doc = default_doc();
	set(profile0(doc), "name", cJSON_CreateNull());
	expect_error(doc, "profiles[0].name", "must be a string");
	doc = default_doc();
	set(member(doc, "verification"), "methods",
	    cJSON_CreateIntArray((const int[]){1}, 1));
	expect_error(doc, "verification.methods[0]", "must be a string");
}

Test(policy, bad_urls)
{
	cJSON *doc = default_doc();

	set(doc, "terms_of_service", cJSON_CreateString("ftp://ca.example/"));
	expect_error(doc, "terms_of_service", "URL");
	doc = default_doc();
	set(doc, "website", cJSON_CreateString("https://"));
	expect_error(doc, "website", "URL");
	doc = default_doc();
	set(doc, "website", cJSON_CreateString("https://ca.example/a b"));
	expect_error(doc, "website", "spaces");
	doc = default_doc();
	set(doc, "website", cJSON_CreateNumber(1));
	expect_error(doc, "website", "string or null");
}

Test(policy, missing_required)
{
	static const char *const top[] = {"org_identifier", "verification",
	    "rate_limits", "instructions", "profiles"};
	static const char *const prof[] = {
	    "name", "validity_days", "key_types", "cn_pattern"};
	char field[64];
	cJSON *doc;
	size_t i;

	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		doc = default_doc();
		cJSON_DeleteItemFromObjectCaseSensitive(doc, top[i]);
		expect_error(doc, top[i], "is required");
	}
	for (i = 0; i < sizeof(prof) / sizeof(prof[0]); i++) {
		doc = default_doc();
		cJSON_DeleteItemFromObjectCaseSensitive(profile0(doc), prof[i]);
		snprintf(field, sizeof(field), "profiles[0].%s", prof[i]);
		expect_error(doc, field, "is required");
	}
	doc = default_doc();
	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "org_identifier"), "pattern");
	expect_error(doc, "org_identifier.pattern", "is required");
	doc = default_doc();
	cJSON_DeleteItemFromObjectCaseSensitive(
	    member(doc, "verification"), "methods");
	expect_error(doc, "verification.methods", "is required");
	doc = default_doc();
	set(doc, "profiles", cJSON_CreateArray());
	expect_error(doc, "profiles", "must not be empty");
}

Test(policy, profile_names)
{
	cJSON *doc = default_doc();

	cJSON_AddItemToArray(
	    member(doc, "profiles"), cJSON_Duplicate(profile0(doc), 1));
	expect_error(doc, "profiles[1].name",
	    "\"client\" is already the name of profiles[0]");
	doc = default_doc();
	set(profile0(doc), "name", cJSON_CreateString("my profile"));
	expect_error(doc, "profiles[0].name", "letters, digits");
	doc = default_doc();
	set(profile0(doc), "name",
	    cJSON_CreateString("a123456789012345678901234567890123456789"
	                       "0123456789012345678901234"));
	expect_error(doc, "profiles[0].name", "1 to 64");
}

Test(policy, eku_names)
{
	cJSON *doc = default_doc();
	struct policy *p;

	set(profile0(doc), "eku", strings("serverAuth", "clientAuth"));
	p = load_doc(doc);
	cr_assert_eq(p->profiles[0].eku, POLICY_EKU_CLIENT | POLICY_EKU_SERVER);
	policy_free(p);
	doc = default_doc();
	set(profile0(doc), "eku", strings("codeSigning", NULL));
	expect_error(doc, "profiles[0].eku[0]", "\"codeSigning\"");
	doc = default_doc();
	set(profile0(doc), "eku", strings("clientAuth", "clientAuth"));
	expect_error(doc, "profiles[0].eku[1]", "twice");
	doc = default_doc();
	set(profile0(doc), "eku", cJSON_CreateArray());
	expect_error(doc, "profiles[0].eku", "empty");
}

Test(policy, identifier_types_of_a_profile)
{
	cJSON *doc = default_doc();
	struct policy *p;

	cJSON_DeleteItemFromObjectCaseSensitive(profile0(doc), "identifiers");
	cJSON_DeleteItemFromObjectCaseSensitive(profile0(doc), "mixed");
	p = load_doc(doc);
	cr_assert_eq(p->profiles[0].identifiers, POLICY_ID_ORG);
	cr_assert_eq(p->profiles[0].mixed, 0);
	policy_free(p);
	doc = default_doc();
	set(profile0(doc), "identifiers", strings("dns", NULL));
	set(profile0(doc), "mixed", cJSON_CreateFalse());
	set(profile0(doc), "dns_unbound_accounts", cJSON_CreateTrue());
	p = load_doc(doc);
	cr_assert_eq(p->profiles[0].identifiers, POLICY_ID_DNS);
	cr_assert_eq(p->profiles[0].dns_unbound, 1);
	policy_free(p);
	doc = default_doc();
	set(profile0(doc), "identifiers", strings("ip", NULL));
	expect_error(doc, "profiles[0].identifiers[0]", "\"ip\"");
	doc = default_doc();
	set(profile0(doc), "identifiers", strings("dns", NULL));
	expect_error(doc, "profiles[0]", "mixed");
	doc = default_doc();
	set(profile0(doc), "identifiers", strings("org", NULL));
	set(profile0(doc), "mixed", cJSON_CreateFalse());
	set(profile0(doc), "dns_unbound_accounts", cJSON_CreateTrue());
	expect_error(doc, "profiles[0]", "dns_unbound_accounts");
	doc = default_doc();
	set(profile0(doc), "mixed", cJSON_CreateString("yes"));
	expect_error(doc, "profiles[0].mixed", "true or false");
}

Test(policy, file_size_limit)
{
	cJSON *doc = default_doc();
	char *text, *pad, *path, *err = NULL;
	struct policy *p = NULL;
	size_t base, len;

	/* Pad the instructions so that the file is exactly 65536 bytes. */
	set(doc, "instructions", cJSON_CreateString("x"));
	text = cJSON_PrintUnformatted(doc);
	base = strlen(text);
	cJSON_free(text);
	pad = malloc(65536 - base + 2);
	cr_assert_not_null(pad);
	memset(pad, 'x', 65536 - base + 1);
	pad[65536 - base + 1] = '\0';
	set(doc, "instructions", cJSON_CreateString(pad));
	free(pad);
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	len = strlen(text);
	cr_assert_eq(len, 65536);
	path = write_temp(text, len);
	cr_assert_eq(policy_load(path, &p, &err), KK_OK, "%s", err);
	cr_assert_eq(strlen(p->instructions), 65536 - base + 1);
	policy_free(p);
	unlink(path);
	free(path);

	/* One more byte (trailing whitespace, still valid JSON) is refused. */
	pad = malloc(len + 1);
	cr_assert_not_null(pad);
	memcpy(pad, text, len);
	pad[len] = ' ';
	cJSON_free(text);
	expect_text_error(pad, len + 1, KK_ETOOBIG, "larger than 65536", NULL);
	free(pad);
}

Test(policy, not_json)
{
	static const char *const bad[] = {
	    "", "{\"org_identifier\": ", "{} {}", "policy", "\xff\xfe{}"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_text_error(
		    bad[i], strlen(bad[i]), KK_EINVAL, "not valid JSON", NULL);
	expect_text_error("[]", 2, KK_EINVAL, "must be a JSON object", NULL);
	expect_text_error(
	    "{}", 2, KK_EINVAL, "org_identifier: is required", NULL);
}

Test(policy, missing_file)
{
	struct policy *p = (struct policy *)1;
	char *err = NULL;

	cr_assert_eq(
	    policy_load("/nonexistent/kakuin/policy.json", &p, &err), KK_EIO);
	cr_assert_null(p);
	cr_assert_str_eq(err, "/nonexistent/kakuin/policy.json: cannot open: "
	                      "No such file or directory");
	free(err);
	cr_assert_eq(policy_load("/tmp", &p, &err), KK_EIO);
	cr_assert_not_null(strstr(err, "/tmp: "), "%s", err);
	free(err);
}

Test(policy, err_may_be_null)
{
	struct policy *p = NULL;

	cr_assert_eq(
	    policy_load("/nonexistent/kakuin/policy.json", &p, NULL), KK_EIO);
	cr_assert_null(p);
	policy_free(NULL);
}

/* The check digit. */

Test(ntrjp, spec_examples)
{
	cr_assert(policy_ntrjp_valid("9234567890123"));
	cr_assert(policy_ntrjp_valid("7000012050002"));
	cr_assert_not(policy_ntrjp_valid("1234567890123"));
}

Test(ntrjp, malformed)
{
	cr_assert_not(policy_ntrjp_valid(NULL));
	cr_assert_not(policy_ntrjp_valid(""));
	cr_assert_not(policy_ntrjp_valid("923456789012"));
	cr_assert_not(policy_ntrjp_valid("92345678901230"));
	cr_assert_not(policy_ntrjp_valid("923456789012a"));
	cr_assert_not(policy_ntrjp_valid("92345 7890123"));
	cr_assert_not(policy_ntrjp_valid("+234567890123"));
}

/*
 * Computed another way: the digits' plain sum is congruent to the number
 * itself modulo 9, so sum(Pn * Qn) = T + (digits at even n) (mod 9), with
 * T the twelve-digit tail as an integer and the even-n digits taken out of
 * it by division.
 */
static unsigned
expected_check_digit(unsigned long long tail)
{
	unsigned long long rest = tail / 10;
	unsigned even = 0;

	while (rest > 0) {
		even += (unsigned)(rest % 10);
		rest /= 100;
	}
	return 9 - (unsigned)((tail % 9 + even) % 9);
}

Test(ntrjp, exactly_one_first_digit_per_tail)
{
	unsigned long long x = 88172645463325252ULL, tail;
	char digits[14];
	unsigned d, expect, passes, i;

	for (i = 0; i < 5000; i++) {
		/* xorshift64: reproducible pseudo-random tails */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		tail = x % 1000000000000ULL;
		if (i < 3)
			tail = i == 0 ? 0 : i == 1 ? 999999999999ULL : 1;
		expect = expected_check_digit(tail);
		cr_assert(expect >= 1 && expect <= 9);
		passes = 0;
		for (d = 0; d <= 9; d++) {
			snprintf(digits, sizeof(digits), "%u%012llu", d, tail);
			if (policy_ntrjp_valid(digits)) {
				passes++;
				cr_assert_eq(d, expect, "%s", digits);
			}
		}
		cr_assert_eq(passes, 1, "tail %012llu", tail);
	}
}

/* Organization identifiers under the default policy. */

static struct policy *
load_default(void)
{
	struct policy *p = NULL;
	char *err = NULL;

	cr_assert_eq(policy_load(DEFAULT_POLICY, &p, &err), KK_OK, "%s", err);
	return p;
}

Test(org, default_policy)
{
	static const char *const good[] = {
	    "NTRJP-9234567890123", "NTRJP-7000012050002"};
	static const char *const mismatch[] = {"NTRJP-923456789012",
	    "NTRJP-92345678901234", "ntrjp-9234567890123",
	    "XNTRJP-9234567890123", "NTRJP-9234567890123\n", "VATDE-123456789",
	    "NTRJP-923456789012a", " NTRJP-9234567890123"};
	struct policy *p = load_default();
	const char *why = "unset";
	char longv[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(
		    policy_check_org(p, good[i], &why), KK_OK, "%s", good[i]);
		cr_assert_null(why);
	}
	for (i = 0; i < sizeof(mismatch) / sizeof(mismatch[0]); i++) {
		cr_assert_eq(policy_check_org(p, mismatch[i], &why), KK_EINVAL,
		    "%s", mismatch[i]);
		cr_assert_not_null(strstr(why, "pattern"), "%s", why);
	}
	cr_assert_eq(
	    policy_check_org(p, "NTRJP-1234567890123", &why), KK_EINVAL);
	cr_assert_not_null(strstr(why, "check digit"));
	cr_assert_eq(
	    policy_check_org(p, "NTRJP-1234567890123", NULL), KK_EINVAL);
	cr_assert_eq(policy_check_org(p, "", &why), KK_EINVAL);
	cr_assert_eq(policy_check_org(p, NULL, &why), KK_EINVAL);
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	cr_assert_eq(policy_check_org(p, longv, &why), KK_EINVAL);
	cr_assert_not_null(strstr(why, "too long"));
	policy_free(p);
}

Test(org, check_digit_off)
{
	cJSON *doc = default_doc();
	const char *why;
	struct policy *p;

	set(member(doc, "org_identifier"), "ntrjp_check_digit",
	    cJSON_CreateFalse());
	p = load_doc(doc);
	cr_assert_eq(policy_check_org(p, "NTRJP-1234567890123", &why), KK_OK);
	cr_assert_eq(policy_check_org(p, "NTRJP-9234567890123", &why), KK_OK);
	cr_assert_eq(policy_check_org(p, "NTRJP-12", &why), KK_EINVAL);
	policy_free(p);
}

Test(org, pattern_is_anchored_and_wider_patterns)
{
	cJSON *doc = default_doc();
	const char *why;
	struct policy *p;

	/* No ^ or $: the loader anchors it anyway. Alternation stays whole. */
	set(member(doc, "org_identifier"), "pattern",
	    cJSON_CreateString("NTRJP-[0-9]{13}|VATDE-[0-9]{9}"));
	p = load_doc(doc);
	cr_assert_eq(policy_check_org(p, "NTRJP-9234567890123", &why), KK_OK);
	cr_assert_eq(policy_check_org(p, "VATDE-123456789", &why), KK_OK);
	cr_assert_eq(
	    policy_check_org(p, "xNTRJP-9234567890123", &why), KK_EINVAL);
	cr_assert_eq(
	    policy_check_org(p, "NTRJP-9234567890123x", &why), KK_EINVAL);
	cr_assert_eq(
	    policy_check_org(p, "VATDE-123456789-NTRJP-1", &why), KK_EINVAL);
	/* The check digit still applies to NTRJP- values. */
	cr_assert_eq(
	    policy_check_org(p, "NTRJP-1234567890123", &why), KK_EINVAL);
	cr_assert_not_null(strstr(why, "check digit"));
	policy_free(p);

	/* A pattern admitting other NTRJP- shapes: those fail the check. */
	doc = default_doc();
	set(member(doc, "org_identifier"), "pattern",
	    cJSON_CreateString("NTRJP-.*"));
	p = load_doc(doc);
	cr_assert_eq(policy_check_org(p, "NTRJP-92345678901", &why), KK_EINVAL);
	cr_assert_not_null(strstr(why, "check digit"));
	policy_free(p);
}

/* CN and key types. */

Test(cn, default_profile)
{
	struct policy *p = load_default();
	const struct policy_profile *pr = policy_profile(p, NULL);
	char cn[70];

	cr_assert_not_null(pr);
	cr_assert(policy_cn_ok(pr, "host-01.example"));
	cr_assert(policy_cn_ok(pr, "a"));
	cr_assert_not(policy_cn_ok(pr, ""));
	cr_assert_not(policy_cn_ok(pr, "-host"));
	cr_assert_not(policy_cn_ok(pr, ".host"));
	cr_assert_not(policy_cn_ok(pr, "host 01"));
	cr_assert_not(policy_cn_ok(pr, "host_01"));
	cr_assert_not(policy_cn_ok(pr, "host\n01"));
	cr_assert_not(policy_cn_ok(pr, "h\xc3\xa9te"));
	cr_assert_not(policy_cn_ok(pr, NULL));
	cr_assert_not(policy_cn_ok(NULL, "host"));
	memset(cn, 'a', sizeof(cn));
	cn[63] = '\0';
	cr_assert(policy_cn_ok(pr, cn));
	cn[63] = 'a';
	cn[64] = '\0';
	cr_assert_not(policy_cn_ok(pr, cn));
	policy_free(p);
}

Test(cn, pattern_is_anchored)
{
	cJSON *doc = default_doc();
	struct policy *p;
	char cn[70];

	set(profile0(doc), "cn_pattern", cJSON_CreateString("[a-z]+"));
	p = load_doc(doc);
	cr_assert(policy_cn_ok(&p->profiles[0], "abc"));
	cr_assert_not(policy_cn_ok(&p->profiles[0], "abc1"));
	cr_assert_not(policy_cn_ok(&p->profiles[0], "1abc"));
	/* Whatever the pattern, a CN is at most 64 bytes (RFC 5280). */
	memset(cn, 'a', sizeof(cn));
	cn[64] = '\0';
	cr_assert(policy_cn_ok(&p->profiles[0], cn));
	cn[64] = 'a';
	cn[65] = '\0';
	cr_assert_not(policy_cn_ok(&p->profiles[0], cn));
	policy_free(p);
}

Test(key, bits)
{
	static const char *const names[] = {"ec-p256", "ec-p384", "rsa-2048",
	    "rsa-3072", "rsa-4096", "ed25519"};
	static const unsigned bits[] = {POLICY_KEY_EC_P256, POLICY_KEY_EC_P384,
	    POLICY_KEY_RSA_2048, POLICY_KEY_RSA_3072, POLICY_KEY_RSA_4096,
	    POLICY_KEY_ED25519};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_eq(policy_key_bit(names[i]), bits[i], "%s", names[i]);
	cr_assert_eq(policy_key_bit("rsa-1024"), 0);
	cr_assert_eq(policy_key_bit("EC-P256"), 0);
	cr_assert_eq(policy_key_bit("ec-p256 "), 0);
	cr_assert_eq(policy_key_bit(""), 0);
	cr_assert_eq(policy_key_bit(NULL), 0);
}
