#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "state.h"

enum kk_status
state_default_dir(char **out)
{
	const char *home = getenv("HOME");

	if (geteuid() == 0 || home == NULL || *home == '\0')
		*out = strdup("/var/lib/kakuin");
	else if (asprintf(out, "%s/.local/state/kakuin", home) == -1)
		*out = NULL;
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

enum kk_status
state_open(const char *dir, int create, struct state **out, struct kc_err *err)
{
	enum kk_status st;
	struct stat sb;
	struct state *s;

	*out = NULL;
	if (create && (st = file_mkdirs(dir, 0700, err)) != KK_OK)
		return st;
	if (stat(dir, &sb) == -1 && errno != ENOENT)
		return err_set(err, KK_EIO, EX_CONFIG,
		    "cannot open state directory %s: %s", dir, strerror(errno));
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		return err_set(err, KK_ENOTFOUND, EX_CONFIG,
		    "state directory %s does not exist (run kakuin enroll, or "
		    "give --state-dir)",
		    dir);
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(dir)) == NULL) {
		free(s);
		return KK_ENOMEM;
	}
	*out = s;
	return KK_OK;
}

void
state_free(struct state *s)
{
	if (s == NULL)
		return;
	free(s->dir);
	free(s);
}

enum kk_status
state_path(const struct state *s, const char *rel, char **out)
{
	return file_join(s->dir, rel, out);
}

enum kk_status
state_cert_path(
    const struct state *s, const char *name, const char *file, char **out)
{
	int n;

	if (file == NULL)
		n = asprintf(out, "%s/certs/%s", s->dir, name);
	else
		n = asprintf(out, "%s/certs/%s/%s", s->dir, name, file);
	if (n == -1) {
		*out = NULL;
		return KK_ENOMEM;
	}
	return KK_OK;
}

int
state_name_valid(const char *name)
{
	size_t i, n = name == NULL ? 0 : strlen(name);

	if (n == 0 || n > STATE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		        c == '_'))
			return 0;
	}
	return 1;
}

enum kk_status
state_read_json(const char *path, cJSON **out, struct kc_err *err)
{
	enum kk_status st;
	char *buf;
	size_t len;

	*out = NULL;
	if ((st = file_read(path, STATE_JSON_MAX, &buf, &len, err)) != KK_OK) {
		if (st == KK_ETOOBIG)
			err_set(err, st, EX_CONFIG,
			    "state file %s is corrupted (too large); repair or "
			    "remove it",
			    path);
		return st;
	}
	/* Our own file, already bounded by STATE_JSON_MAX. */
	*out = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (*out != NULL && !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	if (*out == NULL)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted (not a JSON object); repair or "
		    "remove it",
		    path);
	return KK_OK;
}

enum kk_status
state_write_json(const char *path, const cJSON *obj, struct kc_err *err)
{
	enum kk_status st;
	char *text;

	text = cJSON_Print(obj);
	if (text == NULL)
		return KK_ENOMEM;
	st = file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return st;
}

/* A string member that must be a string if present; *out NULL if absent. */
static enum kk_status
get_str(const cJSON *obj, const char *key, int required, char **out,
    const char *path, struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (!required)
			return KK_OK;
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"%s\" is missing", path, key);
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"%s\" must be a string", path,
		    key);
	*out = strdup(v->valuestring);
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

