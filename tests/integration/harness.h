/*
 * harness.h - integration tests against the real kakuin-server: start it on
 * an ephemeral loopback port with a temporary data directory, speak ACME
 * and the operator API to it over HTTPS with libcurl (verifying its TLS
 * certificate against the data directory's root.pem), and sign requests
 * with the protocol library. Every function aborts the test (cr_assert) on
 * a failure of the harness itself, so tests read as straight lines.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <cjson/cJSON.h>

struct hsrv {
	pid_t pid;
	int port;
	char dir[256];  /* temporary; holds data/ and server.log */
	char data[300]; /* the server's data directory */
	char log[PATH_MAX];
	char root[PATH_MAX]; /* data/root.pem */
	char base[128];      /* https://127.0.0.1:PORT */
	char *policy;        /* policy file given, or NULL */
	/* With KAKUIN_TEST_STORAGE naming a PostgreSQL cluster, the server
	 * keeps its records in a database of its own there: pgdb names it
	 * and storage_flag is " --storage 'URL'" for command lines (empty
	 * for the data directory's SQLite file). */
	char pgdb[64];
	char storage[512];
	char storage_flag[600];
	/* A replica (hsrv_start_replica): "HOST:PORT:HOST:PORT" sends the
	 * requests for the first server's URLs to this one (curl's
	 * CONNECT_TO), as a load balancer in front of both would. */
	char connect_to[128];
	char base_url[128]; /* --base-url given, or "" */
	/* More server options (hsrv_start_args), NULL-terminated; the
	 * caller's array, at most HSRV_MAX_ARGS. */
	const char *const *args;
};
#define HSRV_MAX_ARGS 16

/* Starts a server; policy_json (NULL = the default) is written to a file
 * and passed with --policy. */
void hsrv_start(struct hsrv *h, const char *policy_json);
/* hsrv_start with more server options: args (NULL-terminated, kept by
 * reference, so it must outlive the server's restarts). */
void hsrv_start_args(
    struct hsrv *h, const char *policy_json, const char *const *args);
/*
 * hsrv_start (the default policy) with the LD_PRELOAD library preload in
 * the server alone, and env's pairs (name, value, ..., NULL) in its
 * environment. Under ASan the interposer comes before ASan's runtime,
 * which ASan is told to accept. A restart runs without them.
 */
void hsrv_start_preloaded(
    struct hsrv *h, const char *preload, const char *const *env);
/* 1 when the servers of this run use PostgreSQL (KAKUIN_TEST_STORAGE
 * names a cluster), 0 for SQLite (unset, empty or "sqlite"). */
int hstorage_pg(void);

/*
 * Starts a second server sharing a's data directory, storage and base URL
 * on a port of its own: a replica behind the same name. Requests made
 * through r reach r with a's URLs (and a's nonces redeem at r only when
 * the storage is shared). Stop it with hsrv_stop before a.
 */
void hsrv_start_replica(struct hsrv *r, const struct hsrv *a);
/* Ends every database session of h's server (PostgreSQL storage), as a
 * database restart or fail-over would. */
void hsrv_db_disconnect(struct hsrv *h);
/* Restarts it on the same port and data after hsrv_kill. */
void hsrv_restart(struct hsrv *h);
/* Sends sig and waits until the server has exited; one that is stopping
 * (not SIGKILL) is woken by connections to its port while it listens. */
void hsrv_kill(struct hsrv *h, int sig);
/* Stops it and removes the temporary directory. */
void hsrv_stop(struct hsrv *h);
/* The default policy with "key": value replaced at the JSON top level or
 * in "verification" (for approvals_required); caller frees. */
char *hpolicy(const char *section, const char *key, const char *value);

/* Creates an operator API token (kakuin-server token create); caller frees. */
char *hsrv_token(struct hsrv *h, const char *name, const char *role);

struct hresp {
	long status;
	char *body;
	size_t len;
	char *ctype;
	char *location;
	char *nonce;
	char *links;      /* all Link values, separated by "\n" */
	long retry_after; /* -1 when absent */
	cJSON *json;      /* body parsed when it is JSON, else NULL */
};
void hresp_clear(struct hresp *r);

/* The problem type's last component ("malformed"), or "" if none. */
const char *hproblem(const struct hresp *r);

/* A plain request; extra_header may be NULL. */
void hreq(struct hsrv *h, const char *method, const char *url,
    const char *extra_header, const char *ctype, const char *body, size_t len,
    struct hresp *r);

/* A fresh nonce from newNonce; caller frees. */
char *hnonce(struct hsrv *h);

/* An ACME client identity. */
struct hacct {
	EVP_PKEY *key;
	char *kid; /* account URL once created */
};
/* Generates a key: "ec-p256", "ec-p384", "rsa-2048", "ed25519". */
EVP_PKEY *hkey(const char *type);
void hacct_clear(struct hacct *a);

/* A signed POST (kid when a->kid, else jwk) of payload (NULL = POST-as-GET)
 * to url, with a fresh nonce. */
void hpost(struct hsrv *h, const struct hacct *a, const char *url,
    const char *payload, struct hresp *r);
/* The same with a given nonce. */
void hpost_nonce(struct hsrv *h, const struct hacct *a, const char *url,
    const char *payload, const char *nonce, struct hresp *r);

/* URL of a directory resource: hurl(h, "newOrder"); caller frees. */
char *hurl(struct hsrv *h, const char *name);

/* newAccount with contact; eab_kid/eab_key (base64url) optional. Asserts
 * 201 and fills a->kid. */
void hnew_account(
    struct hsrv *h, struct hacct *a, const char *eab_kid, const char *eab_key);

/* newOrder for org; asserts 201; *order_url caller frees; r kept. */
void hnew_order(struct hsrv *h, const struct hacct *a, const char *org,
    char **order_url, struct hresp *r);

/* A DER CSR (caller frees, *len) with organizationIdentifier org_id (NULL
 * omits) and CN cn (NULL omits), signed by key. */
unsigned char *hcsr(
    EVP_PKEY *key, const char *org_id, const char *cn, size_t *len);
/* {"csr": base64url(der)}; caller frees. */
char *hcsr_payload(const unsigned char *der, size_t len);

/* An operator API call with a bearer token (NULL = none). */
void hoper(struct hsrv *h, const char *token, const char *method,
    const char *path, const char *body, struct hresp *r);

/*
 * The whole verification: the account's order's oob-01 challenge is
 * requested and an operator approves it (with a token made here). Returns
 * the order URL (caller frees), the order being ready.
 */
char *henroll_verified(struct hsrv *h, struct hacct *a, const char *org);

/* A loopback port free at the time of asking; asserts. */
int hfree_port(void);

/* Waits until something accepts on the loopback port (5 s at most);
 * asserts. */
void hwait_port(int port);

/* Writes len bytes to path; asserts. */
void hwrite(const char *path, const void *data, size_t len);

/* Runs a shell command; returns its exit status. */
int hsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
