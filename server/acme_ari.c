/*
 * Renewal information (RFC 9773, ARI): the renewalInfo resource, which
 * tells a client when to renew a certificate, and the certificate
 * identifiers (certIDs) that name certificates there and in a newOrder's
 * "replaces".
 *
 * A certID is base64url(the AuthorityKeyIdentifier's keyIdentifier) "."
 * base64url(the serial number's DER content octets). Every leaf this
 * server issues names its issuing CA's subject key identifier in its AKI,
 * so the first half must be that; the second maps to the stored serial.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"
#include "b64url.h"
#include "rfc3339.h"

#define SERIAL_MAX 20 /* RFC 5280 4.1.2.2 */
#define CERTID_MAX 128

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* hex to bytes: *out (caller frees) of *len bytes; odd lengths get a
 * leading zero nibble. */
static enum kk_status
from_hex(const char *hex, unsigned char **out, size_t *len)
{
	size_t n = strlen(hex), bytes = (n + 1) / 2;
	unsigned char *b;
	int hi, lo;

	*out = NULL;
	if (n == 0 || (b = calloc(1, bytes + 1)) == NULL)
		return n == 0 ? KK_EINVAL : KK_ENOMEM;
	for (size_t i = 0, j = n % 2 ? 1 : 0; i < n; i++, j++) {
		if ((lo = hexval(hex[i])) < 0) {
			free(b);
			return KK_EINVAL;
		}
		hi = j % 2 == 0;
		b[j / 2] |= (unsigned char)(hi ? lo << 4 : lo);
	}
	*out = b;
	*len = bytes;
	return KK_OK;
}

