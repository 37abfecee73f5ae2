#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "valimit.h"

enum kk_status
config_set(char **field, const char *v)
{
	char *copy = NULL;

	if (v != NULL && (copy = strdup(v)) == NULL)
		return KK_ENOMEM;
	free(*field);
	*field = copy;
	return KK_OK;
}

enum kk_status
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_port = 8443;
	c->threads = 128;
	c->va_per_account = VALIMIT_PER_ACCOUNT;
	c->conns_per_addr = 16;
	c->va_http_port = 80;
	c->va_tls_port = 443;
	c->va_timeout = 10;
	c->active = -1;
	if (config_set(&c->listen_host, "127.0.0.1") != KK_OK ||
	    config_set(&c->data_dir, "kakuin-data") != KK_OK) {
		config_clear(c);
		return KK_ENOMEM;
	}
	return KK_OK;
}

void
config_clear(struct config *c)
{
	free(c->listen_host);
	free(c->data_dir);
	free(c->policy);
	free(c->ca_cert);
	free(c->ca_key);
	free(c->ca_pin_file);
	free(c->storage);
	free(c->base_url);
	free(c->va_resolver);
	free(c->notify);
	memset(c, 0, sizeof(*c));
}

enum kk_status
config_set_listen(struct config *c, const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	char *end, *host;
	long port;

	if (colon == NULL || colon == hostport)
		return KK_EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 0 ||
	    port > 65535)
		return KK_EINVAL;
	if ((host = strndup(hostport, (size_t)(colon - hostport))) == NULL)
		return KK_ENOMEM;
	free(c->listen_host);
	c->listen_host = host;
	c->listen_port = (int)port;
	return KK_OK;
}

enum kk_status
config_load(struct config *c, const char *path, char **err)
{
	static const char *const keys[] = {"listen", "data_dir", "policy",
	    "ca_cert", "ca_key", "storage", "base_url", "threads",
	    "ca_pin_file", "connections_per_address", "notify", NULL};
	char **fields[] = {NULL, &c->data_dir, &c->policy, &c->ca_cert,
	    &c->ca_key, &c->storage, &c->base_url, NULL, &c->ca_pin_file, NULL,
	    &c->notify};
	FILE *f = NULL;
	char buf[JSON_MAX_LEN + 1];
	size_t n;
	cJSON *root = NULL, *item;
	enum kk_status st = KK_EINVAL;
	int i;

	*err = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		st = KK_EIO;
		goto out;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (json_parse(buf, n, &root) != KK_OK || !cJSON_IsObject(root)) {
		if (asprintf(err, "%s: not a JSON object (or over %d bytes)",
		        path, JSON_MAX_LEN) < 0)
			*err = NULL;
		goto out;
	}
	cJSON_ArrayForEach(item, root)
	{
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(item->string, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			if (asprintf(err, "%s: %s: unknown setting", path,
			        item->string) < 0)
				*err = NULL;
			goto out;
		}
		if (strcmp(keys[i], "threads") == 0 ||
		    strcmp(keys[i], "connections_per_address") == 0) {
			/* At least 2 threads: one for a slow client, one
			 * for the rest. */
			int *dst = keys[i][0] == 't' ? &c->threads
			                             : &c->conns_per_addr;
			int lo = dst == &c->threads ? 2 : 1;

			if (!cJSON_IsNumber(item) || item->valueint < lo ||
			    item->valueint > 256) {
				if (asprintf(err,
				        "%s: %s: must be an integer from "
				        "%d to 256",
				        path, keys[i], lo) < 0)
					*err = NULL;
				goto out;
			}
			*dst = item->valueint;
			continue;
		}
		if (!cJSON_IsString(item)) {
			if (asprintf(err, "%s: %s: must be a string", path,
			        item->string) < 0)
				*err = NULL;
			goto out;
		}
		if (i == 0) {
			if (config_set_listen(c, item->valuestring) != KK_OK) {
				if (asprintf(err,
				        "%s: listen: must be HOST:PORT",
				        path) < 0)
					*err = NULL;
				goto out;
			}
		} else if ((st = config_set(fields[i], item->valuestring)) !=
		           KK_OK)
			goto out;
	}
	st = KK_OK;
out:
	if (f != NULL)
		fclose(f);
	cJSON_Delete(root);
	return st;
}

enum kk_status
config_finish(struct config *c)
{
	if (c->policy == NULL &&
	    asprintf(&c->policy, "%s/policy.json", c->data_dir) < 0) {
		c->policy = NULL;
		return KK_ENOMEM;
	}
	if (c->storage == NULL &&
	    asprintf(&c->storage, "sqlite:%s/kakuin.db", c->data_dir) < 0) {
		c->storage = NULL;
		return KK_ENOMEM;
	}
	return KK_OK;
}
