/*
 * fuzz_server: the server's request handler, srv_handle, without civetweb.
 * LLVMFuzzerInitialize builds a whole server (data directory, CA, policy,
 * SQLite store) in a temporary directory, registers an ACME account and
 * creates an operator token. Each input is one or more requests separated
 * by a line "%%"; each request is
 *
 *   METHOD PATH[?QUERY]
 *   Name: value            (headers, up to an empty line)
 *
 *   body
 *
 * Headers: Content-Type, Authorization, Remote (the client address), and
 * Sign, which has the harness sign the body as a flattened JWS with a
 * fresh nonce, so that mutations of the header and payload get past the
 * nonce check to signature verification and the handlers behind it:
 *   Sign: kid | jwk | newkey   (the account by kid; the account key's jwk;
 *                               a key with no account, by jwk)
 *   Sign: kid badsig ...       (then one bit of the signature is flipped)
 *   Sign: kid replay ...       (then the same request is sent twice)
 * With Sign the body is the payload (none: POST-as-GET), and a header
 * "Protected: {...}" replaces the usual protected header (alg, kid or jwk,
 * nonce, url). Without Sign the body goes as it is.
 *
 * Placeholders in the path, the headers and the body: $NONCE $URL $KID
 * $TOKEN $CSR and $ORDER $AUTHZ $CHALL $FINALIZE $CERT $VERIF, the last
 * ones taken from earlier answers (Location, "authorizations", "url",
 * "finalize", "certificate", verification "id"), so that a seed can walk
 * an order from newOrder to the certificate.
 *
 * Invariants on every answer: a status from 200 to 599; an error is a
 * problem document (application/problem+json) whose type is an ACME error
 * URN and whose "status" is the HTTP status; a JSON answer is JSON; a
 * request with a broken signature or a replayed nonce never succeeds.
 */
#include <sys/stat.h>

#include "fuzz_common.h"

#include "b64url.h"
#include "ca.h"
#include "crl.h"
#include "datadir.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "oper.h"
#include "policy.h"
#include "srv.h"
#include "store.h"

#define BASE "https://fuzz.example:8443"
#define ORG "NTRJP-9234567890123"
#define MAX_TEXT (256 * 1024)

static struct srv *srv;
static EVP_PKEY *account_key, *other_key;
static int debug;

/* Values for the placeholders; "" until known. */
enum {
	V_KID,
	V_TOKEN,
	V_CSR,
	V_ORDER,
	V_AUTHZ,
	V_CHALL,
	V_FINALIZE,
	V_CERT,
	V_VERIF,
	V_COUNT
};
static const char *const names[V_COUNT] = {"$KID", "$TOKEN", "$CSR", "$ORDER",
    "$AUTHZ", "$CHALL", "$FINALIZE", "$CERT", "$VERIF"};
static char *vals[V_COUNT];

static void
set_val(int i, const char *v, size_t n)
{
	free(vals[i]);
	vals[i] = strndup(v, n);
	FUZZ_ASSERT(vals[i] != NULL, "oom");
}

/* Appends n bytes to a growing buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		FUZZ_ASSERT(b->p != NULL, "oom");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* s with every placeholder expanded; url and nonce may be NULL. */
static char *
expand(const char *s, size_t n, const char *url, const char *nonce)
{
	struct buf b = {0};
	size_t i, k, l;

	buf_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '$' && b.len < MAX_TEXT) {
			for (k = 0; k < V_COUNT; k++) {
				l = strlen(names[k]);
				if (n - i >= l &&
				    memcmp(s + i, names[k], l) == 0)
					break;
			}
			if (k < V_COUNT) {
				buf_add(&b, vals[k], strlen(vals[k]));
				i += l - 1;
				continue;
			}
			if (n - i >= 4 && memcmp(s + i, "$URL", 4) == 0 &&
			    url != NULL) {
				buf_add(&b, url, strlen(url));
				i += 3;
				continue;
			}
			if (n - i >= 6 && memcmp(s + i, "$NONCE", 6) == 0 &&
			    nonce != NULL) {
				buf_add(&b, nonce, strlen(nonce));
				i += 5;
				continue;
			}
		}
		buf_add(&b, s + i, 1);
	}
	return b.p;
}

