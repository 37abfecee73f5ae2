#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solve_cfg.h"

static const char *const type_names[] = {
    [SOLVE_NONE] = "none",
    [SOLVE_HTTP] = "http-01",
    [SOLVE_DNS] = "dns-01",
    [SOLVE_ALPN] = "tls-alpn-01",
};

const char *
solve_type_name(enum solve_type t)
{
	return type_names[t];
}

int
solve_type_parse(const char *s, enum solve_type *t)
{
	size_t i;

	for (i = SOLVE_HTTP; i < sizeof(type_names) / sizeof(type_names[0]);
	     i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*t = (enum solve_type)i;
			return 0;
		}
	}
	return -1;
}

int
solve_cfg_check(const struct solve_cfg *c, char *why, size_t len)
{
	const char *msg = NULL;

	if (c->nnames == 0 && c->type != SOLVE_NONE)
		msg = "--challenge needs --identifier dns:NAME";
	else if (c->nnames > 0 && c->type == SOLVE_NONE)
		msg = "--identifier dns:NAME needs --challenge "
		      "http-01|dns-01|tls-alpn-01";
	else if (c->type == SOLVE_HTTP &&
	         (c->webroot == NULL) == (c->listen == NULL))
		msg = "--challenge http-01 needs --webroot DIR or "
		      "--standalone [ADDR:]PORT (one of them)";
	else if (c->type == SOLVE_ALPN &&
	         (c->listen == NULL || c->webroot != NULL))
		msg = "--challenge tls-alpn-01 needs --standalone "
		      "[ADDR:]PORT (and no --webroot)";
	else if (c->type == SOLVE_DNS && c->dns_hook == NULL)
		msg = "--challenge dns-01 needs --dns-hook CMD";
	else if (c->type != SOLVE_DNS && c->dns_hook != NULL)
		msg = "--dns-hook goes with --challenge dns-01";
	else if (c->type != SOLVE_HTTP && c->type != SOLVE_ALPN &&
	         (c->listen != NULL || c->webroot != NULL))
		msg = "--webroot and --standalone go with --challenge "
		      "http-01 or tls-alpn-01";
	if (msg == NULL)
		return 0;
	snprintf(why, len, "%s", msg);
	return -1;
}

static enum kk_status
corrupt(const char *path, const char *what, struct kc_err *err)
{
	return err_set(err, KK_EINVAL, EX_CONFIG,
	    "state file %s is corrupted: %s; repair it or enroll again", path,
	    what);
}

/* A string member, or NULL when absent; anything else is corruption. */
static enum kk_status
get_str(const cJSON *obj, const char *key, char **out, const char *path,
    struct kc_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (v == NULL)
		return KK_OK;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return corrupt(path, key, err);
	*out = strdup(v->valuestring);
	return *out == NULL ? KK_ENOMEM : KK_OK;
}

static enum kk_status
parse(
    const cJSON *obj, struct solve_cfg *c, const char *path, struct kc_err *err)
{
	const cJSON *v, *names;
	enum kk_status st;
	char why[160];

	v = cJSON_GetObjectItemCaseSensitive(obj, "challenge");
	if (v != NULL && (!cJSON_IsString(v) ||
	                     solve_type_parse(v->valuestring, &c->type) != 0))
		return corrupt(path, "unknown \"challenge\"", err);
	names = cJSON_GetObjectItemCaseSensitive(obj, "dns");
	if (names != NULL && !cJSON_IsArray(names))
		return corrupt(path, "\"dns\" must be a list", err);
	cJSON_ArrayForEach(v, names)
	{
		if (!cJSON_IsString(v) || c->nnames == SOLVE_MAX_NAMES)
			return corrupt(path, "bad \"dns\" list", err);
		if ((c->names[c->nnames++] = strdup(v->valuestring)) == NULL)
			return KK_ENOMEM;
	}
	if ((st = get_str(obj, "webroot", &c->webroot, path, err)) != KK_OK ||
	    (st = get_str(obj, "standalone", &c->listen, path, err)) != KK_OK ||
	    (st = get_str(obj, "dns_hook", &c->dns_hook, path, err)) != KK_OK)
		return st;
	v = cJSON_GetObjectItemCaseSensitive(obj, "hook_timeout");
	if (v != NULL) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
		    v->valuedouble > 86400)
			return corrupt(path, "bad \"hook_timeout\"", err);
		c->hook_timeout = (long)v->valuedouble;
	}
	if (solve_cfg_check(c, why, sizeof(why)) != 0)
		return corrupt(path, why, err);
	return KK_OK;
}

enum kk_status
solve_cfg_load(const struct state *s, const char *name, struct solve_cfg *c,
    struct kc_err *err)
{
	enum kk_status st;
	cJSON *obj = NULL;
	char *path = NULL;

	memset(c, 0, sizeof(*c));
	if ((st = state_cert_path(s, name, "solve.json", &path)) != KK_OK)
		return st;
	st = state_read_json(path, &obj, err);
	if (st == KK_ENOTFOUND)
		st = KK_OK;
	else if (st == KK_OK)
		st = parse(obj, c, path, err);
	if (st != KK_OK)
		solve_cfg_clear(c);
	cJSON_Delete(obj);
	free(path);
	return st;
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
solve_cfg_save(const struct state *s, const char *name,
    const struct solve_cfg *c, struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	cJSON *obj, *arr;
	char *path = NULL;
	size_t i;

	if ((obj = cJSON_CreateObject()) == NULL)
		return KK_ENOMEM;
	if (c->type != SOLVE_NONE && cJSON_AddStringToObject(obj, "challenge",
	                                 solve_type_name(c->type)) == NULL)
		goto out;
	if ((arr = cJSON_AddArrayToObject(obj, "dns")) == NULL)
		goto out;
	for (i = 0; i < c->nnames; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(c->names[i])))
			goto out;
	if ((st = add_str(obj, "webroot", c->webroot)) != KK_OK ||
	    (st = add_str(obj, "standalone", c->listen)) != KK_OK ||
	    (st = add_str(obj, "dns_hook", c->dns_hook)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if (c->hook_timeout > 0 && cJSON_AddNumberToObject(obj, "hook_timeout",
	                               (double)c->hook_timeout) == NULL)
		goto out;
	if ((st = state_cert_path(s, name, "solve.json", &path)) != KK_OK)
		goto out;
	st = state_write_json(path, obj, err);
out:
	free(path);
	cJSON_Delete(obj);
	return st;
}

void
solve_cfg_clear(struct solve_cfg *c)
{
	size_t i;

	for (i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->webroot);
	free(c->listen);
	free(c->dns_hook);
	memset(c, 0, sizeof(*c));
}
