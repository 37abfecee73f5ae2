#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "fileio.h"
#include "install.h"
#include "keys.h"

static const char *const link_names[] = {
    "key.pem", "cert.pem", "chain.pem", "fullchain.pem", "bundle.p12"};

/* The test hook documented in install.h. */
void
install_crash_point(const char *step)
{
	const char *at = getenv("KAKUIN_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		raise(SIGKILL);
}

struct pems {
	X509 *leaf;
	STACK_OF(X509) * chain;
	char *cert, *chain_text, *full;
	size_t cert_len, chain_len, full_len;
};

static void
pems_clear(struct pems *p)
{
	X509_free(p->leaf);
	sk_X509_pop_free(p->chain, X509_free);
	free(p->cert);
	free(p->chain_text);
	free(p->full);
	memset(p, 0, sizeof(*p));
}

static enum kk_status
bio_text(BIO *b, char **out, size_t *len)
{
	char *data;
	long n;

	n = BIO_get_mem_data(b, &data);
	*out = malloc(n > 0 ? (size_t)n + 1 : 1);
	if (*out == NULL)
		return KK_ENOMEM;
	if (n > 0)
		memcpy(*out, data, (size_t)n);
	(*out)[n > 0 ? n : 0] = '\0';
	*len = n > 0 ? (size_t)n : 0;
	return KK_OK;
}

/* Splits the downloaded chain and re-encodes it, dropping any junk. */
static enum kk_status
pems_parse(const char *pem, size_t len, struct pems *p, struct kc_err *err)
{
	enum kk_status st = KK_ENOMEM;
	BIO *in, *bc = NULL, *bch = NULL, *bf = NULL;
	X509 *x;

	memset(p, 0, sizeof(*p));
	in = BIO_new_mem_buf(pem, (int)len);
	p->chain = sk_X509_new_null();
	bc = BIO_new(BIO_s_mem());
	bch = BIO_new(BIO_s_mem());
	bf = BIO_new(BIO_s_mem());
	if (in == NULL || p->chain == NULL || bc == NULL || bch == NULL ||
	    bf == NULL)
		goto out;
	p->leaf = PEM_read_bio_X509(in, NULL, NULL, NULL);
	if (p->leaf == NULL) {
		st = err_set(
		    err, KK_EINVAL, 1, "the server sent no PEM certificate");
		goto out;
	}
	if (!PEM_write_bio_X509(bc, p->leaf) ||
	    !PEM_write_bio_X509(bf, p->leaf))
		goto out;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(p->chain, x)) {
			X509_free(x);
			goto out;
		}
		if (!PEM_write_bio_X509(bch, x) || !PEM_write_bio_X509(bf, x))
			goto out;
	}
	if ((st = bio_text(bc, &p->cert, &p->cert_len)) != KK_OK ||
	    (st = bio_text(bch, &p->chain_text, &p->chain_len)) != KK_OK ||
	    (st = bio_text(bf, &p->full, &p->full_len)) != KK_OK)
		goto out;
	st = KK_OK;
out:
	BIO_free(in);
	BIO_free(bc);
	BIO_free(bch);
	BIO_free(bf);
	if (st != KK_OK)
		pems_clear(p);
	return st;
}

static enum kk_status
p12_build(const struct install_req *req, const struct pems *p,
    unsigned char **der, size_t *len, struct kc_err *err)
{
	enum kk_status st = KK_ECRYPTO;
	unsigned char *buf = NULL, *q;
	PKCS12 *p12;
	int n;

	*der = NULL;
	*len = 0;
	/* OpenSSL 3's defaults: AES-256-CBC under PBKDF2, SHA-256 MAC. */
	p12 = PKCS12_create(req->p12_pass, req->name, req->key, p->leaf,
	    p->chain, 0, 0, 0, 0, 0);
	if (p12 == NULL)
		goto out;
	n = i2d_PKCS12(p12, NULL);
	if (n <= 0 || (buf = malloc((size_t)n)) == NULL)
		goto out;
	q = buf;
	if (i2d_PKCS12(p12, &q) != n)
		goto out;
	*der = buf;
	*len = (size_t)n;
	buf = NULL;
	st = KK_OK;
out:
	if (st != KK_OK)
		err_set(err, st, 1, "cannot build bundle.p12");
	free(buf);
	PKCS12_free(p12);
	return st;
}

/* Writes one file of the set into dir. */
static enum kk_status
put(const char *dir, const char *file, const void *data, size_t len,
    mode_t mode, struct kc_err *err)
{
	enum kk_status st;
	char *path;

	if ((st = file_join(dir, file, &path)) != KK_OK)
		return st;
	st = file_write_new(path, data, len, mode, err);
	free(path);
	return st;
}

