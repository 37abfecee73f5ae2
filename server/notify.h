/*
 * notify.h - the notification worker: a thread that claims due items from
 * the store's outbox (store_outbox_claim: one replica each), makes one
 * delivery attempt of each (notify_send.h), and records it
 * (store_outbox_settle): delivered, due again after an exponential
 * backoff (retry_seconds, doubled per attempt, at most six hours), or
 * given up after max_attempts. Every reminder_check_seconds it also has
 * the registration authority queue the expiry reminders (ra_remind).
 * Delivery is at least once: a receiver deduplicates by the payload's id.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <time.h>

#include "kk_status.h"
#include "notify_conf.h"
#include "ra.h"

struct notify_worker;

/*
 * Starts the worker over c and ra (both borrowed: they must outlive it).
 * *out is stopped and freed with notify_stop.
 */
enum kk_status notify_start(
    const struct notify_conf *c, struct ra *ra, struct notify_worker **out);
void notify_stop(struct notify_worker *w);

/*
 * One round of the worker's work at now, in the calling thread: the
 * reminders when remind is set, then every due item. *delivered (may be
 * NULL) counts the attempts that succeeded.
 */
enum kk_status notify_round(const struct notify_conf *c, struct ra *ra,
    time_t now, int remind, int *delivered);

/* The delay before attempt number `attempts + 1` after `attempts`
 * failures. */
time_t notify_backoff(const struct notify_conf *c, int attempts);

#endif