/* The invariants every answer keeps. */
static void
check_resp(const struct http_req *req, const struct http_resp *r)
{
	const char *type, *detail;
	cJSON *j = NULL;
	enum kk_status st;

	FUZZ_ASSERT(
	    r->status >= 200 && r->status <= 599, "status %d", r->status);
	FUZZ_ASSERT(r->body != NULL || r->body_len == 0, "body length");
	FUZZ_ASSERT(r->n_links >= 0 && r->n_links <= HTTP_MAX_LINKS, "links");
	if (r->status >= 400) {
		FUZZ_ASSERT(
		    r->content_type != NULL &&
		        strcmp(r->content_type, PROBLEM_CONTENT_TYPE) == 0,
		    "%s %s: error %d as %s", req->method, req->path, r->status,
		    r->content_type ? r->content_type : "(no type)");
	}
	if (r->content_type == NULL || strstr(r->content_type, "json") == NULL)
		return;
	/*
	 * Operator lists (audit, certificates, ...) are not bounded and grow
	 * past JSON_MAX_LEN, which the client's json_parse then refuses
	 * (tests/fuzz/crashes/operator-lists-unbounded.md): that is reported
	 * once and checked with plain cJSON, so that fuzzing goes on.
	 */
	if (r->body_len > JSON_MAX_LEN) {
		static int told;

		if (!told++)
			fprintf(stderr,
			    "fuzz_server: KNOWN BUG: %s %s answered %zu bytes "
			    "of JSON, more than a client reads (%d)\n",
			    req->method, req->path, r->body_len, JSON_MAX_LEN);
		j = cJSON_ParseWithLength(r->body, r->body_len);
		st = j != NULL ? KK_OK : KK_EINVAL;
	} else
		st = json_parse(r->body, r->body_len, &j);
	FUZZ_ASSERT(st == KK_OK,
	    "%s %s: a JSON answer that does not parse: %.*s", req->method,
	    req->path, (int)r->body_len, r->body);
	if (strcmp(r->content_type, PROBLEM_CONTENT_TYPE) == 0) {
		enum acme_problem pt;

		FUZZ_ASSERT(
		    r->status >= 400, "a problem with status %d", r->status);
		type = json_get_string(j, "type");
		detail = json_get_string(j, "detail");
		FUZZ_ASSERT(
		    type != NULL && problem_from_urn(type, &pt) == KK_OK,
		    "problem type %s", type ? type : "(none)");
		FUZZ_ASSERT(detail != NULL, "problem without detail");
		FUZZ_ASSERT(problem_status(j) == r->status,
		    "problem status %d in an answer of %d", problem_status(j),
		    r->status);
	}
	cJSON_Delete(j);
}

/* Remembers the URLs and ids an answer gives, for the placeholders. */
static void
learn(const struct http_resp *r)
{
	const cJSON *a, *v;
	const char *s;
	cJSON *j = NULL;

	if (r->location != NULL && strstr(r->location, "/acme/order/"))
		set_val(V_ORDER, r->location, strlen(r->location));
	if (r->content_type == NULL ||
	    strstr(r->content_type, "json") == NULL ||
	    json_parse(r->body, r->body_len, &j) != KK_OK)
		return;
	a = cJSON_GetObjectItemCaseSensitive(j, "authorizations");
	if ((v = cJSON_GetArrayItem(a, 0)) != NULL && cJSON_IsString(v))
		set_val(V_AUTHZ, v->valuestring, strlen(v->valuestring));
	if ((s = json_get_string(j, "finalize")) != NULL)
		set_val(V_FINALIZE, s, strlen(s));
	if ((s = json_get_string(j, "certificate")) != NULL)
		set_val(V_CERT, s, strlen(s));
	a = cJSON_GetObjectItemCaseSensitive(j, "challenges");
	if ((s = json_get_string(cJSON_GetArrayItem(a, 0), "url")) != NULL)
		set_val(V_CHALL, s, strlen(s));
	a = cJSON_GetObjectItemCaseSensitive(j, "verifications");
	if ((s = json_get_string(cJSON_GetArrayItem(a, 0), "id")) != NULL)
		set_val(V_VERIF, s, strlen(s));
	cJSON_Delete(j);
}

static void
handle(const struct http_req *req, struct http_resp *resp)
{
	srv_handle(srv, req, resp);
	if (debug)
		fprintf(stderr, "> %s %s%s%s\n%.*s\n< %d %s\n%.*s\n\n",
		    req->method, req->path, req->query ? "?" : "",
		    req->query ? req->query : "", (int)req->body_len,
		    req->body ? req->body : "", resp->status,
		    resp->content_type ? resp->content_type : "",
		    resp->content_type && strstr(resp->content_type, "json")
		        ? (int)resp->body_len
		        : 0,
		    resp->body ? resp->body : "");
	check_resp(req, resp);
	learn(resp);
}

/*
 * Signs the payload with the usual protected header, or with hdr_text
 * when it is not NULL. NULL when hdr_text is not JSON.
 */
