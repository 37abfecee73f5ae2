#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "op.h"

enum {
	OPT_TOKEN = CMD_OPT_FIRST_LOCAL,
	OPT_JSON,
	OPT_STATUS,
	OPT_METHOD,
	OPT_LEGAL_NAME,
	OPT_COUNTRY,
	OPT_EVIDENCE,
	OPT_REASON,
	OPT_SINCE,
	OPT_EXPIRES,
	OPT_MAX_USES,
	OPT_ADD,
	OPT_ORG,
	OPT_SERIAL,
	OPT_START,
	OPT_END,
	OPT_OVERRIDE_REASON,
};

struct op_args {
	const char *token, *status, *method, *legal_name, *country, *evidence;
	const char *reason, *since, *expires;
	const char *override_reason; /* approve against the registry */
	long max_uses;
	int json;
	const char *action, *arg;
	/* domains --add and renewal-window: argv's strings, up to argc */
	const char **adds, **serials;
	size_t n_adds, n_serials;
	const char *org, *start, *end;
};

static const char *
str(const cJSON *o, const char *k)
{
	const char *v = json_get_string(o, k);

	return v != NULL ? v : "-";
}

static void
print_json(const cJSON *obj)
{
	char *text = cJSON_Print(obj);

	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

static void
print_queue(const cJSON *res)
{
	const cJSON *v, *c;

	printf("%-38s %-22s %-11s %-21s %s\n", "ID", "ORG", "STATUS",
	    "REQUESTED", "CONTACTS");
	cJSON_ArrayForEach(
	    v, cJSON_GetObjectItemCaseSensitive(res, "verifications"))
	{
		printf("%-38s %-22s %-11s %-21s", str(v, "id"), str(v, "org"),
		    str(v, "status"), str(v, "requested_at"));
		cJSON_ArrayForEach(
		    c, cJSON_GetObjectItemCaseSensitive(v, "contacts"))
		{
			if (cJSON_IsString(c))
				printf(" %s", c->valuestring);
		}
		printf("\n");
	}
}

static const char usage[] =
    "usage: kakuin op list [--status S]\n"
    "       kakuin op show ID\n"
    "       kakuin op approve ID --method phone|document --legal-name NAME\n"
    "                 --evidence TEXT [--country CC] [--override-reason "
    "TEXT]\n"
    "       kakuin op reject ID --reason TEXT\n"
    "       kakuin op eab ORG [--max-uses N] [--expires T]\n"
    "       kakuin op revoke SERIAL --reason R\n"
    "       kakuin op audit [--since T]\n"
    "       kakuin op domains ORG [--add NAME]...\n"
    "       kakuin op renewal-window --org ORG | --serial SERIAL...\n"
    "                 [--start T] [--end T] [--reason TEXT]\n"
    "  --json; the token from --token TOKEN or KAKUIN_TOKEN\n" CMD_GLOBAL_HELP;

static int
parse(int argc, char **argv, struct kc_opts *o, struct op_args *a)
{
	static const struct option opts[] = {
	    {"token", required_argument, NULL, OPT_TOKEN},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"status", required_argument, NULL, OPT_STATUS},
	    {"method", required_argument, NULL, OPT_METHOD},
	    {"legal-name", required_argument, NULL, OPT_LEGAL_NAME},
	    {"country", required_argument, NULL, OPT_COUNTRY},
	    {"evidence", required_argument, NULL, OPT_EVIDENCE},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"expires", required_argument, NULL, OPT_EXPIRES},
	    {"max-uses", required_argument, NULL, OPT_MAX_USES},
	    {"add", required_argument, NULL, OPT_ADD},
	    {"org", required_argument, NULL, OPT_ORG},
	    {"serial", required_argument, NULL, OPT_SERIAL},
	    {"start", required_argument, NULL, OPT_START},
	    {"end", required_argument, NULL, OPT_END},
	    {"override-reason", required_argument, NULL, OPT_OVERRIDE_REASON},
	    CMD_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	a->status = "processing";
	a->country = "JP";
	a->max_uses = -1;
	a->token = getenv("KAKUIN_TOKEN");
	if ((a->adds = calloc((size_t)argc + 1, sizeof(*a->adds))) == NULL ||
	    (a->serials = calloc((size_t)argc + 1, sizeof(*a->serials))) ==
	        NULL)
		return 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cmd_global_opt(c, optarg, o))
			continue;
		switch (c) {
		case OPT_TOKEN:
			a->token = optarg;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_STATUS:
			a->status = optarg;
			break;
		case OPT_METHOD:
			a->method = optarg;
			break;
		case OPT_LEGAL_NAME:
			a->legal_name = optarg;
			break;
		case OPT_COUNTRY:
			a->country = optarg;
			break;
		case OPT_EVIDENCE:
			a->evidence = optarg;
			break;
		case OPT_REASON:
			a->reason = optarg;
			break;
		case OPT_SINCE:
			a->since = optarg;
			break;
		case OPT_EXPIRES:
			a->expires = optarg;
			break;
		case OPT_ADD:
			a->adds[a->n_adds++] = optarg;
			break;
		case OPT_SERIAL:
			a->serials[a->n_serials++] = optarg;
			break;
		case OPT_ORG:
			a->org = optarg;
			break;
		case OPT_START:
			a->start = optarg;
			break;
		case OPT_END:
			a->end = optarg;
			break;
		case OPT_OVERRIDE_REASON:
			a->override_reason = optarg;
			break;
		case OPT_MAX_USES:
			if ((a->max_uses = cmd_seconds(optarg)) < 1)
				return cmd_usage("--max-uses takes a positive "
				                 "number");
			break;
		default:
			return cmd_other_opt(c, usage);
		}
	}
	if (optind >= argc)
		return cmd_usage("op needs an action: list, show, approve, "
		                 "reject, eab, revoke, audit, domains, "
		                 "renewal-window");
	a->action = argv[optind++];
	if (optind < argc)
		a->arg = argv[optind++];
	if (optind != argc)
		return cmd_usage("op: unexpected argument '%s'", argv[optind]);
	if (strcmp(a->action, "list") == 0 || strcmp(a->action, "audit") == 0 ||
	    strcmp(a->action, "renewal-window") == 0) {
		if (a->arg != NULL)
			return cmd_usage("op %s takes no argument", a->action);
		if (strcmp(a->action, "renewal-window") == 0 &&
		    (a->org == NULL) == (a->n_serials == 0))
			return cmd_usage("op renewal-window needs --org or "
			                 "--serial, not both");
		return 0;
	}
	if (a->arg == NULL)
		return cmd_usage("op %s needs an argument", a->action);
	if (strcmp(a->action, "approve") == 0) {
		if (a->method == NULL || a->legal_name == NULL ||
		    a->evidence == NULL)
			return cmd_usage("op approve needs --method, "
			                 "--legal-name and --evidence");
		if (strcmp(a->method, "phone") != 0 &&
		    strcmp(a->method, "document") != 0)
			return cmd_usage("--method is phone or document");
	} else if (strcmp(a->action, "reject") == 0 ||
	           strcmp(a->action, "revoke") == 0) {
		if (a->reason == NULL)
			return cmd_usage("op %s needs --reason", a->action);
	} else if (strcmp(a->action, "show") != 0 &&
	           strcmp(a->action, "eab") != 0 &&
	           strcmp(a->action, "domains") != 0) {
		return cmd_usage("unknown op action '%s'", a->action);
	}
	return 0;
}