static enum kk_status
write_set(const struct install_req *req, const struct pems *p, const char *dir,
    struct kc_err *err)
{
	enum kk_status st;
	unsigned char *p12 = NULL;
	size_t keylen = 0, p12len = 0;
	char *key = NULL;

	if (mkdir(dir, 0755) == -1)
		return err_set(err, KK_EIO, EX_CANTCREAT,
		    "cannot create %s: %s", dir, strerror(errno));
	/* A token key is only named: its URI holds no secret. */
	if (req->key_uri != NULL)
		st = put(dir, "key.uri", req->key_uri, strlen(req->key_uri),
		    0644, err);
	else if ((st = keys_to_pem(req->key, &key, &keylen)) == KK_OK)
		st = put(dir, "key.pem", key, keylen, 0600, err);
	if (st != KK_OK ||
	    (st = put(dir, "cert.pem", p->cert, p->cert_len, 0644, err)) !=
	        KK_OK ||
	    (st = put(dir, "chain.pem", p->chain_text, p->chain_len, 0644,
	         err)) != KK_OK ||
	    (st = put(dir, "fullchain.pem", p->full, p->full_len, 0644, err)) !=
	        KK_OK)
		goto out;
	if (req->p12_pass != NULL &&
	    ((st = p12_build(req, p, &p12, &p12len, err)) != KK_OK ||
	        (st = put(dir, "bundle.p12", p12, p12len, 0600, err)) != KK_OK))
		goto out;
	st = file_sync_dir(dir, err);
out:
	if (key != NULL)
		OPENSSL_cleanse(key, keylen);
	free(key);
	free(p12);
	return st;
}

/* Points link at target by renaming a fresh symlink over it. */
static enum kk_status
swap_link(
    const char *out, const char *link, const char *target, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	char *path = NULL, *tmp = NULL;

	if (asprintf(&path, "%s/%s", out, link) == -1 ||
	    asprintf(&tmp, "%s/.%s.tmp", out, link) == -1) {
		free(path);
		return KK_ENOMEM;
	}
	unlink(tmp);
	if (symlink(target, tmp) == -1 || rename(tmp, path) == -1) {
		st = err_set(err, KK_EIO, EX_CANTCREAT,
		    "cannot point %s at %s: %s", path, target, strerror(errno));
		unlink(tmp);
	}
	free(path);
	free(tmp);
	return st;
}

/* Removes out/link. */
static enum kk_status
drop_link(const char *out, const char *link, struct kc_err *err)
{
	enum kk_status st = KK_OK;
	char *path;

	if (asprintf(&path, "%s/%s", out, link) == -1)
		return KK_ENOMEM;
	if (unlink(path) == -1 && errno != ENOENT)
		st = err_set(err, KK_EIO, EX_CANTCREAT, "cannot remove %s: %s",
		    path, strerror(errno));
	free(path);
	return st;
}

/* readlink into a caller-freed string; NULL when link does not exist. */
static char *
read_link(const char *out, const char *link)
{
	char buf[PATH_MAX], *path;
	ssize_t n;

	if (asprintf(&path, "%s/%s", out, link) == -1)
		return NULL;
	n = readlink(path, buf, sizeof(buf) - 1);
	free(path);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* Removes sets that are neither live nor previous, and crashed leftovers. */
static void
prune(const char *sets, const char *live, const char *previous)
{
	struct dirent *de;
	char *path;
	DIR *d;

	d = opendir(sets);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((live != NULL && strcmp(live + 6, de->d_name) == 0) ||
		    (previous != NULL && strcmp(previous + 6, de->d_name) == 0))
			continue;
		if (file_join(sets, de->d_name, &path) != KK_OK)
			continue;
		/* Best effort: a leftover costs disk space, never safety. */
		file_remove_tree(path, NULL);
		free(path);
	}
	closedir(d);
}

/* Does out/name already point through live/? */
static int
is_live_link(const char *out, const char *name)
{
	char *target = read_link(out, name), *want = NULL;
	int ok;

	if (asprintf(&want, "live/%s", name) == -1)
		want = NULL;
	ok = target != NULL && want != NULL && strcmp(target, want) == 0;
	free(target);
	free(want);
	return ok;
}

