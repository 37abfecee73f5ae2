/*
 * The notify file: parsed strictly, since a typo in it would otherwise
 * silence the notifications operators rely on.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "notify_conf.h"

#define SECRET_MIN 16
#define SECRET_MAX 256
#define URL_MAX 2048
#define ADDR_MAX 254
#define MAX_HOOKS 16
#define MAX_TO 16

/* *err = "path: what" (allocation failures leave it NULL). */
static enum kk_status
bad(char **err, const char *path, const char *what)
{
	if (asprintf(err, "%s: %s", path, what) < 0)
		*err = NULL;
	return KK_EINVAL;
}

/* Whether every member of obj is one of names. */
static const char *
unknown_member(const cJSON *obj, const char *const *names)
{
	const cJSON *it;
	size_t i;

	cJSON_ArrayForEach(it, obj)
	{
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(it->string, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return it->string;
	}
	return NULL;
}

/* A string member of at most max bytes without control characters, or
 * NULL when absent; *ok 0 when present and not such a string. */
static char *
str(const cJSON *obj, const char *name, size_t max, int *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char *s;

	if (v == NULL)
		return NULL;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) > max) {
		*ok = 0;
		return NULL;
	}
	for (const char *p = v->valuestring; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*ok = 0;
			return NULL;
		}
	if ((s = strdup(v->valuestring)) == NULL)
		*ok = -1;
	return s;
}

/* An integer member in [lo, hi], or dflt when absent. -1 when bad. */
static int
num(const cJSON *obj, const char *name, int lo, int hi, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (v == NULL)
		return dflt;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint ||
	    v->valueint < lo || v->valueint > hi)
		return -1;
	return v->valueint;
}

/* https, or http to this host only: the body names organizations. */
static int
url_ok(const char *url)
{
	static const char *const local[] = {"http://127.0.0.1:",
	    "http://127.0.0.1/", "http://localhost:", "http://localhost/",
	    "http://[::1]:", "http://[::1]/", NULL};

	if (strncmp(url, "https://", 8) == 0 && url[8] != '\0')
		return 1;
	for (size_t i = 0; local[i] != NULL; i++)
		if (strncmp(url, local[i], strlen(local[i])) == 0)
			return 1;
	return 0;
}

/* A mail address as SMTP takes it: no spaces, brackets or controls
 * (a line break would add commands or headers). */
static int
addr_ok(const char *a)
{
	const char *at = strchr(a, '@');

	for (const char *p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return at != NULL && at != a && at[1] != '\0' &&
	       strpbrk(a, "<>,;\"\\()") == NULL;
}

static enum kk_status
load_hooks(
    const cJSON *arr, const char *path, struct notify_conf *c, char **err)
{
	static const char *const names[] = {"url", "secret", "ca_file", NULL};
	const cJSON *h;
	int ok = 1;
	size_t n = (size_t)cJSON_GetArraySize(arr);

	if (!cJSON_IsArray(arr) || n > MAX_HOOKS)
		return bad(err, path,
		    "webhooks: must be an array of at most "
		    "16 objects");
	if (n == 0)
		return KK_OK;
	if ((c->hooks = calloc(n, sizeof(*c->hooks))) == NULL)
		return KK_ENOMEM;
	cJSON_ArrayForEach(h, arr)
	{
		struct notify_webhook *w = &c->hooks[c->n_hooks++];

		if (!cJSON_IsObject(h) || unknown_member(h, names) != NULL)
			return bad(err, path,
			    "webhooks: each is an object with url, secret "
			    "and optionally ca_file");
		w->url = str(h, "url", URL_MAX, &ok);
		w->secret = str(h, "secret", SECRET_MAX, &ok);
		w->ca_file = str(h, "ca_file", URL_MAX, &ok);
		if (ok < 0)
			return KK_ENOMEM;
		if (!ok || w->url == NULL || !url_ok(w->url))
			return bad(err, path,
			    "webhooks: url must be https://..., or "
			    "http:// to 127.0.0.1, localhost or [::1]");
		if (w->secret == NULL || strlen(w->secret) < SECRET_MIN)
			return bad(err, path,
			    "webhooks: secret must be 16 to 256 bytes");
		if (asprintf(&w->target, "webhook:%s", w->url) < 0) {
			w->target = NULL;
			return KK_ENOMEM;
		}
		for (size_t i = 0; i + 1 < c->n_hooks; i++)
			if (strcmp(c->hooks[i].url, w->url) == 0)
				return bad(err, path,
				    "webhooks: a url is given twice");
	}
	return KK_OK;
}

static enum kk_status
load_mail(const cJSON *m, const char *path, struct notify_conf *c, char **err)
{
	static const char *const names[] = {
	    "relay", "starttls", "ca_file", "from", "to", NULL};
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(m, "to"), *a;
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(m, "starttls");
	int ok = 1;
	size_t n;

	if (!cJSON_IsObject(m) || unknown_member(m, names) != NULL)
		return bad(err, path,
		    "mail: an object with relay, starttls, ca_file, from and "
		    "to");
	c->relay = str(m, "relay", URL_MAX, &ok);
	c->mail_ca = str(m, "ca_file", URL_MAX, &ok);
	c->from = str(m, "from", ADDR_MAX, &ok);
	if (ok < 0)
		return KK_ENOMEM;
	if (!ok || c->relay == NULL ||
	    (strncmp(c->relay, "smtp://", 7) != 0 &&
	        strncmp(c->relay, "smtps://", 8) != 0))
		return bad(err, path,
		    "mail: relay must be smtp://HOST[:PORT] or "
		    "smtps://HOST[:PORT]");
	if (c->from == NULL || !addr_ok(c->from))
		return bad(err, path, "mail: from must be a mail address");
	if (tls != NULL && !cJSON_IsBool(tls))
		return bad(err, path, "mail: starttls must be true or false");
	c->starttls = cJSON_IsTrue(tls);
	n = to != NULL ? (size_t)cJSON_GetArraySize(to) : 0;
	if (!cJSON_IsArray(to) || n == 0 || n > MAX_TO)
		return bad(err, path,
		    "mail: to must be an array of 1 to 16 addresses");
	if ((c->to = calloc(n, sizeof(*c->to))) == NULL)
		return KK_ENOMEM;
	cJSON_ArrayForEach(a, to)
	{
		if (!cJSON_IsString(a) || strlen(a->valuestring) > ADDR_MAX ||
		    !addr_ok(a->valuestring))
			return bad(err, path,
			    "mail: to must be an array of 1 to 16 addresses");
		if ((c->to[c->n_to++] = strdup(a->valuestring)) == NULL)
			return KK_ENOMEM;
	}
	return KK_OK;
}

/* Reads the file, refusing one that others may read: it holds secrets. */
static enum kk_status
read_private(const char *path, cJSON **root, char **err)
{
	char buf[JSON_MAX_LEN + 1];
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		return KK_EINVAL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 077) != 0) {
		close(fd);
		return bad(err, path,
		    "must be a regular file of mode 0600 (it holds the "
		    "webhook secrets)");
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || json_parse(buf, (size_t)n, root) != KK_OK ||
	    !cJSON_IsObject(*root)) {
		cJSON_Delete(*root);
		*root = NULL;
		return bad(err, path, "not a JSON object (or over 64 KiB)");
	}
	return KK_OK;
}

