/*
 * The notification worker (notify.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "notify.h"
#include "notify_send.h"
#include "ra_notify.h"

#define CLAIM_MAX 16             /* items per claim */
#define BACKOFF_MAX (6L * 3600L) /* the longest wait between attempts */

struct notify_worker {
	const struct notify_conf *c;
	struct ra *ra;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop; /* guarded by lock */
};

time_t
notify_backoff(const struct notify_conf *c, int attempts)
{
	time_t d = c->retry_seconds;

	for (int i = 1; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

/* One attempt of it, recorded. */
static enum kk_status
deliver(const struct notify_conf *c, struct ra *ra,
    const struct outbox_item *it, time_t now, int *ok)
{
	const struct notify_webhook *h;
	struct notify_result r;
	struct delivery d;
	enum outbox_state next = OUTBOX_PENDING;
	enum kk_status st;
	time_t at = 0;

	memset(&r, 0, sizeof(r));
	if (strcmp(it->target, NOTIFY_MAIL_TARGET) == 0 && c->relay != NULL)
		st = notify_mail_send(
		    c, it->event, it->id, it->payload, now, &r);
	else if ((h = notify_conf_hook(c, it->target)) != NULL)
		st = notify_webhook_post(h, it->event, it->id, it->payload, now,
		    c->timeout_seconds, &r);
	else {
		/* The notify file no longer names it: nobody to tell. */
		snprintf(r.error, sizeof(r.error), "target not configured");
		st = KK_EINVAL;
		next = OUTBOX_FAILED;
	}
	*ok = st == KK_OK;
	if (*ok)
		next = OUTBOX_DONE;
	else if (it->attempts + 1 >= c->max_attempts)
		next = OUTBOX_FAILED;
	else if (next == OUTBOX_PENDING)
		at = now + notify_backoff(c, it->attempts + 1);
	if (!*ok)
		kk_log("notify: %s #%lld to %s, attempt %d: %s%s", it->event,
		    (long long)it->id,
		    strcmp(it->target, NOTIFY_MAIL_TARGET) == 0 ? "mail"
		                                                : "webhook",
		    it->attempts + 1, r.error,
		    next == OUTBOX_FAILED ? "; given up" : "");
	memset(&d, 0, sizeof(d));
	d.outbox_id = it->id;
	d.status = r.status;
	d.error = r.error[0] != '\0' ? r.error : NULL;
	d.at = now;
	return store_outbox_settle(ra->store, &d, next, at);
}

enum kk_status
notify_round(const struct notify_conf *c, struct ra *ra, time_t now, int remind,
    int *delivered)
{
	struct outbox_item **items = NULL;
	size_t n = 0;
	enum kk_status st = KK_OK;
	int ok, count = 0;
	/* Longer than an attempt can take, so that no other replica
	 * retries an item while this one still works on it. */
	time_t lease = now + 2L * c->timeout_seconds * CLAIM_MAX + 60;

	if (remind && (st = ra_remind(ra, now, NULL)) != KK_OK)
		kk_log("notify: expiry reminders: %s", kk_strerror(st));
	do {
		if ((st = store_outbox_claim(ra->store, now, lease, CLAIM_MAX,
		         &items, &n)) != KK_OK)
			break;
		for (size_t i = 0; i < n; i++) {
			if (st == KK_OK &&
			    (st = deliver(c, ra, items[i], now, &ok)) == KK_OK)
				count += ok;
			outbox_item_free(items[i]);
		}
		free(items);
		items = NULL;
		now = time(NULL);
	} while (st == KK_OK && n == CLAIM_MAX);
	if (delivered != NULL)
		*delivered = count;
	return st;
}

static void *
run(void *arg)
{
	struct notify_worker *w = arg;
	struct timespec until;
	time_t now, next_check = 0;
	enum kk_status st;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		now = time(NULL);
		st = notify_round(w->c, w->ra, now, now >= next_check, NULL);
		if (now >= next_check)
			next_check = now + w->c->reminder_check_seconds;
		if (st != KK_OK)
			kk_log("notify: outbox: %s", kk_strerror(st));
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += w->c->poll_seconds;
		pthread_mutex_lock(&w->lock);
		while (!w->stop && pthread_cond_timedwait(
		                       &w->wake, &w->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

enum kk_status
notify_start(
    const struct notify_conf *c, struct ra *ra, struct notify_worker **out)
{
	struct notify_worker *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return KK_ENOMEM;
	w->c = c;
	w->ra = ra;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return KK_ENOMEM;
	}
	*out = w;
	return KK_OK;
}

void
notify_stop(struct notify_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
