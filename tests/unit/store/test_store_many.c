/*
 * test_store_many.c - lookups of many keys in one call (accounts, orders,
 * renewal information, registry entries), on every backend (the storage
 * conformance suite): each answer in the place of its key, NULL for
 * keys without a record, duplicates each answered, and keys that would
 * break SQL or an array literal built carelessly found as they are.
 */
#include "store_fixture.h"

STORE_SUITE(store_many);

/* Ids that a query or an array literal spliced together would mangle. */
static const char *const odd_ids[] = {
    "a\"b",
    "back\\slash",
    "it's",
    "x'); DROP TABLE accounts; --",
    "{1,2}",
    "a,b",
    "NULL",
    " spaced ",
    "",
    "東京",
};
#define N_ODD (sizeof(odd_ids) / sizeof(*odd_ids))

static void
free_accounts(struct account **as, size_t n)
{
	for (size_t i = 0; as != NULL && i < n; i++)
		account_free(as[i]);
	free(as);
}

Test(store_many, accounts_in_key_order_with_gaps_and_duplicates)
{
	const char *ids[] = {"acc-2", "ghost", "acc-1", "acc-2", NULL, "acc-3"};
	struct account **as = NULL;

	put_account(fx.st, "acc-1");
	put_account(fx.st, "acc-2");
	put_account(fx.st, "acc-3");
	cr_assert_eq(store_account_get_many(fx.st, ids, 6, &as), KK_OK);
	cr_assert_not_null(as);
	cr_assert_str_eq(as[0]->id, "acc-2");
	cr_assert_null(as[1], "no account has the id ghost");
	cr_assert_str_eq(as[2]->id, "acc-1");
	cr_assert_str_eq(as[3]->id, "acc-2", "a duplicate is answered too");
	cr_assert_neq(as[0], as[3], "each place owns its record");
	cr_assert_null(as[4], "a NULL key has no record");
	cr_assert_str_eq(as[5]->id, "acc-3");
	/* Every field, as store_account_get reads it. */
	cr_assert_str_eq(as[2]->contacts, "[\"mailto:ops@example.jp\"]");
	cr_assert_str_eq(as[2]->thumbprint, "acc-1");
	cr_assert_str_eq(as[2]->org, "NTRJP-9234567890123");
	cr_assert_str_eq(as[2]->eab_kid, "kid-1");
	cr_assert_eq(as[2]->status, ACME_STATUS_VALID);
	cr_assert_eq(as[2]->created_at, 1700000000);
	cr_assert_eq(as[2]->tos_agreed, 1);
	free_accounts(as, 6);
}

Test(store_many, empty_input_and_nothing_found)
{
	const char *ids[] = {"ghost", "phantom"};
	struct account **as = (struct account **)&fx;

	cr_assert_eq(store_account_get_many(fx.st, ids, 0, &as), KK_OK);
	cr_assert_null(as, "no keys: no array");
	cr_assert_eq(store_account_get_many(fx.st, ids, 2, &as), KK_OK);
	cr_assert_not_null(as);
	cr_assert_null(as[0]);
	cr_assert_null(as[1]);
	free_accounts(as, 2);
}

Test(store_many, keys_that_would_break_naive_sql)
{
	const char *ids[N_ODD + 1];
	struct account **as = NULL;
	char tp[32];

	for (size_t i = 0; i < N_ODD; i++) {
		struct account a;

		snprintf(tp, sizeof(tp), "tp-%zu", i);
		a = mk_account(odd_ids[i], tp);
		cr_assert_eq(
		    store_account_insert(fx.st, &a), KK_OK, "%s", odd_ids[i]);
		/* Backwards, so that places and insertion order differ. */
		ids[N_ODD - 1 - i] = odd_ids[i];
	}
	/* A prefix of an id finds nothing: keys compare whole. */
	ids[N_ODD] = "a";
	cr_assert_eq(store_account_get_many(fx.st, ids, N_ODD + 1, &as), KK_OK);
	for (size_t i = 0; i < N_ODD; i++) {
		cr_assert_not_null(as[i], "\"%s\" not found", ids[i]);
		cr_assert_str_eq(as[i]->id, ids[i]);
	}
	cr_assert_null(as[N_ODD]);
	free_accounts(as, N_ODD + 1);
	/* The table is still there, every account in it. */
	cr_assert_eq(store_account_get_many(fx.st, odd_ids, N_ODD, &as), KK_OK);
	for (size_t i = 0; i < N_ODD; i++)
		cr_assert_str_eq(as[i]->id, odd_ids[i]);
	free_accounts(as, N_ODD);
}

Test(store_many, a_page_of_keys)
{
	enum { N = 150 };
	char names[N][16];
	const char *ids[N];
	struct account **as = NULL;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "acc-%03zu", i);
		ids[i] = names[i];
		if (i % 3 != 0)
			put_account(fx.st, names[i]);
	}
	cr_assert_eq(store_commit(fx.st), KK_OK);
	cr_assert_eq(store_account_get_many(fx.st, ids, N, &as), KK_OK);
	for (size_t i = 0; i < N; i++)
		if (i % 3 == 0)
			cr_assert_null(as[i], "%s", ids[i]);
		else
			cr_assert_str_eq(as[i]->id, ids[i]);
	free_accounts(as, N);
}

