/*
 * p11_uri.c - RFC 7512 PKCS#11 URIs and where the PIN comes from. No
 * PKCS#11 calls here, so that the parser is tested without a token.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "p11.h"

#define P11_URI_MAX 4096
#define P11_PIN_MAX 256

int
p11_is_uri(const char *s)
{
	return s != NULL && strncmp(s, P11_SCHEME, strlen(P11_SCHEME)) == 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the n bytes at s into buf (at least n bytes); -1 on a bad
 * escape, else the decoded length. */
static long
unescape(const char *s, size_t n, unsigned char *buf)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			buf[o++] = (unsigned char)s[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
			return -1;
		buf[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return (long)o;
}

/* One attribute value as a NUL-terminated string (no NUL inside). */
static enum kk_status
set_text(char **field, const char *name, const char *v, size_t n, char **err)
{
	unsigned char *buf;
	long len;

	if (*field != NULL)
		return kk_say(err, KK_EINVAL, "%s appears twice", name);
	if ((buf = malloc(n + 1)) == NULL)
		return KK_ENOMEM;
	if ((len = unescape(v, n, buf)) < 0 ||
	    memchr(buf, '\0', (size_t)len) != NULL) {
		free(buf);
		return kk_say(err, KK_EINVAL, "bad %%-escape in %s", name);
	}
	buf[len] = '\0';
	*field = (char *)buf;
	return KK_OK;
}

static enum kk_status
path_attr(struct p11_uri *u, const char *a, size_t n, char **err)
{
	static const struct {
		const char *name;
		size_t off;
	} text[] = {
	    {"token", offsetof(struct p11_uri, token)},
	    {"manufacturer", offsetof(struct p11_uri, manufacturer)},
	    {"model", offsetof(struct p11_uri, model)},
	    {"serial", offsetof(struct p11_uri, serial)},
	    {"object", offsetof(struct p11_uri, object)},
	};
	const char *eq = memchr(a, '=', n), *v;
	unsigned char buf[3 * P11_ID_MAX];
	char *type = NULL;
	enum kk_status st;
	size_t k, vn;
	long len;

	if (eq == NULL)
		return kk_say(
		    err, KK_EINVAL, "attribute '%.*s' has no value", (int)n, a);
	k = (size_t)(eq - a);
	v = eq + 1;
	vn = n - k - 1;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (strlen(text[i].name) == k &&
		    memcmp(a, text[i].name, k) == 0)
			return set_text((char **)((char *)u + text[i].off),
			    text[i].name, v, vn, err);
	if (k == 2 && memcmp(a, "id", 2) == 0) {
		if (u->id_len > 0)
			return kk_say(err, KK_EINVAL, "id appears twice");
		if (vn > sizeof(buf) || (len = unescape(v, vn, buf)) <= 0 ||
		    (size_t)len > P11_ID_MAX)
			return kk_say(err, KK_EINVAL,
			    "id must be 1 to %d %%-escaped bytes", P11_ID_MAX);
		memcpy(u->id, buf, (size_t)len);
		u->id_len = (size_t)len;
		return KK_OK;
	}
	if (k == 4 && memcmp(a, "type", 4) == 0) {
		if ((st = set_text(&type, "type", v, vn, err)) != KK_OK)
			return st;
		st = strcmp(type, "private") == 0
		         ? KK_OK
		         : kk_say(err, KK_EINVAL,
		               "type=%s: only private keys are used", type);
		free(type);
		return st;
	}
	/* Slot and library attributes would only narrow the match; they are
	 * refused rather than silently ignored. */
	return kk_say(
	    err, KK_EINVAL, "unsupported attribute '%.*s'", (int)k, a);
}

static enum kk_status
query_attr(struct p11_uri *u, const char *a, size_t n, char **err)
{
	const char *eq = memchr(a, '=', n);
	size_t k;

	if (eq == NULL)
		return KK_OK;
	k = (size_t)(eq - a);
	if (k == 11 && memcmp(a, "module-path", k) == 0)
		return set_text(
		    &u->module_path, "module-path", eq + 1, n - k - 1, err);
	if (k == 9 && memcmp(a, "pin-value", k) == 0)
		return set_text(
		    &u->pin_value, "pin-value", eq + 1, n - k - 1, err);
	if (k == 10 && memcmp(a, "pin-source", k) == 0)
		return set_text(
		    &u->pin_source, "pin-source", eq + 1, n - k - 1, err);
	return KK_OK;
}

enum kk_status
p11_uri_parse(const char *s, struct p11_uri *u, char **err)
{
	enum kk_status st = KK_OK;
	const char *p, *end, *q, *e;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (err != NULL)
		*err = NULL;
	if (!p11_is_uri(s))
		return kk_say(err, KK_EINVAL, "not a pkcs11: URI");
	if ((n = strlen(s)) > P11_URI_MAX)
		return kk_say(
		    err, KK_ETOOBIG, "URI over %d bytes", P11_URI_MAX);
	p = s + strlen(P11_SCHEME);
	q = strchr(p, '?');
	end = q != NULL ? q : s + n;
	while (p < end && st == KK_OK) {
		if ((e = memchr(p, ';', (size_t)(end - p))) == NULL)
			e = end;
		if (e > p)
			st = path_attr(u, p, (size_t)(e - p), err);
		p = e + 1;
	}
	if (q != NULL)
		for (p = q + 1; *p != '\0' && st == KK_OK;) {
			if ((e = strchr(p, '&')) == NULL)
				e = p + strlen(p);
			if (e > p)
				st = query_attr(u, p, (size_t)(e - p), err);
			p = *e == '\0' ? e : e + 1;
		}
	if (st == KK_OK && u->object == NULL && u->id_len == 0)
		st = kk_say(err, KK_EINVAL, "the URI names no object= or id=");
	if (st != KK_OK)
		p11_uri_clear(u);
	return st;
}

void
p11_uri_clear(struct p11_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->model);
	free(u->serial);
	free(u->object);
	free(u->module_path);
	if (u->pin_value != NULL)
		OPENSSL_cleanse(u->pin_value, strlen(u->pin_value));
	free(u->pin_value);
	free(u->pin_source);
	memset(u, 0, sizeof(*u));
}

