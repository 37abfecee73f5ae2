/*
 * p11.c - keys in PKCS#11 tokens: libp11 for the module, the login and an
 * EVP_PKEY that signs in the token; raw PKCS#11 for what libp11 0.4.12
 * lacks (EC key generation, destroying objects).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "p11.h"

/* Without module-path: p11-kit's proxy, which offers every module the
 * system has registered. */
#define P11_DEFAULT_MODULE "p11-kit-proxy.so"
#define P11_NEW_ID_LEN 16
#define P11_MAX_OBJECTS 256

struct p11_key {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;            /* in slots */
	EVP_PKEY *pkey;               /* ours; refers to objects of slot */
	char *uri;                    /* names this key; no PIN */
	struct p11_uri name;          /* what was asked for */
	unsigned char id[P11_ID_MAX]; /* the key's CKA_ID, id_len bytes */
	size_t id_len;
	int logged_in;
};

static const char *
module_of(const struct p11_uri *u)
{
	return u->module_path != NULL ? u->module_path : P11_DEFAULT_MODULE;
}

static const char *
or_any(const char *s)
{
	return s != NULL ? s : "(any)";
}

/* Empty key: the module is not loaded yet. */
static enum kk_status
key_new(const char *uri, struct p11_key **out, char **err)
{
	enum kk_status st;
	struct p11_key *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return KK_ENOMEM;
	if ((st = p11_uri_parse(uri, &k->name, err)) != KK_OK) {
		free(k);
		return st;
	}
	*out = k;
	return KK_OK;
}

void
p11_key_free(struct p11_key *k)
{
	if (k == NULL)
		return;
	/* The EVP_PKEY refers to libp11's key objects: it goes first. */
	EVP_PKEY_free(k->pkey);
	if (k->logged_in)
		(void)PKCS11_logout(k->slot);
	if (k->slots != NULL)
		PKCS11_release_all_slots(k->ctx, k->slots, k->nslots);
	if (k->ctx != NULL) {
		PKCS11_CTX_unload(k->ctx);
		PKCS11_CTX_free(k->ctx);
	}
	free(k->uri);
	p11_uri_clear(&k->name);
	ERR_clear_error();
	free(k);
}

static int
token_matches(const PKCS11_TOKEN *t, const struct p11_uri *u)
{
	return t != NULL && t->initialized &&
	       (u->token == NULL || strcmp(t->label, u->token) == 0) &&
	       (u->manufacturer == NULL ||
	           strcmp(t->manufacturer, u->manufacturer) == 0) &&
	       (u->model == NULL || strcmp(t->model, u->model) == 0) &&
	       (u->serial == NULL || strcmp(t->serialnr, u->serial) == 0);
}

/* Loads the module, finds the token, logs in when the token wants it. */
static enum kk_status
token_open(struct p11_key *k, const struct p11_pin *pin, char **err)
{
	const struct p11_uri *u = &k->name;
	enum kk_status st;
	char *p = NULL;
	unsigned int i;

	if ((k->ctx = PKCS11_CTX_new()) == NULL)
		return KK_ENOMEM;
	if (PKCS11_CTX_load(k->ctx, module_of(u)) != 0) {
		/* Unloaded contexts must not be unloaded again. */
		PKCS11_CTX_free(k->ctx);
		k->ctx = NULL;
		return kk_say(err, KK_ENOTFOUND,
		    "cannot load the PKCS#11 module %s", module_of(u));
	}
	if (PKCS11_enumerate_slots(k->ctx, &k->slots, &k->nslots) != 0)
		return kk_say(err, KK_EIO, "%s lists no slots", module_of(u));
	for (i = 0; i < k->nslots && k->slot == NULL; i++)
		if (token_matches(k->slots[i].token, u))
			k->slot = &k->slots[i];
	if (k->slot == NULL)
		return kk_say(err, KK_ENOTFOUND, "no token %s in %s",
		    or_any(u->token), module_of(u));
	if (PKCS11_open_session(k->slot, 1) != 0)
		return kk_say(err, KK_EIO,
		    "cannot open a session with token %s",
		    k->slot->token->label);
	if (!k->slot->token->loginRequired)
		return KK_OK;
	if ((st = p11_pin_get(u, pin, &p, err)) != KK_OK)
		return st;
	if (p == NULL)
		return kk_say(err, KK_EKEY,
		    "token %s needs a PIN and none was given",
		    k->slot->token->label);
	if (PKCS11_login(k->slot, 0, p) != 0)
		st = kk_say(err, KK_EKEY, "token %s refused the PIN",
		    k->slot->token->label);
	else
		k->logged_in = 1;
	OPENSSL_cleanse(p, strlen(p));
	free(p);
	return st;
}

