/*
 * helper_fakeca.c - see helper_fakeca.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "helper_fakeca.h"

void
fakeca_init(struct fakeca *f, const char *tag)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	FILE *fp;

	memset(f, 0, sizeof(*f));
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	snprintf(f->dir, sizeof(f->dir), "/tmp/kk-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->ca_path, sizeof(f->ca_path), "%s/ca.pem", f->dir);
	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert_not_null(f->key);
	cr_assert_not_null(f->cert = X509_new());
	ASN1_INTEGER_set(X509_get_serialNumber(f->cert), 1);
	X509_set_version(f->cert, 2);
	X509_gmtime_adj(X509_getm_notBefore(f->cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(f->cert), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(f->cert), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"fake", -1, -1, 0);
	X509_set_issuer_name(f->cert, X509_get_subject_name(f->cert));
	X509_set_pubkey(f->cert, f->key);
	X509V3_set_ctx(&ctx, f->cert, f->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(
	    NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	cr_assert_not_null(ext);
	X509_add_ext(f->cert, ext, -1);
	X509_EXTENSION_free(ext);
	cr_assert(X509_sign(f->cert, f->key, EVP_sha256()) > 0);
	fp = fopen(f->ca_path, "w");
	cr_assert_not_null(fp);
	PEM_write_X509(fp, f->cert);
	fclose(fp);
}

void
fakeca_clear(struct fakeca *f)
{
	if (f->dir[0] != '\0')
		file_remove_tree(f->dir, NULL);
	EVP_PKEY_free(f->key);
	X509_free(f->cert);
	memset(f, 0, sizeof(*f));
}

int
fakeca_read(SSL *ssl, char *buf, size_t cap)
{
	size_t n = 0;
	char *hdr_end, *cl;
	long body = 0;
	int r;

	for (;;) {
		r = SSL_read(ssl, buf + n, (int)(cap - 1 - n));
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "Content-Length:");
		body = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;
		if (n >= (size_t)(hdr_end + 4 - buf) + (size_t)body)
			return 0;
	}
}

void
fakeca_respond(SSL *ssl, int status, const char *extra, const char *body)
{
	char out[4096];

	snprintf(out, sizeof(out),
	    "HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n%s"
	    "\r\n%s",
	    status, strlen(body), extra, body);
	SSL_write(ssl, out, (int)strlen(out));
}
