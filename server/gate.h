/*
 * gate.h - at most N requests at work at once, admitted in arrival order.
 *
 * civetweb gives every connection a thread, so with 64 clients 64 threads
 * compete for two cores. A thread that holds the store's write lock is then
 * preempted again and again while the others queue behind it: the lock's
 * hold time grows with the number of runnable threads (docs/performance.md).
 * The gate lets a few requests work at a time; the rest sleep in FIFO order,
 * so a request's wait depends on how many came before it, not on luck.
 *
 * Thread-safe.
 */
#ifndef GATE_H
#define GATE_H

#include "kk_status.h"

struct gate;

/*
 * A gate letting limit requests through at a time; limit 0 lets every
 * request through at once (no gate). *out freed with gate_free, once no
 * thread is inside or waiting.
 */
enum kk_status gate_new(int limit, struct gate **out);
void gate_free(struct gate *g);

/* Waits for a place, behind everyone who came first. */
void gate_enter(struct gate *g);

/* Gives the place up: to the longest waiter, if any. */
void gate_leave(struct gate *g);

/* How many wait now (for tests and diagnostics: it may change at once). */
int gate_waiting(struct gate *g);

#endif
