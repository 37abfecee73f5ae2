/*
 * Deadlines on the monotonic clock: ordered to the nanosecond, reached
 * when their time comes and not before, milliseconds left rounded up, and
 * a wait of any length compared with them without overflow, a poll that
 * waits for them and no longer.
 */
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "kk_deadline.h"

Test(kk_deadline, after_orders_to_the_nanosecond)
{
	struct timespec a = {10, 500}, b = {10, 499}, c = {9, 999999999};

	cr_assert(kk_deadline_after(&a, &b));
	cr_assert(!kk_deadline_after(&b, &a));
	cr_assert(!kk_deadline_after(&a, &a), "a time is not after itself");
	cr_assert(
	    kk_deadline_after(&b, &c), "seconds count before nanoseconds");
	cr_assert(!kk_deadline_after(&c, &b));
}

Test(kk_deadline, past_once_reached)
{
	struct timespec end, pause = {0, 400 * 1000 * 1000};

	kk_deadline_in(&end, 0);
	cr_assert(kk_deadline_past(&end), "a deadline of now is reached");
	cr_assert_eq(kk_deadline_left_ms(&end), 0);
	kk_deadline_in(&end, 1);
	cr_assert(!kk_deadline_past(&end), "a second from now is not reached");
	cr_assert(kk_deadline_left_ms(&end) > 500 &&
	              kk_deadline_left_ms(&end) <= 1000,
	    "%ld ms left of a second", kk_deadline_left_ms(&end));
	/* Reached in its time, 300 ms from now, and not before. */
	kk_deadline_in_ms(&end, 300);
	cr_assert(!kk_deadline_past(&end), "300 ms from now is not reached");
	nanosleep(&pause, NULL);
	cr_assert(kk_deadline_past(&end), "reached 400 ms later");
}

Test(kk_deadline, in_ms_carries_into_seconds)
{
	struct timespec a, b;

	/* 1999 ms from now is after 1 s and before 2 s from now. */
	kk_deadline_in_ms(&a, 1999);
	cr_assert(a.tv_nsec >= 0 && a.tv_nsec < 1000000000L);
	kk_deadline_in(&b, 1);
	cr_assert(kk_deadline_after(&a, &b));
	kk_deadline_in(&b, 2);
	cr_assert(kk_deadline_after(&b, &a));
}

Test(kk_deadline, allows_waits_within_it)
{
	struct timespec end;

	kk_deadline_in(&end, 10);
	cr_assert(kk_deadline_allows(&end, 0));
	cr_assert(kk_deadline_allows(&end, 5));
	cr_assert(kk_deadline_allows(&end, 9));
	cr_assert(!kk_deadline_allows(&end, 11));
	/* A server's Retry-After of any size: refused, not overflowed. */
	cr_assert(!kk_deadline_allows(&end, LONG_MAX));
	kk_deadline_in(&end, 0);
	cr_assert(!kk_deadline_allows(&end, 1), "nothing is left");
	cr_assert(!kk_deadline_allows(&end, 0), "not even for no wait");
}

Test(kk_deadline, poll_waits_until_end_and_no_longer)
{
	struct timespec end, t0, t1;
	struct pollfd p;
	int fds[2];
	double took;

	cr_assert_eq(pipe(fds), 0);
	p.fd = fds[0];
	p.events = POLLIN;
	/* Nothing comes: 0 when the time is up, 300 ms from now. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kk_deadline_in_ms(&end, 300);
	cr_assert_eq(kk_deadline_poll(&p, &end), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(took >= 0.29 && took < 2.0, "waited %.3f s of 0.3", took);
	/* Past: 0 at once, even with something to read. */
	cr_assert_eq(write(fds[1], "x", 1), 1);
	cr_assert_eq(kk_deadline_poll(&p, &end), 0);
	/* Within the time, what came is seen. */
	kk_deadline_in(&end, 5);
	cr_assert_eq(kk_deadline_poll(&p, &end), 1);
	cr_assert(p.revents & POLLIN);
	close(fds[0]);
	close(fds[1]);
}
