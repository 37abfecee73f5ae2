/*
 * test_pattern.c - regular expressions whose compilation would take
 * minutes or gigabytes are refused, naming the field, and the worst ones
 * accepted compile quickly in little memory. Everything that could blow up
 * runs in a child with CPU and address-space limits, so that without the
 * checks the tests fail instead of taking the machine down.
 */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "pattern.h"
#include "policy.h"

#define DEFAULT_POLICY KAKUIN_SOURCE_DIR "/policy/default.json"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* The child's result: its output, how long it ran, its peak memory. */
struct run {
	char out[512];
	int status;
	double secs;
	long max_mb;
};

typedef void (*child_fn)(const void *arg, FILE *out);

/*
 * Runs fn in a child limited to 5 s of CPU and (except under ASan, whose
 * shadow memory needs terabytes of address space) 512 MB.
 */
static void
run_limited(child_fn fn, const void *arg, struct run *r)
{
	struct rlimit cpu = {5, 5}, as = {512 << 20, 512 << 20};
	struct timespec t0, t1;
	struct rusage ru;
	int fds[2];
	ssize_t n;
	size_t got = 0;
	FILE *out;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		setrlimit(RLIMIT_CPU, &cpu);
#ifndef ASAN
		setrlimit(RLIMIT_AS, &as);
#else
		(void)as;
#endif
		if ((out = fdopen(fds[1], "w")) == NULL)
			_exit(2);
		fn(arg, out);
		fclose(out);
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(r->out) - 1 &&
	       (n = read(fds[0], r->out + got, sizeof(r->out) - 1 - got)) > 0)
		got += (size_t)n;
	r->out[got] = '\0';
	close(fds[0]);
	cr_assert_eq(wait4(pid, &r->status, 0, &ru), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->secs = (double)(t1.tv_sec - t0.tv_sec) +
	          (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r->max_mb = ru.ru_maxrss / 1024;
}

/* Child: loads the default policy with one pattern replaced. */
struct change {
	const char *object; /* "org_identifier" or "profiles" */
	const char *member;
	const char *pattern;
};

static void
load_changed(const void *arg, FILE *out)
{
	const struct change *c = arg;
	char buf[70000], path[] = "/tmp/kakuin-pattern-XXXXXX", *text, *err;
	struct policy *p = NULL;
	cJSON *doc, *obj;
	size_t n;
	FILE *f;
	int fd;

	if ((f = fopen(DEFAULT_POLICY, "r")) == NULL)
		_exit(3);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((doc = cJSON_Parse(buf)) == NULL)
		_exit(3);
	obj = cJSON_GetObjectItemCaseSensitive(doc, c->object);
	if (cJSON_IsArray(obj))
		obj = cJSON_GetArrayItem(obj, 0);
	cJSON_ReplaceItemInObjectCaseSensitive(
	    obj, c->member, cJSON_CreateString(c->pattern));
	text = cJSON_PrintUnformatted(doc);
	if ((fd = mkstemp(path)) < 0 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(3);
	close(fd);
	err = NULL;
	if (policy_load(path, &p, &err) == KK_OK)
		fputs("loaded", out);
	else
		fputs(err ? err : "error without a message", out);
	unlink(path);
	policy_free(p);
	free(err);
	free(text);
	cJSON_Delete(doc);
}

static void
expect_refused(const char *object, const char *member, const char *field,
    const char *pattern, const char *reason)
{
	struct change c = {object, member, pattern};
	struct run r;

	run_limited(load_changed, &c, &r);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
	    "%s: the loader died (signal %d) after %.1f s", pattern,
	    WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0, r.secs);
	cr_assert_not_null(strstr(r.out, field), "%s: %s", pattern, r.out);
	cr_assert_not_null(strstr(r.out, reason), "%s: %s", pattern, r.out);
	cr_assert_lt(
	    r.secs, 2.0, "%s: refused only after %.1f s", pattern, r.secs);
}

Test(pattern, stacked_quantifiers_are_refused_at_load)
{
	/* 22 '+': 3 GB and 18 s in glibc's regcomp. */
	expect_refused("org_identifier", "pattern", "org_identifier.pattern",
	    "a++++++++++++++++++++++", "stacked");
	expect_refused("profiles", "cn_pattern", "profiles[0].cn_pattern",
	    "[a-z]*+", "stacked");
}

Test(pattern, large_counts_are_refused_at_load)
{
	/* Behind a stray ')', which glibc takes for a literal. */
	expect_refused("org_identifier", "pattern", "org_identifier.pattern",
	    "x)((a{255}){255}){255}", "without a matching");
	expect_refused("profiles", "cn_pattern", "profiles[0].cn_pattern",
	    "N{1,32767}", "over 255");
	/* Each count is small; their product is not. */
	expect_refused("org_identifier", "pattern", "org_identifier.pattern",
	    "((([0-9]{1,100}){1,100}){1,100})", "1024 atoms");
}

Test(pattern, repeated_empty_matches_are_refused_at_load)
{
	/* 8 s: nullable repetitions make epsilon closures explode. */
	expect_refused("profiles", "cn_pattern", "profiles[0].cn_pattern",
	    "(a?){0,255}", "empty string");
}

Test(pattern, refusals_and_their_reasons)
{
	static const struct {
		const char *re, *why;
	} bad[] = {
	    {"a**", "stacked"},
	    {"a+?", "stacked"},
	    {"a{2}{3}", "stacked"},
	    {"(a){2}*", "stacked"},
	    {"a{256}", "over 255"},
	    {"a{0,99999999999999999999}", "over 255"},
	    {"a{3,2}", "m > n"},
	    {"a{x}", "'{'"},
	    {"a{1", "not closed"},
	    {"*a", "must follow"},
	    {"(|a)+", "empty string"},
	    {"(a*)*", "empty string"},
	    {"(a*b?){2}", "empty string"},
	    {"(^)*", "empty string"},
	    {"(((((((((a)))))))))", "nested"},
	    {"[a-z]{0,205}[a-z]{0,205}[a-z]{0,205}[a-z]{0,205}[a-z]{0,205}",
	        "1024"},
	    {"((a|b|c){1,200}){1,2}", "1024"},
	    /* regcomp() reads a stray ')' as a literal and compiles on. */
	    {"x)((a{255}){255}){255}", "without a matching"},
	    {"a)b", "without a matching"},
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(pattern_bounded(bad[i].re, &why), KK_EINVAL,
		    "%s passed", bad[i].re);
		cr_assert_not_null(why);
		cr_assert_not_null(
		    strstr(why, bad[i].why), "%s: %s", bad[i].re, why);
	}
}

Test(pattern, ordinary_patterns_pass)
{
	static const char *const ok[] = {
	    "^NTRJP-[0-9]{13}$",
	    "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$",
	    /* A host name: labels of 1 to 63, dot-separated. */
	    ("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
	     "(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"),
	    "(NTRJP|LEIXG)-[0-9A-Z]{13,20}",
	    "[]a]+[^]a]*[[:alpha:]]{2}[[.-.]]",
	    "a\\{1\\}\\*",
	    "((((((((a))))))))",
	    /* Syntax errors are for regcomp to report. */
	    "[a-",
	    "(a",
	    "a\\",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(
		    pattern_bounded(ok[i], &why), KK_OK, "%s: %s", ok[i], why);
}

/* Child: compiles each pattern as the loader does, wrapped in ^( )$. */
static void
compile_all(const void *arg, FILE *out)
{
	const char *const *re = arg;
	char anchored[1100];
	const char *why;
	regex_t r;

	for (; *re != NULL; re++) {
		if (pattern_bounded(*re, &why) != KK_OK) {
			fprintf(out, "%s refused: %s\n", *re, why);
			continue;
		}
		snprintf(anchored, sizeof(anchored), "^(%s)$", *re);
		if (regcomp(&r, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
			fprintf(out, "%s does not compile\n", *re);
			continue;
		}
		regfree(&r);
	}
}

/*
 * The most expensive patterns found within the bounds, compiled together:
 * they must stay far below what the refused ones cost (seconds, gigabytes).
 */
Test(pattern, the_worst_accepted_patterns_are_cheap, .timeout = 30)
{
	static const char *const worst[] = {
	    "[a-z]{0,255}[a-z]{0,255}[a-z]{0,255}[a-z]{0,255}",
	    "([a-z][a-z.-]{0,62}){0,16}",
	    "(a{0,255}b){0,4}",
	    "((a{1,8}){1,8}){1,16}",
	    "(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p){0,33}",
	    "((((((((a+)+)+)+)+)+)+)+)+a+a+",
	    "(a+|b+|c+|d+){0,93}",
	    NULL,
	};
	struct run r;

	run_limited(compile_all, worst, &r);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
	    "died (signal %d) after %.1f s",
	    WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0, r.secs);
	cr_assert_str_eq(r.out, "", "%s", r.out);
	cr_log_info("worst accepted: %.2f s, %ld MB", r.secs, r.max_mb);
	cr_assert_lt(r.secs, 3.0, "took %.1f s", r.secs);
	cr_assert_lt(r.max_mb, 128, "took %ld MB", r.max_mb);
}