/* How put() escapes: RFC 3986 unreserved bytes stay, and '/' too in the
 * query (where paths go); binary values (id) are escaped entirely, as
 * RFC 7512 suggests. */
enum escape { ESC_PATH, ESC_QUERY, ESC_ALL };

/* Appends name=value to f. */
static void
put(FILE *f, int *first, char sep, const char *name, const unsigned char *v,
    size_t n, enum escape how)
{
	size_t i;

	if (!*first)
		fputc(sep, f);
	*first = 0;
	fprintf(f, "%s=", name);
	for (i = 0; i < n; i++) {
		if (how == ESC_ALL)
			fprintf(f, "%%%02x", v[i]);
		else if ((v[i] >= 'a' && v[i] <= 'z') ||
		         (v[i] >= 'A' && v[i] <= 'Z') ||
		         (v[i] >= '0' && v[i] <= '9') || strchr("-._~", v[i]) ||
		         (how == ESC_QUERY && v[i] == '/'))
			fputc(v[i], f);
		else
			fprintf(f, "%%%02x", v[i]);
	}
}

#define PUT_TEXT(f, first, sep, name, s, how)                                  \
	do {                                                                   \
		if ((s) != NULL)                                               \
			put(f, first, sep, name, (const unsigned char *)(s),   \
			    strlen(s), how);                                   \
	} while (0)

