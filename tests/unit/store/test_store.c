/*
 * test_store.c - every store function round-trips its fields and reports
 * missing and duplicate records as store.h promises.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>

#include "store_fixture.h"

STORE_SUITE(store);

Test(store, account_round_trip)
{
	struct account a = mk_account("acc-1", "thumb-1"), *got = NULL;

	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_account_get(fx.st, "acc-1", &got), KK_OK);
	cr_assert_str_eq(got->id, "acc-1");
	cr_assert_eq(got->status, a.status);
	cr_assert_str_eq(got->jwk, a.jwk);
	cr_assert_str_eq(got->thumbprint, "thumb-1");
	cr_assert_str_eq(got->contacts, a.contacts);
	cr_assert_str_eq(got->org, a.org);
	cr_assert_str_eq(got->eab_kid, a.eab_kid);
	cr_assert_str_eq(got->created_ip, a.created_ip);
	cr_assert_eq(got->created_at, a.created_at);
	cr_assert_eq(got->tos_agreed, 1);
	account_free(got);

	cr_assert_eq(
	    store_account_by_thumbprint(fx.st, "thumb-1", &got), KK_OK);
	cr_assert_str_eq(got->id, "acc-1");
	account_free(got);
}

Test(store, account_optional_fields_stay_null)
{
	struct account a = mk_account("acc-1", "thumb-1"), *got = NULL;

	a.org = NULL;
	a.eab_kid = NULL;
	a.contacts = NULL; /* stored as the empty list model.h describes */
	a.tos_agreed = 0;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_account_get(fx.st, "acc-1", &got), KK_OK);
	cr_assert_null(got->org);
	cr_assert_null(got->eab_kid);
	cr_assert_str_eq(got->contacts, "[]");
	cr_assert_eq(got->tos_agreed, 0);
	account_free(got);
}

Test(store, account_update_writes_only_its_fields)
{
	struct account a = mk_account("acc-1", "thumb-1"), *got = NULL;
	struct account u = mk_account("acc-1", "thumb-2");

	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	u.status = ACME_STATUS_DEACTIVATED;
	u.jwk = "{\"kty\":\"OKP\"}";
	u.contacts = "[]";
	u.org = NULL;
	/* Not part of an update: must keep their stored values. */
	u.eab_kid = "other";
	u.created_ip = "198.51.100.1";
	u.created_at = 5;
	u.tos_agreed = 0;
	cr_assert_eq(store_account_update(fx.st, &u), KK_OK);
	cr_assert_eq(store_account_get(fx.st, "acc-1", &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_DEACTIVATED);
	cr_assert_str_eq(got->jwk, "{\"kty\":\"OKP\"}");
	cr_assert_str_eq(got->thumbprint, "thumb-2");
	cr_assert_str_eq(got->contacts, "[]");
	cr_assert_null(got->org);
	cr_assert_str_eq(got->eab_kid, "kid-1");
	cr_assert_str_eq(got->created_ip, "192.0.2.7");
	cr_assert_eq(got->created_at, 1700000000);
	cr_assert_eq(got->tos_agreed, 1);
	account_free(got);
	/* The old key no longer finds it; the new one does. */
	cr_assert_eq(
	    store_account_by_thumbprint(fx.st, "thumb-1", &got), KK_ENOTFOUND);
	cr_assert_eq(
	    store_account_by_thumbprint(fx.st, "thumb-2", &got), KK_OK);
	account_free(got);
}

Test(store, account_missing_and_duplicate)
{
	struct account a = mk_account("acc-1", "thumb-1");
	struct account b = mk_account("acc-2", "thumb-2");
	struct account *got = (struct account *)&a;

	cr_assert_eq(store_account_get(fx.st, "nope", &got), KK_ENOTFOUND);
	cr_assert_null(got);
	cr_assert_eq(
	    store_account_by_thumbprint(fx.st, "nope", &got), KK_ENOTFOUND);
	cr_assert_eq(store_account_update(fx.st, &a), KK_ENOTFOUND);

	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_account_insert(fx.st, &b), KK_OK);
	b = mk_account("acc-1", "thumb-3");
	cr_assert_eq(store_account_insert(fx.st, &b), KK_EEXIST, "same id");
	b = mk_account("acc-3", "thumb-1");
	cr_assert_eq(
	    store_account_insert(fx.st, &b), KK_EEXIST, "same thumbprint");
	/* A key rollover to a key another account has is refused too. */
	b = mk_account("acc-2", "thumb-1");
	cr_assert_eq(store_account_update(fx.st, &b), KK_EEXIST);
	cr_assert_eq(store_account_get(fx.st, "acc-2", &got), KK_OK);
	cr_assert_str_eq(got->thumbprint, "thumb-2");
	account_free(got);
}

Test(store, account_required_fields_refused)
{
	struct account a = mk_account("acc-1", "thumb-1");

	a.jwk = NULL;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_EINVAL);
	a = mk_account("acc-1", "thumb-1");
	a.status = ACME_STATUS_NONE;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_EINVAL);
}

Test(store, account_count_by_ip)
{
	struct account a;
	int n = -1;

	a = mk_account("a1", "t1");
	a.created_at = 100;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	a = mk_account("a2", "t2");
	a.created_at = 200;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	a = mk_account("a3", "t3");
	a.created_at = 300;
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);
	a = mk_account("a4", "t4");
	a.created_at = 300;
	a.created_ip = "203.0.113.9";
	cr_assert_eq(store_account_insert(fx.st, &a), KK_OK);

	cr_assert_eq(
	    store_account_count_by_ip(fx.st, "192.0.2.7", 0, &n), KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(
	    store_account_count_by_ip(fx.st, "192.0.2.7", 200, &n), KK_OK);
	cr_assert_eq(n, 2, "since is inclusive");
	cr_assert_eq(
	    store_account_count_by_ip(fx.st, "192.0.2.7", 301, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(
	    store_account_count_by_ip(fx.st, "203.0.113.9", 0, &n), KK_OK);
	cr_assert_eq(n, 1);
}

Test(store, order_round_trip_and_update)
{
	struct order o, *got = NULL;

	put_account(fx.st, "acc");
	put_authz(fx.st, "az", "acc");
	o = mk_order("ord", "acc", "az");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_get(fx.st, "ord", &got), KK_OK);
	cr_assert_str_eq(got->id, "ord");
	cr_assert_str_eq(got->account_id, "acc");
	cr_assert_eq(got->status, ACME_STATUS_PENDING);
	cr_assert_str_eq(got->org, o.org);
	cr_assert_str_eq(got->authz_id, "az");
	cr_assert_str_eq(got->profile, "client");
	cr_assert_null(got->error);
	cr_assert_null(got->cert_serial);
	cr_assert_eq(got->created_at, o.created_at);
	cr_assert_eq(got->expires, o.expires);
	order_free(got);

	o.status = ACME_STATUS_VALID;
	o.error = "{\"type\":\"x\"}";
	o.cert_serial = "00ab";
	o.expires = 42;
	o.profile = "ignored"; /* not written by an update */
	o.created_at = 1;
	cr_assert_eq(store_order_update(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_get(fx.st, "ord", &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_VALID);
	cr_assert_str_eq(got->error, "{\"type\":\"x\"}");
	cr_assert_str_eq(got->cert_serial, "00ab");
	cr_assert_eq(got->expires, 42);
	cr_assert_str_eq(got->profile, "client");
	cr_assert_eq(got->created_at, 1700000000);
	order_free(got);

	cr_assert_eq(store_order_by_authz(fx.st, "az", &got), KK_OK);
	cr_assert_str_eq(got->id, "ord");
	order_free(got);
}

Test(store, order_missing_duplicate_and_dangling)
{
	struct order o, *got = NULL;

	put_account(fx.st, "acc");
	put_authz(fx.st, "az", "acc");
	o = mk_order("ord", "acc", "az");
	cr_assert_eq(store_order_get(fx.st, "ord", &got), KK_ENOTFOUND);
	cr_assert_eq(store_order_by_authz(fx.st, "az", &got), KK_ENOTFOUND);
	cr_assert_eq(store_order_update(fx.st, &o), KK_ENOTFOUND);
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_insert(fx.st, &o), KK_EEXIST);
	/* An order of an account or authorization that does not exist. */
	o = mk_order("ord-2", "ghost", "az");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_ENOTFOUND);
	o = mk_order("ord-3", "acc", "ghost");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_ENOTFOUND);
	o = mk_order("ord-4", "acc", "az");
	o.status = ACME_STATUS_NONE;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_EINVAL);
	cr_assert_eq(store_order_get(fx.st, "ord-2", &got), KK_ENOTFOUND);
}

