/*
 * test_store_desk.c - the operator's desk in the store: registry entries
 * replaced only by newer records, the notification outbox claimed once,
 * settled with each attempt recorded, and expiry reminders marked once.
 * Runs on every backend (the conformance suite).
 */
#include "store_fixture.h"

STORE_SUITE(store_desk);

static struct registry_entry
mk_entry(const char *number, const char *name, const char *date)
{
	struct registry_entry e;

	memset(&e, 0, sizeof(e));
	e.number = (char *)number;
	e.name = (char *)name;
	e.address = "東京都千代田区霞が関３丁目１－１";
	e.kind = "301";
	e.update_date = (char *)date;
	e.seq = 1;
	return e;
}

Test(store_desk, registry_round_trip_and_newer_wins)
{
	struct registry_entry e =
	    mk_entry("7000012050002", "国税庁", "2024-01-05");
	struct registry_entry *got = NULL;
	int stored = -1;

	cr_assert_eq(
	    store_registry_get(fx.st, "7000012050002", &got), KK_ENOTFOUND);
	e.furigana = "コクゼイチョウ";
	e.en_name = "National Tax Agency";
	e.post_code = "1008978";
	e.close_date = NULL;
	cr_assert_eq(store_registry_put(fx.st, &e, &stored), KK_OK);
	cr_assert_eq(stored, 1);
	cr_assert_eq(store_registry_get(fx.st, "7000012050002", &got), KK_OK);
	cr_assert_str_eq(got->name, "国税庁");
	cr_assert_str_eq(got->furigana, "コクゼイチョウ");
	cr_assert_str_eq(got->en_name, "National Tax Agency");
	cr_assert_str_eq(got->address, e.address);
	cr_assert_str_eq(got->post_code, "1008978");
	cr_assert_str_eq(got->kind, "301");
	cr_assert_str_eq(got->update_date, "2024-01-05");
	cr_assert_null(got->close_date);
	cr_assert_null(got->close_cause);
	registry_entry_free(got);

	/* An older record does not replace a newer one. */
	e = mk_entry("7000012050002", "旧名称", "2023-06-01");
	cr_assert_eq(store_registry_put(fx.st, &e, &stored), KK_OK);
	cr_assert_eq(stored, 0);
	cr_assert_eq(store_registry_get(fx.st, "7000012050002", &got), KK_OK);
	cr_assert_str_eq(got->name, "国税庁");
	registry_entry_free(got);

	/* A newer one does, closing it; the same one again changes
	 * nothing. */
	e = mk_entry("7000012050002", "国税庁", "2025-02-01");
	e.close_date = "2025-01-31";
	e.close_cause = "01";
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(store_registry_put(fx.st, &e, &stored), KK_OK);
		cr_assert_eq(stored, i == 0);
	}
	cr_assert_eq(store_registry_get(fx.st, "7000012050002", &got), KK_OK);
	cr_assert_str_eq(got->close_date, "2025-01-31");
	cr_assert_str_eq(got->close_cause, "01");
	cr_assert_null(got->furigana);
	registry_entry_free(got);

	/* The schema keeps numbers to 13 characters. */
	e = mk_entry("123", "x", "2025-02-01");
	cr_assert_neq(store_registry_put(fx.st, &e, &stored), KK_OK);
}

Test(store_desk, registry_put_many_quotes_and_nulls)
{
	struct registry_entry e[3], *got = NULL;
	size_t stored = 0;

	e[0] = mk_entry(
	    "9234567890123", "A \"quoted\" \\ {brace}, name", "2024-01-01");
	e[1] = mk_entry("7000012050002", "国税庁", "2024-01-01");
	e[2] = mk_entry("5010001008771", "NULL", "2024-01-01");
	e[1].en_name = "National Tax Agency";
	e[2].close_date = "2020-03-31";
	cr_assert_eq(store_registry_put_many(fx.st, e, 3, &stored), KK_OK);
	cr_assert_eq(stored, 3);
	cr_assert_eq(store_registry_get(fx.st, "9234567890123", &got), KK_OK);
	cr_assert_str_eq(got->name, "A \"quoted\" \\ {brace}, name");
	cr_assert_null(got->en_name);
	registry_entry_free(got);
	cr_assert_eq(store_registry_get(fx.st, "5010001008771", &got), KK_OK);
	cr_assert_str_eq(got->name, "NULL", "the string, not SQL NULL");
	cr_assert_str_eq(got->close_date, "2020-03-31");
	registry_entry_free(got);

	/* Again: nothing stored; one newer: one stored. */
	cr_assert_eq(store_registry_put_many(fx.st, e, 3, &stored), KK_OK);
	cr_assert_eq(stored, 0);
	e[1].update_date = "2024-02-01";
	cr_assert_eq(store_registry_put_many(fx.st, e, 3, &stored), KK_OK);
	cr_assert_eq(stored, 1);
	cr_assert_eq(store_registry_put_many(fx.st, e, 0, &stored), KK_OK);
	cr_assert_eq(stored, 0);
}

static struct outbox_item
mk_item(const char *event, const char *target, time_t now)
{
	struct outbox_item it;

	memset(&it, 0, sizeof(it));
	it.event = (char *)event;
	it.subject = "verif-1";
	it.target = (char *)target;
	it.payload = "{\"event\":\"x\"}";
	it.created_at = now;
	it.next_at = now;
	return it;
}

static void
free_items(struct outbox_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		outbox_item_free(items[i]);
	free(items);
}