/* A time member: absent is 0; else a whole number of seconds in range. */
static enum kk_status
get_time(const cJSON *obj, const char *key, time_t *out, const char *path,
    struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = 0;
	if (v == NULL)
		return KK_OK;
	/* Not NaN, not 1e400: converting those to time_t is undefined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > 253402300799.0)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"%s\" must be a time", path,
		    key);
	*out = (time_t)v->valuedouble;
	return KK_OK;
}

static enum kk_status
add_str(cJSON *obj, const char *key, const char *val)
{
	if (val == NULL)
		return KK_OK;
	return cJSON_AddStringToObject(obj, key, val) == NULL ? KK_ENOMEM
	                                                      : KK_OK;
}

enum kk_status
state_global_load(
    const struct state *s, struct state_global *g, struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path;

	memset(g, 0, sizeof(*g));
	if ((st = state_path(s, "config.json", &path)) != KK_OK)
		return st;
	st = state_read_json(path, &obj, err);
	if (st == KK_ENOTFOUND) {
		st = KK_OK;
		goto out;
	}
	if (st != KK_OK)
		goto out;
	if ((st = get_str(obj, "server", 0, &g->server, path, err)) != KK_OK ||
	    (st = get_str(obj, "ca_bundle", 0, &g->ca_bundle, path, err)) !=
	        KK_OK ||
	    (st = get_str(
	         obj, "failure_hook", 0, &g->failure_hook, path, err)) != KK_OK)
		state_global_clear(g);
out:
	cJSON_Delete(obj);
	free(path);
	return st;
}

enum kk_status
state_global_save(
    const struct state *s, const struct state_global *g, struct kc_err *err)
{
	enum kk_status st;
	char *path = NULL, *hook = NULL;
	cJSON *obj;

	/* What the user wrote by hand survives enroll's save. */
	if ((st = state_path(s, "config.json", &path)) != KK_OK)
		return st;
	if (g->failure_hook == NULL) {
		st = state_read_json(path, &obj, err);
		if (st == KK_OK)
			st = get_str(obj, "failure_hook", 0, &hook, path, err);
		cJSON_Delete(obj);
		if (st != KK_OK && st != KK_ENOTFOUND)
			goto out;
	}
	st = KK_ENOMEM;
	if ((obj = cJSON_CreateObject()) == NULL)
		goto out;
	if ((st = add_str(obj, "server", g->server)) == KK_OK &&
	    (st = add_str(obj, "ca_bundle", g->ca_bundle)) == KK_OK &&
	    (st = add_str(obj, "failure_hook",
	         g->failure_hook ? g->failure_hook : hook)) == KK_OK)
		st = state_write_json(path, obj, err);
	cJSON_Delete(obj);
out:
	free(hook);
	free(path);
	return st;
}

void
state_global_clear(struct state_global *g)
{
	free(g->server);
	free(g->ca_bundle);
	free(g->failure_hook);
	memset(g, 0, sizeof(*g));
}

enum kk_status
state_account_load(const struct state *s, char **url, struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path;

	*url = NULL;
	if ((st = state_path(s, "account.json", &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &obj, err)) == KK_OK)
		st = get_str(obj, "url", 1, url, path, err);
	cJSON_Delete(obj);
	free(path);
	return st;
}

enum kk_status
state_account_save(const struct state *s, const char *url, struct kc_err *err)
{
	enum kk_status st;
	char *path = NULL;
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (obj == NULL)
		return KK_ENOMEM;
	if ((st = add_str(obj, "url", url)) == KK_OK &&
	    (st = state_path(s, "account.json", &path)) == KK_OK)
		st = state_write_json(path, obj, err);
	free(path);
	cJSON_Delete(obj);
	return st;
}

static enum kk_status
get_bool(const cJSON *obj, const char *key, int *out, const char *path,
    struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = 0;
	if (v == NULL)
		return KK_OK;
	if (!cJSON_IsBool(v))
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"%s\" must be true or false",
		    path, key);
	*out = cJSON_IsTrue(v);
	return KK_OK;
}

static enum kk_status
get_hook_timeout(
    const cJSON *obj, long *out, const char *path, struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "hook_timeout");

	*out = 0;
	if (v == NULL)
		return KK_OK;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > 86400)
		return err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"hook_timeout\" must be "
		    "0..86400 seconds",
		    path);
	*out = (long)v->valuedouble;
	return KK_OK;
}