Test(store, order_lists_newest_first_and_counts)
{
	static const char *const ids[] = {"o-c", "o-a", "o-d", "o-b"};
	static const time_t at[] = {100, 300, 300, 200};
	struct order o;
	char **list = NULL;
	size_t n = 99, i;
	int cnt = -1;

	put_account(fx.st, "acc");
	put_account(fx.st, "other");
	put_authz(fx.st, "az", "acc");
	for (i = 0; i < 4; i++) {
		o = mk_order(ids[i], "acc", "az");
		o.created_at = at[i];
		cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	}
	o = mk_order("o-other", "other", "az");
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);

	cr_assert_eq(
	    store_order_ids_by_account(fx.st, "acc", &list, &n), KK_OK);
	cr_assert_eq(n, 4);
	/* Newest first; the same second in reverse insertion order. */
	cr_assert_str_eq(list[0], "o-d");
	cr_assert_str_eq(list[1], "o-a");
	cr_assert_str_eq(list[2], "o-b");
	cr_assert_str_eq(list[3], "o-c");
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);

	cr_assert_eq(
	    store_order_ids_by_account(fx.st, "nobody", &list, &n), KK_OK);
	cr_assert_null(list);
	cr_assert_eq(n, 0);

	cr_assert_eq(
	    store_order_count_by_account(fx.st, "acc", 200, &cnt), KK_OK);
	cr_assert_eq(cnt, 3);
	cr_assert_eq(
	    store_order_count_by_account(fx.st, "acc", 0, &cnt), KK_OK);
	cr_assert_eq(cnt, 4);
	cr_assert_eq(
	    store_order_count_by_account(fx.st, "other", 0, &cnt), KK_OK);
	cr_assert_eq(cnt, 1);
}

Test(store, order_by_authz_is_newest)
{
	struct order o, *got = NULL;

	put_account(fx.st, "acc");
	put_authz(fx.st, "az", "acc");
	o = mk_order("old", "acc", "az");
	o.created_at = 10;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	o = mk_order("new", "acc", "az");
	o.created_at = 20;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	o = mk_order("older", "acc", "az");
	o.created_at = 5;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	cr_assert_eq(store_order_by_authz(fx.st, "az", &got), KK_OK);
	cr_assert_str_eq(got->id, "new");
	order_free(got);
}

static void
free_ids(char **ids, size_t n)
{
	while (n > 0)
		free(ids[--n]);
	free(ids);
}

Test(store, ids_by_org_filter_and_order_newest_first)
{
	struct order o;
	struct authz a;
	char **ids = NULL;
	size_t n = 0;

	put_account(fx.st, "acc");
	a = mk_authz("az-old", "acc");
	a.created_at = 10;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-new", "acc");
	a.created_at = 20;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-valid", "acc");
	a.status = ACME_STATUS_VALID;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-other", "acc");
	a.id_value = "NTRJP-1111111111111";
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	o = mk_order("o-old", "acc", "az-old");
	o.created_at = 10;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	o = mk_order("o-new", "acc", "az-new");
	o.created_at = 20;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	o = mk_order("o-ready", "acc", "az-new");
	o.status = ACME_STATUS_READY;
	cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);

	cr_assert_eq(store_authz_ids_by_org(fx.st, "NTRJP-9234567890123",
	                 ACME_STATUS_PENDING, &ids, &n),
	    KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "az-new");
	cr_assert_str_eq(ids[1], "az-old");
	free_ids(ids, n);
	cr_assert_eq(store_order_ids_by_org(fx.st, "NTRJP-9234567890123",
	                 ACME_STATUS_PENDING, &ids, &n),
	    KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "o-new");
	cr_assert_str_eq(ids[1], "o-old");
	free_ids(ids, n);
	cr_assert_eq(store_order_ids_by_org(fx.st, "NTRJP-1111111111111",
	                 ACME_STATUS_PENDING, &ids, &n),
	    KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(ids);
}

Test(store, authz_round_trip_and_update)
{
	struct authz a, *got = NULL;

	put_account(fx.st, "acc");
	a = mk_authz("az", "acc");
	cr_assert_eq(store_authz_get(fx.st, "az", &got), KK_ENOTFOUND);
	cr_assert_eq(store_authz_update(fx.st, &a), KK_ENOTFOUND);
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_EEXIST);
	cr_assert_eq(store_authz_get(fx.st, "az", &got), KK_OK);
	cr_assert_str_eq(got->id, "az");
	cr_assert_str_eq(got->account_id, "acc");
	cr_assert_str_eq(got->id_type, "org");
	cr_assert_str_eq(got->id_value, a.id_value);
	cr_assert_eq(got->status, ACME_STATUS_PENDING);
	cr_assert_eq(got->expires, a.expires);
	cr_assert_eq(got->created_at, a.created_at);
	authz_free(got);

	a.status = ACME_STATUS_VALID;
	a.expires = 1800000000;
	a.id_value = "NTRJP-7000012050002"; /* not written by an update */
	cr_assert_eq(store_authz_update(fx.st, &a), KK_OK);
	cr_assert_eq(store_authz_get(fx.st, "az", &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_VALID);
	cr_assert_eq(got->expires, 1800000000);
	cr_assert_str_eq(got->id_value, "NTRJP-9234567890123");
	authz_free(got);

	a = mk_authz("az-2", "ghost");
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_ENOTFOUND);
}

Test(store, authz_list_by_order_in_identifier_order)
{
	struct authz a, **list = NULL, *got = NULL;
	size_t n = 0;

	put_account(fx.st, "acc");
	/* Inserted out of place: the list follows order_pos. */
	a = mk_authz("az-b", "acc");
	a.id_type = "dns";
	a.id_value = "b.example";
	a.order_id = "ord";
	a.order_pos = 1;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-a", "acc");
	a.id_type = "dns";
	a.id_value = "a.example";
	a.order_id = "ord";
	a.order_pos = 0;
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-other", "acc");
	a.order_id = "ord-2";
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	a = mk_authz("az-none", "acc"); /* an older record: no order */
	cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);

	cr_assert_eq(store_authz_list_by_order(fx.st, "ord", &list, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0]->id, "az-a");
	cr_assert_str_eq(list[0]->id_type, "dns");
	cr_assert_str_eq(list[0]->id_value, "a.example");
	cr_assert_str_eq(list[0]->order_id, "ord");
	cr_assert_eq(list[0]->order_pos, 0);
	cr_assert_str_eq(list[1]->id, "az-b");
	cr_assert_eq(list[1]->order_pos, 1);
	for (size_t i = 0; i < n; i++)
		authz_free(list[i]);
	free(list);

	cr_assert_eq(
	    store_authz_list_by_order(fx.st, "nothing", &list, &n), KK_OK);
	cr_assert_eq(n, 0);
	free(list);

	cr_assert_eq(store_authz_get(fx.st, "az-none", &got), KK_OK);
	cr_assert_null(got->order_id);
	cr_assert_eq(got->order_pos, 0);
	authz_free(got);
}

Test(store, challenge_round_trip_list_and_update)
{
	struct challenge c, *got = NULL, **list = NULL;
	size_t n = 0, i;

	put_account(fx.st, "acc");
	put_authz(fx.st, "az", "acc");
	put_authz(fx.st, "az-2", "acc");
	c = mk_challenge("ch-z", "az");
	c.error = "{\"detail\":\"e\"}";
	c.validated = 77;
	cr_assert_eq(store_challenge_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_challenge_insert(fx.st, &c), KK_EEXIST);
	cr_assert_eq(store_challenge_get(fx.st, "ch-z", &got), KK_OK);
	cr_assert_str_eq(got->id, "ch-z");
	cr_assert_str_eq(got->authz_id, "az");
	cr_assert_str_eq(got->type, "oob-01");
	cr_assert_eq(got->status, ACME_STATUS_PENDING);
	cr_assert_str_eq(got->token, "tok-abc");
	cr_assert_str_eq(got->error, "{\"detail\":\"e\"}");
	cr_assert_eq(got->validated, 77);
	challenge_free(got);

	/* Insertion order, not id order. */
	put_challenge(fx.st, "ch-a", "az");
	put_challenge(fx.st, "ch-m", "az");
	put_challenge(fx.st, "ch-other", "az-2");
	cr_assert_eq(
	    store_challenge_list_by_authz(fx.st, "az", &list, &n), KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0]->id, "ch-z");
	cr_assert_str_eq(list[1]->id, "ch-a");
	cr_assert_str_eq(list[2]->id, "ch-m");
	for (i = 0; i < n; i++)
		challenge_free(list[i]);
	free(list);
	cr_assert_eq(
	    store_challenge_list_by_authz(fx.st, "none", &list, &n), KK_OK);
	cr_assert_null(list);
	cr_assert_eq(n, 0);

	c = mk_challenge("ch-a", "az");
	c.status = ACME_STATUS_VALID;
	c.error = NULL;
	c.validated = 1234;
	c.token = "changed"; /* not written by an update */
	cr_assert_eq(store_challenge_update(fx.st, &c), KK_OK);
	cr_assert_eq(store_challenge_get(fx.st, "ch-a", &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_VALID);
	cr_assert_null(got->error);
	cr_assert_eq(got->validated, 1234);
	cr_assert_str_eq(got->token, "tok-abc");
	challenge_free(got);

	c.id = "ghost";
	cr_assert_eq(store_challenge_update(fx.st, &c), KK_ENOTFOUND);
	cr_assert_eq(store_challenge_get(fx.st, "ghost", &got), KK_ENOTFOUND);
	c = mk_challenge("ch-x", "ghost-authz");
	cr_assert_eq(store_challenge_insert(fx.st, &c), KK_ENOTFOUND);
}

