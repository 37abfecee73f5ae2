/*
 * notify_send.h - one delivery attempt of one notification, over libcurl:
 * a signed webhook POST, or a mail through the SMTP relay. Nothing here
 * touches the store; notify.c records what happened.
 */
#ifndef NOTIFY_SEND_H
#define NOTIFY_SEND_H

#include <stdint.h>
#include <time.h>

#include "kk_status.h"
#include "notify_conf.h"

/* What an attempt came to. */
struct notify_result {
	int status;      /* HTTP status, or the SMTP relay's last reply code;
	                    0 when there was no answer */
	char error[256]; /* why it failed, empty when it did not */
};

/*
 * The signature header's value for body sent at t with secret:
 * "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." body)>" into out (at least
 * NOTIFY_SIG_LEN bytes).
 */
#define NOTIFY_SIG_LEN 96
enum kk_status notify_sign(
    const char *secret, time_t t, const char *body, char out[NOTIFY_SIG_LEN]);

/*
 * POSTs body (JSON) to h->url with the headers Kakuin-Event: event,
 * Kakuin-Delivery: id and Kakuin-Signature. KK_OK for a 2xx answer, else
 * KK_EIO with *r saying why.
 */
enum kk_status notify_webhook_post(const struct notify_webhook *h,
    const char *event, int64_t id, const char *body, time_t now, int timeout,
    struct notify_result *r);

/*
 * Mails the notification (the payload JSON, rendered as text) from
 * c->from to c->to through c->relay. KK_OK when the relay accepted it.
 */
enum kk_status notify_mail_send(const struct notify_conf *c, const char *event,
    int64_t id, const char *payload, time_t now, struct notify_result *r);

#endif
