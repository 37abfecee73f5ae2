/*
 * fuzz_client_acme: the client's ACME engine (client/acme.c) against a
 * hostile server. client/http.c is compiled in here with its
 * http_request replaced by one that answers from the fuzz input, so that
 * the real header parsing (Location, Replay-Nonce, Retry-After) and body
 * capping run on fuzzed bytes.
 *
 * Input: a scenario byte, then answers separated by a line "=====": each
 * is a status line, header lines, an empty line and the body. Invariants:
 * every POST the client sends is a JWS that parses, verifies with the
 * key in use, names the URL it is sent to and carries a nonce the server
 * gave and that was never used before; every failure sets an exit code and
 * a message; every success delivers its outputs.
 */
#define http_request fuzz_real_http_request
#include "../../client/http.c"
#undef http_request

#include "fuzz_common.h"
#include "fuzz_keys.h"

#include "acme.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"

#define SEP "\n=====\n"

/*
 * Time does not pass here: a fuzzed 503 with Retry-After would otherwise
 * make the engine (client/acme.c) sleep for a minute per input. This
 * definition takes the place of libc's for the whole program.
 */
unsigned int
sleep(unsigned int seconds)
{
	(void)seconds;
	return 0;
}

enum kk_status http_request(struct http *h, const char *method, const char *url,
    const char *const *headers, const char *content_type, const char *body,
    size_t len, struct http_response *res, struct kc_err *err);

static EVP_PKEY *account_key, *new_key;
static EVP_PKEY *signer; /* the key POSTs must be signed with */
static const char *in;   /* the answers not used yet */
static size_t in_len;
static char *given[8]; /* the nonces handed out, NULL once used */
static int n_given;
static int debug; /* FUZZ_DEBUG set: print each exchange */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	debug = getenv("FUZZ_DEBUG") != NULL;
	account_key = fuzz_key(FUZZ_KEY_P256);
	new_key = fuzz_key(FUZZ_KEY_ED25519);
	return 0;
}

/* The client's request: a valid JWS for url with a fresh nonce. */
static void
check_post(const char *url, const char *ct, const char *body, size_t len)
{
	struct jws j;
	int i;

	FUZZ_ASSERT(ct != NULL && strcmp(ct, "application/jose+json") == 0,
	    "content type %s", ct ? ct : "(none)");
	FUZZ_ASSERT(jws_parse(body, len, &j) == KK_OK, "the client sent %.*s",
	    (int)len, body);
	FUZZ_ASSERT(jws_verify(&j, signer) == KK_OK,
	    "the client's JWS does not verify");
	FUZZ_ASSERT(j.url != NULL && strcmp(j.url, url) == 0,
	    "JWS url %s posted to %s", j.url ? j.url : "(none)", url);
	FUZZ_ASSERT(j.nonce != NULL, "no nonce");
	for (i = 0; i < n_given; i++)
		if (given[i] != NULL && strcmp(given[i], j.nonce) == 0)
			break;
	FUZZ_ASSERT(i < n_given, "nonce %s was never given or reused", j.nonce);
	free(given[i]);
	given[i] = NULL;
	jws_clear(&j);
}

enum kk_status
http_request(struct http *h, const char *method, const char *url,
    const char *const *headers, const char *content_type, const char *body,
    size_t len, struct http_response *res, struct kc_err *err)
{
	const char *end, *line, *nl, *hdr_end;
	size_t n;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	FUZZ_ASSERT(url != NULL, "a request without a URL");
	if (strcmp(method, "POST") == 0)
		check_post(url, content_type, body, len);
	if (in_len == 0)
		return err_set(err, KK_EIO, EX_UNAVAILABLE,
		    "%s %s: connection refused", method, url);
	end = memmem(in, in_len, SEP, strlen(SEP));
	n = end ? (size_t)(end - in) : in_len;
	/* Status line, headers up to an empty line, body. */
	res->status = strtol(in, NULL, 10);
	hdr_end = memmem(in, n, "\n\n", 2);
	line = memchr(in, '\n', n);
	while (line != NULL && hdr_end != NULL && line < hdr_end) {
		line++;
		nl = memchr(line, '\n', (size_t)(hdr_end + 1 - line));
		if (nl == NULL)
			break;
		on_header((char *)line, 1, (size_t)(nl + 1 - line), res);
		line = nl;
	}
	if (hdr_end != NULL && strcmp(method, "HEAD") != 0) {
		size_t blen = n - (size_t)(hdr_end + 2 - in);

		if (on_body((char *)hdr_end + 2, 1, blen, res) != blen) {
			http_response_clear(res);
			res->retry_after = -1;
			in = end ? end + strlen(SEP) : in + in_len;
			in_len = end ? in_len - n - strlen(SEP) : 0;
			return err_set(err, KK_EIO, EX_UNAVAILABLE,
			    "%s %s: body too large", method, url);
		}
	}
	if (res->body == NULL && (res->body = strdup("")) == NULL)
		return KK_ENOMEM;
	if (res->replay_nonce != NULL && n_given < 8)
		FUZZ_ASSERT(
		    (given[n_given++] = strdup(res->replay_nonce)) != NULL,
		    "oom");
	if (debug)
		fprintf(stderr, "%s %s -> %ld\n", method, url, res->status);
	in = end ? end + strlen(SEP) : in + in_len;
	in_len = end ? in_len - n - strlen(SEP) : 0;
	return KK_OK;
}

