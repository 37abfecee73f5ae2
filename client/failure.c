#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "certinfo.h"
#include "failure.h"
#include "hook.h"

long
failure_delay(int count, unsigned int rnd)
{
	long d = FAILURE_BACKOFF_MIN;
	int i;

	for (i = 1; i < count && d < FAILURE_BACKOFF_MAX; i++)
		d *= 2;
	if (d > FAILURE_BACKOFF_MAX)
		d = FAILURE_BACKOFF_MAX;
	return d - (long)(rnd % (unsigned int)(d / 10 + 1));
}

void
failure_clear(struct failure *f)
{
	free(f->type);
	free(f->detail);
	free(f->message);
	memset(f, 0, sizeof(*f));
}

static int
corrupt(const char *path, const char *key, struct kc_err *err)
{
	err_set(err, KK_EINVAL, EX_CONFIG,
	    "state file %s is corrupted: bad \"%s\"; repair or remove it", path,
	    key);
	return -1;
}

/* A whole number in 0..max (absent: 0); -1 with err set when not one. */
static int
get_num(const cJSON *o, const char *key, double max, double *out,
    const char *path, struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = 0;
	if (v == NULL)
		return 0;
	/* Not NaN, not 1e400: converting those is undefined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > max)
		return corrupt(path, key, err);
	*out = v->valuedouble;
	return 0;
}

/* An optional string (absent or null: NULL); -1 when not one or no memory. */
static int
get_str(const cJSON *o, const char *key, char **out, const char *path,
    struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return corrupt(path, key, err);
	if ((*out = strdup(v->valuestring)) == NULL) {
		err_set(err, KK_ENOMEM, 1, "out of memory");
		return -1;
	}
	return 0;
}

enum kk_status
failure_load(const struct state *s, const char *name, struct failure *f,
    struct kc_err *err)
{
	enum kk_status st;
	cJSON *o = NULL;
	char *path = NULL;
	double count, last, next, code;

	memset(f, 0, sizeof(*f));
	if ((st = state_cert_path(s, name, FAILURE_FILE, &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &o, err)) != KK_OK)
		goto out;
	st = KK_EINVAL;
	if (get_num(o, "failures", 1e6, &count, path, err) < 0 ||
	    get_num(o, "last", 253402300799.0, &last, path, err) < 0 ||
	    get_num(o, "next", 253402300799.0, &next, path, err) < 0 ||
	    get_num(o, "exit", 255, &code, path, err) < 0 ||
	    get_str(o, "type", &f->type, path, err) < 0 ||
	    get_str(o, "detail", &f->detail, path, err) < 0 ||
	    get_str(o, "message", &f->message, path, err) < 0) {
		failure_clear(f);
		goto out;
	}
	f->count = (int)count;
	f->last = (time_t)last;
	f->next = (time_t)next;
	f->exit_code = (int)code;
	st = KK_OK;
out:
	cJSON_Delete(o);
	free(path);
	return st;
}

static enum kk_status
save(const struct state *s, const char *name, const struct failure *f,
    struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	char *path = NULL;
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return KK_ENOMEM;
	if (cJSON_AddNumberToObject(o, "failures", f->count) == NULL ||
	    cJSON_AddNumberToObject(o, "last", (double)f->last) == NULL ||
	    cJSON_AddNumberToObject(o, "next", (double)f->next) == NULL ||
	    cJSON_AddNumberToObject(o, "exit", f->exit_code) == NULL ||
	    (f->type != NULL &&
	        cJSON_AddStringToObject(o, "type", f->type) == NULL) ||
	    (f->detail != NULL &&
	        cJSON_AddStringToObject(o, "detail", f->detail) == NULL) ||
	    (f->message != NULL &&
	        cJSON_AddStringToObject(o, "message", f->message) == NULL))
		goto out;
	if ((st = state_cert_path(s, name, FAILURE_FILE, &path)) == KK_OK)
		st = state_write_json(path, o, err);
out:
	free(path);
	cJSON_Delete(o);
	return st;
}

/* *out = a copy of s, or NULL when s is empty. 0, or -1 out of memory. */
static int
dup_text(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	return (*out = strdup(s)) == NULL ? -1 : 0;
}

enum kk_status
failure_record(const struct state *s, const char *name, const struct kc_err *e,
    time_t now, struct failure *f, struct kc_err *err)
{
	struct failure cur = {0};
	enum kk_status st;
	unsigned int rnd = 0;
	long wait, ra = e->retry_after;

	st = failure_load(s, name, &cur, err);
	if (st != KK_OK && st != KK_ENOTFOUND)
		return st;
	if (ra > FAILURE_BACKOFF_MAX)
		ra = FAILURE_BACKOFF_MAX;
	if (err_exit_code(e) == EX_TEMPFAIL) {
		/* Not broken, only early: the server says when to return. */
		if (ra <= FAILURE_RETRY_AFTER_MIN)
			goto done;
		cur.next = now + ra;
	} else {
		if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
			rnd = 0;
		cur.count = cur.count < 1000000 ? cur.count + 1 : cur.count;
		cur.last = now;
		cur.exit_code = err_exit_code(e);
		free(cur.type);
		free(cur.detail);
		free(cur.message);
		if (dup_text(e->type, &cur.type) < 0 ||
		    dup_text(e->detail, &cur.detail) < 0 ||
		    dup_text(e->msg, &cur.message) < 0) {
			st = KK_ENOMEM;
			goto out;
		}
		wait = failure_delay(cur.count, rnd);
		cur.next = now + (ra > wait ? ra : wait);
	}
	if ((st = save(s, name, &cur, err)) != KK_OK)
		goto out;
done:
	st = KK_OK;
	if (f != NULL) {
		*f = cur;
		memset(&cur, 0, sizeof(cur));
	}
out:
	failure_clear(&cur);
	return st;
}

enum kk_status
failure_reset(const struct state *s, const char *name, struct kc_err *err)
{
	return state_marker_clear(s, name, FAILURE_FILE, err);
}

enum kk_status
failure_hook(const char *cmd, const char *name, const struct kc_err *e,
    const struct failure *f, long timeout, char *why, size_t len)
{
	char code[16], count[16], next[32] = "";
	const char *args[] = {name, code, NULL};
	const struct hook_var vars[] = {
	    {"KAKUIN_NAME", name},
	    {"KAKUIN_EXIT", code},
	    {"KAKUIN_PROBLEM_TYPE", e->type},
	    {"KAKUIN_PROBLEM_DETAIL", e->detail},
	    {"KAKUIN_MESSAGE", e->msg},
	    {"KAKUIN_FAILURES", count},
	    {"KAKUIN_NEXT_ATTEMPT", next},
	};
	/* Nothing appended to a command such as `mail -s ... root`. */
	struct hook_cmd h = {
	    cmd, args, vars, sizeof(vars) / sizeof(vars[0]), timeout, 1};

	snprintf(code, sizeof(code), "%d", err_exit_code(e));
	snprintf(count, sizeof(count), "%d", f != NULL ? f->count : 0);
	if (f != NULL && f->next > 0)
		certinfo_time(f->next, next, sizeof(next));
	return hook_exec(&h, why, len);
}
