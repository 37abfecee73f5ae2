#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64url.h"
#include "hook.h"
#include "solve_dns.h"

enum kk_status
solve_dns_value(const char *keyauth, char **out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;

	*out = NULL;
	if (!EVP_Digest(keyauth, strlen(keyauth), md, &len, EVP_sha256(), NULL))
		return KK_ECRYPTO;
	return b64url_encode(md, len, out);
}

enum kk_status
solve_dns_hook(const char *cmd, long timeout, const char *action,
    const struct solve_item *it, struct kc_err *err)
{
	struct hook_var vars[3];
	struct hook_cmd h;
	enum kk_status st;
	char *name = NULL, *value = NULL, why[128];
	const char *args[4];

	if ((st = solve_dns_value(it->keyauth, &value)) != KK_OK)
		return err_set(err, st, 1, "cannot compute the dns-01 value");
	if (asprintf(&name, "_acme-challenge.%s", it->name) == -1) {
		free(value);
		return KK_ENOMEM;
	}
	args[0] = action;
	args[1] = name;
	args[2] = value;
	args[3] = NULL;
	vars[0] = (struct hook_var){"KAKUIN_DNS_ACTION", action};
	vars[1] = (struct hook_var){"KAKUIN_DNS_NAME", name};
	vars[2] = (struct hook_var){"KAKUIN_DNS_VALUE", value};
	h = (struct hook_cmd){cmd, args, vars, 3, timeout, 0};
	if ((st = hook_exec(&h, why, sizeof(why))) != KK_OK)
		err_set(err, st, 1, "dns hook (%s %s) %s", action, name, why);
	free(name);
	free(value);
	return st;
}