static char *
sign(const char *mode, const char *hdr_text, const char *text, const char *url)
{
	char nonce[NONCE_LEN + 1], *hdr_exp = NULL, *payload, *out = NULL;
	EVP_PKEY *key = strstr(mode, "newkey") ? other_key : account_key;
	const char *kid = strncmp(mode, "kid", 3) == 0 ? vals[V_KID] : NULL;
	cJSON *hdr;

	FUZZ_ASSERT(nonce_issue(srv->nonces, nonce) == KK_OK, "nonce");
	payload = expand(text, strlen(text), url, nonce);
	if (hdr_text == NULL) {
		FUZZ_ASSERT(jws_sign(key, kid, nonce, url,
		                (const unsigned char *)payload, strlen(payload),
		                &out) == KK_OK,
		    "jws_sign");
	} else {
		hdr_exp = expand(hdr_text, strlen(hdr_text), url, nonce);
		if ((hdr = cJSON_Parse(hdr_exp)) != NULL) {
			if (jws_sign_header(key, hdr,
			        (const unsigned char *)payload, strlen(payload),
			        &out) != KK_OK)
				out = NULL;
			cJSON_Delete(hdr);
		}
	}
	free(hdr_exp);
	free(payload);
	return out;
}

/* Flips one bit of the signature of a flattened JWS text. */
static void
break_signature(char *jws)
{
	char *sig = strstr(jws, "\"signature\":\"");
	size_t n;

	if (sig == NULL)
		return;
	sig += 13;
	n = strcspn(sig, "\"");
	if (n > 2)
		sig[n / 2] = sig[n / 2] == 'A' ? 'B' : 'A';
}

/* One request of the input: lines up to an empty line, then the body. */
static void
one(const char *text, size_t n)
{
	struct http_req req;
	struct http_resp resp, again;
	char *copy = strndup(text, n), *line, *next, *path, *q, *body;
	char *sign_mode = NULL, *protected = NULL, *signed_body = NULL;
	char *url = NULL;
	char *hdr_copies[3] = {NULL, NULL, NULL};
	int replay, bad;

	FUZZ_ASSERT(copy != NULL, "oom");
	memset(&req, 0, sizeof(req));
	req.remote_ip = "192.0.2.1";
	body = strstr(copy, "\n\n");
	if (body != NULL) {
		*body = '\0';
		body += 2;
	}
	/* Request line. */
	next = strchr(copy, '\n');
	if (next != NULL)
		*next++ = '\0';
	if ((path = strchr(copy, ' ')) == NULL)
		goto out;
	*path++ = '\0';
	req.method = copy;
	path = expand(path, strlen(path), NULL, NULL);
	hdr_copies[2] = path;
	if (strncmp(path, BASE, strlen(BASE)) == 0)
		memmove(
		    path, path + strlen(BASE), strlen(path + strlen(BASE)) + 1);
	if ((q = strchr(path, '?')) != NULL) {
		*q++ = '\0';
		req.query = q;
	}
	req.path = path;
	FUZZ_ASSERT(asprintf(&url, "%s%s%s%s", BASE, path, q ? "?" : "",
	                q ? q : "") > 0,
	    "oom");
	/* Headers. */
	for (line = next; line != NULL && *line != '\0'; line = next) {
		char *v;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		while (*v == ' ')
			v++;
		if (strcasecmp(line, "content-type") == 0)
			req.content_type = v;
		else if (strcasecmp(line, "remote") == 0)
			req.remote_ip = v;
		else if (strcasecmp(line, "sign") == 0)
			sign_mode = v;
		else if (strcasecmp(line, "protected") == 0)
		protected = v;
		else if (strcasecmp(line, "authorization") == 0 &&
		         hdr_copies[0] == NULL) req.authorization =
		    hdr_copies[0] = expand(v, strlen(v), url, NULL);
	}
	if (sign_mode != NULL) {
		signed_body = sign(sign_mode, protected, body ? body : "", url);
		if (signed_body == NULL)
			goto out;
		if (strstr(sign_mode, "badsig") != NULL)
			break_signature(signed_body);
		req.body = signed_body;
		req.body_len = strlen(signed_body);
	} else if (body != NULL) {
		req.body = hdr_copies[1] =
		    expand(body, strlen(body), url, NULL);
		req.body_len = strlen(req.body);
	}
	bad = sign_mode != NULL && strstr(sign_mode, "badsig") != NULL;
	replay = sign_mode != NULL && strstr(sign_mode, "replay") != NULL;

	handle(&req, &resp);
	/* The operator API takes no JWS: only ACME POSTs are signed. */
	if (bad && strcmp(req.method, "POST") == 0 &&
	    strncmp(req.path, "/acme/", 6) == 0)
		FUZZ_ASSERT(resp.status >= 400,
		    "%s with a broken signature answered %d", req.path,
		    resp.status);
	if (replay && signed_body != NULL) {
		handle(&req, &again);
		if (strncmp(req.path, "/acme/", 6) == 0 &&
		    strcmp(req.method, "POST") == 0)
			FUZZ_ASSERT(again.status >= 400,
			    "%s replayed answered %d", req.path, again.status);
		http_resp_clear(&again);
	}
	http_resp_clear(&resp);
out:
	free(url);
	free(signed_body);
	for (int i = 0; i < 3; i++)
		free(hdr_copies[i]);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *sep;

	/* Requests stop at the first NUL, as C strings do. */
	if ((sep = memchr(p, '\0', size)) != NULL)
		end = sep;
	for (int i = 0; p < end && i < 8; i++) {
		sep = memmem(p, (size_t)(end - p), "\n%%\n", 4);
		one(p, sep ? (size_t)(sep - p) : (size_t)(end - p));
		p = sep ? sep + 4 : end;
	}
	return 0;
}