enum kk_status
state_cert_load(const struct state *s, const char *name, struct cert_config *c,
    struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path;

	memset(c, 0, sizeof(*c));
	if (!state_name_valid(name))
		return err_set(err, KK_EINVAL, EX_USAGE,
		    "'%s' is not a valid certificate name", name);
	if ((st = state_cert_path(s, name, "config.json", &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &obj, err)) != KK_OK) {
		if (st == KK_ENOTFOUND)
			err_set(err, st, EX_CONFIG,
			    "no certificate named '%s' in %s (run kakuin "
			    "enroll first)",
			    name, s->dir);
		goto out;
	}
	if ((st = get_str(obj, "name", 1, &c->name, path, err)) != KK_OK ||
	    (st = get_str(obj, "org", 0, &c->org, path, err)) != KK_OK ||
	    (st = get_str(obj, "key_type", 1, &c->key_type, path, err)) !=
	        KK_OK ||
	    (st = get_str(obj, "out", 1, &c->out, path, err)) != KK_OK ||
	    (st = get_str(obj, "deploy_hook", 0, &c->deploy_hook, path, err)) !=
	        KK_OK ||
	    (st = get_str(obj, "p12_pass_file", 0, &c->p12_pass_file, path,
	         err)) != KK_OK ||
	    (st = get_str(obj, "key_uri", 0, &c->key_uri, path, err)) !=
	        KK_OK ||
	    (st = get_str(obj, "pin_file", 0, &c->pin_file, path, err)) !=
	        KK_OK ||
	    (st = get_bool(obj, "p12", &c->p12, path, err)) != KK_OK ||
	    (st = get_bool(obj, "reuse_key", &c->reuse_key, path, err)) !=
	        KK_OK ||
	    (st = get_hook_timeout(obj, &c->hook_timeout, path, err)) != KK_OK)
		goto out;
	if (strcmp(c->name, name) != 0 || !state_name_valid(c->name))
		st = err_set(err, KK_EINVAL, EX_CONFIG,
		    "state file %s is corrupted: \"name\" is not '%s'", path,
		    name);
out:
	if (st != KK_OK)
		cert_config_clear(c);
	cJSON_Delete(obj);
	free(path);
	return st;
}

enum kk_status
state_cert_save(
    const struct state *s, const struct cert_config *c, struct kc_err *err)
{
	enum kk_status st;
	char *dir = NULL, *path = NULL;
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (obj == NULL)
		return KK_ENOMEM;
	if ((st = add_str(obj, "name", c->name)) != KK_OK ||
	    (st = add_str(obj, "org", c->org)) != KK_OK ||
	    (st = add_str(obj, "key_type", c->key_type)) != KK_OK ||
	    (st = add_str(obj, "out", c->out)) != KK_OK ||
	    (st = add_str(obj, "deploy_hook", c->deploy_hook)) != KK_OK ||
	    (st = add_str(obj, "p12_pass_file", c->p12_pass_file)) != KK_OK ||
	    (st = add_str(obj, "key_uri", c->key_uri)) != KK_OK ||
	    (st = add_str(obj, "pin_file", c->pin_file)) != KK_OK)
		goto out;
	if (cJSON_AddBoolToObject(obj, "p12", c->p12) == NULL ||
	    cJSON_AddBoolToObject(obj, "reuse_key", c->reuse_key) == NULL ||
	    (c->hook_timeout > 0 && cJSON_AddNumberToObject(obj, "hook_timeout",
	                                (double)c->hook_timeout) == NULL)) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = state_cert_path(s, c->name, NULL, &dir)) != KK_OK ||
	    (st = file_mkdirs(dir, 0700, err)) != KK_OK ||
	    (st = state_cert_path(s, c->name, "config.json", &path)) != KK_OK)
		goto out;
	st = state_write_json(path, obj, err);
out:
	free(dir);
	free(path);
	cJSON_Delete(obj);
	return st;
}