/* The single private key with the URI's label and id. */
static enum kk_status
key_find(struct p11_key *k, const struct p11_uri *u, char **err)
{
	PKCS11_KEY *keys = NULL, *hit = NULL;
	unsigned int n = 0, i;
	int matches = 0;

	if (PKCS11_enumerate_keys(k->slot->token, &keys, &n) != 0)
		return kk_say(err, KK_EIO, "cannot list the keys of token %s",
		    k->slot->token->label);
	for (i = 0; i < n; i++) {
		if (u->object != NULL &&
		    (keys[i].label == NULL ||
		        strcmp(keys[i].label, u->object) != 0))
			continue;
		if (u->id_len > 0 &&
		    (keys[i].id_len != u->id_len ||
		        memcmp(keys[i].id, u->id, u->id_len) != 0))
			continue;
		hit = &keys[i];
		matches++;
	}
	if (matches == 0)
		return kk_say(err, KK_ENOTFOUND,
		    "no private key %s in token %s", or_any(u->object),
		    k->slot->token->label);
	if (matches > 1)
		return kk_say(err, KK_ECONFLICT,
		    "%d private keys %s in token %s; name one with id=",
		    matches, or_any(u->object), k->slot->token->label);
	if (hit->id_len > P11_ID_MAX)
		return kk_say(err, KK_EKEY,
		    "private key %s has an id over %d bytes", or_any(u->object),
		    P11_ID_MAX);
	memcpy(k->id, hit->id, hit->id_len);
	k->id_len = hit->id_len;
	if ((k->pkey = PKCS11_get_private_key(hit)) == NULL)
		return kk_say(err, KK_EKEY,
		    "cannot use private key %s in token %s", or_any(u->object),
		    k->slot->token->label);
	return KK_OK;
}

/* The URI of exactly this key: the one asked for, with its id. */
static enum kk_status
key_uri(struct p11_key *k)
{
	struct p11_uri u = k->name;

	memcpy(u.id, k->id, k->id_len);
	u.id_len = k->id_len;
	return p11_uri_format(&u, &k->uri);
}

enum kk_status
p11_key_open(const char *uri, const struct p11_pin *pin, struct p11_key **out,
    char **err)
{
	enum kk_status st;
	struct p11_key *k;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if ((st = key_new(uri, &k, err)) != KK_OK)
		return st;
	/* The URI gets the id as found, to name this key alone. */
	if ((st = token_open(k, pin, err)) != KK_OK ||
	    (st = key_find(k, &k->name, err)) != KK_OK ||
	    (st = key_uri(k)) != KK_OK)
		goto out;
	*out = k;
	k = NULL;
out:
	p11_key_free(k);
	return st;
}

EVP_PKEY *
p11_key_pkey(const struct p11_key *k)
{
	return k->pkey;
}

const char *
p11_key_uri(const struct p11_key *k)
{
	return k->uri;
}

/*
 * A read-write session of our own on the token libp11 opened, through the
 * function list of the module libp11 loaded (dlopen of a loaded library
 * returns it, initialised; RTLD_NOLOAD never loads a second copy). The
 * login libp11 made holds for every session of the process. *dl is
 * dlclose()d by the caller after closing the session.
 */
static enum kk_status
raw_session(struct p11_key *k, void **dl, CK_FUNCTION_LIST_PTR *fl,
    CK_SESSION_HANDLE *h, char **err)
{
	CK_C_GetFunctionList get;

	*fl = NULL;
	if ((*dl = dlopen(module_of(&k->name), RTLD_NOW | RTLD_NOLOAD)) ==
	        NULL ||
	    (get = (CK_C_GetFunctionList)dlsym(*dl, "C_GetFunctionList")) ==
	        NULL ||
	    get(fl) != CKR_OK)
		return kk_say(err, KK_EIO, "cannot reach the functions of %s",
		    module_of(&k->name));
	if ((*fl)->C_OpenSession(PKCS11_get_slotid_from_slot(k->slot),
	        CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, h) != CKR_OK)
		return kk_say(err, KK_EIO,
		    "cannot open a read-write session with token %s",
		    k->slot->token->label);
	return KK_OK;
}