enum kk_status
notify_conf_load(const char *path, struct notify_conf **out, char **err)
{
	static const char *const names[] = {"webhooks", "mail", "retry_seconds",
	    "max_attempts", "timeout_seconds", "poll_seconds",
	    "reminder_check_seconds", NULL};
	struct notify_conf *c = NULL;
	cJSON *root = NULL, *v;
	const char *unknown;
	enum kk_status st;

	*out = NULL;
	*err = NULL;
	if ((st = read_private(path, &root, err)) != KK_OK)
		return st;
	if ((unknown = unknown_member(root, names)) != NULL) {
		if (asprintf(err, "%s: %s: unknown setting", path, unknown) < 0)
			*err = NULL;
		st = KK_EINVAL;
		goto out;
	}
	st = KK_ENOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->retry_seconds = num(root, "retry_seconds", 1, 86400, 30);
	c->max_attempts = num(root, "max_attempts", 1, 100, 8);
	c->timeout_seconds = num(root, "timeout_seconds", 1, 300, 10);
	c->poll_seconds = num(root, "poll_seconds", 1, 3600, 5);
	c->reminder_check_seconds =
	    num(root, "reminder_check_seconds", 1, 86400, 3600);
	if (c->retry_seconds < 0 || c->max_attempts < 0 ||
	    c->timeout_seconds < 0 || c->poll_seconds < 0 ||
	    c->reminder_check_seconds < 0) {
		st = bad(err, path,
		    "retry_seconds (1-86400), max_attempts (1-100), "
		    "timeout_seconds (1-300), poll_seconds (1-3600) and "
		    "reminder_check_seconds (1-86400) are integers in "
		    "those ranges");
		goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "webhooks")) != NULL &&
	    (st = load_hooks(v, path, c, err)) != KK_OK)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "mail")) != NULL &&
	    (st = load_mail(v, path, c, err)) != KK_OK)
		goto out;
	st = KK_OK;
	*out = c;
	c = NULL;
out:
	notify_conf_free(c);
	cJSON_Delete(root);
	return st;
}

void
notify_conf_free(struct notify_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_hooks; i++) {
		free(c->hooks[i].url);
		if (c->hooks[i].secret != NULL) {
			memset(
			    c->hooks[i].secret, 0, strlen(c->hooks[i].secret));
			free(c->hooks[i].secret);
		}
		free(c->hooks[i].ca_file);
		free(c->hooks[i].target);
	}
	free(c->hooks);
	for (size_t i = 0; i < c->n_to; i++)
		free(c->to[i]);
	free(c->to);
	free(c->relay);
	free(c->mail_ca);
	free(c->from);
	free(c);
}

size_t
notify_conf_targets(const struct notify_conf *c)
{
	if (c == NULL)
		return 0;
	return c->n_hooks + (c->relay != NULL ? 1 : 0);
}

const char *
notify_conf_target(const struct notify_conf *c, size_t i)
{
	if (i < c->n_hooks)
		return c->hooks[i].target;
	return NOTIFY_MAIL_TARGET;
}

const struct notify_webhook *
notify_conf_hook(const struct notify_conf *c, const char *target)
{
	for (size_t i = 0; c != NULL && i < c->n_hooks; i++)
		if (strcmp(c->hooks[i].target, target) == 0)
			return &c->hooks[i];
	return NULL;
}
