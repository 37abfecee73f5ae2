/*
 * gate.c - see gate.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include "gate.h"

/*
 * Each waiter sleeps on a condition variable of its own, so a place that
 * comes free wakes exactly the one waiter it goes to: a broadcast would
 * wake them all for all but one to sleep again.
 */
struct waiter {
	pthread_cond_t cv;
	int admitted;
	struct waiter *next;
};

struct gate {
	pthread_mutex_t mu;
	int limit;   /* 0: no gate */
	int inside;  /* requests at work, at most limit */
	int waiting; /* in the queue from head to tail */
	struct waiter *head, *tail;
};

enum kk_status
gate_new(int limit, struct gate **out)
{
	struct gate *g;

	*out = NULL;
	if (limit < 0)
		return KK_EINVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return KK_ENOMEM;
	if (pthread_mutex_init(&g->mu, NULL) != 0) {
		free(g);
		return KK_ENOMEM;
	}
	g->limit = limit;
	*out = g;
	return KK_OK;
}

void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/*
 * Puts w, on its waiter's stack, at the end of the queue. It stays there
 * until gate_leave has unlinked and admitted it, and its waiter returns
 * only after that: the queue never points at a returned frame.
 */
static void
queue(struct gate *g, struct waiter *w)
{
	if (g->tail != NULL)
		g->tail->next = w;
	else
		g->head = w;
	g->tail = w;
	g->waiting++;
}

void
gate_enter(struct gate *g)
{
	struct waiter w;

	if (g->limit == 0)
		return;
	pthread_mutex_lock(&g->mu);
	if (g->inside < g->limit && g->head == NULL) {
		g->inside++;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	/* glibc's cannot fail; another's that did would leave w unusable:
	 * then this request goes in over the limit rather than never. The
	 * extra place is passed on while others wait and disappears when
	 * the queue empties (gate_leave). */
	if (pthread_cond_init(&w.cv, NULL) != 0) {
		g->inside++;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	w.admitted = 0;
	w.next = NULL;
	queue(g, &w);
	while (!w.admitted)
		pthread_cond_wait(&w.cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	pthread_cond_destroy(&w.cv);
}

void
gate_leave(struct gate *g)
{
	struct waiter *w;

	if (g->limit == 0)
		return;
	pthread_mutex_lock(&g->mu);
	if ((w = g->head) != NULL) {
		/* The place passes to w: inside stays as it is. */
		if ((g->head = w->next) == NULL)
			g->tail = NULL;
		g->waiting--;
		w->admitted = 1;
		/* Under the lock: once it is released, w (on the waiter's
		 * stack) may be gone. */
		pthread_cond_signal(&w->cv);
	} else
		g->inside--;
	pthread_mutex_unlock(&g->mu);
}

int
gate_waiting(struct gate *g)
{
	int n;

	pthread_mutex_lock(&g->mu);
	n = g->waiting;
	pthread_mutex_unlock(&g->mu);
	return n;
}