void
cert_config_clear(struct cert_config *c)
{
	free(c->name);
	free(c->org);
	free(c->key_type);
	free(c->out);
	free(c->deploy_hook);
	free(c->p12_pass_file);
	free(c->key_uri);
	free(c->pin_file);
	memset(c, 0, sizeof(*c));
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum kk_status
state_cert_names(
    const struct state *s, char ***names, size_t *n, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	char **v = NULL, **nv, *dir;
	struct dirent *de;
	size_t count = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((st = state_path(s, "certs", &dir)) != KK_OK)
		return st;
	d = opendir(dir);
	if (d == NULL) {
		st = errno == ENOENT
		         ? KK_OK
		         : err_set(err, KK_EIO, EX_CONFIG, "cannot read %s: %s",
		               dir, strerror(errno));
		free(dir);
		return st;
	}
	while ((de = readdir(d)) != NULL) {
		if (!state_name_valid(de->d_name))
			continue;
		nv = realloc(v, (count + 1) * sizeof(*v));
		if (nv == NULL) {
			st = KK_ENOMEM;
			break;
		}
		v = nv;
		if ((v[count] = strdup(de->d_name)) == NULL) {
			st = KK_ENOMEM;
			break;
		}
		count++;
	}
	closedir(d);
	free(dir);
	if (st != KK_OK) {
		state_names_free(v, count);
		return st;
	}
	if (count > 0)
		qsort(v, count, sizeof(*v), cmp_names);
	*names = v;
	*n = count;
	return KK_OK;
}

void
state_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

enum kk_status
state_pending_load(const struct state *s, const char *name, struct pending *p,
    struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path;

	memset(p, 0, sizeof(*p));
	if ((st = state_cert_path(s, name, "pending.json", &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &obj, err)) != KK_OK)
		goto out;
	if ((st = get_str(obj, "order", 1, &p->order_url, path, err)) != KK_OK)
		goto out;
	st = get_time(obj, "created", &p->created, path, err);
out:
	if (st != KK_OK)
		pending_clear(p);
	cJSON_Delete(obj);
	free(path);
	return st;
}

enum kk_status
state_pending_save(const struct state *s, const char *name,
    const struct pending *p, struct kc_err *err)
{
	enum kk_status st;
	char *path = NULL;
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (obj == NULL)
		return KK_ENOMEM;
	if ((st = add_str(obj, "order", p->order_url)) != KK_OK)
		goto out;
	if (cJSON_AddNumberToObject(obj, "created", (double)p->created) ==
	    NULL) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = state_cert_path(s, name, "pending.json", &path)) == KK_OK)
		st = state_write_json(path, obj, err);
out:
	free(path);
	cJSON_Delete(obj);
	return st;
}

enum kk_status
state_pending_clear(const struct state *s, const char *name, struct kc_err *err)
{
	static const char *const files[] = {
	    "pending.json", "pending.key", "pending.uri"};
	enum kk_status st = KK_OK;
	char *path;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]) && st == KK_OK; i++) {
		if ((st = state_cert_path(s, name, files[i], &path)) != KK_OK)
			break;
		if (unlink(path) == -1 && errno != ENOENT)
			st = err_set(err, KK_EIO, 1, "cannot remove %s: %s",
			    path, strerror(errno));
		free(path);
	}
	return st;
}

void
pending_clear(struct pending *p)
{
	free(p->order_url);
	memset(p, 0, sizeof(*p));
}

enum kk_status
state_marker_set(const struct state *s, const char *name, const char *file,
    time_t when, struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	char *path = NULL;
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (obj == NULL ||
	    cJSON_AddNumberToObject(obj, "time", (double)when) == NULL)
		goto out;
	if ((st = state_cert_path(s, name, file, &path)) == KK_OK)
		st = state_write_json(path, obj, err);
out:
	free(path);
	cJSON_Delete(obj);
	return st;
}

enum kk_status
state_marker_time(const struct state *s, const char *name, const char *file,
    time_t *when, struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path;

	*when = 0;
	if ((st = state_cert_path(s, name, file, &path)) != KK_OK)
		return st;
	if ((st = state_read_json(path, &obj, err)) == KK_OK)
		st = get_time(obj, "time", when, path, err);
	cJSON_Delete(obj);
	free(path);
	return st;
}

enum kk_status
state_marker_clear(const struct state *s, const char *name, const char *file,
    struct kc_err *err)
{
	enum kk_status st;
	char *path, *dir = NULL;

	if ((st = state_cert_path(s, name, file, &path)) != KK_OK)
		return st;
	if (unlink(path) == -1) {
		if (errno != ENOENT)
			st = err_set(err, KK_EIO, 1, "cannot remove %s: %s",
			    path, strerror(errno));
	} else if ((st = file_dirname(path, &dir)) == KK_OK) {
		st = file_sync_dir(dir, err);
	}
	free(dir);
	free(path);
	return st;
}