static struct verification
mk_verification(
    const char *id, const char *tag, struct approval *ap, size_t n_ap)
{
	static char buf[4][4][64];
	static int k;
	char(*b)[64] = buf[k++ % 4];

	snprintf(b[0], 64, "acc-%.48s", tag);
	snprintf(b[1], 64, "az-%.48s", tag);
	snprintf(b[2], 64, "ch-%.48s", tag);
	return (struct verification){
	    .id = (char *)id,
	    .org = "NTRJP-9234567890123",
	    .account_id = b[0],
	    .authz_id = b[1],
	    .challenge_id = b[2],
	    .status = ACME_STATUS_PROCESSING,
	    .reason = NULL,
	    .requested_at = 1700000100,
	    .decided_at = 0,
	    .approvals = ap,
	    .n_approvals = n_ap,
	};
}

static void
check_approval(const struct approval *got, const struct approval *want)
{
	cr_assert_str_eq(got->operator_name, want->operator_name);
	cr_assert_str_eq(got->method, want->method);
	cr_assert_str_eq(got->legal_name, want->legal_name);
	cr_assert_str_eq(got->country, want->country);
	cr_assert_str_eq(got->evidence, want->evidence);
	cr_assert_eq(got->at, want->at);
}

Test(store, verification_round_trip_with_approvals)
{
	struct approval ap[2] = {
	    {"op-b", "phone", "Example KK", "JP", "called +81 3 0000", 500},
	    {"op-a", "document", "Example K.K.", "JP", "registry extract", 600},
	};
	struct verification v, *got = NULL;

	put_chain(fx.st, "1");
	v = mk_verification("ver-1", "1", ap, 1);
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	cr_assert_eq(store_verification_get(fx.st, "ver-1", &got), KK_OK);
	cr_assert_str_eq(got->id, "ver-1");
	cr_assert_str_eq(got->org, v.org);
	cr_assert_str_eq(got->account_id, "acc-1");
	cr_assert_str_eq(got->authz_id, "az-1");
	cr_assert_str_eq(got->challenge_id, "ch-1");
	cr_assert_eq(got->status, ACME_STATUS_PROCESSING);
	cr_assert_null(got->reason);
	cr_assert_eq(got->requested_at, v.requested_at);
	cr_assert_eq(got->decided_at, 0);
	cr_assert_eq(got->n_approvals, 1);
	check_approval(&got->approvals[0], &ap[0]);
	verification_free(got);

	/* Given in the order op-b, op-a: returned in that order, not by
	 * name. */
	cr_assert_eq(store_approval_insert(fx.st, "ver-1", &ap[1]), KK_OK);
	cr_assert_eq(
	    store_verification_by_challenge(fx.st, "ch-1", &got), KK_OK);
	cr_assert_str_eq(got->id, "ver-1");
	cr_assert_eq(got->n_approvals, 2);
	check_approval(&got->approvals[0], &ap[0]);
	check_approval(&got->approvals[1], &ap[1]);
	verification_free(got);

	v.status = ACME_STATUS_INVALID;
	v.reason = "registry shows another company";
	v.decided_at = 700;
	v.org = "NTRJP-7000012050002"; /* not written by an update */
	cr_assert_eq(store_verification_update(fx.st, &v), KK_OK);
	cr_assert_eq(store_verification_get(fx.st, "ver-1", &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_INVALID);
	cr_assert_str_eq(got->reason, "registry shows another company");
	cr_assert_eq(got->decided_at, 700);
	cr_assert_str_eq(got->org, "NTRJP-9234567890123");
	verification_free(got);
}

Test(store, verification_without_approvals)
{
	struct verification v, *got = NULL;

	put_chain(fx.st, "1");
	v = mk_verification("ver-1", "1", NULL, 0);
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	cr_assert_eq(store_verification_get(fx.st, "ver-1", &got), KK_OK);
	cr_assert_eq(got->n_approvals, 0);
	cr_assert_null(got->approvals);
	verification_free(got);
}

Test(store, verification_missing_and_duplicate)
{
	struct approval ap = {"op", "phone", "X", "JP", "e", 1};
	struct verification v, *got = NULL;

	put_chain(fx.st, "1");
	v = mk_verification("ver-1", "1", NULL, 0);
	cr_assert_eq(
	    store_verification_get(fx.st, "ver-1", &got), KK_ENOTFOUND);
	cr_assert_null(got);
	cr_assert_eq(
	    store_verification_by_challenge(fx.st, "ch-1", &got), KK_ENOTFOUND);
	cr_assert_eq(store_verification_update(fx.st, &v), KK_ENOTFOUND);
	cr_assert_eq(store_approval_insert(fx.st, "ver-1", &ap), KK_ENOTFOUND);
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_EEXIST);
	/* One verification per challenge. */
	v.id = "ver-2";
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_EEXIST);
	/* One approval per operator: dual control needs two people. */
	cr_assert_eq(store_approval_insert(fx.st, "ver-1", &ap), KK_OK);
	ap.at = 2;
	cr_assert_eq(store_approval_insert(fx.st, "ver-1", &ap), KK_EEXIST);
	cr_assert_eq(store_verification_get(fx.st, "ver-1", &got), KK_OK);
	cr_assert_eq(got->n_approvals, 1);
	cr_assert_eq(got->approvals[0].at, 1);
	verification_free(got);
}

Test(store, verification_insert_is_all_or_nothing)
{
	struct approval ap[2] = {
	    {"op", "phone", "X", "JP", "e", 1},
	    {"op", "phone", "X", "JP", "e", 2},
	};
	struct verification v, *got = NULL;

	put_chain(fx.st, "1");
	v = mk_verification("ver-1", "1", ap, 2);
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_EEXIST);
	cr_assert_eq(
	    store_verification_get(fx.st, "ver-1", &got), KK_ENOTFOUND);
}

static void
free_verifications(struct verification **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		verification_free(list[i]);
	free(list);
}

Test(store, verification_list_filters_and_order)
{
	struct approval ap = {"op", "phone", "X", "JP", "e", 1};
	struct verification v, **list = NULL;
	size_t n = 0;

	put_chain(fx.st, "1");
	put_chain(fx.st, "2");
	put_chain(fx.st, "3");
	put_chain(fx.st, "4");
	v = mk_verification("v-late", "1", NULL, 0);
	v.requested_at = 300;
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	v = mk_verification("v-early", "2", &ap, 1);
	v.requested_at = 100;
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	v = mk_verification("v-other-org", "3", NULL, 0);
	v.requested_at = 200;
	v.org = "NTRJP-7000012050002";
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	v = mk_verification("v-done", "4", NULL, 0);
	v.requested_at = 50;
	v.status = ACME_STATUS_VALID;
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);

	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_NONE, NULL, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(list[0]->id, "v-done");
	cr_assert_str_eq(list[1]->id, "v-early");
	cr_assert_str_eq(list[2]->id, "v-other-org");
	cr_assert_str_eq(list[3]->id, "v-late");
	/* Lists carry approvals too. */
	cr_assert_eq(list[1]->n_approvals, 1);
	cr_assert_str_eq(list[1]->approvals[0].operator_name, "op");
	cr_assert_eq(list[0]->n_approvals, 0);
	free_verifications(list, n);

	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_PROCESSING, NULL, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0]->id, "v-early");
	cr_assert_str_eq(list[1]->id, "v-other-org");
	cr_assert_str_eq(list[2]->id, "v-late");
	free_verifications(list, n);

	cr_assert_eq(store_verification_list(fx.st, ACME_STATUS_NONE,
	                 "NTRJP-9234567890123", NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0]->id, "v-done");
	cr_assert_str_eq(list[1]->id, "v-early");
	cr_assert_str_eq(list[2]->id, "v-late");
	free_verifications(list, n);

	cr_assert_eq(store_verification_list(fx.st, ACME_STATUS_PROCESSING,
	                 "NTRJP-7000012050002", NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->id, "v-other-org");
	free_verifications(list, n);

	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_INVALID, NULL, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
}

/*
 * A page of verifications gets each one's own approvals, in the order
 * given, however many each has (PostgreSQL reads them for the whole page
 * at once). Ids with quotes, backslashes, commas and braces must not
 * confuse the reading.
 */