static void
setup_account(void)
{
	struct http_req req;
	struct http_resp resp;
	char nonce[NONCE_LEN + 1], *body = NULL;
	const char *payload = "{\"termsOfServiceAgreed\":true}";

	memset(&req, 0, sizeof(req));
	FUZZ_ASSERT(nonce_issue(srv->nonces, nonce) == KK_OK, "nonce");
	FUZZ_ASSERT(jws_sign(account_key, NULL, nonce, BASE "/acme/new-account",
	                (const unsigned char *)payload, strlen(payload),
	                &body) == KK_OK,
	    "sign");
	req.method = "POST";
	req.path = "/acme/new-account";
	req.remote_ip = "192.0.2.1";
	req.content_type = "application/jose+json";
	req.body = body;
	req.body_len = strlen(body);
	srv_handle(srv, &req, &resp);
	FUZZ_ASSERT(resp.status == 201 && resp.location != NULL,
	    "new-account answered %d: %.*s", resp.status, (int)resp.body_len,
	    resp.body);
	set_val(V_KID, resp.location, strlen(resp.location));
	http_resp_clear(&resp);
	free(body);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct datadir_opts o;
	struct store *st = NULL;
	struct ca *ca = NULL;
	struct policy *pol = NULL;
	char *dir = NULL, *pol_path = NULL, *db = NULL, *err = NULL;
	char *token = NULL, *b64 = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	EVP_PKEY *csr_key;

	debug = getenv("FUZZ_DEBUG") != NULL;
	for (int i = 0; i < V_COUNT; i++)
		set_val(i, "", 0);
	FUZZ_ASSERT(
	    asprintf(&dir, "%s/data", fuzz_tmpdir()) > 0 &&
	        asprintf(&pol_path, "%s/fuzz-policy.json", fuzz_tmpdir()) > 0 &&
	        asprintf(&db, "sqlite:%s/kakuin.db", dir) > 0,
	    "oom");
	fuzz_write(pol_path, FUZZ_POLICY, strlen(FUZZ_POLICY));
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.listen_host = "127.0.0.1";
	o.default_policy = pol_path;
	FUZZ_ASSERT(
	    datadir_init(&o, &err) == KK_OK, "datadir: %s", err ? err : "?");
	FUZZ_ASSERT(policy_load(pol_path, &pol, &err) == KK_OK, "policy: %s",
	    err ? err : "?");
	FUZZ_ASSERT(store_open(db, &st) == KK_OK, "store %s", db);
	FUZZ_ASSERT(ca_load(dir, &ca) == KK_OK, "ca");
	FUZZ_ASSERT(srv_new(BASE, st, ca, pol, &srv) == KK_OK, "srv_new");
	crl_refresh(srv->crl, time(NULL));

	account_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	csr_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FUZZ_ASSERT(account_key && other_key && csr_key, "keygen");
	setup_account();
	FUZZ_ASSERT(ra_token_create(&srv->ra, "cli", "fuzz", "operator",
	                time(NULL), &token) == KK_OK,
	    "token");
	set_val(V_TOKEN, token, strlen(token));
	fuzz_make_csr(csr_key, ORG, "host.fuzz.example", &der, &len);
	FUZZ_ASSERT(b64url_encode(der, len, &b64) == KK_OK, "b64");
	set_val(V_CSR, b64, strlen(b64));
	if (debug)
		fprintf(stderr, "fuzz_server: data in %s, account %s\n", dir,
		    vals[V_KID]);
	EVP_PKEY_free(csr_key);
	free(der);
	free(b64);
	free(token);
	free(dir);
	free(pol_path);
	free(db);
	return 0;
}