enum kk_status
p11_uri_format(const struct p11_uri *u, char **out)
{
	size_t len = 0;
	char *buf = NULL;
	int first = 1;
	FILE *f;

	*out = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return KK_ENOMEM;
	fputs(P11_SCHEME, f);
	PUT_TEXT(f, &first, ';', "manufacturer", u->manufacturer, ESC_PATH);
	PUT_TEXT(f, &first, ';', "model", u->model, ESC_PATH);
	PUT_TEXT(f, &first, ';', "serial", u->serial, ESC_PATH);
	PUT_TEXT(f, &first, ';', "token", u->token, ESC_PATH);
	PUT_TEXT(f, &first, ';', "object", u->object, ESC_PATH);
	if (u->id_len > 0)
		put(f, &first, ';', "id", u->id, u->id_len, ESC_ALL);
	put(f, &first, ';', "type", (const unsigned char *)"private", 7,
	    ESC_PATH);
	first = 1;
	if (u->module_path != NULL || u->pin_source != NULL)
		fputc('?', f);
	PUT_TEXT(f, &first, '&', "module-path", u->module_path, ESC_QUERY);
	PUT_TEXT(f, &first, '&', "pin-source", u->pin_source, ESC_QUERY);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return KK_ENOMEM;
	}
	*out = buf;
	return KK_OK;
}

enum kk_status
p11_uri_display(const char *uri, char **out)
{
	enum kk_status st;
	struct p11_uri u;

	*out = NULL;
	if (p11_uri_parse(uri, &u, NULL) != KK_OK)
		return (*out = strdup("pkcs11:(malformed)")) != NULL
		           ? KK_OK
		           : KK_ENOMEM;
	st = p11_uri_format(&u, out);
	p11_uri_clear(&u);
	return st;
}

/*
 * The first line of path; *out NULL when the file is empty. Like ssh with
 * a private key, a PIN file others could read (or that someone other than
 * this user or root owns, and so could rewrite) is refused: the PIN
 * guards a key that must not leave the token. Checked on the open file.
 */
static enum kk_status
pin_from_file(const char *path, char **out, char **err)
{
	char buf[P11_PIN_MAX + 2];
	struct stat sb;
	size_t n;
	FILE *f;

	*out = NULL;
	/* RFC 7512 allows pin-source=file:PATH as well as a bare path. */
	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if ((f = fopen(path, "re")) == NULL)
		return kk_say(err, errno == ENOENT ? KK_ENOTFOUND : KK_EIO,
		    "cannot read the PIN file %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) == -1) {
		fclose(f);
		return kk_say(err, KK_EIO, "cannot read the PIN file %s: %s",
		    path, strerror(errno));
	}
	if ((sb.st_mode & 077) != 0 ||
	    (sb.st_uid != geteuid() && sb.st_uid != 0)) {
		fclose(f);
		if ((sb.st_mode & 077) != 0)
			return kk_say(err, KK_EKEY,
			    "the PIN file %s is accessible by others (mode "
			    "%04o); it must be 0600 or stricter (chmod 600 %s)",
			    path, (unsigned)(sb.st_mode & 07777), path);
		return kk_say(err, KK_EKEY,
		    "the PIN file %s is owned by uid %lu, not by this user "
		    "(uid %lu) or root",
		    path, (unsigned long)sb.st_uid, (unsigned long)geteuid());
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) > P11_PIN_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return kk_say(err, KK_ETOOBIG, "the PIN in %s is over %d bytes",
		    path, P11_PIN_MAX);
	}
	if (buf[0] != '\0' && (*out = strdup(buf)) == NULL) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return KK_ENOMEM;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return KK_OK;
}

enum kk_status
p11_pin_get(
    const struct p11_uri *u, const struct p11_pin *pin, char **out, char **err)
{
	const char *env;

	*out = NULL;
	if (u->pin_value != NULL)
		return (*out = strdup(u->pin_value)) != NULL ? KK_OK
		                                             : KK_ENOMEM;
	if (u->pin_source != NULL)
		return pin_from_file(u->pin_source, out, err);
	if (pin != NULL && pin->file != NULL)
		return pin_from_file(pin->file, out, err);
	if (pin != NULL && pin->env != NULL &&
	    (env = getenv(pin->env)) != NULL && *env != '\0')
		return (*out = strdup(env)) != NULL ? KK_OK : KK_ENOMEM;
	return KK_OK;
}
