/*
 * ra_notify.h - notifications as the registration authority writes them:
 * into the store's outbox, one item per configured target, inside the
 * transaction of the change they announce, so that a change is never
 * committed without its notifications nor announced without having
 * happened. notify.c delivers them after the commit.
 *
 * Events: "verification.queued", "verification.approved",
 * "verification.rejected" and "org.expiring". Payload (JSON):
 *   {"id": "<event id>", "event": "...", "at": "<RFC 3339>",
 *    "data": {...}}
 * with data {"verification", "org", "account", "status", "requested_at",
 * "decided_at"?, "legal_name"?, "reason"?, "operator"?} for verifications
 * and {"org", "legal_name", "expires", "days"} for expiry reminders. No
 * secret (token, EAB key, webhook secret) is ever in a payload.
 */
#ifndef RA_NOTIFY_H
#define RA_NOTIFY_H

#include <time.h>

#include "model.h"
#include "notify_conf.h"
#include "ra.h"

/* The days before expiry at which an organization's operators hear of
 * it, largest first. */
#define RA_REMINDER_DAYS                                                       \
	{                                                                      \
		30, 7                                                          \
	}

/*
 * Inside the caller's transaction: announces v's event. op is the
 * operator who decided it, legal_name the approved name (both may be
 * NULL). Nothing when no target is configured.
 */
enum kk_status ra_notify_verification(struct ra *ra, const char *event,
    const struct verification *v, const char *op, const char *legal_name,
    time_t now);

/*
 * Expiry reminders, in one transaction (run again when it loses a race
 * with another replica's, ra_again): for each organization whose
 * verification expires within 30 days, the reminder for the smallest
 * threshold (30 or 7 days) it has crossed, once per threshold and expiry
 * (store_reminder_mark); thresholds it crossed while no reminder went out
 * (the server was down) are marked without a reminder of their own. Each
 * reminder is audited as "org.expiry_reminder" by "system". *sent (may be
 * NULL) gets the number of reminders written.
 */
enum kk_status ra_remind(struct ra *ra, time_t now, int *sent);

#endif
