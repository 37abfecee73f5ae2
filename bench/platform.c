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
 *
 * It also times the cryptography of one enrollment on connections kept
 * alive (no TLS handshake): five ECDSA P-256 verifications (four JWS and
 * the CSR's) and one signature (the certificate's). They are timed the
 * way `openssl speed` times them, on a context made once and a digest
 * already taken, so that the figure is the arithmetic alone. A server's
 * CPU per enrollment can then also be read as a multiple of it: how much
 * of its work is something else. (The multiple is no steadier than the
 * milliseconds; a fraction of a second of signatures does not follow the
 * machine's speed over a whole run.)
 */
#include <openssl/err.h>
#include <openssl/evp.h>

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
#define SIGNATURES 2000 /* timed of each: signatures, then verifications */

/* Per enrollment: four JWS verified, the CSR's signature, the certificate. */
#define FLOOR_VERIFIES 5
#define FLOOR_SIGNS 1

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

/*
 * One ECDSA P-256 signature and one verification, in microseconds of CPU,
 * over SIGNATURES of each. 0 on success, -1 when OpenSSL failed.
 */
static int
ecdsa_cost(double *sign_us, double *verify_us)
{
	unsigned char md[32] = {0}, sig[80];
	EVP_PKEY_CTX *sctx = NULL, *vctx = NULL;
	EVP_PKEY *key = NULL;
	size_t len = 0;
	double c0;
	int rc = -1, i;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (sctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    (vctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(sctx) != 1 || EVP_PKEY_verify_init(vctx) != 1)
		goto out;
	c0 = bench_clock_cpu();
	for (i = 0; i < SIGNATURES; i++) {
		len = sizeof(sig);
		if (EVP_PKEY_sign(sctx, sig, &len, md, sizeof(md)) != 1)
			goto out;
	}
	*sign_us = (bench_clock_cpu() - c0) * 1e6 / SIGNATURES;
	c0 = bench_clock_cpu();
	for (i = 0; i < SIGNATURES; i++)
		/* The last signature, good every time: a failure is a bug. */
		if (EVP_PKEY_verify(vctx, sig, len, md, sizeof(md)) != 1)
			goto out;
	*verify_us = (bench_clock_cpu() - c0) * 1e6 / SIGNATURES;
	rc = 0;
out:
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(key);
	return rc;
}

int
main(int argc, char **argv)
{
	double t0, sys_us, one_wall, one_cpu, two_wall = 0, two_cpu = 0;
	double sign_us, verify_us, floor_us;
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
	if (ecdsa_cost(&sign_us, &verify_us) != 0) {
		fprintf(stderr, "bench_platform: ECDSA P-256 failed\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	floor_us = FLOOR_VERIFIES * verify_us + FLOOR_SIGNS * sign_us;
	if (kv) {
		printf("label=platform syscall_us=%.2f same_cpu_rt_us=%.1f "
		       "same_cpu_rt_cpu_us=%.1f",
		    sys_us, one_wall, one_cpu);
		if (n == 2)
			printf(" cross_cpu_rt_us=%.1f cross_cpu_rt_cpu_us=%.1f",
			    two_wall, two_cpu);
		printf(
		    " ecdsa_sign_us=%.1f ecdsa_verify_us=%.1f "
		    "floor_verifies=%d floor_signs=%d crypto_floor_us=%.0f\n",
		    sign_us, verify_us, FLOOR_VERIFIES, FLOOR_SIGNS, floor_us);
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
	printf("ECDSA P-256: a signature %.1f us, a verification %.1f us of "
	       "CPU\n",
	    sign_us, verify_us);
	printf("the cryptography of one enrollment (%d verifications, %d "
	       "signature): %.0f us of CPU\n",
	    FLOOR_VERIFIES, FLOOR_SIGNS, floor_us);
	return 0;
}