/* A JSON array of n strings added to o as name; 0 or -1. */
static int
add_strings(cJSON *o, const char *name, const char *const *v, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(o, name);

	for (size_t i = 0; arr != NULL && i < n; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(v[i])))
			return -1;
	return arr != NULL ? 0 : -1;
}

/* The body of "domains ORG --add ..." or "renewal-window"; NULL: no
 * memory. */
static cJSON *
drill_or_domains(const struct op_args *a)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL)
		return NULL;
	if (strcmp(a->action, "domains") == 0) {
		if (add_strings(b, "domains", a->adds, a->n_adds) == 0)
			return b;
	} else if ((a->org == NULL ||
	               cJSON_AddStringToObject(b, "org", a->org)) &&
	           (a->n_serials == 0 || add_strings(b, "serials", a->serials,
	                                     a->n_serials) == 0) &&
	           (a->start == NULL ||
	               cJSON_AddStringToObject(b, "start", a->start)) &&
	           (a->end == NULL ||
	               cJSON_AddStringToObject(b, "end", a->end)) &&
	           (a->reason == NULL ||
	               cJSON_AddStringToObject(b, "reason", a->reason))) {
		return b;
	}
	cJSON_Delete(b);
	return NULL;
}

/* Builds path and body for the action; both caller-freed. */
static enum kk_status
request(const struct op_args *a, char **path, cJSON **body, const char **method)
{
	enum kk_status st = KK_ENOMEM;
	char *arg = NULL, *q = NULL;
	cJSON *b = NULL;
	int n = -1;

	*path = NULL;
	*body = NULL;
	*method = "GET";
	if (a->arg != NULL && (st = op_escape(a->arg, &arg)) != KK_OK)
		return st;
	if (strcmp(a->action, "list") == 0) {
		if (op_escape(a->status, &q) == KK_OK)
			n = asprintf(path, "verifications?status=%s", q);
	} else if (strcmp(a->action, "audit") == 0) {
		if (a->since == NULL)
			n = asprintf(path, "audit");
		else if (op_escape(a->since, &q) == KK_OK)
			n = asprintf(path, "audit?since=%s", q);
	} else if (strcmp(a->action, "show") == 0) {
		n = asprintf(path, "verifications/%s", arg);
	} else if (strcmp(a->action, "domains") == 0 && a->n_adds == 0) {
		n = asprintf(path, "orgs/%s/domains", arg);
	} else if (strcmp(a->action, "domains") == 0 ||
	           strcmp(a->action, "renewal-window") == 0) {
		*method = "POST";
		if ((b = drill_or_domains(a)) == NULL)
			goto out;
		if (strcmp(a->action, "domains") == 0)
			n = asprintf(path, "orgs/%s/domains", arg);
		else
			n = asprintf(path, "renewal-window");
	} else {
		*method = "POST";
		if ((b = cJSON_CreateObject()) == NULL)
			goto out;
		if (strcmp(a->action, "approve") == 0) {
			n = asprintf(path, "verifications/%s/approve", arg);
			if (!cJSON_AddStringToObject(b, "method", a->method) ||
			    !cJSON_AddStringToObject(
			        b, "legal_name", a->legal_name) ||
			    !cJSON_AddStringToObject(
			        b, "country", a->country) ||
			    !cJSON_AddStringToObject(
			        b, "evidence", a->evidence) ||
			    (a->override_reason != NULL &&
			        !cJSON_AddStringToObject(
			            b, "override_reason", a->override_reason)))
				goto out;
		} else if (strcmp(a->action, "reject") == 0) {
			n = asprintf(path, "verifications/%s/reject", arg);
			if (!cJSON_AddStringToObject(b, "reason", a->reason))
				goto out;
		} else if (strcmp(a->action, "revoke") == 0) {
			n = asprintf(path, "certificates/%s/revoke", arg);
			if (!cJSON_AddStringToObject(b, "reason", a->reason))
				goto out;
		} else {
			n = asprintf(path, "orgs/%s/eab-keys", arg);
			if ((a->expires != NULL &&
			        !cJSON_AddStringToObject(
			            b, "expires", a->expires)) ||
			    (a->max_uses > 0 &&
			        !cJSON_AddNumberToObject(
			            b, "max_uses", (double)a->max_uses)))
				goto out;
		}
	}
	if (n == -1) {
		*path = NULL;
		goto out;
	}
	*body = b;
	b = NULL;
	st = KK_OK;
out:
	if (st != KK_OK) {
		free(*path);
		*path = NULL;
	}
	cJSON_Delete(b);
	free(arg);
	free(q);
	return st;
}

