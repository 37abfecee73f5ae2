#include <criterion/criterion.h>

#include "renew.h"

#define DAY 86400

Test(renew, due_with_less_than_a_third_left)
{
	time_t nb = 1000000, na = nb + 90 * DAY, when = 0;

	cr_assert_eq(renew_due(nb, na, nb + 59 * DAY, NULL, &when), 0);
	cr_assert_eq(when, na - 30 * DAY);
	cr_assert_eq(renew_due(nb, na, na - 30 * DAY - 1, NULL, NULL), 0);
	cr_assert_eq(renew_due(nb, na, na - 30 * DAY, NULL, NULL), 1);
	cr_assert_eq(renew_due(nb, na, na + DAY, NULL, NULL), 1);
}

Test(renew, lifetime_scales)
{
	time_t nb = 0, na = 9 * DAY;

	cr_assert_eq(renew_due(nb, na, 5 * DAY, NULL, NULL), 0);
	cr_assert_eq(renew_due(nb, na, 6 * DAY, NULL, NULL), 1);
}

Test(renew, ari_window_takes_over)
{
	time_t nb = 0, na = 90 * DAY, when = 0;
	struct renew_window w = {10 * DAY, 11 * DAY};

	/* Early by the one-third rule, due by the server's window. */
	cr_assert_eq(renew_due(nb, na, 10 * DAY, &w, &when), 1);
	cr_assert_eq(when, 10 * DAY);
	cr_assert_eq(renew_due(nb, na, 9 * DAY, &w, NULL), 0);
	/* Late by the rule, but the server says not yet. */
	w.start = 80 * DAY;
	w.end = 85 * DAY;
	cr_assert_eq(renew_due(nb, na, 70 * DAY, &w, NULL), 0);
}

Test(renew, nonsense_validity_is_due)
{
	cr_assert_eq(renew_due(100, 50, 0, NULL, NULL), 0);
	cr_assert_eq(renew_due(100, 50, 100, NULL, NULL), 1);
}
