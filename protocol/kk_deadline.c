/*
 * kk_deadline.c - see kk_deadline.h.
 */
#include <errno.h>

#include "kk_deadline.h"

void
kk_deadline_in(struct timespec *end, long seconds)
{
	/* CLOCK_MONOTONIC cannot fail on Linux given a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += seconds;
}

void
kk_deadline_in_ms(struct timespec *end, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += ms / 1000;
	end->tv_nsec += (ms % 1000) * 1000000L;
	if (end->tv_nsec >= 1000000000L) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000L;
	}
}

int
kk_deadline_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

long
kk_deadline_left_ms(const struct timespec *end)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(end->tv_sec - now.tv_sec) * 1000000000LL +
	     (end->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (long)((ns + 999999) / 1000000);
}

int
kk_deadline_allows(const struct timespec *end, long seconds)
{
	long left = kk_deadline_left_ms(end);

	/* now + seconds <= end, in the milliseconds left. */
	return left > 0 && seconds <= left / 1000;
}

int
kk_deadline_poll(struct pollfd *p, const struct timespec *end)
{
	long left;
	int r;

	do {
		if ((left = kk_deadline_left_ms(end)) <= 0)
			return 0;
		r = poll(p, 1, (int)left);
	} while (r == -1 && errno == EINTR);
	return r;
}

int
kk_deadline_past(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return !kk_deadline_after(end, &now);
}
