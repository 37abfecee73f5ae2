/* Statuses and CRL reasons: names both ways, and who may ask for which. */
#include <criterion/criterion.h>

#include "acme_status.h"

Test(acme_status, names_round_trip)
{
	const char *names[] = {"pending", "ready", "processing", "valid",
	    "invalid", "deactivated", "expired", "revoked"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum acme_status st = acme_status_parse(names[i]);

		cr_assert_neq(st, ACME_STATUS_NONE, "%s", names[i]);
		cr_assert_str_eq(acme_status_name(st), names[i]);
	}
	cr_assert_eq(acme_status_parse(NULL), ACME_STATUS_NONE);
	cr_assert_eq(acme_status_parse("Valid"), ACME_STATUS_NONE);
	cr_assert_eq(acme_status_parse("unknown"), ACME_STATUS_NONE);
	cr_assert_str_eq(acme_status_name(ACME_STATUS_NONE), "unknown");
	cr_assert_str_eq(acme_status_name((enum acme_status)99), "unknown");
}

Test(acme_status, crl_reasons)
{
	int code = -1;

	cr_assert_eq(acme_crl_reason_parse("keyCompromise", &code), KK_OK);
	cr_assert_eq(code, ACME_CRL_KEY_COMPROMISE);
	cr_assert_str_eq(acme_crl_reason_name(9), "privilegeWithdrawn");
	cr_assert_str_eq(acme_crl_reason_name(7), "unspecified");
	cr_assert_str_eq(acme_crl_reason_name(-1), "unspecified");
	cr_assert_eq(
	    acme_crl_reason_parse("keycompromise", &code), KK_ENOTFOUND);
	cr_assert_eq(acme_crl_reason_parse(NULL, &code), KK_ENOTFOUND);
	/* Never a hold, removeFromCRL or 7; CA compromise only by operators. */
	for (int r = -1; r <= 11; r++) {
		int want = r >= 0 && r <= 10 && r != 6 && r != 7 && r != 8;

		cr_assert_eq(acme_crl_reason_allowed(r, 0), want, "%d", r);
		cr_assert_eq(acme_crl_reason_allowed(r, 1),
		    want && r != 2 && r != 10, "%d", r);
	}
}