Test(store, verification_list_gives_each_its_own_approvals)
{
	struct approval ap[3] = {
	    {"op-z", "phone", "A", "JP", "e1", 10},
	    {"op-a", "document", "B", "JP", "e2", 20},
	    {"op-m", "phone", "C", "JP", "e3", 30},
	};
	static const char *const ids[] = {
	    "v-0", "v-\"1\"", "v-{2},", "v-\\3", "v-4"};
	static const size_t want[] = {0, 2, 1, 0, 3};
	struct verification v, **list = NULL;
	char tag[8];
	size_t n = 0, i, j;

	for (i = 0; i < 5; i++) {
		snprintf(tag, sizeof(tag), "%zu", i + 1);
		put_chain(fx.st, tag);
		v = mk_verification(ids[i], tag, NULL, 0);
		v.requested_at = 100 + (time_t)i;
		cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	}
	/* Given out of page order, and op-z before op-a. */
	for (j = 0; j < 3; j++)
		for (i = 5; i-- > 0;)
			if (j < want[i])
				cr_assert_eq(store_approval_insert(
				                 fx.st, ids[i], &ap[j]),
				    KK_OK);
	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_NONE, NULL, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 5);
	for (i = 0; i < n; i++) {
		cr_assert_str_eq(list[i]->id, ids[i]);
		cr_assert_eq(list[i]->n_approvals, want[i], "%s has %zu",
		    ids[i], list[i]->n_approvals);
		for (j = 0; j < want[i]; j++)
			check_approval(&list[i]->approvals[j], &ap[j]);
	}
	free_verifications(list, n);
}

Test(store, org_put_get_replace_list)
{
	struct org o = {
	    "NTRJP-9234567890123", "Example K.K.", "JP", "phone", 1000, 2000};
	struct org o2 = {
	    "NTRJP-7000012050002", "Other K.K.", "JP", "document", 1100, 2100};
	struct org *got = NULL, **list = NULL;
	size_t n = 0;

	cr_assert_eq(store_org_get(fx.st, o.id, &got), KK_ENOTFOUND);
	cr_assert_eq(store_org_put(fx.st, &o), KK_OK);
	cr_assert_eq(store_org_get(fx.st, o.id, &got), KK_OK);
	cr_assert_str_eq(got->id, o.id);
	cr_assert_str_eq(got->legal_name, "Example K.K.");
	cr_assert_str_eq(got->country, "JP");
	cr_assert_str_eq(got->method, "phone");
	cr_assert_eq(got->verified_at, 1000);
	cr_assert_eq(got->expires, 2000);
	org_free(got);

	/* put replaces: a new verification renews the organization. */
	o.legal_name = "Example Kabushiki Kaisha";
	o.method = "document";
	o.verified_at = 3000;
	o.expires = 4000;
	cr_assert_eq(store_org_put(fx.st, &o), KK_OK);
	cr_assert_eq(store_org_get(fx.st, o.id, &got), KK_OK);
	cr_assert_str_eq(got->legal_name, "Example Kabushiki Kaisha");
	cr_assert_str_eq(got->method, "document");
	cr_assert_eq(got->verified_at, 3000);
	cr_assert_eq(got->expires, 4000);
	org_free(got);

	cr_assert_eq(store_org_put(fx.st, &o2), KK_OK);
	cr_assert_eq(store_org_list(fx.st, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0]->id, "NTRJP-7000012050002", "ordered by id");
	cr_assert_str_eq(list[1]->id, "NTRJP-9234567890123");
	org_free(list[0]);
	org_free(list[1]);
	free(list);
}

Test(store, org_list_empty)
{
	struct org **list = (struct org **)&list;
	size_t n = 5;

	cr_assert_eq(store_org_list(fx.st, NULL, &list, &n), KK_OK);
	cr_assert_null(list);
	cr_assert_eq(n, 0);
}

static struct cert
mk_cert(const char *serial, const char *tag, const char *org)
{
	static char buf[4][2][64];
	static int k;
	char(*b)[64] = buf[k++ % 4];

	snprintf(b[0], 64, "acc-%.48s", tag);
	snprintf(b[1], 64, "ord-%.48s", tag);
	return (struct cert){
	    .serial = (char *)serial,
	    .account_id = b[0],
	    .order_id = b[1],
	    .org = (char *)org,
	    .cn = "host1.example.jp",
	    .pem = "-----BEGIN CERTIFICATE-----\nMIIB\n"
	           "-----END CERTIFICATE-----\n",
	    .spki_sha256 = "9f86d081884c7d659a2feaa0c55ad015"
	                   "a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    .status = ACME_STATUS_VALID,
	    .not_before = 1700000000,
	    .not_after = 1707776000,
	    .revoked_at = 0,
	    .reason = 0,
	};
}

Test(store, cert_round_trip_and_revoke)
{
	struct cert c, *got = NULL;

	put_chain(fx.st, "1");
	c = mk_cert("0a1b2c3d4e5f6071", "1", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_get(fx.st, c.serial, &got), KK_ENOTFOUND);
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_EEXIST);
	cr_assert_eq(store_cert_get(fx.st, c.serial, &got), KK_OK);
	cr_assert_str_eq(got->serial, c.serial);
	cr_assert_str_eq(got->account_id, "acc-1");
	cr_assert_str_eq(got->order_id, "ord-1");
	cr_assert_str_eq(got->org, c.org);
	cr_assert_str_eq(got->cn, c.cn);
	cr_assert_str_eq(got->pem, c.pem);
	cr_assert_str_eq(got->spki_sha256, c.spki_sha256);
	cr_assert_eq(got->status, ACME_STATUS_VALID);
	cr_assert_eq(got->not_before, c.not_before);
	cr_assert_eq(got->not_after, c.not_after);
	cr_assert_eq(got->revoked_at, 0);
	cr_assert_eq(got->reason, 0);
	cert_free(got);

	cr_assert_eq(store_cert_revoke(fx.st, c.serial, 1700001000, 1), KK_OK);
	cr_assert_eq(store_cert_get(fx.st, c.serial, &got), KK_OK);
	cr_assert_eq(got->status, ACME_STATUS_REVOKED);
	cr_assert_eq(got->revoked_at, 1700001000);
	cr_assert_eq(got->reason, 1);
	cert_free(got);

	/* Already revoked: refused, and the first revocation stands. */
	cr_assert_eq(
	    store_cert_revoke(fx.st, c.serial, 1700002000, 4), KK_ECONFLICT);
	cr_assert_eq(store_cert_get(fx.st, c.serial, &got), KK_OK);
	cr_assert_eq(got->revoked_at, 1700001000);
	cr_assert_eq(got->reason, 1);
	cert_free(got);

	cr_assert_eq(store_cert_revoke(fx.st, "ffff", 1, 0), KK_ENOTFOUND);
	c = mk_cert("0b", "ghost", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_ENOTFOUND);
}

static void
free_certs(struct cert **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cert_free(list[i]);
	free(list);
}

