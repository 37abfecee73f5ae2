/*
 * bench_platform - what this machine charges for the kernel work a server
 * does around every request: a system call, a switch between two threads
 * on one CPU, and a thread woken on another CPU. On bare metal these are
 * usually well under a microsecond and a few microseconds each. On a
 * virtual machine whose idle CPUs halt, waking a thread on a halted CPU
 * can cost tens to hundreds of microseconds of CPU (the hypervisor has to
 * run that CPU again), and a server that wakes a thread per request pays
 * it on the requests that find a CPU idle. The enrollment figures of the
 * other benches are read against these.
 *
 *   bench_platform [--kv]
 *
 * Two threads pass a byte back and forth through two pipes; a round trip
 * is two wake-ups (and four system calls). The CPU time is both threads'
 * (getrusage), so it includes whatever the kernel charges them for
 * sending and taking the wake-up. Across two CPUs the figure depends on
 * whether those CPUs have other work: with nothing else running they
 * idle between the wake-ups, which is the costly case.
 */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_clock.h"

#define SYSCALLS 1000000
#define ROUND_TRIPS 5000

/* The other side of the ping-pong: reads from in, answers on out. */
struct side {
	int in, out;
	int done; /* round trips answered (the peer's own count) */
};

/*
 * Answers until the other side closes its end or ROUND_TRIPS are done,
 * then closes its own write end: a side that stops early never leaves
 * the other blocked in read().
 */
static void *
echo(void *arg)
{
	struct side *s = arg;
	char c;

	while (s->done < ROUND_TRIPS && read(s->in, &c, 1) == 1 &&
	       write(s->out, &c, 1) == 1)
		s->done++;
	close(s->out);
	return NULL;
}

/*
 * Round trips between this thread on cpu a and another on cpu b: the wall
 * and CPU time of one, in microseconds. 0 on success, -1 when a CPU could
 * not be had or a pipe failed.
 */
static int
ping_pong(int a, int b, double *wall_us, double *cpu_us)
{
	int ab[2] = {-1, -1}, ba[2] = {-1, -1}, rc = -1, started = 0, i = 0;
	struct side peer = {-1, -1, 0};
	pthread_attr_t attr;
	cpu_set_t set;
	pthread_t t;
	double t0 = 0, c0 = 0;
	char c = 'x';

	if (pipe(ab) != 0 || pipe(ba) != 0)
		goto out;
	peer.in = ab[0];
	peer.out = ba[1];
	CPU_ZERO(&set);
	CPU_SET(a, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		goto out;
	/* Pinned before it runs: a CPU it may not have fails the create. */
	CPU_ZERO(&set);
	CPU_SET(b, &set);
	if (pthread_attr_init(&attr) != 0)
		goto out;
	if (pthread_attr_setaffinity_np(&attr, sizeof(set), &set) == 0 &&
	    pthread_create(&t, &attr, echo, &peer) == 0) {
		started = 1;
		ba[1] = -1; /* the peer closes it */
	}
	pthread_attr_destroy(&attr);
	if (!started)
		goto out;
	/* The first round trip starts the peer; it is not counted. */
	for (i = 0; i < ROUND_TRIPS; i++) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			break;
		if (i == 0) {
			t0 = bench_clock_now();
			c0 = bench_clock_cpu();
		}
	}
	if (i == ROUND_TRIPS) {
		*wall_us = (bench_clock_now() - t0) * 1e6 / (ROUND_TRIPS - 1);
		*cpu_us = (bench_clock_cpu() - c0) * 1e6 / (ROUND_TRIPS - 1);
		rc = 0;
	}
out:
	/* Our write end closed, a peer still reading sees the end. */
	if (ab[1] >= 0)
		close(ab[1]);
	ab[1] = -1;
	if (started)
		pthread_join(t, NULL);
	for (int k = 0; k < 2; k++) {
		if (ab[k] >= 0)
			close(ab[k]);
		if (ba[k] >= 0)
			close(ba[k]);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	double t0, sys_us, one_wall, one_cpu, two_wall = 0, two_cpu = 0;
	cpu_set_t allowed;
	int kv = 0, cpus[2], n = 0, ch;

	static const struct option opts[] = {
	    {"kv", no_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'k') {
			fprintf(stderr, "usage: bench_platform [--kv]\n");
			return 64;
		}
		kv = 1;
	}
	/* Two CPUs this process may run on: the first two allowed. */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		perror("bench_platform: sched_getaffinity");
		return 1;
	}
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &allowed))
			cpus[n++] = i;

	t0 = bench_clock_now();
	for (int i = 0; i < SYSCALLS; i++)
		/* syscall(): no libc or vDSO shortcut answers it. */
		(void)syscall(SYS_getppid);
	sys_us = (bench_clock_now() - t0) * 1e6 / SYSCALLS;

	if (ping_pong(cpus[0], cpus[0], &one_wall, &one_cpu) != 0 ||
	    (n == 2 && ping_pong(cpus[0], cpus[1], &two_wall, &two_cpu) != 0)) {
		fprintf(stderr, "bench_platform: the ping-pong failed\n");
		return 1;
	}
	if (kv) {
		printf("label=platform syscall_us=%.2f same_cpu_rt_us=%.1f "
		       "same_cpu_rt_cpu_us=%.1f",
		    sys_us, one_wall, one_cpu);
		if (n == 2)
			printf(" cross_cpu_rt_us=%.1f cross_cpu_rt_cpu_us=%.1f",
			    two_wall, two_cpu);
		printf("\n");
	}
	printf("a system call: %.2f us\n", sys_us);
	printf("two threads on one CPU, a round trip (two wake-ups): %.1f us, "
	       "%.1f us of CPU\n",
	    one_wall, one_cpu);
	if (n == 2)
		printf("two threads on CPUs %d and %d, a round trip: %.1f us, "
		       "%.1f us of CPU\n",
		    cpus[0], cpus[1], two_wall, two_cpu);
	else
		printf("one CPU only: no wake-up across CPUs to time\n");
	return 0;
}
