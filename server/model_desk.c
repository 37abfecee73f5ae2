/*
 * Releasing the desk's records, and the outbox states' names.
 */
#include <stdlib.h>
#include <string.h>

#include "model_desk.h"

void
registry_entry_clear(struct registry_entry *e)
{
	free(e->number);
	free(e->name);
	free(e->furigana);
	free(e->en_name);
	free(e->address);
	free(e->post_code);
	free(e->kind);
	free(e->update_date);
	free(e->close_date);
	free(e->close_cause);
	memset(e, 0, sizeof(*e));
}

void
registry_entry_free(struct registry_entry *e)
{
	if (e == NULL)
		return;
	registry_entry_clear(e);
	free(e);
}

void
outbox_item_free(struct outbox_item *it)
{
	if (it == NULL)
		return;
	free(it->event);
	free(it->subject);
	free(it->target);
	free(it->payload);
	free(it);
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->event);
	free(d->target);
	free(d->error);
	free(d);
}

static const char *const state_names[] = {
    [OUTBOX_PENDING] = "pending",
    [OUTBOX_DONE] = "done",
    [OUTBOX_FAILED] = "failed",
};

const char *
outbox_state_name(enum outbox_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(*state_names))
		return "unknown";
	return state_names[s];
}

int
outbox_state_parse(const char *name)
{
	for (size_t i = 0;
	     name != NULL && i < sizeof(state_names) / sizeof(*state_names);
	     i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}