Test(store, cert_list_filters_newest_first)
{
	struct cert c, **list = NULL;
	size_t n = 0;

	put_chain(fx.st, "1");
	c = mk_cert("01", "1", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("02", "1", "NTRJP-7000012050002");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("03", "1", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("00", "1", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_cert_revoke(fx.st, "03", 5, 0), KK_OK);

	cr_assert_eq(
	    store_cert_list(fx.st, NULL, ACME_STATUS_NONE, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(list[0]->serial, "00");
	cr_assert_str_eq(list[1]->serial, "03");
	cr_assert_str_eq(list[2]->serial, "02");
	cr_assert_str_eq(list[3]->serial, "01");
	free_certs(list, n);

	cr_assert_eq(store_cert_list(fx.st, "NTRJP-9234567890123",
	                 ACME_STATUS_NONE, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0]->serial, "00");
	cr_assert_str_eq(list[1]->serial, "03");
	cr_assert_str_eq(list[2]->serial, "01");
	free_certs(list, n);

	cr_assert_eq(
	    store_cert_list(fx.st, NULL, ACME_STATUS_REVOKED, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->serial, "03");
	free_certs(list, n);

	cr_assert_eq(store_cert_list(fx.st, "NTRJP-9234567890123",
	                 ACME_STATUS_VALID, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0]->serial, "00");
	cr_assert_str_eq(list[1]->serial, "01");
	free_certs(list, n);

	cr_assert_eq(store_cert_list(fx.st, "NTRJP-7000012050002",
	                 ACME_STATUS_REVOKED, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
}

Test(store, eab_round_trip_and_use_limit)
{
	unsigned char key[32];
	struct eab_key k = {0}, *got = NULL;
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	key[5] = 0; /* binary, not a string */
	k.kid = "kid-1";
	k.hmac_key = key;
	k.hmac_key_len = sizeof(key);
	k.org = "NTRJP-9234567890123";
	k.created_by = "op1";
	k.created_at = 1000;
	k.expires = 9000;
	k.max_uses = 2;
	cr_assert_eq(store_eab_get(fx.st, "kid-1", &got), KK_ENOTFOUND);
	cr_assert_eq(store_eab_use(fx.st, "kid-1"), KK_ENOTFOUND);
	cr_assert_eq(store_eab_insert(fx.st, &k), KK_OK);
	cr_assert_eq(store_eab_insert(fx.st, &k), KK_EEXIST);
	cr_assert_eq(store_eab_get(fx.st, "kid-1", &got), KK_OK);
	cr_assert_str_eq(got->kid, "kid-1");
	cr_assert_eq(got->hmac_key_len, sizeof(key));
	cr_assert_arr_eq(got->hmac_key, key, sizeof(key));
	cr_assert_str_eq(got->org, k.org);
	cr_assert_str_eq(got->created_by, "op1");
	cr_assert_eq(got->created_at, 1000);
	cr_assert_eq(got->expires, 9000);
	cr_assert_eq(got->max_uses, 2);
	cr_assert_eq(got->uses, 0);
	eab_key_free(got);

	cr_assert_eq(store_eab_use(fx.st, "kid-1"), KK_OK);
	cr_assert_eq(store_eab_use(fx.st, "kid-1"), KK_OK);
	cr_assert_eq(store_eab_use(fx.st, "kid-1"), KK_ELIMIT);
	cr_assert_eq(store_eab_use(fx.st, "kid-1"), KK_ELIMIT);
	cr_assert_eq(store_eab_get(fx.st, "kid-1", &got), KK_OK);
	cr_assert_eq(got->uses, 2, "refused uses are not counted");
	eab_key_free(got);
}

Test(store, eab_unlimited_and_refused_keys)
{
	unsigned char key[16] = {1, 2, 3};
	struct eab_key k = {0}, *got = NULL;
	int i;

	k.kid = "kid-u";
	k.hmac_key = key;
	k.hmac_key_len = sizeof(key);
	k.org = "NTRJP-9234567890123";
	k.created_at = 1;
	cr_assert_eq(store_eab_insert(fx.st, &k), KK_OK);
	for (i = 0; i < 50; i++)
		cr_assert_eq(store_eab_use(fx.st, "kid-u"), KK_OK);
	cr_assert_eq(store_eab_get(fx.st, "kid-u", &got), KK_OK);
	cr_assert_eq(got->uses, 50);
	cr_assert_eq(got->max_uses, 0);
	cr_assert_null(got->created_by);
	eab_key_free(got);

	k.kid = "kid-nokey";
	k.hmac_key = NULL;
	k.hmac_key_len = 0;
	cr_assert_eq(store_eab_insert(fx.st, &k), KK_EINVAL);
	k.kid = "kid-neg";
	k.hmac_key = key;
	k.hmac_key_len = sizeof(key);
	k.max_uses = -1;
	cr_assert_eq(store_eab_insert(fx.st, &k), KK_EINVAL);
}

Test(store, token_lookup_revoke_and_name_reuse)
{
	struct op_token t = {0}, t2 = {0}, *got = NULL;

	memset(t.hash, 0xa5, sizeof(t.hash));
	t.name = "alice";
	t.role = "operator";
	t.created_at = 100;
	cr_assert_eq(store_token_by_hash(fx.st, t.hash, &got), KK_ENOTFOUND);
	cr_assert_eq(store_token_insert(fx.st, &t), KK_OK);
	cr_assert_eq(store_token_by_hash(fx.st, t.hash, &got), KK_OK);
	cr_assert_str_eq(got->name, "alice");
	cr_assert_str_eq(got->role, "operator");
	cr_assert_arr_eq(got->hash, t.hash, sizeof(t.hash));
	cr_assert_eq(got->created_at, 100);
	cr_assert_eq(got->revoked_at, 0);
	op_token_free(got);

	/* Another hash differing in one byte finds nothing. */
	memcpy(t2.hash, t.hash, sizeof(t.hash));
	t2.hash[31] ^= 1;
	cr_assert_eq(store_token_by_hash(fx.st, t2.hash, &got), KK_ENOTFOUND);

	/* An active name is taken; so is a hash. */
	t2.name = "alice";
	t2.role = "auditor";
	t2.created_at = 200;
	cr_assert_eq(store_token_insert(fx.st, &t2), KK_EEXIST);
	t2.name = "bob";
	memcpy(t2.hash, t.hash, sizeof(t.hash));
	cr_assert_eq(store_token_insert(fx.st, &t2), KK_EEXIST);

	cr_assert_eq(store_token_revoke(fx.st, "alice", 0), KK_EINVAL);
	cr_assert_eq(store_token_revoke(fx.st, "alice", 150), KK_OK);
	cr_assert_eq(store_token_by_hash(fx.st, t.hash, &got), KK_ENOTFOUND,
	    "a revoked token must not authenticate");
	cr_assert_null(got);
	cr_assert_eq(store_token_revoke(fx.st, "alice", 160), KK_ENOTFOUND);
	cr_assert_eq(store_token_revoke(fx.st, "nobody", 160), KK_ENOTFOUND);

	/* The name is free again for a new token. */
	t2.name = "alice";
	t2.hash[0] ^= 1;
	cr_assert_eq(store_token_insert(fx.st, &t2), KK_OK);
	cr_assert_eq(store_token_by_hash(fx.st, t2.hash, &got), KK_OK);
	cr_assert_str_eq(got->role, "auditor");
	op_token_free(got);
	cr_assert_eq(store_token_by_hash(fx.st, t.hash, &got), KK_ENOTFOUND);

	t2.role = "root";
	t2.name = "carol";
	t2.hash[0] ^= 2;
	cr_assert_eq(store_token_insert(fx.st, &t2), KK_EINVAL);
}

static void
free_events(struct audit_event **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		audit_event_free(list[i]);
	free(list);
}

Test(store, audit_append_and_list)
{
	struct audit_event e = {0}, **list = NULL;
	size_t n = 0;

	e.at = 300;
	e.actor = "op1";
	e.action = "verification.approve";
	e.object = "ver-1";
	e.detail = "{\"method\":\"phone\"}";
	cr_assert_eq(store_audit_append(fx.st, &e), KK_OK);
	e.at = 100; /* a clock step back: order is still append order */
	e.actor = "system";
	e.action = "crl.regenerate";
	e.object = NULL;
	e.detail = NULL;
	cr_assert_eq(store_audit_append(fx.st, &e), KK_OK);
	e.at = 400;
	e.actor = "acme:acc-1";
	e.action = "account.create";
	e.object = "acc-1";
	cr_assert_eq(store_audit_append(fx.st, &e), KK_OK);

	cr_assert_eq(store_audit_list(fx.st, 0, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(list[0]->at, 300);
	cr_assert_str_eq(list[0]->actor, "op1");
	cr_assert_str_eq(list[0]->action, "verification.approve");
	cr_assert_str_eq(list[0]->object, "ver-1");
	cr_assert_str_eq(list[0]->detail, "{\"method\":\"phone\"}");
	cr_assert_str_eq(list[1]->actor, "system");
	cr_assert_null(list[1]->object);
	cr_assert_null(list[1]->detail);
	cr_assert_str_eq(list[2]->actor, "acme:acc-1");
	cr_assert_gt(list[1]->seq, list[0]->seq);
	cr_assert_gt(list[2]->seq, list[1]->seq);
	free_events(list, n);

	cr_assert_eq(store_audit_list(fx.st, 300, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 2, "since is inclusive");
	cr_assert_eq(list[0]->at, 300);
	cr_assert_eq(list[1]->at, 400);
	free_events(list, n);

	cr_assert_eq(store_audit_list(fx.st, 401, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(list);

	e.actor = NULL;
	cr_assert_eq(store_audit_append(fx.st, &e), KK_EINVAL);
}

Test(store, audit_is_append_only_in_the_database)
{
	struct audit_event e = {0}, **list = NULL;
	char err[256];
	size_t n = 0;

	e.at = 1;
	e.actor = "op1";
	e.action = "token.create";
	cr_assert_eq(store_audit_append(fx.st, &e), KK_OK);

	/* Refused by the database itself, whoever connects to it. */
	cr_assert_eq(fixture_raw_exec(&fx, "UPDATE audit SET actor = 'mallory'",
	                 err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "the audit log is append-only");
	cr_assert_eq(
	    fixture_raw_exec(&fx, "DELETE FROM audit", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "the audit log is append-only");
	if (fx.pg) {
		/* TRUNCATE bypasses row triggers; a statement one stops it. */
		cr_assert_eq(
		    fixture_raw_exec(&fx, "TRUNCATE audit", err, sizeof(err)),
		    -1);
		cr_assert_str_eq(err, "the audit log is append-only");
	}

	cr_assert_eq(store_audit_list(fx.st, 0, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->actor, "op1");
	free_events(list, n);
}

Test(store, counter_next_is_monotonic_and_per_name)
{
	int64_t v = 0;

	cr_assert_eq(store_counter_next(fx.st, "crl_number", &v), KK_OK);
	cr_assert_eq(v, 1);
	cr_assert_eq(store_counter_next(fx.st, "crl_number", &v), KK_OK);
	cr_assert_eq(v, 2);
	cr_assert_eq(store_counter_next(fx.st, "other", &v), KK_OK);
	cr_assert_eq(v, 1);
	fixture_reopen(&fx);
	cr_assert_eq(store_counter_next(fx.st, "crl_number", &v), KK_OK);
	cr_assert_eq(v, 3);
	cr_assert_eq(store_counter_next(fx.st, "other", &v), KK_OK);
	cr_assert_eq(v, 2);
}

Test(store, expire_transitions)
{
	static const struct {
		const char *id, *status;
		time_t expires;
		const char *want;
	} orders[] =
	    {
	        {"o-pending-old", "pending", 999, "invalid"},
	        {"o-ready-old", "ready", 999, "invalid"},
	        {"o-processing-old", "processing", 999, "processing"},
	        {"o-valid-old", "valid", 999, "valid"},
	        {"o-pending-now", "pending", 1000, "pending"},
	        {"o-pending-new", "pending", 5000, "pending"},
	        {"o-pending-unset", "pending", 0, "pending"},
	    },
	  authzs[] = {
	      {"a-pending-old", "pending", 999, "expired"},
	      {"a-valid-old", "valid", 999, "expired"},
	      {"a-invalid-old", "invalid", 999, "invalid"},
	      {"a-deact-old", "deactivated", 999, "deactivated"},
	      {"a-pending-new", "pending", 1001, "pending"},
	      {"a-valid-new", "valid", 5000, "valid"},
	  };
	struct order o, *og = NULL;
	struct authz a, *ag = NULL;
	size_t i;
	int n = -1;

	put_account(fx.st, "acc");
	for (i = 0; i < sizeof(authzs) / sizeof(authzs[0]); i++) {
		a = mk_authz(authzs[i].id, "acc");
		a.status = acme_status_parse(authzs[i].status);
		a.expires = authzs[i].expires;
		cr_assert_eq(store_authz_insert(fx.st, &a), KK_OK);
	}
	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		o = mk_order(orders[i].id, "acc", "a-valid-new");
		o.status = acme_status_parse(orders[i].status);
		o.expires = orders[i].expires;
		cr_assert_eq(store_order_insert(fx.st, &o), KK_OK);
	}
	cr_assert_eq(store_expire(fx.st, 1000, &n), KK_OK);
	cr_assert_eq(n, 4);
	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		cr_assert_eq(store_order_get(fx.st, orders[i].id, &og), KK_OK);
		cr_assert_str_eq(acme_status_name(og->status), orders[i].want,
		    "%s", orders[i].id);
		order_free(og);
	}
	for (i = 0; i < sizeof(authzs) / sizeof(authzs[0]); i++) {
		cr_assert_eq(store_authz_get(fx.st, authzs[i].id, &ag), KK_OK);
		cr_assert_str_eq(acme_status_name(ag->status), authzs[i].want,
		    "%s", authzs[i].id);
		authz_free(ag);
	}
	/* Nothing left to do; n may be NULL. */
	cr_assert_eq(store_expire(fx.st, 1000, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_expire(fx.st, 1002, NULL), KK_OK);
	cr_assert_eq(store_authz_get(fx.st, "a-pending-new", &ag), KK_OK);
	cr_assert_eq(ag->status, ACME_STATUS_EXPIRED);
	authz_free(ag);
}

Test(store, open_refuses_other_urls)
{
	struct store *st = (struct store *)&st;

#ifdef KAKUIN_HAVE_PG
	/* A PostgreSQL URL is taken; nothing listens on port 1. */
	cr_assert_eq(
	    store_open("postgresql://u:secret@127.0.0.1:1/kakuin", &st),
	    KK_EIO);
#else
	cr_assert_eq(
	    store_open("postgresql://u:secret@db/kakuin", &st), KK_EINVAL);
#endif
	cr_assert_null(st);
	cr_assert_eq(store_open("mysql:x", &st), KK_EINVAL);
	cr_assert_eq(store_open("/var/lib/kakuin.db", &st), KK_EINVAL);
	cr_assert_eq(store_open("", &st), KK_EINVAL);
	cr_assert_eq(store_open("sqlite:", &st), KK_EINVAL);
	cr_assert_eq(store_open(NULL, &st), KK_EINVAL);
	cr_assert_eq(
	    store_open("sqlite:/nonexistent-dir/x/kakuin.db", &st), KK_EIO);
	cr_assert_null(st);
}

Test(store, database_file_is_private)
{
	struct stat sb;

	fixture_only_sqlite(&fx, "the database is a file");
	cr_assert_eq(stat(fx.path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	/* An existing file others can read is made private at open. */
	store_close(fx.st);
	fx.st = NULL;
	cr_assert_eq(chmod(fx.path, 0644), 0);
	fixture_open(&fx);
	cr_assert_eq(stat(fx.path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
}

Test(store, database_is_wal)
{
	sqlite3 *db;
	sqlite3_stmt *q = NULL;

	fixture_only_sqlite(&fx, "journal mode");
	db = fixture_raw(&fx);
	cr_assert_eq(
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

Test(store, new_ids_are_random_base64url)
{
	char *a = NULL, *b = NULL;

	cr_assert_eq(model_new_id(&a), KK_OK);
	cr_assert_eq(model_new_id(&b), KK_OK);
	cr_assert_eq(strlen(a), MODEL_ID_LEN);
	cr_assert_eq(
	    strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	              "wxyz0123456789-_"),
	    MODEL_ID_LEN);
	cr_assert_str_neq(a, b);
	free(a);
	free(b);
}

Test(store, free_functions_accept_null)
{
	account_free(NULL);
	order_free(NULL);
	authz_free(NULL);
	challenge_free(NULL);
	verification_free(NULL);
	org_free(NULL);
	cert_free(NULL);
	eab_key_free(NULL);
	op_token_free(NULL);
	audit_event_free(NULL);
}

Test(store, nonces_are_redeemed_once_by_any_replica)
{
	struct store *other = NULL;

	cr_assert_eq(store_shares_nonces(fx.st), fx.pg,
	    "PostgreSQL is shared by replicas, SQLite is not");
	if (!store_shares_nonces(fx.st)) {
		/* One process alone keeps its nonces in memory (nonce.c). */
		cr_assert_eq(store_nonce_put(fx.st, "n", 2000), KK_EINVAL);
		cr_assert_eq(store_nonce_take(fx.st, "n", 1000), KK_EINVAL);
		return;
	}
	cr_assert_eq(store_open(fx.url, &other), KK_OK);
	cr_assert_eq(store_nonce_put(fx.st, "nonce-1", 2000), KK_OK);
	cr_assert_eq(store_nonce_put(fx.st, "nonce-2", 2000), KK_OK);
	cr_assert_eq(store_nonce_put(fx.st, "nonce-1", 2000), KK_EEXIST);
	/* Issued by one, redeemed by the other, once. */
	cr_assert_eq(store_nonce_take(other, "nonce-1", 1000), KK_OK);
	cr_assert_eq(store_nonce_take(fx.st, "nonce-1", 1000), KK_ENOTFOUND);
	cr_assert_eq(store_nonce_take(other, "nonce-1", 1000), KK_ENOTFOUND);
	cr_assert_eq(store_nonce_take(other, "never", 1000), KK_ENOTFOUND);
	/* Good until its expiry second, not after. */
	cr_assert_eq(store_nonce_take(other, "nonce-2", 2001), KK_ENOTFOUND);
	cr_assert_eq(store_nonce_take(other, "nonce-2", 2000), KK_OK);
	store_close(other);
}

/*
 * Paging (store_page). Each walk follows the pages, giving as cursor the
 * key of each page's last record, and must meet every record of the
 * unpaged list exactly once and in the same order, with more set on every
 * page but the last.
 */

/* The keys a walk met, joined by spaces, so one comparison checks order,
 * losses and repeats together. */
struct walk {
	char keys[4096];
	int pages;
};

static void
walk_add(struct walk *w, const char *key)
{
	size_t len = strlen(w->keys);

	snprintf(w->keys + len, sizeof(w->keys) - len, "%s%s",
	    len > 0 ? " " : "", key);
}

/* Checks a page's size against the walk so far: full unless it is the
 * last, and the last page says so. */
static void
walk_page(struct walk *w, const struct store_page *pg, size_t n)
{
	w->pages++;
	cr_assert_leq(n, pg->limit);
	if (pg->more)
		cr_assert_eq(n, pg->limit, "a page before the last is full");
	cr_assert_lt(w->pages, 100, "the walk does not end");
}

Test(store, audit_pages_in_sequence_with_since)
{
	struct audit_event e = {0}, **list = NULL;
	struct store_page pg = {0};
	struct walk all = {{0}, 0}, paged = {{0}, 0};
	char key[32];
	size_t n = 0, i;

	e.actor = "op1";
	e.action = "token.create";
	for (i = 0; i < 25; i++) {
		/* One clock step back: pages follow seq, not at. */
		e.at = i == 12 ? 3 : (time_t)i;
		cr_assert_eq(store_audit_append(fx.st, &e), KK_OK);
	}
	cr_assert_eq(store_audit_list(fx.st, 5, NULL, &list, &n), KK_OK);
	cr_assert_eq(n, 19);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%lld", (long long)list[i]->seq);
		walk_add(&all, key);
	}
	free_events(list, n);

	pg.limit = 7;
	do {
		cr_assert_eq(store_audit_list(fx.st, 5, &pg, &list, &n), KK_OK);
		walk_page(&paged, &pg, n);
		for (i = 0; i < n; i++) {
			cr_assert_geq(list[i]->at, 5);
			snprintf(
			    key, sizeof(key), "%lld", (long long)list[i]->seq);
			walk_add(&paged, key);
		}
		free_events(list, n);
		pg.after = key;
	} while (pg.more);
	cr_assert_str_eq(paged.keys, all.keys);
	cr_assert_eq(paged.pages, 3);

	/* A page that ends exactly at the end of the list is the last. */
	pg.after = NULL;
	pg.limit = 25;
	cr_assert_eq(store_audit_list(fx.st, 0, &pg, &list, &n), KK_OK);
	cr_assert_eq(n, 25);
	cr_assert_eq(pg.more, 0);
	free_events(list, n);

	pg.after = "999999";
	cr_assert_eq(store_audit_list(fx.st, 0, &pg, &list, &n), KK_ENOTFOUND);
	cr_assert_null(list);
}

Test(store, cert_pages_newest_first_with_filters)
{
	struct cert c, **list = NULL;
	struct store_page pg = {0};
	struct walk all = {{0}, 0}, paged = {{0}, 0};
	static char serials[20][8];
	char key[8];
	size_t n = 0, i;

	put_chain(fx.st, "1");
	for (i = 0; i < 20; i++) {
		/* Serials out of insertion order: pages follow insertion. */
		snprintf(serials[i], sizeof(serials[i]), "%02zx", (i * 7) % 20);
		c = mk_cert(serials[i], "1",
		    i % 3 == 0 ? "NTRJP-7000012050002" : "NTRJP-9234567890123");
		cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	}
	cr_assert_eq(store_cert_list(fx.st, "NTRJP-9234567890123",
	                 ACME_STATUS_VALID, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 13);
	for (i = 0; i < n; i++)
		walk_add(&all, list[i]->serial);
	free_certs(list, n);

	pg.limit = 4;
	do {
		cr_assert_eq(store_cert_list(fx.st, "NTRJP-9234567890123",
		                 ACME_STATUS_VALID, &pg, &list, &n),
		    KK_OK);
		walk_page(&paged, &pg, n);
		for (i = 0; i < n; i++)
			walk_add(&paged, list[i]->serial);
		if (n > 0)
			snprintf(key, sizeof(key), "%s", list[n - 1]->serial);
		free_certs(list, n);
		pg.after = key;
	} while (pg.more);
	cr_assert_str_eq(paged.keys, all.keys);
	cr_assert_eq(paged.pages, 4);

	pg.after = "zz";
	cr_assert_eq(
	    store_cert_list(fx.st, NULL, ACME_STATUS_NONE, &pg, &list, &n),
	    KK_ENOTFOUND);
}

Test(store, verification_pages_break_ties_by_insertion)
{
	struct verification v, **list = NULL;
	struct store_page pg = {0};
	struct walk all = {{0}, 0}, paged = {{0}, 0};
	static char ids[12][16], tags[12][8];
	char key[16];
	size_t n = 0, i;

	for (i = 0; i < 12; i++) {
		snprintf(tags[i], sizeof(tags[i]), "%zu", i);
		/* Ids against insertion order, several in one second. */
		snprintf(ids[i], sizeof(ids[i]), "v-%02zu", 11 - i);
		put_chain(fx.st, tags[i]);
		v = mk_verification(ids[i], tags[i], NULL, 0);
		v.requested_at = 1000 + (time_t)(i / 5);
		if (i == 7)
			v.status = ACME_STATUS_VALID;
		cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	}
	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_PROCESSING, NULL, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 11);
	for (i = 0; i < n; i++)
		walk_add(&all, list[i]->id);
	free_verifications(list, n);

	pg.limit = 3;
	do {
		cr_assert_eq(store_verification_list(fx.st,
		                 ACME_STATUS_PROCESSING, NULL, &pg, &list, &n),
		    KK_OK);
		walk_page(&paged, &pg, n);
		for (i = 0; i < n; i++)
			walk_add(&paged, list[i]->id);
		if (n > 0)
			snprintf(key, sizeof(key), "%s", list[n - 1]->id);
		free_verifications(list, n);
		pg.after = key;
	} while (pg.more);
	cr_assert_str_eq(paged.keys, all.keys);
	cr_assert_eq(paged.pages, 4);

	pg.after = "v-none";
	cr_assert_eq(store_verification_list(
	                 fx.st, ACME_STATUS_NONE, NULL, &pg, &list, &n),
	    KK_ENOTFOUND);
}

Test(store, org_pages_by_id)
{
	struct org o = {NULL, "Example K.K.", "JP", "phone", 1000, 2000};
	struct org **list = NULL;
	struct store_page pg = {0};
	struct walk paged = {{0}, 0};
	static char ids[5][24];
	char key[24];
	size_t n = 0, i;

	for (i = 0; i < 5; i++) {
		snprintf(ids[i], sizeof(ids[i]), "NTRJP-%zu", 4 - i);
		o.id = ids[i];
		cr_assert_eq(store_org_put(fx.st, &o), KK_OK);
	}
	pg.limit = 2;
	do {
		cr_assert_eq(store_org_list(fx.st, &pg, &list, &n), KK_OK);
		walk_page(&paged, &pg, n);
		for (i = 0; i < n; i++)
			walk_add(&paged, list[i]->id);
		if (n > 0)
			snprintf(key, sizeof(key), "%s", list[n - 1]->id);
		for (i = 0; i < n; i++)
			org_free(list[i]);
		free(list);
		pg.after = key;
	} while (pg.more);
	cr_assert_str_eq(paged.keys, "NTRJP-0 NTRJP-1 NTRJP-2 NTRJP-3 NTRJP-4");
	cr_assert_eq(paged.pages, 3);

	pg.after = "NTRJP-9";
	cr_assert_eq(store_org_list(fx.st, &pg, &list, &n), KK_ENOTFOUND);
}

/* Attachments: bytes and fields round-trip, one per verification and
 * SHA-256, listed in upload order without their content. */
static struct attachment
mk_attachment(const char *vid, const char *sha, unsigned char *data, size_t len,
    time_t at)
{
	struct attachment a = {
	    .verification_id = (char *)vid,
	    .sha256 = (char *)sha,
	    .content_type = "application/pdf",
	    .uploaded_by = "op1",
	    .uploaded_at = at,
	    .size = len,
	    .data = data,
	};
	return a;
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

Test(store, attachment_round_trip_and_list)
{
	unsigned char big[70000], small[] = {'%', 'P', 'D', 'F', 0, 1, 2};
	struct verification v = mk_verification("ver-1", "1", NULL, 0);
	struct attachment a, b, *got = NULL, **list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	put_chain(fx.st, "1");
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	a = mk_attachment("ver-1", SHA_A, big, sizeof(big), 200);
	b = mk_attachment("ver-1", SHA_B, small, sizeof(small), 100);
	b.content_type = "image/png";
	b.uploaded_by = "op2";
	cr_assert_eq(store_attachment_insert(fx.st, &a), KK_OK);
	cr_assert_eq(store_attachment_insert(fx.st, &b), KK_OK);
	cr_assert_eq(store_attachment_insert(fx.st, &a), KK_EEXIST);

	cr_assert_eq(store_attachment_get(fx.st, "ver-1", SHA_A, &got), KK_OK);
	cr_assert_str_eq(got->verification_id, "ver-1");
	cr_assert_str_eq(got->sha256, SHA_A);
	cr_assert_str_eq(got->content_type, "application/pdf");
	cr_assert_str_eq(got->uploaded_by, "op1");
	cr_assert_eq(got->uploaded_at, 200);
	cr_assert_eq(got->size, sizeof(big));
	cr_assert_not_null(got->data);
	cr_assert_arr_eq(got->data, big, sizeof(big));
	attachment_free(got);
	got = NULL;
	/* Binary content with NUL bytes comes back whole. */
	cr_assert_eq(store_attachment_get(fx.st, "ver-1", SHA_B, &got), KK_OK);
	cr_assert_eq(got->size, sizeof(small));
	cr_assert_arr_eq(got->data, small, sizeof(small));
	cr_assert_str_eq(got->content_type, "image/png");
	attachment_free(got);
	got = NULL;

	cr_assert_eq(store_attachment_list(fx.st, "ver-1", &list, &n), KK_OK);
	cr_assert_eq(n, 2);
	/* Oldest first, and no content in a list. */
	cr_assert_str_eq(list[0]->sha256, SHA_B);
	cr_assert_str_eq(list[1]->sha256, SHA_A);
	cr_assert_null(list[0]->data);
	cr_assert_eq(list[1]->size, sizeof(big));
	for (size_t i = 0; i < n; i++)
		attachment_free(list[i]);
	free(list);
}

Test(store, attachment_missing)
{
	unsigned char data[] = "%PDF-1.4";
	struct verification v = mk_verification("ver-1", "1", NULL, 0);
	struct attachment a = mk_attachment("ver-9", SHA_A, data, 8, 1);
	struct attachment *got = NULL, **list = NULL;
	size_t n = 1;

	put_chain(fx.st, "1");
	cr_assert_eq(store_verification_insert(fx.st, &v), KK_OK);
	cr_assert_eq(
	    store_attachment_get(fx.st, "ver-1", SHA_A, &got), KK_ENOTFOUND);
	cr_assert_null(got);
	cr_assert_eq(store_attachment_list(fx.st, "ver-1", &list, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
	/* No attachment without its verification. */
	cr_assert_neq(store_attachment_insert(fx.st, &a), KK_OK);
	a.verification_id = "ver-1";
	/* Another verification's document is not this one's. */
	cr_assert_eq(store_attachment_insert(fx.st, &a), KK_OK);
	cr_assert_eq(
	    store_attachment_get(fx.st, "ver-2", SHA_A, &got), KK_ENOTFOUND);
	/* Nothing empty is kept. */
	a.sha256 = SHA_B;
	a.size = 0;
	cr_assert_eq(store_attachment_insert(fx.st, &a), KK_EINVAL);
}

/* Certificates by CN, narrowed by organization and state, newest first,
 * paged like the other list. */
Test(store, cert_list_cn)
{
	struct cert c, **list = NULL;
	struct store_page pg = {.limit = 1};
	size_t n = 0;

	put_chain(fx.st, "1");
	c = mk_cert("01", "1", "NTRJP-9234567890123");
	c.cn = "host-a";
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("02", "1", "NTRJP-7000012050002");
	c.cn = "host-a";
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("03", "1", "NTRJP-9234567890123");
	c.cn = "host-b";
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("04", "1", "NTRJP-9234567890123");
	c.cn = "host-a";
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_cert_revoke(fx.st, "04", 5, 0), KK_OK);

	cr_assert_eq(store_cert_list_cn(fx.st, "host-a", NULL, ACME_STATUS_NONE,
	                 NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0]->serial, "04");
	cr_assert_str_eq(list[1]->serial, "02");
	cr_assert_str_eq(list[2]->serial, "01");
	free_certs(list, n);

	cr_assert_eq(store_cert_list_cn(fx.st, "host-a", "NTRJP-9234567890123",
	                 ACME_STATUS_VALID, NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->serial, "01");
	free_certs(list, n);

	cr_assert_eq(store_cert_list_cn(fx.st, "host-a", NULL, ACME_STATUS_NONE,
	                 &pg, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(pg.more, 1);
	cr_assert_str_eq(list[0]->serial, "04");
	free_certs(list, n);
	pg.after = "04";
	cr_assert_eq(store_cert_list_cn(fx.st, "host-a", NULL, ACME_STATUS_NONE,
	                 &pg, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->serial, "02");
	free_certs(list, n);

	cr_assert_eq(store_cert_list_cn(fx.st, "host-z", NULL, ACME_STATUS_NONE,
	                 NULL, &list, &n),
	    KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
}

Test(store, cert_count_by_status)
{
	struct cert c;
	int64_t n = -1;

	cr_assert_eq(store_cert_count(fx.st, ACME_STATUS_NONE, &n), KK_OK);
	cr_assert_eq(n, 0);
	put_chain(fx.st, "1");
	put_chain(fx.st, "2");
	put_chain(fx.st, "3");
	c = mk_cert("01", "1", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("02", "2", "NTRJP-9234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	c = mk_cert("03", "3", "NTRJP-1234567890123");
	cr_assert_eq(store_cert_insert(fx.st, &c), KK_OK);
	cr_assert_eq(store_cert_revoke(fx.st, "02", 1700001000, 1), KK_OK);
	cr_assert_eq(store_cert_count(fx.st, ACME_STATUS_NONE, &n), KK_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(store_cert_count(fx.st, ACME_STATUS_REVOKED, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_cert_count(fx.st, ACME_STATUS_VALID, &n), KK_OK);
	cr_assert_eq(n, 2);
}

static struct crl_state
mk_crl(const char *issuer, int64_t number, unsigned char *der, size_t len)
{
	return (struct crl_state){
	    .issuer = (char *)issuer,
	    .number = number,
	    .this_update = 1700000000 + number,
	    .next_update = 1700604800 + number,
	    .revoked = 10 * number,
	    .der = der,
	    .der_len = len,
	};
}

Test(store, crl_round_trip_and_only_newer_replaces)
{
	unsigned char der1[] = {0x30, 0x00, 0x01, 0xff}, der2[300];
	struct crl_state c, *got = NULL;

	memset(der2, 0, sizeof(der2));
	der2[0] = 0x30;
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_ENOTFOUND);
	cr_assert_null(got);
	c = mk_crl("aa11", 1, der1, sizeof(der1));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_OK);
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_OK);
	cr_assert_str_eq(got->issuer, "aa11");
	cr_assert_eq(got->number, 1);
	cr_assert_eq(got->this_update, 1700000001);
	cr_assert_eq(got->next_update, 1700604801);
	cr_assert_eq(got->revoked, 10);
	cr_assert_eq(got->der_len, sizeof(der1));
	cr_assert_arr_eq(got->der, der1, sizeof(der1));
	crl_state_free(got);

	/* The same number again, or a lower one: the stored CRL stands. */
	c = mk_crl("aa11", 1, der2, sizeof(der2));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_ECONFLICT);
	c = mk_crl("aa11", 5, der2, sizeof(der2));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_OK);
	c = mk_crl("aa11", 3, der1, sizeof(der1));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_ECONFLICT);
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_OK);
	cr_assert_eq(got->number, 5);
	cr_assert_eq(got->revoked, 50);
	cr_assert_eq(got->der_len, sizeof(der2));
	cr_assert_arr_eq(got->der, der2, sizeof(der2));
	crl_state_free(got);

	/* Issuers are apart; and a CRL outlives the process. */
	c = mk_crl("bb22", 2, der1, sizeof(der1));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_OK);
	fixture_reopen(&fx);
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_OK);
	cr_assert_eq(got->number, 5);
	crl_state_free(got);
	cr_assert_eq(store_crl_get(fx.st, "bb22", &got), KK_OK);
	cr_assert_eq(got->number, 2);
	crl_state_free(got);

	/* Nothing to store. */
	c = mk_crl("aa11", 9, NULL, 0);
	cr_assert_eq(store_crl_put(fx.st, &c), KK_EINVAL);
	crl_state_free(NULL);
}

/* A second replica regenerating the CRL while the first holds it. */
struct crl_racer {
	struct store *st;
	enum kk_status get, put, commit;
	int64_t seen;
	volatile int done;
};

static void *
crl_race(void *arg)
{
	struct crl_racer *r = arg;
	unsigned char der[] = {0x30, 0x00};
	struct crl_state c, *got = NULL;

	r->commit = KK_EIO;
	if (store_begin(r->st) != KK_OK)
		goto out;
	if ((r->get = store_crl_get(r->st, "aa11", &got)) == KK_OK) {
		r->seen = got->number;
		c = mk_crl("aa11", got->number + 1, der, sizeof(der));
		r->put = store_crl_put(r->st, &c);
	}
	r->commit = store_commit(r->st);
out:
	crl_state_free(got);
	r->done = 1;
	return NULL;
}

Test(store, crl_is_regenerated_by_one_replica_at_a_time)
{
	unsigned char der[] = {0x30, 0x00};
	struct crl_racer r = {0};
	struct crl_state c, *got = NULL;
	pthread_t t;

	fixture_only_pg(&fx, "SQLite has one process, whose transactions "
	                     "exclude each other already");
	c = mk_crl("aa11", 1, der, sizeof(der));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_OK);
	cr_assert_eq(store_open(fx.url, &r.st), KK_OK);

	/* This replica takes the CRL's lock... */
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_OK);
	crl_state_free(got);
	/* ...so the other waits for it... */
	cr_assert_eq(pthread_create(&t, NULL, crl_race, &r), 0);
	usleep(300 * 1000);
	cr_assert_eq(r.done, 0, "the second replica did not wait");
	c = mk_crl("aa11", 2, der, sizeof(der));
	cr_assert_eq(store_crl_put(fx.st, &c), KK_OK);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	pthread_join(t, NULL);
	/* ...and then fails to serialize rather than overwrite number 2
	 * from what it read before: a race, run again by its caller. */
	cr_assert_eq(r.get, KK_ERACE);
	cr_assert_neq(r.commit, KK_OK);
	store_close(r.st);

	/* Tried again, it sees number 2 and follows it. */
	memset(&r, 0, sizeof(r));
	cr_assert_eq(store_open(fx.url, &r.st), KK_OK);
	crl_race(&r);
	cr_assert_eq(r.get, KK_OK);
	cr_assert_eq(r.seen, 2);
	cr_assert_eq(r.put, KK_OK);
	cr_assert_eq(r.commit, KK_OK);
	cr_assert_eq(store_crl_get(fx.st, "aa11", &got), KK_OK);
	cr_assert_eq(got->number, 3);
	crl_state_free(got);
	store_close(r.st);
}