int
cmd_op(int argc, char **argv, struct kc_opts *o)
{
	struct op_args a;
	struct session s = {0};
	struct kc_err err = {0};
	struct http *http = NULL;
	struct op op = {0};
	enum kk_status st;
	const char *method;
	cJSON *body = NULL, *res = NULL;
	char *path = NULL;
	int rc;

	if ((rc = parse(argc, argv, o, &a)) != 0) {
		free(a.adds);
		free(a.serials);
		return rc < 0 ? 0 : rc;
	}
	/* Operators need no state directory: the server may come from the
	 * command line or the environment alone. */
	if ((st = session_open(o, 0, &s, &err)) != KK_OK) {
		err_clear(&err);
		s.server = o->server ? strdup(o->server) : NULL;
		if (s.server == NULL && getenv("KAKUIN_SERVER") != NULL)
			s.server = strdup(getenv("KAKUIN_SERVER"));
		if (o->ca_bundle != NULL)
			s.ca_bundle = strdup(o->ca_bundle);
		else if (getenv("KAKUIN_CA_BUNDLE") != NULL)
			s.ca_bundle = strdup(getenv("KAKUIN_CA_BUNDLE"));
	}
	st = KK_OK;
	if (s.server == NULL) {
		st = err_set(&err, KK_EINVAL, EX_USAGE,
		    "op needs --server or KAKUIN_SERVER");
		goto out;
	}
	if ((st = http_new(s.ca_bundle, &http, &err)) != KK_OK ||
	    (st = op_init(&op, http, s.server, a.token, &err)) != KK_OK ||
	    (st = request(&a, &path, &body, &method)) != KK_OK)
		goto out;
	/* Lists come in pages (the server's ?limit=); read them all. */
	if (strcmp(a.action, "list") == 0)
		st = op_get_all(&op, path, "verifications", &res, &err);
	else if (strcmp(a.action, "audit") == 0)
		st = op_get_all(&op, path, "events", &res, &err);
	else
		st = op_call(&op, method, path, body, &res, &err);
	if (st != KK_OK)
		goto out;
	if (a.json)
		print_json(res);
	else if (strcmp(a.action, "list") == 0)
		print_queue(res);
	else if (strcmp(a.action, "eab") == 0)
		printf("org: %s\nkid: %s\nhmac_key: %s\n", str(res, "org"),
		    str(res, "kid"), str(res, "hmac_key"));
	else
		print_json(res);
out:
	rc = st == KK_OK ? 0 : cmd_fail(&err);
	cJSON_Delete(body);
	cJSON_Delete(res);
	free(path);
	op_clear(&op);
	http_free(http);
	session_close(&s);
	free(a.adds);
	free(a.serials);
	return rc;
}