enum kk_status
install_check_out(const char *out, struct kc_err *err)
{
	enum kk_status st;

	if ((st = file_mkdirs(out, 0755, err)) != KK_OK) {
		err_recode(err, EX_CANTCREAT);
		return st;
	}
	/* access(2) also reports a read-only file system (EROFS). */
	if (access(out, W_OK) == -1)
		return err_set(err, KK_EIO, EX_CANTCREAT,
		    "cannot write to %s: %s; nothing ordered or installed", out,
		    strerror(errno));
	return KK_OK;
}

enum kk_status
install_set(const struct install_req *req, char **serial, struct kc_err *err)
{
	enum kk_status st;
	struct certinfo ci = {0};
	struct pems p = {0};
	char *sets = NULL, *tmp = NULL, *final = NULL, *target = NULL;
	char *old_live = NULL, *new_live = NULL, *old_prev = NULL;
	size_t i;

	*serial = NULL;
	if ((st = pems_parse(req->chain_pem, req->chain_len, &p, err)) != KK_OK)
		goto out;
	if (X509_check_private_key(p.leaf, req->key) != 1) {
		st = err_set(err, KK_EKEY, 1,
		    "the issued certificate does not match the key; nothing "
		    "installed");
		goto out;
	}
	if ((st = certinfo_from_x509(p.leaf, &ci)) != KK_OK)
		goto out;
	if ((st = install_check_out(req->out, err)) != KK_OK)
		goto out;
	if (asprintf(&sets, "%s/.sets", req->out) == -1 ||
	    asprintf(&target, ".sets/%s.%lld.%ld", ci.serial,
	        (long long)time(NULL), (long)getpid()) == -1 ||
	    asprintf(&tmp, "%s/.tmp-%s.%ld", sets, ci.serial, (long)getpid()) ==
	        -1 ||
	    asprintf(&final, "%s/%s", req->out, target) == -1) {
		st = KK_ENOMEM;
		goto out;
	}
	if ((st = file_mkdirs(sets, 0755, err)) != KK_OK)
		goto out;
	file_remove_tree(tmp, NULL); /* a crashed run with our pid */
	if ((st = write_set(req, &p, tmp, err)) != KK_OK) {
		file_remove_tree(tmp, NULL);
		goto out;
	}
	install_crash_point("files");
	if (rename(tmp, final) == -1) {
		st = err_set(err, KK_EIO, EX_CANTCREAT, "cannot rename %s: %s",
		    tmp, strerror(errno));
		file_remove_tree(tmp, NULL);
		goto out;
	}
	if ((st = file_sync_dir(sets, err)) != KK_OK)
		goto out;
	install_crash_point("set");
	old_live = read_link(req->out, "live");
	if (old_live != NULL &&
	    (st = swap_link(req->out, "previous", old_live, err)) != KK_OK)
		goto out;
	install_crash_point("previous");
	if ((st = swap_link(req->out, "live", target, err)) != KK_OK ||
	    (st = file_sync_dir(req->out, err)) != KK_OK)
		goto out;
	install_crash_point("live");
	for (i = 0; i < sizeof(link_names) / sizeof(link_names[0]); i++) {
		const char *ln =
		    i == 0 && req->key_uri ? "key.uri" : link_names[i];
		char *lt;

		if (i == 4 && req->p12_pass == NULL)
			break;
		if (is_live_link(req->out, ln))
			continue;
		if (asprintf(&lt, "live/%s", ln) == -1) {
			st = KK_ENOMEM;
			goto out;
		}
		st = swap_link(req->out, ln, lt, err);
		free(lt);
		if (st != KK_OK)
			goto out;
	}
	/* A key that moved into a token (or out of one) leaves the other
	 * name dangling into live/: it goes. */
	if (is_live_link(req->out, req->key_uri ? "key.pem" : "key.uri") &&
	    (st = drop_link(
	         req->out, req->key_uri ? "key.pem" : "key.uri", err)) != KK_OK)
		goto out;
	if ((st = file_sync_dir(req->out, err)) != KK_OK)
		goto out;
	install_crash_point("links");
	new_live = read_link(req->out, "live");
	old_prev = read_link(req->out, "previous");
	if (new_live != NULL && strncmp(new_live, ".sets/", 6) == 0 &&
	    (old_prev == NULL || strncmp(old_prev, ".sets/", 6) == 0))
		prune(sets, new_live, old_prev);
	*serial = ci.serial;
	ci.serial = NULL;
out:
	/* Past the key check, every I/O failure is one of writing --out. */
	if (st == KK_EIO)
		err_recode(err, EX_CANTCREAT);
	certinfo_clear(&ci);
	pems_clear(&p);
	free(sets);
	free(tmp);
	free(final);
	free(target);
	free(old_live);
	free(new_live);
	free(old_prev);
	return st;
}
