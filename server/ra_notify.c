/*
 * Notifications into the outbox (ra_notify.h).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_internal.h"
#include "ra_notify.h"
#include "rfc3339.h"

static int
add_time(cJSON *j, const char *name, time_t t)
{
	char buf[RFC3339_LEN];

	rfc3339_format(t, buf);
	return cJSON_AddStringToObject(j, name, buf) != NULL ? 0 : -1;
}

static int
add_opt(cJSON *j, const char *name, const char *v)
{
	return v == NULL || cJSON_AddStringToObject(j, name, v) != NULL ? 0
	                                                                : -1;
}

/*
 * Writes one outbox item per target for event about subject, with data
 * (taken over: freed here) wrapped in the payload envelope.
 */
static enum kk_status
enqueue(struct ra *ra, const char *event, const char *subject, cJSON *data,
    time_t now)
{
	const struct notify_conf *c = ra->notify;
	struct outbox_item it;
	cJSON *env = NULL;
	char *id = NULL, *text = NULL;
	enum kk_status st;

	if (notify_conf_targets(c) == 0) {
		cJSON_Delete(data);
		return KK_OK;
	}
	if ((st = model_new_id(&id)) != KK_OK) {
		cJSON_Delete(data);
		return st;
	}
	st = KK_ENOMEM;
	if ((env = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(data);
		goto out;
	}
	if (cJSON_AddStringToObject(env, "id", id) == NULL ||
	    cJSON_AddStringToObject(env, "event", event) == NULL ||
	    add_time(env, "at", now) != 0) {
		cJSON_Delete(data);
		goto out;
	}
	cJSON_AddItemToObject(env, "data", data);
	if ((text = cJSON_PrintUnformatted(env)) == NULL)
		goto out;
	memset(&it, 0, sizeof(it));
	it.event = (char *)event;
	it.subject = (char *)subject;
	it.payload = text;
	it.created_at = it.next_at = now;
	st = KK_OK;
	for (size_t i = 0; st == KK_OK && i < notify_conf_targets(c); i++) {
		it.target = (char *)notify_conf_target(c, i);
		st = store_outbox_add(ra->store, &it);
	}
out:
	cJSON_free(text);
	cJSON_Delete(env);
	free(id);
	return st;
}

enum kk_status
ra_notify_verification(struct ra *ra, const char *event,
    const struct verification *v, const char *op, const char *legal_name,
    time_t now)
{
	cJSON *d;

	if (notify_conf_targets(ra->notify) == 0)
		return KK_OK;
	if ((d = cJSON_CreateObject()) == NULL)
		return KK_ENOMEM;
	if (add_opt(d, "verification", v->id) != 0 ||
	    add_opt(d, "org", v->org) != 0 ||
	    add_opt(d, "account", v->account_id) != 0 ||
	    add_opt(d, "status", acme_status_name(v->status)) != 0 ||
	    add_time(d, "requested_at", v->requested_at) != 0 ||
	    (v->decided_at != 0 && add_time(d, "decided_at", v->decided_at)) ||
	    add_opt(d, "legal_name", legal_name) != 0 ||
	    add_opt(d, "reason", v->reason) != 0 ||
	    add_opt(d, "operator", op) != 0) {
		cJSON_Delete(d);
		return KK_ENOMEM;
	}
	return enqueue(ra, event, v->id, d, now);
}

/* The reminder for org o, days before it expires: outbox and audit. */
static enum kk_status
remind_one(struct ra *ra, const struct org *o, int days, time_t now)
{
	cJSON *d = NULL, *a = NULL;
	enum kk_status st = KK_ENOMEM;

	if ((d = cJSON_CreateObject()) == NULL ||
	    add_opt(d, "org", o->id) != 0 ||
	    add_opt(d, "legal_name", o->legal_name) != 0 ||
	    add_time(d, "expires", o->expires) != 0 ||
	    cJSON_AddNumberToObject(d, "days", days) == NULL ||
	    (a = cJSON_Duplicate(d, 1)) == NULL) {
		cJSON_Delete(d);
		goto out;
	}
	if ((st = enqueue(ra, "org.expiring", o->id, d, now)) != KK_OK)
		goto out;
	st = audit_record(
	    ra->store, now, "system", "org.expiry_reminder", o->id, a);
out:
	cJSON_Delete(a);
	return st;
}

/* Marks the thresholds org o has crossed; reminds of the smallest. */
static enum kk_status
check_org(struct ra *ra, const struct org *o, time_t now, int *sent)
{
	static const int thresholds[] = RA_REMINDER_DAYS;
	size_t n = sizeof(thresholds) / sizeof(*thresholds), i, last = n;
	enum kk_status st;
	int fresh = 0;

	if (o->expires <= now)
		return KK_OK;
	for (i = 0; i < n; i++)
		if (o->expires - now <= 86400L * thresholds[i])
			last = i;
	if (last == n)
		return KK_OK;
	for (i = 0; i <= last; i++)
		if ((st = store_reminder_mark(ra->store, o->id, thresholds[i],
		         o->expires, &fresh)) != KK_OK)
			return st;
	/* fresh is the smallest threshold's. */
	if (!fresh)
		return KK_OK;
	if ((st = remind_one(ra, o, thresholds[last], now)) == KK_OK)
		(*sent)++;
	return st;
}

/* Whether o's verification ends within the largest threshold. */
static int
expiring(const struct org *o, time_t now)
{
	static const int thresholds[] = RA_REMINDER_DAYS;

	return o->expires > now && o->expires - now <= 86400L * thresholds[0];
}

/*
 * One attempt at ra_remind's transaction over orgs (n of them, as a look
 * before it found them): *count gets the reminders it wrote, 0 unless it
 * commits.
 */
static enum kk_status
remind_once(
    struct ra *ra, struct org *const *orgs, size_t n, time_t now, int *count)
{
	struct org *o = NULL;
	enum kk_status st;

	*count = 0;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	/* Each decided on as it is inside the transaction. */
	for (size_t i = 0; i < n && st == KK_OK; i++) {
		if (!expiring(orgs[i], now))
			continue;
		st = store_org_get(ra->store, orgs[i]->id, &o);
		if (st == KK_OK)
			st = check_org(ra, o, now, count);
		org_free(o);
		o = NULL;
	}
	if ((st = ra_finish(ra, st)) != KK_OK)
		*count = 0;
	return st;
}

enum kk_status
ra_remind(struct ra *ra, time_t now, int *sent)
{
	struct org **orgs = NULL;
	size_t n = 0, due = 0, i;
	int count = 0, tries = 0;
	enum kk_status st;

	if (sent != NULL)
		*sent = 0;
	if (notify_conf_targets(ra->notify) == 0)
		return KK_OK;
	/* A look first, outside any transaction: most checks find nothing,
	 * and then take no lock another replica's approval could meet. */
	if ((st = store_org_list(ra->store, NULL, &orgs, &n)) != KK_OK)
		return st;
	for (i = 0; i < n; i++)
		due += expiring(orgs[i], now);
	if (due > 0) {
		do
			st = remind_once(ra, orgs, n, now, &count);
		while (ra_again(&st, &tries));
	}
	for (i = 0; i < n; i++)
		org_free(orgs[i]);
	free(orgs);
	if (st != KK_OK)
		return st;
	if (count > 0)
		kk_log("%d expiry reminders queued", count);
	if (sent != NULL)
		*sent = count;
	return KK_OK;
}
