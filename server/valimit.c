/*
 * valimit.c - a fixed table of (account, validations running), searched
 * linearly under one mutex: it has at most max entries, a few dozen by
 * default, and each entry guards a validation that takes a network round
 * trip or more, so a scan costs nothing worth a hash table.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "valimit.h"

struct entry {
	char *account; /* NULL: the entry is free */
	int running;
};

struct valimit {
	pthread_mutex_t mu;
	int per_account; /* 0: no limit */
	int max;
	int running; /* all accounts' */
	struct entry entries[];
};

/* The entry of account, or NULL. Called with mu held. */
static struct entry *
find(struct valimit *vl, const char *account)
{
	for (int i = 0; i < vl->max; i++)
		if (vl->entries[i].account != NULL &&
		    strcmp(vl->entries[i].account, account) == 0)
			return &vl->entries[i];
	return NULL;
}

enum kk_status
valimit_new(int max, int per_account, struct valimit **out)
{
	struct valimit *vl;

	*out = NULL;
	if (max < 1 || per_account < 0)
		return KK_EINVAL;
	if ((vl = calloc(1,
	         sizeof(*vl) + (size_t)max * sizeof(vl->entries[0]))) == NULL)
		return KK_ENOMEM;
	if (pthread_mutex_init(&vl->mu, NULL) != 0) {
		free(vl);
		return KK_ENOMEM;
	}
	vl->max = max;
	vl->per_account = per_account;
	*out = vl;
	return KK_OK;
}

void
valimit_free(struct valimit *vl)
{
	if (vl == NULL)
		return;
	for (int i = 0; i < vl->max; i++)
		free(vl->entries[i].account);
	pthread_mutex_destroy(&vl->mu);
	free(vl);
}

enum valimit_verdict
valimit_enter(struct valimit *vl, const char *account)
{
	struct entry *e;
	enum valimit_verdict v = VALIMIT_FULL;

	pthread_mutex_lock(&vl->mu);
	if ((e = find(vl, account)) != NULL && vl->per_account > 0 &&
	    e->running >= vl->per_account) {
		v = VALIMIT_ACCOUNT;
		goto out;
	}
	if (vl->running >= vl->max)
		goto out;
	/* running < max, and every entry in use has running >= 1: a free
	 * entry exists. */
	for (int i = 0; e == NULL && i < vl->max; i++)
		if (vl->entries[i].account == NULL) {
			if ((vl->entries[i].account = strdup(account)) == NULL)
				goto out;
			e = &vl->entries[i];
		}
	if (e == NULL)
		goto out;
	e->running++;
	vl->running++;
	v = VALIMIT_ADMITTED;
out:
	pthread_mutex_unlock(&vl->mu);
	return v;
}

void
valimit_leave(struct valimit *vl, const char *account)
{
	struct entry *e;

	pthread_mutex_lock(&vl->mu);
	if ((e = find(vl, account)) != NULL) {
		vl->running--;
		if (--e->running == 0) {
			free(e->account);
			e->account = NULL;
		}
	}
	pthread_mutex_unlock(&vl->mu);
}

int
valimit_count(struct valimit *vl, const char *account)
{
	const struct entry *e;
	int n;

	pthread_mutex_lock(&vl->mu);
	if (account == NULL)
		n = vl->running;
	else
		n = (e = find(vl, account)) != NULL ? e->running : 0;
	pthread_mutex_unlock(&vl->mu);
	return n;
}
