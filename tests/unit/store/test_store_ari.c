/*
 * test_store_ari.c - the store functions of organization domains, their
 * grants, reusable authorizations and renewal information, on every
 * backend (the storage conformance suite).
 */
#include "store_fixture.h"

STORE_SUITE(store_ari);

#define ORG "NTRJP-9234567890123"
#define OTHER "NTRJP-7000012050002"

static void
free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

Test(store_ari, org_domains_add_owner_and_list)
{
	char **names = NULL, *owner = NULL;
	size_t n = 0;

	cr_assert_eq(store_org_domain_list(fx.st, ORG, &names, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(names);
	cr_assert_eq(
	    store_org_domain_add(fx.st, ORG, "example.jp", "alice", 1700000000),
	    KK_OK);
	cr_assert_eq(store_org_domain_add(
	                 fx.st, ORG, "a.example.com", "alice", 1700000001),
	    KK_OK);
	/* A name belongs to one organization, whichever asks. */
	cr_assert_eq(
	    store_org_domain_add(fx.st, OTHER, "example.jp", "bob", 1700000002),
	    KK_EEXIST);
	cr_assert_eq(
	    store_org_domain_add(fx.st, ORG, "example.jp", "bob", 1700000002),
	    KK_EEXIST);
	cr_assert_eq(
	    store_org_domain_owner(fx.st, "example.jp", &owner), KK_OK);
	cr_assert_str_eq(owner, ORG);
	free(owner);
	cr_assert_eq(store_org_domain_owner(fx.st, "www.example.jp", &owner),
	    KK_ENOTFOUND);
	cr_assert_null(owner);
	cr_assert_eq(store_org_domain_list(fx.st, ORG, &names, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "a.example.com");
	cr_assert_str_eq(names[1], "example.jp");
	free_ids(names, n);
	cr_assert_eq(store_org_domain_list(fx.st, OTHER, &names, &n), KK_OK);
	cr_assert_eq(n, 0);
	/* Survives a reopen. */
	fixture_reopen(&fx);
	cr_assert_eq(
	    store_org_domain_owner(fx.st, "a.example.com", &owner), KK_OK);
	cr_assert_str_eq(owner, ORG);
	free(owner);
}

Test(store_ari, domain_grants_list_by_org_and_status)
{
	struct authz a;
	char **ids = NULL;
	size_t n = 0;

	put_account(fx.st, "acc-1");
	a = mk_authz("az-dns-1", "acc-1");
	a.id_type = "dns";
	a.id_value = "host.example.jp";
	a.status = ACME_STATUS_VALID;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-dns-2";
	a.created_at++;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-dns-3";
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_org_domain_grant(fx.st, "az-dns-1", ORG), KK_OK);
	cr_assert_eq(store_org_domain_grant(fx.st, "az-dns-2", ORG), KK_OK);
	cr_assert_eq(store_org_domain_grant(fx.st, "az-dns-3", OTHER), KK_OK);
	cr_assert_eq(store_org_domain_grant(fx.st, "az-dns-1", ORG), KK_EEXIST);
	/* A grant names an authorization that exists. */
	cr_assert_eq(store_org_domain_grant(fx.st, "ghost", ORG), KK_ENOTFOUND);
	cr_assert_eq(
	    store_org_domain_authz_ids(fx.st, ORG, ACME_STATUS_VALID, &ids, &n),
	    KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "az-dns-2"); /* newest first */
	cr_assert_str_eq(ids[1], "az-dns-1");
	free_ids(ids, n);
	a.id = "az-dns-2";
	a.status = ACME_STATUS_REVOKED;
	cr_assert_eq(store_authz_update(fx.st, &a), KK_OK);
	cr_assert_eq(
	    store_org_domain_authz_ids(fx.st, ORG, ACME_STATUS_VALID, &ids, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(ids[0], "az-dns-1");
	free_ids(ids, n);
}

Test(store_ari, reusable_authz_is_the_newest_valid_unexpired)
{
	struct authz a, *got = NULL;

	put_account(fx.st, "acc-1");
	put_account(fx.st, "acc-2");
	cr_assert_eq(
	    store_authz_reusable(fx.st, "acc-1", "org", ORG, 1700000000, &got),
	    KK_ENOTFOUND);
	a = mk_authz("az-pending", "acc-1");
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-old", "acc-1");
	a.status = ACME_STATUS_VALID;
	a.expires = 1700100000;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-new";
	a.expires = 1700200000;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-other-account";
	a.account_id = "acc-2";
	a.expires = 1700300000;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-dns";
	a.account_id = "acc-1";
	a.id_type = "dns";
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);

	cr_assert_eq(
	    store_authz_reusable(fx.st, "acc-1", "org", ORG, 1700000000, &got),
	    KK_OK);
	cr_assert_str_eq(got->id, "az-new");
	cr_assert_str_eq(got->account_id, "acc-1");
	cr_assert_eq(got->status, ACME_STATUS_VALID);
	authz_free(got);
	/* Expired by now, though nobody has marked it yet. */
	cr_assert_eq(
	    store_authz_reusable(fx.st, "acc-1", "org", ORG, 1700200000, &got),
	    KK_ENOTFOUND);
	cr_assert_eq(store_authz_reusable(fx.st, "acc-1", "org",
	                 "NTRJP-0000000000000", 1700000000, &got),
	    KK_ENOTFOUND);
	cr_assert_eq(
	    store_authz_reusable(fx.st, "acc-1", "dns", ORG, 1700000000, &got),
	    KK_OK);
	cr_assert_str_eq(got->id, "az-dns");
	authz_free(got);
}

/*
 * Order id, read alone, by its authorization and among others, says that
 * it replaces certificate serial (NULL: none).
 */
static void
assert_order_replaces(const char *id, const char *serial)
{
	struct order *o = NULL, **many = NULL;
	const char *ids[] = {"ghost", id};
	char az[64];

	cr_assert_eq(store_order_get(fx.st, id, &o), KK_OK);
	if (serial == NULL)
		cr_assert_null(o->replaces, "%s replaces %s", id, o->replaces);
	else
		cr_assert_str_eq(o->replaces, serial, "%s", id);
	cr_assert_eq(store_order_get_many(fx.st, ids, 2, &many), KK_OK);
	cr_assert_null(many[0]);
	cr_assert_not_null(many[1]);
	if (serial == NULL)
		cr_assert_null(many[1]->replaces);
	else
		cr_assert_str_eq(many[1]->replaces, serial);
	order_free(many[0]);
	order_free(many[1]);
	free(many);
	order_free(o);
	/* put_chain's order "ord-N" is on authorization "az-N". */
	snprintf(az, sizeof(az), "az-%s", id + 4);
	cr_assert_eq(store_order_by_authz(fx.st, az, &o), KK_OK);
	cr_assert_str_eq(o->id, id);
	if (serial == NULL)
		cr_assert_null(o->replaces);
	else
		cr_assert_str_eq(o->replaces, serial);
	order_free(o);
}

Test(store_ari, renewal_window_and_replacement)
{
	struct renewal *r = NULL;

	put_chain(fx.st, "1");
	put_chain(fx.st, "2");
	put_cert(fx.st, "4a01", "1");
	cr_assert_eq(store_renewal_get(fx.st, "4a01", &r), KK_ENOTFOUND);
	cr_assert_null(r);
	assert_order_replaces("ord-2", NULL);

	cr_assert_eq(
	    store_renewal_set_window(fx.st, "4a01", 1700500000, 1700503600),
	    KK_OK);
	cr_assert_eq(store_renewal_get(fx.st, "4a01", &r), KK_OK);
	cr_assert_str_eq(r->serial, "4a01");
	cr_assert_eq(r->start, 1700500000);
	cr_assert_eq(r->end, 1700503600);
	cr_assert_null(r->replaced_by);
	renewal_free(r);

	/* Each setter keeps the other's part. */
	assert_order_replaces("ord-2", NULL);
	cr_assert_eq(store_renewal_set_replaced(fx.st, "4a01", "ord-2"), KK_OK);
	assert_order_replaces("ord-2", "4a01");
	cr_assert_eq(store_renewal_get(fx.st, "4a01", &r), KK_OK);
	cr_assert_eq(r->start, 1700500000);
	cr_assert_str_eq(r->replaced_by, "ord-2");
	renewal_free(r);
	cr_assert_eq(store_renewal_set_window(fx.st, "4a01", 1, 2), KK_OK);
	assert_order_replaces("ord-2", "4a01");
	cr_assert_eq(store_renewal_get(fx.st, "4a01", &r), KK_OK);
	cr_assert_eq(r->start, 1);
	cr_assert_eq(r->end, 2);
	cr_assert_str_eq(r->replaced_by, "ord-2");
	renewal_free(r);
	cr_assert_eq(store_renewal_set_replaced(fx.st, "4a01", "ord-1"), KK_OK);
	assert_order_replaces("ord-1", "4a01");
	assert_order_replaces("ord-2", NULL);

	/* Only certificates and orders that exist. */
	cr_assert_eq(
	    store_renewal_set_window(fx.st, "ffff", 1, 2), KK_ENOTFOUND);
	cr_assert_eq(
	    store_renewal_set_replaced(fx.st, "4a01", "ghost"), KK_ENOTFOUND);

	/* Replaced only, from scratch: the window stays the default. */
	put_cert(fx.st, "4a02", "2");
	cr_assert_eq(store_renewal_set_replaced(fx.st, "4a02", "ord-1"), KK_OK);
	cr_assert_eq(store_renewal_get(fx.st, "4a02", &r), KK_OK);
	cr_assert_eq(r->start, 0);
	cr_assert_eq(r->end, 0);
	renewal_free(r);
}

Test(store_ari, changes_roll_back_with_the_transaction)
{
	struct renewal *r = NULL;
	char *owner = NULL;

	put_chain(fx.st, "1");
	put_cert(fx.st, "4a01", "1");
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_renewal_set_window(fx.st, "4a01", 5, 6), KK_OK);
	cr_assert_eq(
	    store_org_domain_add(fx.st, ORG, "example.jp", "alice", 1), KK_OK);
	store_rollback(fx.st);
	cr_assert_eq(store_renewal_get(fx.st, "4a01", &r), KK_ENOTFOUND);
	cr_assert_eq(
	    store_org_domain_owner(fx.st, "example.jp", &owner), KK_ENOTFOUND);
}

Test(store_ari, authz_count_by_account_since)
{
	struct authz a;
	int n = -1;

	put_account(fx.st, "acc-1");
	put_account(fx.st, "acc-2");
	cr_assert_eq(
	    store_authz_count_by_account(fx.st, "acc-1", 0, &n), KK_OK);
	cr_assert_eq(n, 0);
	a = mk_authz("az-1", "acc-1");
	a.created_at = 1000;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-2";
	a.created_at = 2000;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a.id = "az-3";
	a.account_id = "acc-2";
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	cr_assert_eq(
	    store_authz_count_by_account(fx.st, "acc-1", 1000, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(
	    store_authz_count_by_account(fx.st, "acc-1", 1001, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(
	    store_authz_count_by_account(fx.st, "nobody", 0, &n), KK_OK);
	cr_assert_eq(n, 0);
}

Test(store_ari, order_ids_by_authz_newest_first)
{
	struct order o;
	char **ids = NULL;
	size_t n = 0;

	put_chain(fx.st, "1");
	cr_assert_eq(store_order_ids_by_authz(fx.st, "az-1", &ids, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(ids[0], "ord-1");
	free_ids(ids, n);
	/* A second order reusing the authorization. */
	o = mk_order("ord-1b", "acc-1", "az-1");
	o.created_at++;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_ids_by_authz(fx.st, "az-1", &ids, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "ord-1b");
	cr_assert_str_eq(ids[1], "ord-1");
	free_ids(ids, n);
	cr_assert_eq(store_order_ids_by_authz(fx.st, "none", &ids, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(ids);
}
