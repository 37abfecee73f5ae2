/*
 * model_desk.h - the records behind the operator's desk: entries of the
 * National Tax Agency's corporate-number registry, and the notification
 * outbox with its delivery attempts. Same conventions as model.h: string
 * members are owned by the record and freed by its *_free; times are
 * seconds since the epoch (0 = unset).
 */
#ifndef MODEL_DESK_H
#define MODEL_DESK_H

#include <stdint.h>
#include <time.h>

/* One corporation as the registry's latest record describes it. */
struct registry_entry {
	char *number;      /* the 13-digit corporate number */
	char *name;        /* trade name or name, as registered */
	char *furigana;    /* its reading, or NULL */
	char *en_name;     /* English name, or NULL */
	char *address;     /* prefecture + city + street, or the address
	                      outside Japan */
	char *post_code;   /* seven digits, or NULL */
	char *kind;        /* the NTA's kind code, e.g. "301" */
	char *update_date; /* YYYY-MM-DD of the record */
	char *close_date;  /* YYYY-MM-DD, or NULL while the corporation is
	                      open */
	char *close_cause; /* the NTA's close cause code, or NULL */
	int64_t seq;       /* its sequence number in the file it came from */
};

/* Where a notification is in its life. */
enum outbox_state {
	OUTBOX_PENDING, /* waiting for its next attempt */
	OUTBOX_DONE,    /* delivered */
	OUTBOX_FAILED,  /* given up after the last attempt */
};

/*
 * One notification for one target, written by the registration authority
 * in the transaction of the change it announces, and delivered after the
 * commit by whichever server process claims it first.
 */
struct outbox_item {
	int64_t id;    /* assigned by the store */
	char *event;   /* e.g. "verification.queued" */
	char *subject; /* the verification or organization it is about */
	char *target;  /* "webhook:URL" or "mail" */
	char *payload; /* JSON object text */
	time_t created_at;
	time_t next_at; /* not before */
	int attempts;   /* made so far */
	enum outbox_state state;
};

/* One delivery attempt, as recorded. */
struct delivery {
	int64_t outbox_id;
	char *event;
	char *target;
	int attempt; /* 1 for the first */
	int status;  /* HTTP status or SMTP reply code; 0 = none */
	char *error; /* why it failed, or NULL */
	time_t at;
};

/* Frees e's members and zeroes it, leaving e itself (an array slot, a
 * record on the stack) to its owner; registry_entry_free frees e too. */
void registry_entry_clear(struct registry_entry *e);
void registry_entry_free(struct registry_entry *e);
void outbox_item_free(struct outbox_item *it);
void delivery_free(struct delivery *d);

/* "pending", "done", "failed"; outbox_state_parse returns -1 for others. */
const char *outbox_state_name(enum outbox_state s);
int outbox_state_parse(const char *name);

#endif
