/*
 * deadline.h - the client's deadlines, on the monotonic clock to the
 * nanosecond. In whole seconds of the wall clock a deadline ends a wait
 * up to a second early (one set at .9 of a second has lost .9 when the
 * next second begins), and at the wrong time when the clock is stepped.
 * Times that are stored or shown (an order's creation, an expiry) stay
 * on the wall clock; these are only for how long to wait.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <time.h>

/* Sets *end to seconds from now. */
void deadline_in(struct timespec *end, long seconds);

/* 1 once the monotonic clock has reached end, else 0. */
int deadline_past(const struct timespec *end);

/*
 * The milliseconds left until end, rounded up (so that a wait for them
 * does not end just short of it), or 0 once it is reached.
 */
long deadline_left_ms(const struct timespec *end);

/* 1 when a is later than b, else 0. */
int deadline_after(const struct timespec *a, const struct timespec *b);

#endif