/* bytes to lower-case hex; caller frees. */
static char *
to_hex(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

enum kk_status
acme_cert_id(struct srv *s, const char *serial, char **out)
{
	unsigned char *aki = NULL, *ser = NULL, *der = NULL;
	size_t aki_len = 0, ser_len = 0;
	char *a = NULL, *b = NULL;
	enum kk_status st;

	*out = NULL;
	if ((st = from_hex(ca_issuer_id(s->ca), &aki, &aki_len)) != KK_OK ||
	    (st = from_hex(serial, &ser, &ser_len)) != KK_OK)
		goto out;
	/* DER content octets: a positive INTEGER whose first bit is set
	 * takes a leading zero octet. */
	st = KK_ENOMEM;
	if ((der = malloc(ser_len + 1)) == NULL)
		goto out;
	der[0] = 0;
	memcpy(der + 1, ser, ser_len);
	if ((st = b64url_encode(aki, aki_len, &a)) != KK_OK ||
	    (st = b64url_encode(der + (ser[0] & 0x80 ? 0 : 1),
	         ser_len + (ser[0] & 0x80 ? 1 : 0), &b)) != KK_OK)
		goto out;
	st = KK_ENOMEM;
	if ((*out = malloc(strlen(a) + strlen(b) + 2)) == NULL)
		goto out;
	strcpy(*out, a);
	strcat(*out, ".");
	strcat(*out, b);
	st = KK_OK;
out:
	free(aki);
	free(ser);
	free(der);
	free(a);
	free(b);
	return st;
}

enum kk_status
acme_cert_id_serial(struct srv *s, const char *cert_id, char **serial)
{
	const char *dot;
	unsigned char *aki = NULL, *ser = NULL, *p;
	size_t aki_len = 0, ser_len = 0;
	char *aki_hex = NULL;
	enum kk_status st = KK_EINVAL;

	*serial = NULL;
	if (cert_id == NULL || strlen(cert_id) > CERTID_MAX ||
	    (dot = strchr(cert_id, '.')) == NULL || dot == cert_id ||
	    strchr(dot + 1, '.') != NULL ||
	    b64url_decode(cert_id, (size_t)(dot - cert_id), &aki, &aki_len) !=
	        KK_OK ||
	    b64url_decode(dot + 1, strlen(dot + 1), &ser, &ser_len) != KK_OK ||
	    aki_len == 0 || ser_len == 0 || ser_len > SERIAL_MAX + 1 ||
	    (ser[0] & 0x80) != 0)
		goto out;
	/* Another issuer's certificate is none of ours. */
	st = KK_ENOMEM;
	if ((aki_hex = to_hex(aki, aki_len)) == NULL)
		goto out;
	st = KK_ENOTFOUND;
	if (strcasecmp(aki_hex, ca_issuer_id(s->ca)) != 0)
		goto out;
	for (p = ser; ser_len > 1 && *p == 0; p++, ser_len--)
		;
	st = (*serial = to_hex(p, ser_len)) != NULL ? KK_OK : KK_ENOMEM;
out:
	free(aki);
	free(ser);
	free(aki_hex);
	return st;
}

/* {"suggestedWindow": {"start", "end"}} */
static cJSON *
window_json(const struct ra_window *w)
{
	char a[RFC3339_LEN], b[RFC3339_LEN];
	cJSON *j = cJSON_CreateObject(), *win;

	rfc3339_format(w->start, a);
	rfc3339_format(w->end, b);
	if (j == NULL ||
	    (win = cJSON_AddObjectToObject(j, "suggestedWindow")) == NULL ||
	    cJSON_AddStringToObject(win, "start", a) == NULL ||
	    cJSON_AddStringToObject(win, "end", b) == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/*
 * GET renewalInfo/{certID}: the suggested window with a Retry-After that
 * says when to ask again. Unauthenticated, as RFC 9773 4.1 wants: the
 * window of a certificate is no secret (its serial is public).
 */
void
acme_renewal_info(
    struct srv *s, const struct srv_call *call, struct http_resp *resp)
{
	struct ra_window w;
	char *serial = NULL;
	cJSON *j = NULL;
	enum kk_status st;

	st = acme_cert_id_serial(s, call->id, &serial);
	if (st == KK_OK)
		st = ra_renewal_window(&s->ra, serial, &w);
	if (st == KK_EINVAL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "not a certID: base64url(AKI keyIdentifier) \".\" "
		    "base64url(serial number)");
	} else if (st == KK_ENOTFOUND) {
		http_resp_error(resp, ACME_MALFORMED, 404,
		    "no certificate of this CA has that certID");
	} else if (st != KK_OK) {
		acme_store_error(resp, st, "renewal information");
	} else if ((j = window_json(&w)) == NULL ||
	           http_resp_json(resp, 200, "application/json", j) != KK_OK) {
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	} else {
		resp->retry_after = s->policy->renewal_info_retry_after;
	}
	cJSON_Delete(j);
	free(serial);
}

/* certIDs hold base64url and one dot. */
int
acme_cert_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= CERTID_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_.") == n;
}

enum kk_status
acme_order_replaces(
    struct srv *s, const cJSON *payload, char **serial, struct http_resp *resp)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(payload, "replaces");
	enum kk_status st;

	*serial = NULL;
	if (r == NULL)
		return KK_OK;
	if (!cJSON_IsString(r) || (st = acme_cert_id_serial(s, r->valuestring,
	                               serial)) == KK_EINVAL) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "replaces: must be the certID of a certificate (RFC 9773)");
		return KK_EINVAL;
	}
	if (st == KK_ENOTFOUND) {
		http_resp_error(resp, ACME_MALFORMED, 0,
		    "replaces: no certificate of this CA has that certID");
		return st;
	}
	if (st != KK_OK)
		http_resp_error(resp, ACME_SERVER_INTERNAL, 0, "out of memory");
	return st;
}

enum kk_status
acme_order_add_replaces(struct srv *s, const char *serial, cJSON *j)
{
	char *id = NULL;
	enum kk_status st;

	if (serial == NULL)
		return KK_OK;
	if ((st = acme_cert_id(s, serial, &id)) == KK_OK &&
	    cJSON_AddStringToObject(j, "replaces", id) == NULL)
		st = KK_ENOMEM;
	free(id);
	return st;
}