Test(store_desk, outbox_claim_settle_and_deliveries)
{
	struct outbox_item a = mk_item("verification.queued", "mail", 1000);
	struct outbox_item b =
	    mk_item("verification.queued", "webhook:https://h/x", 1000);
	struct outbox_item **items = NULL;
	struct delivery d, **ds = NULL;
	size_t n = 0;
	int64_t id;

	cr_assert_eq(store_outbox_add(fx.st, &a), KK_OK);
	cr_assert_eq(store_outbox_add(fx.st, &b), KK_OK);

	/* Not due yet. */
	cr_assert_eq(
	    store_outbox_claim(fx.st, 999, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 0);

	/* At most max, oldest first; claimed rows are not claimed twice. */
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1000, 1100, 1, &items, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(items[0]->target, "mail");
	cr_assert_str_eq(items[0]->event, "verification.queued");
	cr_assert_str_eq(items[0]->subject, "verif-1");
	cr_assert_str_eq(items[0]->payload, "{\"event\":\"x\"}");
	cr_assert_eq(items[0]->attempts, 0);
	cr_assert_eq(items[0]->state, OUTBOX_PENDING);
	id = items[0]->id;
	free_items(items, n);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1000, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(items[0]->target, "webhook:https://h/x");
	free_items(items, n);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1050, 1150, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 0, "a claimed item is not handed out again");
	{
		/* Nor to another process (a replica) sharing the store. */
		struct store *other = NULL;

		cr_assert_eq(store_open(fx.url, &other), KK_OK);
		cr_assert_eq(
		    store_outbox_claim(other, 1050, 1150, 10, &items, &n),
		    KK_OK);
		cr_assert_eq(n, 0, "a replica got a claimed item");
		store_close(other);
	}

	/* A failed attempt: recorded, due again later, claim released. */
	memset(&d, 0, sizeof(d));
	d.outbox_id = id;
	d.status = 500;
	d.error = "HTTP 500";
	d.at = 1001;
	cr_assert_eq(
	    store_outbox_settle(fx.st, &d, OUTBOX_PENDING, 1030), KK_OK);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1029, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1030, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(items[0]->id, id);
	cr_assert_eq(items[0]->attempts, 1);
	free_items(items, n);
	d.status = 250;
	d.error = NULL;
	d.at = 1031;
	cr_assert_eq(store_outbox_settle(fx.st, &d, OUTBOX_DONE, 0), KK_OK);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 5000, 5100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 1, "only the webhook item, whose claim lapsed");
	cr_assert_str_eq(items[0]->target, "webhook:https://h/x");
	free_items(items, n);

	cr_assert_eq(store_delivery_list(fx.st, id, &ds, &n), KK_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(ds[0]->outbox_id, id);
	cr_assert_str_eq(ds[0]->event, "verification.queued");
	cr_assert_str_eq(ds[0]->target, "mail");
	cr_assert_eq(ds[0]->attempt, 1);
	cr_assert_eq(ds[0]->status, 500);
	cr_assert_str_eq(ds[0]->error, "HTTP 500");
	cr_assert_eq(ds[0]->at, 1001);
	cr_assert_eq(ds[1]->attempt, 2);
	cr_assert_eq(ds[1]->status, 250);
	cr_assert_null(ds[1]->error);
	for (size_t i = 0; i < n; i++)
		delivery_free(ds[i]);
	free(ds);
	cr_assert_eq(store_delivery_list(fx.st, 0, &ds, &n), KK_OK);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		delivery_free(ds[i]);
	free(ds);

	d.outbox_id = id + 1000;
	cr_assert_eq(
	    store_outbox_settle(fx.st, &d, OUTBOX_DONE, 0), KK_ENOTFOUND);
}

Test(store_desk, outbox_add_rolls_back_with_its_transaction)
{
	struct outbox_item a = mk_item("verification.queued", "mail", 1000);
	struct outbox_item **items = NULL;
	size_t n = 0;

	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(store_outbox_add(fx.st, &a), KK_OK);
	store_rollback(fx.st);
	cr_assert_eq(
	    store_outbox_claim(fx.st, 1000, 1100, 10, &items, &n), KK_OK);
	cr_assert_eq(n, 0);
}

Test(store_desk, reminder_marked_once)
{
	int fresh = -1;

	cr_assert_eq(
	    store_reminder_mark(fx.st, "NTRJP-7000012050002", 30, 5000, &fresh),
	    KK_OK);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(
	    store_reminder_mark(fx.st, "NTRJP-7000012050002", 30, 5000, &fresh),
	    KK_OK);
	cr_assert_eq(fresh, 0);
	/* Inside a transaction too, which stays usable. */
	cr_assert_eq(store_begin(fx.st), KK_OK);
	cr_assert_eq(
	    store_reminder_mark(fx.st, "NTRJP-7000012050002", 30, 5000, &fresh),
	    KK_OK);
	cr_assert_eq(fresh, 0);
	cr_assert_eq(
	    store_reminder_mark(fx.st, "NTRJP-7000012050002", 7, 5000, &fresh),
	    KK_OK);
	cr_assert_eq(fresh, 1);
	cr_assert_eq(store_commit(fx.st), KK_OK);
	/* A new expiry is a new reminder. */
	cr_assert_eq(
	    store_reminder_mark(fx.st, "NTRJP-7000012050002", 30, 9000, &fresh),
	    KK_OK);
	cr_assert_eq(fresh, 1);
}
