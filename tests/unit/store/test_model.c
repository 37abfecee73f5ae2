/* Resource ids and secrets: random, distinct, and safe on a command line;
 * copies of records. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model.h"

#define DRAWS 2000 /* a leading '-' would show up with p = 1 - (63/64)^2000 */

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(model, ids_never_start_with_a_dash_and_are_distinct)
{
	char *ids[DRAWS];

	for (int i = 0; i < DRAWS; i++) {
		cr_assert_eq(model_new_id(&ids[i]), KK_OK);
		cr_assert_eq(strlen(ids[i]), MODEL_ID_LEN);
		cr_assert_neq(ids[i][0], '-', "id %s", ids[i]);
	}
	qsort(ids, DRAWS, sizeof(ids[0]), cmp);
	for (int i = 1; i < DRAWS; i++)
		cr_assert_str_neq(ids[i - 1], ids[i]);
	for (int i = 0; i < DRAWS; i++)
		free(ids[i]);
}

Test(model, secrets_never_start_with_a_dash)
{
	unsigned char raw[32];
	char *b64;

	for (int i = 0; i < DRAWS; i++) {
		cr_assert_eq(model_random_b64(raw, sizeof(raw), &b64), KK_OK);
		cr_assert_eq(strlen(b64), 43);
		cr_assert_neq(b64[0], '-');
		free(b64);
	}
}

Test(model, order_dup_copies_every_field)
{
	char id[] = "o1", acct[] = "a1", org[] = "1234567890123",
	     authz[] = "z1", prof[] = "client", serial[] = "0a";
	struct order o = {.id = id,
	    .account_id = acct,
	    .status = ACME_STATUS_VALID,
	    .org = org,
	    .authz_id = authz,
	    .profile = prof,
	    .error = NULL,
	    .cert_serial = serial,
	    .created_at = 10,
	    .expires = 20,
	    .replaces = serial};
	struct order *c = NULL;

	cr_assert_eq(order_dup(&o, &c), KK_OK);
	cr_assert_str_eq(c->id, "o1");
	cr_assert_str_eq(c->account_id, "a1");
	cr_assert_eq(c->status, ACME_STATUS_VALID);
	cr_assert_str_eq(c->org, "1234567890123");
	cr_assert_str_eq(c->authz_id, "z1");
	cr_assert_str_eq(c->profile, "client");
	cr_assert_null(c->error);
	cr_assert_str_eq(c->cert_serial, "0a");
	cr_assert_eq(c->created_at, 10);
	cr_assert_eq(c->expires, 20);
	cr_assert_str_eq(c->replaces, "0a");
	/* Its own strings: the original's may go. */
	cr_assert_neq(c->id, o.id);
	cr_assert_neq(c->org, o.org);
	id[0] = 'x';
	cr_assert_str_eq(c->id, "o1");
	order_free(c);
}

Test(model, authz_dup_copies_every_field)
{
	char id[] = "z1", acct[] = "a1", type[] = "dns",
	     value[] = "host.example.jp", order[] = "o1";
	struct authz a = {.id = id,
	    .account_id = acct,
	    .id_type = type,
	    .id_value = value,
	    .status = ACME_STATUS_PENDING,
	    .expires = 20,
	    .created_at = 10,
	    .order_id = order,
	    .order_pos = 3};
	struct authz *c = NULL;

	cr_assert_eq(authz_dup(&a, &c), KK_OK);
	cr_assert_str_eq(c->id, "z1");
	cr_assert_str_eq(c->account_id, "a1");
	cr_assert_str_eq(c->id_type, "dns");
	cr_assert_str_eq(c->id_value, "host.example.jp");
	cr_assert_eq(c->status, ACME_STATUS_PENDING);
	cr_assert_eq(c->expires, 20);
	cr_assert_eq(c->created_at, 10);
	cr_assert_str_eq(c->order_id, "o1");
	cr_assert_eq(c->order_pos, 3);
	cr_assert_neq(c->id_value, a.id_value);
	authz_free(c);
	/* Records made before authorizations named orders have none. */
	a.order_id = NULL;
	cr_assert_eq(authz_dup(&a, &c), KK_OK);
	cr_assert_null(c->order_id);
	authz_free(c);
}