static void
raw_close(void *dl, CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h)
{
	if (fl != NULL && h != CK_INVALID_HANDLE)
		(void)fl->C_CloseSession(h);
	if (dl != NULL)
		dlclose(dl);
}

/* DER OIDs of the named curves, as CKA_EC_PARAMS wants them. */
static const unsigned char oid_p256[] = {
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {
    0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

static enum kk_status
raw_generate(struct p11_key *k, const char *type, char **err)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE e65537[] = {0x01, 0x00, 0x01};
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub, priv;
	CK_FUNCTION_LIST_PTR fl = NULL;
	CK_ULONG bits = 0;
	CK_RV rv;
	char *label = k->name.object;
	size_t llen = strlen(label);
	CK_ATTRIBUTE pubt[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_WRAP, &no, sizeof(no)},
	    {CKA_LABEL, label, llen},
	    {CKA_ID, k->id, k->id_len},
	    {CKA_EC_PARAMS, NULL, 0}, /* or the RSA pair below */
	    {CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)},
	};
	/* Sensitive and never extractable: the key cannot be read out, not
	 * even wrapped, by anyone who learns the PIN. */
	CK_ATTRIBUTE privt[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	    {CKA_UNWRAP, &no, sizeof(no)},
	    {CKA_DERIVE, &no, sizeof(no)},
	    {CKA_LABEL, label, llen},
	    {CKA_ID, k->id, k->id_len},
	};
	CK_ULONG npub = 8;
	enum kk_status st;
	void *dl = NULL;

	if (strcmp(type, "ec-p256") == 0) {
		pubt[7].pValue = (void *)oid_p256;
		pubt[7].ulValueLen = sizeof(oid_p256);
	} else if (strcmp(type, "ec-p384") == 0) {
		pubt[7].pValue = (void *)oid_p384;
		pubt[7].ulValueLen = sizeof(oid_p384);
	} else if (strcmp(type, "rsa-2048") == 0 ||
	           strcmp(type, "rsa-3072") == 0 ||
	           strcmp(type, "rsa-4096") == 0) {
		bits = strtoul(type + 4, NULL, 10);
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pubt[7].type = CKA_MODULUS_BITS;
		pubt[7].pValue = &bits;
		pubt[7].ulValueLen = sizeof(bits);
		npub = 9;
	} else {
		return kk_say(err, KK_EALG,
		    "key type %s cannot be generated in a token (ec-p256, "
		    "ec-p384, rsa-2048, rsa-3072, rsa-4096)",
		    type);
	}
	if ((st = raw_session(k, &dl, &fl, &h, err)) != KK_OK)
		goto out;
	rv = fl->C_GenerateKeyPair(h, &mech, pubt, npub, privt,
	    sizeof(privt) / sizeof(privt[0]), &pub, &priv);
	if (rv != CKR_OK)
		st = kk_say(err, KK_ECRYPTO,
		    "token %s cannot generate a %s key (PKCS#11 error 0x%lx)",
		    k->slot->token->label, type, (unsigned long)rv);
out:
	raw_close(dl, fl, h);
	return st;
}

enum kk_status
p11_key_generate(const char *uri, const struct p11_pin *pin, const char *type,
    struct p11_key **out, char **err)
{
	enum kk_status st;
	struct p11_uri want;
	struct p11_key *k;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if ((st = key_new(uri, &k, err)) != KK_OK)
		return st;
	if (k->name.object == NULL) {
		st = kk_say(
		    err, KK_EINVAL, "a new key needs object= in its URI");
		goto out;
	}
	if (k->name.id_len > 0) {
		memcpy(k->id, k->name.id, k->name.id_len);
		k->id_len = k->name.id_len;
	} else if (RAND_bytes(k->id, P11_NEW_ID_LEN) == 1) {
		k->id_len = P11_NEW_ID_LEN;
	} else {
		st = kk_say(err, KK_ECRYPTO, "no random bytes for a key id");
		goto out;
	}
	if ((st = token_open(k, pin, err)) != KK_OK)
		goto out;
	/* Never a second key under a name that must pick out one. */
	want = k->name;
	memcpy(want.id, k->id, k->id_len);
	want.id_len = k->id_len;
	if ((st = key_find(k, &want, NULL)) != KK_ENOTFOUND) {
		if (st == KK_OK || st == KK_ECONFLICT)
			st = kk_say(err, KK_EEXIST,
			    "token %s already holds a key %s with that id",
			    k->slot->token->label, k->name.object);
		goto out;
	}
	if ((st = raw_generate(k, type, err)) != KK_OK ||
	    (st = key_find(k, &want, err)) != KK_OK ||
	    (st = key_uri(k)) != KK_OK)
		goto out;
	*out = k;
	k = NULL;
out:
	p11_key_free(k);
	return st;
}