static void
check_err(enum kk_status st, const struct kc_err *err)
{
	if (st == KK_OK || st == KK_ENOMEM)
		return;
	FUZZ_ASSERT(err->code != 0 && err->msg[0] != '\0',
	    "failure %d without a message", (int)st);
	FUZZ_ASSERT(err_exit_code(err) != 0, "exit code 0 on failure");
}

static void
enroll(struct acme *a, struct kc_err *err)
{
	static const char *const contacts[] = {"mailto:ops@fuzz.example", NULL};
	static const unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	static const struct acme_id ids[] = {
	    {"org", "NTRJP-1234567890123"}, {"dns", "host.example"}};
	cJSON *order = NULL, *done = NULL;
	char *url = NULL, *pem = NULL;
	const char *fin, *cert;
	long retry = 0;
	size_t len = 0;
	enum kk_status st;

	st = acme_account(a, contacts, NULL, NULL, 0, err);
	check_err(st, err);
	if (st != KK_OK)
		return;
	FUZZ_ASSERT(acme_account_url(a) != NULL, "no account URL");
	st = acme_new_order(
	    a, ids, sizeof(ids) / sizeof(*ids), NULL, &order, &url, err);
	check_err(st, err);
	if (st != KK_OK) {
		FUZZ_ASSERT(order == NULL && url == NULL, "output on failure");
		return;
	}
	FUZZ_ASSERT(cJSON_IsObject(order) && url != NULL, "no order");
	fin = json_get_string(order, "finalize");
	st = acme_finalize(
	    a, fin ? fin : url, csr, sizeof(csr), &done, &retry, err);
	check_err(st, err);
	if (st == KK_OK) {
		FUZZ_ASSERT(cJSON_IsObject(done), "no finalized order");
		cert = json_get_string(done, "certificate");
		st = acme_download(a, cert ? cert : url, &pem, &len, err);
		check_err(st, err);
		FUZZ_ASSERT(st != KK_OK || (pem != NULL && strlen(pem) <= len),
		    "download");
	}
	cJSON_Delete(order);
	cJSON_Delete(done);
	free(url);
	free(pem);
}

static void
rekey(struct acme *a, struct kc_err *err)
{
	enum kk_status st;

	st = acme_account(
	    a, NULL, "kid-1", "a2FrdWluLWZ1enotZWFiLW1hYy1rZXk", 0, err);
	check_err(st, err);
	if (st != KK_OK)
		return;
	st = acme_key_change(a, new_key, err);
	check_err(st, err);
	if (st == KK_OK)
		signer = new_key;
	st = acme_account(a, NULL, NULL, NULL, 1, err);
	check_err(st, err);
}

static void
existing(struct acme *a, struct kc_err *err)
{
	static const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	cJSON *obj = NULL;
	char *loc = NULL;
	long retry = 0;
	enum kk_status st;

	FUZZ_ASSERT(acme_set_account(a, account_key,
	                "https://fuzz.example/acme/acct/1") == KK_OK,
	    "set account");
	st = acme_post_json(a, "https://fuzz.example/acme/authz/1", NULL, &obj,
	    &loc, &retry, err);
	check_err(st, err);
	FUZZ_ASSERT(st != KK_OK || cJSON_IsObject(obj), "no object");
	FUZZ_ASSERT(
	    st == KK_OK || (obj == NULL && loc == NULL), "output on failure");
	cJSON_Delete(obj);
	free(loc);
	st = acme_revoke(a, der, sizeof(der), 4, err);
	check_err(st, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_err err;
	struct acme *a = NULL;
	char *copy;
	enum kk_status st;
	long r;
	int scenario;

	if (size < 1)
		return 0;
	scenario = data[0] % 5;
	copy = fuzz_strndup(data + 1, size - 1);
	in = copy;
	in_len = size - 1;
	n_given = 0;
	signer = account_key;
	memset(&err, 0, sizeof(err));

	if (scenario == 3) {
		/* A problem document as the error a person reads. */
		/* "STATUS\n\nbody", as the answers are. */
		const char *body = strstr(copy, "\n\n");

		body = body ? body + 2 : copy;
		st = acme_problem_err("fuzz", strtol(copy, NULL, 10), body,
		    size - 1 - (size_t)(body - copy), &err);
		FUZZ_ASSERT(
		    st == KK_EINVAL && err.code != 0 && err.msg[0] != '\0',
		    "problem");
		FUZZ_ASSERT(err.code == 1 || err.code == EX_UNAVAILABLE ||
		                err.code == EX_TEMPFAIL,
		    "code %d", err.code);
		goto out;
	}
	if (scenario == 4) {
		r = http_parse_retry_after(copy, 1800000000L);
		FUZZ_ASSERT(r >= -1, "Retry-After %ld", r);
		goto out;
	}
	st = acme_open((struct http *)copy, "https://fuzz.example", &a, &err);
	check_err(st, &err);
	if (st != KK_OK) {
		FUZZ_ASSERT(a == NULL, "output on failure");
		goto out;
	}
	FUZZ_ASSERT(acme_resource(a, "newNonce") != NULL &&
	                acme_resource(a, "newAccount") != NULL &&
	                acme_resource(a, "newOrder") != NULL,
	    "a directory without its resources");
	FUZZ_ASSERT(acme_set_account(a, account_key, NULL) == KK_OK, "set");
	if (scenario == 0)
		enroll(a, &err);
	else if (scenario == 1)
		rekey(a, &err);
	else
		existing(a, &err);
out:
	for (int i = 0; i < n_given; i++)
		free(given[i]);
	acme_free(a);
	free(copy);
	return 0;
}