Test(store_many, sees_the_callers_own_transaction)
{
	const char *ids[] = {"acc-1"};
	struct account **as = NULL;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	put_account(fx.st, "acc-1");
	cr_assert_eq(store_account_get_many(fx.st, ids, 1, &as), KK_OK);
	cr_assert_not_null(as[0], "an account inserted in this transaction");
	free_accounts(as, 1);
	store_rollback(fx.st);
	cr_assert_eq(store_account_get_many(fx.st, ids, 1, &as), KK_OK);
	cr_assert_null(as[0], "rolled back");
	free_accounts(as, 1);
}

Test(store_many, orders)
{
	const char *ids[] = {"ord-b", "ord-x", "ord-a", "ord-b"};
	struct order **os = NULL;
	struct order o;

	put_chain(fx.st, "a");
	put_chain(fx.st, "b");
	o = mk_order("ord-x2", "acc-a", "az-a");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_get_many(fx.st, ids, 4, &os), KK_OK);
	cr_assert_str_eq(os[0]->id, "ord-b");
	cr_assert_str_eq(os[0]->account_id, "acc-b");
	cr_assert_str_eq(os[0]->authz_id, "az-b");
	cr_assert_null(os[1]);
	cr_assert_str_eq(os[2]->id, "ord-a");
	cr_assert_str_eq(os[2]->profile, "client");
	cr_assert_str_eq(os[3]->id, "ord-b");
	for (size_t i = 0; i < 4; i++)
		order_free(os[i]);
	free(os);
}

Test(store_many, renewals)
{
	const char *serials[] = {"4a02", "4a01", "4a03", "4a02"};
	struct renewal **rs = NULL;

	put_chain(fx.st, "1");
	put_chain(fx.st, "2");
	put_cert(fx.st, "4a01", "1");
	put_cert(fx.st, "4a02", "2");
	put_cert(fx.st, "4a03", "2");
	cr_assert_eq(
	    store_renewal_set_window(fx.st, "4a01", 1700500000, 1700503600),
	    KK_OK);
	cr_assert_eq(store_renewal_set_replaced(fx.st, "4a02", "ord-1"), KK_OK);
	cr_assert_eq(store_renewal_get_many(fx.st, serials, 4, &rs), KK_OK);
	cr_assert_str_eq(rs[0]->serial, "4a02");
	cr_assert_eq(rs[0]->start, 0);
	cr_assert_str_eq(rs[0]->replaced_by, "ord-1");
	cr_assert_str_eq(rs[1]->serial, "4a01");
	cr_assert_eq(rs[1]->start, 1700500000);
	cr_assert_eq(rs[1]->end, 1700503600);
	cr_assert_null(rs[1]->replaced_by);
	cr_assert_null(rs[2], "nothing recorded for 4a03");
	cr_assert_str_eq(rs[3]->replaced_by, "ord-1");
	for (size_t i = 0; i < 4; i++)
		renewal_free(rs[i]);
	free(rs);
}

static struct registry_entry
mk_entry(const char *number, const char *name)
{
	struct registry_entry e;

	memset(&e, 0, sizeof(e));
	e.number = (char *)number;
	e.name = (char *)name;
	e.address = "東京都千代田区霞が関３丁目１－１";
	e.kind = "301";
	e.update_date = "2024-01-05";
	e.seq = 1;
	return e;
}

Test(store_many, registry_entries)
{
	const char *numbers[] = {"7000012050002", "0000000000000",
	    "9234567890123", "9234567890123\"", "7000012050002"};
	struct registry_entry e[2], **got = NULL;
	size_t stored = 0;

	e[0] = mk_entry("9234567890123", "A \"quoted\" \\ {brace}, name");
	e[1] = mk_entry("7000012050002", "国税庁");
	e[1].en_name = "National Tax Agency";
	cr_assert_eq(store_registry_put_many(fx.st, e, 2, &stored), KK_OK);
	cr_assert_eq(store_registry_get_many(fx.st, numbers, 5, &got), KK_OK);
	cr_assert_str_eq(got[0]->number, "7000012050002");
	cr_assert_str_eq(got[0]->name, "国税庁");
	cr_assert_str_eq(got[0]->en_name, "National Tax Agency");
	cr_assert_null(got[1]);
	cr_assert_str_eq(got[2]->name, "A \"quoted\" \\ {brace}, name");
	cr_assert_null(got[2]->en_name);
	cr_assert_null(got[3]);
	cr_assert_str_eq(got[4]->number, "7000012050002");
	for (size_t i = 0; i < 5; i++)
		registry_entry_free(got[i]);
	free(got);
}
