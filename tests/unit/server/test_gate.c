/* gate: at most N at work, the others admitted in the order they came. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <criterion/criterion.h>

#include "gate.h"

#define WAITERS 6

struct run {
	struct gate *g;
	int id;
	atomic_int *inside, *most, *next;
	int *order;
};

static void
nap(void)
{
	struct timespec ts = {0, 1000000};

	nanosleep(&ts, NULL);
}

/* Enters, notes its turn and how many are inside with it, leaves. */
static void *
enter_note_leave(void *arg)
{
	struct run *r = arg;
	int now, m;

	gate_enter(r->g);
	now = atomic_fetch_add(r->inside, 1) + 1;
	/* The peak, raised atomically: two threads must not both lower it. */
	m = atomic_load(r->most);
	while (now > m && !atomic_compare_exchange_weak(r->most, &m, now))
		;
	r->order[atomic_fetch_add(r->next, 1)] = r->id;
	nap();
	atomic_fetch_sub(r->inside, 1);
	gate_leave(r->g);
	return NULL;
}

static void
wait_for_waiters(struct gate *g, int n)
{
	for (int i = 0; i < 5000 && gate_waiting(g) < n; i++)
		nap();
	cr_assert_eq(gate_waiting(g), n);
}

Test(gate, admits_in_arrival_order)
{
	struct gate *g;
	pthread_t t[WAITERS];
	struct run r[WAITERS];
	atomic_int inside = 0, most = 0, next = 0;
	int order[WAITERS];

	cr_assert_eq(gate_new(1, &g), KK_OK);
	gate_enter(g); /* the place is taken: everyone below queues */
	for (int i = 0; i < WAITERS; i++) {
		r[i] = (struct run){g, i, &inside, &most, &next, order};
		cr_assert_eq(
		    pthread_create(&t[i], NULL, enter_note_leave, &r[i]), 0);
		/* The next starts only once this one is in the queue. */
		wait_for_waiters(g, i + 1);
	}
	cr_assert_eq(atomic_load(&next), 0,
	    "admitted while the place was "
	    "taken");
	gate_leave(g);
	for (int i = 0; i < WAITERS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < WAITERS; i++)
		cr_assert_eq(
		    order[i], i, "turn %d went to waiter %d", i, order[i]);
	cr_assert_eq(atomic_load(&most), 1);
	cr_assert_eq(gate_waiting(g), 0);
	gate_free(g);
}

Test(gate, never_more_inside_than_the_limit)
{
	enum { N = 24, LIMIT = 3 };
	struct gate *g;
	pthread_t t[N];
	struct run r[N];
	atomic_int inside = 0, most = 0, next = 0;
	int order[N];

	cr_assert_eq(gate_new(LIMIT, &g), KK_OK);
	for (int i = 0; i < N; i++) {
		r[i] = (struct run){g, i, &inside, &most, &next, order};
		cr_assert_eq(
		    pthread_create(&t[i], NULL, enter_note_leave, &r[i]), 0);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(atomic_load(&next), N);
	cr_assert_leq(atomic_load(&most), LIMIT);
	/* The threads overlapped (each naps inside): more than one at once. */
	cr_assert_gt(atomic_load(&most), 1);
	gate_free(g);
}

Test(gate, limit_zero_lets_everyone_in)
{
	struct gate *g;

	cr_assert_eq(gate_new(0, &g), KK_OK);
	for (int i = 0; i < 100; i++)
		gate_enter(g);
	cr_assert_eq(gate_waiting(g), 0);
	for (int i = 0; i < 100; i++)
		gate_leave(g);
	gate_free(g);
	cr_assert_eq(gate_new(-1, &g), KK_EINVAL);
}