/* Whether the n URIs in keep name id; -1 if one of them names no key by
 * id, when nothing may be destroyed (it could be the key in use). */
static int
kept(const unsigned char *id, size_t len, const char *const *keep, size_t n)
{
	struct p11_uri u;
	size_t i;
	int hit;

	for (i = 0; i < n; i++) {
		if (keep[i] == NULL ||
		    p11_uri_parse(keep[i], &u, NULL) != KK_OK)
			return -1;
		if (u.id_len == 0) {
			p11_uri_clear(&u);
			return -1;
		}
		hit = u.id_len == len && memcmp(u.id, id, len) == 0;
		p11_uri_clear(&u);
		if (hit)
			return 1;
	}
	return 0;
}

enum kk_status
p11_key_prune(const char *uri, const struct p11_pin *pin,
    const char *const *keep, size_t n, int *destroyed, char **err)
{
	CK_OBJECT_HANDLE found[P11_MAX_OBJECTS], doomed[P11_MAX_OBJECTS];
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_FUNCTION_LIST_PTR fl = NULL;
	CK_OBJECT_CLASS cls;
	CK_BYTE id[P11_ID_MAX];
	CK_ULONG nfound = 0, i, ndoomed = 0;
	CK_ATTRIBUTE what[2];
	enum kk_status st;
	struct p11_key *k;
	void *dl = NULL;
	int gone = 0;

	if (destroyed != NULL)
		*destroyed = 0;
	if (err != NULL)
		*err = NULL;
	if ((st = key_new(uri, &k, err)) != KK_OK)
		return st;
	if (k->name.object == NULL) {
		st = kk_say(err, KK_EINVAL, "pruning needs object= in the URI");
		goto out;
	}
	if ((st = token_open(k, pin, err)) != KK_OK ||
	    (st = raw_session(k, &dl, &fl, &h, err)) != KK_OK)
		goto out;
	what[0].type = CKA_LABEL;
	what[0].pValue = k->name.object;
	what[0].ulValueLen = strlen(k->name.object);
	st = KK_EIO;
	if (fl->C_FindObjectsInit(h, what, 1) != CKR_OK)
		goto out;
	if (fl->C_FindObjects(h, found, P11_MAX_OBJECTS, &nfound) != CKR_OK) {
		(void)fl->C_FindObjectsFinal(h);
		goto out;
	}
	(void)fl->C_FindObjectsFinal(h);
	for (i = 0; i < nfound; i++) {
		what[0].type = CKA_CLASS;
		what[0].pValue = &cls;
		what[0].ulValueLen = sizeof(cls);
		what[1].type = CKA_ID;
		what[1].pValue = id;
		what[1].ulValueLen = sizeof(id);
		if (fl->C_GetAttributeValue(h, found[i], what, 2) != CKR_OK ||
		    (cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY))
			continue;
		if (kept(id, what[1].ulValueLen, keep, n))
			continue;
		doomed[ndoomed++] = found[i];
		gone += cls == CKO_PRIVATE_KEY;
	}
	st = KK_OK;
	for (i = 0; i < ndoomed; i++)
		if (fl->C_DestroyObject(h, doomed[i]) != CKR_OK)
			st = kk_say(err, KK_EIO,
			    "cannot destroy an old key %s in token %s",
			    k->name.object, k->slot->token->label);
	if (destroyed != NULL)
		*destroyed = gone;
out:
	if (st == KK_EIO)
		kk_say(err, st, "cannot search token %s for keys %s",
		    k->slot != NULL ? k->slot->token->label : "(none)",
		    k->name.object);
	raw_close(dl, fl, h);
	p11_key_free(k);
	return st;
}
