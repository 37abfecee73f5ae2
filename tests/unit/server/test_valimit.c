/* valimit: validations running, counted per account and in all. */
#include <pthread.h>
#include <stdio.h>

#include <criterion/criterion.h>

#include "valimit.h"

Test(valimit, caps_each_account_not_the_others)
{
	struct valimit *vl;

	cr_assert_eq(valimit_new(8, 2, &vl), KK_OK);
	cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_ADMITTED);
	cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_ADMITTED);
	cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_ACCOUNT);
	cr_assert_eq(valimit_count(vl, "acctA"), 2);
	cr_assert_eq(valimit_enter(vl, "acctB"), VALIMIT_ADMITTED);
	cr_assert_eq(valimit_count(vl, NULL), 3);
	valimit_leave(vl, "acctA");
	cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_ADMITTED);
	valimit_free(vl);
}

Test(valimit, the_process_cap_holds_for_every_account)
{
	struct valimit *vl;

	cr_assert_eq(valimit_new(3, 0, &vl), KK_OK);
	/* per_account 0: one account may take every validation. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_ADMITTED);
	cr_assert_eq(valimit_enter(vl, "acctA"), VALIMIT_FULL);
	cr_assert_eq(valimit_enter(vl, "acctB"), VALIMIT_FULL);
	valimit_leave(vl, "acctA");
	cr_assert_eq(valimit_enter(vl, "acctB"), VALIMIT_ADMITTED);
	cr_assert_eq(valimit_enter(vl, "acctC"), VALIMIT_FULL);
	valimit_free(vl);
}

Test(valimit, entries_are_freed_at_zero)
{
	struct valimit *vl;
	char name[16];

	/* Two entries only: a thousand accounts one after the other fit,
	 * since each leaves before the next enters. */
	cr_assert_eq(valimit_new(2, 1, &vl), KK_OK);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "acct%d", i);
		cr_assert_eq(valimit_enter(vl, name), VALIMIT_ADMITTED);
		cr_assert_eq(valimit_enter(vl, "steady"),
		    i == 0 ? VALIMIT_ADMITTED : VALIMIT_ACCOUNT);
		valimit_leave(vl, name);
		cr_assert_eq(valimit_count(vl, name), 0);
	}
	cr_assert_eq(valimit_count(vl, NULL), 1);
	/* Leaving for an account with nothing running changes nothing. */
	valimit_leave(vl, "nobody");
	cr_assert_eq(valimit_count(vl, NULL), 1);
	valimit_free(vl);
}

Test(valimit, bad_limits_are_refused)
{
	struct valimit *vl;

	cr_assert_eq(valimit_new(0, 1, &vl), KK_EINVAL);
	cr_assert_null(vl);
	cr_assert_eq(valimit_new(1, -1, &vl), KK_EINVAL);
}

#define THREADS 8
#define ROUNDS 2000

static void *
churn(void *arg)
{
	struct valimit *vl = arg;

	for (int i = 0; i < ROUNDS; i++)
		if (valimit_enter(vl, i % 2 ? "acctA" : "acctB") ==
		    VALIMIT_ADMITTED)
			valimit_leave(vl, i % 2 ? "acctA" : "acctB");
	return NULL;
}

Test(valimit, threads_leave_it_balanced)
{
	pthread_t t[THREADS];
	struct valimit *vl;

	cr_assert_eq(valimit_new(4, 3, &vl), KK_OK);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, vl), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(valimit_count(vl, NULL), 0);
	cr_assert_eq(valimit_count(vl, "acctA"), 0);
	valimit_free(vl);
}
