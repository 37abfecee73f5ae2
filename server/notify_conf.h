/*
 * notify_conf.h - where notifications go: the notify file (JSON, mode
 * 0600 or stricter, since it holds the webhook secrets), read once at
 * start.
 *
 *   {"webhooks": [{"url": "https://hooks.example.jp/kakuin",
 *                  "secret": "at least 16 bytes", "ca_file": "..."}],
 *    "mail": {"relay": "smtp://127.0.0.1:25", "starttls": false,
 *             "ca_file": "...", "from": "kakuin@ca.example.jp",
 *             "to": ["ops@example.jp"]},
 *    "retry_seconds": 30, "max_attempts": 8, "timeout_seconds": 10,
 *    "poll_seconds": 5, "reminder_check_seconds": 3600}
 *
 * Every member is optional; unknown members are errors. A webhook URL is
 * https, or http to a loopback address only.
 */
#ifndef NOTIFY_CONF_H
#define NOTIFY_CONF_H

#include <stddef.h>

#include "kk_status.h"

struct notify_webhook {
	char *url;
	char *secret;  /* the HMAC-SHA256 key, as written in the file */
	char *ca_file; /* trust for the receiver's certificate, or NULL */
	char *target;  /* "webhook:<url>": its name in the outbox */
};

struct notify_conf {
	struct notify_webhook *hooks;
	size_t n_hooks;
	char *relay;   /* smtp:// or smtps:// URL, or NULL: no mail */
	int starttls;  /* require STARTTLS on smtp:// */
	char *mail_ca; /* trust for the relay's certificate, or NULL */
	char *from;
	char **to;
	size_t n_to;
	int retry_seconds;          /* first retry after this, doubling */
	int max_attempts;           /* then the notification is given up */
	int timeout_seconds;        /* of one delivery attempt */
	int poll_seconds;           /* how often the outbox is looked at */
	int reminder_check_seconds; /* how often expiries are looked at */
};

/* The outbox target of mail. */
#define NOTIFY_MAIL_TARGET "mail"

/*
 * Reads the notify file at path into *out (caller frees with
 * notify_conf_free). KK_EINVAL, with *err (caller frees) naming the file
 * and the member, for a file that is not as above or that group or others
 * may read.
 */
enum kk_status notify_conf_load(
    const char *path, struct notify_conf **out, char **err);
void notify_conf_free(struct notify_conf *c);

/* The number of outbox targets (webhooks, and mail when configured) and
 * the i-th one's name (borrowed). */
size_t notify_conf_targets(const struct notify_conf *c);
const char *notify_conf_target(const struct notify_conf *c, size_t i);

/* The webhook whose target name is target, or NULL (borrowed). */
const struct notify_webhook *notify_conf_hook(
    const struct notify_conf *c, const char *target);

#endif
