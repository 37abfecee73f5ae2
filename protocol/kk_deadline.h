/*
 * kk_deadline.h - deadlines on the monotonic clock, to the nanosecond,
 * for both sides: how long to wait for a hook, a lock, a peer, a
 * validation. In whole seconds of the wall clock a deadline ends a wait
 * up to a second early (one set at .9 of a second has lost .9 when the
 * next second begins), and at the wrong time when the clock is stepped.
 * Times that are stored or shown (an order's creation, an expiry) stay on
 * the wall clock.
 */
#ifndef KK_DEADLINE_H
#define KK_DEADLINE_H

#include <poll.h>
#include <time.h>

/* Sets *end to seconds from now. */
void kk_deadline_in(struct timespec *end, long seconds);

/* Sets *end to ms milliseconds from now (ms >= 0). */
void kk_deadline_in_ms(struct timespec *end, long ms);

/* 1 once the monotonic clock has reached end, else 0. */
int kk_deadline_past(const struct timespec *end);

/*
 * The milliseconds left until end, rounded up (so that a wait for them
 * does not end just short of it), or 0 once it is reached.
 */
long kk_deadline_left_ms(const struct timespec *end);

/*
 * 1 when a wait of seconds (>= 0) from now ends by end, to the
 * millisecond, else 0: 0 once end is reached. For any seconds, however
 * large (a server's Retry-After), without overflow.
 */
int kk_deadline_allows(const struct timespec *end, long seconds);

/*
 * poll(2) on p for its events, waiting only until end, and again after a
 * signal: > 0 when they came, 0 once end is reached (at once if it was
 * already), -1 on another error (errno set).
 */
int kk_deadline_poll(struct pollfd *p, const struct timespec *end);

/* 1 when a is later than b, else 0. */
int kk_deadline_after(const struct timespec *a, const struct timespec *b);

#endif
