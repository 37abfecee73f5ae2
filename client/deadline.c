/*
 * deadline.c - see deadline.h.
 */
#include "deadline.h"

void
deadline_in(struct timespec *end, long seconds)
{
	/* CLOCK_MONOTONIC cannot fail on Linux given a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += seconds;
}

int
deadline_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

long
deadline_left_ms(const struct timespec *end)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(end->tv_sec - now.tv_sec) * 1000000000LL +
	     (end->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (long)((ns + 999999) / 1000000);
}

int
deadline_past(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return !deadline_after(end, &now);
}
