/* Nonces: single use, forgeries refused, memory bounded by the window. */
#include <string.h>

#include <criterion/criterion.h>

#include "nonce.h"

static struct nonce_pool *np;

static void
setup(void)
{
	cr_assert_eq(nonce_pool_new(&np), KK_OK);
}

static void
teardown(void)
{
	nonce_pool_free(np);
}

TestSuite(nonce, .init = setup, .fini = teardown);

Test(nonce, redeemed_once_only)
{
	char n[NONCE_LEN + 1];

	cr_assert_eq(nonce_issue(np, n), KK_OK);
	cr_assert_eq(strlen(n), NONCE_LEN);
	cr_assert_eq(nonce_redeem(np, n), KK_OK);
	cr_assert_eq(nonce_redeem(np, n), KK_EINVAL);
}

Test(nonce, distinct_and_in_any_order)
{
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	nonce_issue(np, a);
	nonce_issue(np, b);
	cr_assert_str_neq(a, b);
	cr_assert_eq(nonce_redeem(np, b), KK_OK);
	cr_assert_eq(nonce_redeem(np, a), KK_OK);
}

Test(nonce, forged_or_foreign_refused)
{
	char n[NONCE_LEN + 1];
	struct nonce_pool *other;

	nonce_issue(np, n);
	/* Flipping a character of the MAC or of the sequence number. */
	n[NONCE_LEN - 1] = n[NONCE_LEN - 1] == 'A' ? 'B' : 'A';
	cr_assert_eq(nonce_redeem(np, n), KK_EINVAL);
	nonce_issue(np, n);
	n[0] = n[0] == 'A' ? 'B' : 'A';
	cr_assert_eq(nonce_redeem(np, n), KK_EINVAL);
	/* Another pool (a previous run of the server) has another key. */
	cr_assert_eq(nonce_pool_new(&other), KK_OK);
	nonce_issue(other, n);
	cr_assert_eq(nonce_redeem(np, n), KK_EINVAL);
	nonce_pool_free(other);
	cr_assert_eq(nonce_redeem(np, ""), KK_EINVAL);
	cr_assert_eq(nonce_redeem(np, NULL), KK_EINVAL);
	cr_assert_eq(nonce_redeem(np, "AAAA"), KK_EINVAL);
}

Test(nonce, window_bounds_memory)
{
	char first[NONCE_LEN + 1], last[NONCE_LEN + 1], n[NONCE_LEN + 1];

	nonce_issue(np, first);
	for (int i = 0; i < NONCE_WINDOW - 1; i++)
		nonce_issue(np, n);
	nonce_issue(np, last);
	/* The oldest slid out when the window moved past it. */
	cr_assert_eq(nonce_redeem(np, first), KK_EINVAL);
	cr_assert_eq(nonce_redeem(np, last), KK_OK);
	cr_assert_eq(nonce_redeem(np, n), KK_OK);
}
