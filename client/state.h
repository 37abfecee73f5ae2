/*
 * state.h - the state directory: everything the client must remember
 * between runs, as small JSON files written atomically.
 *
 *   config.json              server URL and CA bundle enroll was given,
 *                            and a failure hook for renew (by hand)
 *   account.key, account.json the ACME account key (0600) and its URL
 *   certs/NAME/config.json   one certificate's settings (org, key type,
 *                            --out, hook, p12)
 *   certs/NAME/pending.json  an order not finished yet, and
 *   certs/NAME/pending.key   the key its CSR will carry (0600), or
 *   certs/NAME/pending.uri   the URI of that key in a PKCS#11 token
 *   certs/NAME/pkcs11.pin    the token PIN taken from the environment or
 *                            the URI at enroll (0600)
 *   certs/NAME/p12.pass      the --p12 passphrase taken from
 *                            KAKUIN_P12_PASS at enroll (0600)
 *   certs/NAME/hook.pending  a certificate was installed whose deploy
 *                            hook has not succeeded yet (or whose old
 *                            token keys are still to be destroyed)
 *   certs/NAME/rejected.json when an operator last refused verification
 *   certs/NAME/failure.json  the last failed renewal and the backoff
 *                            (failure.h)
 *   lock                     flock(2)ed by runs that change anything
 *
 * A file that exists but does not parse is a configuration error
 * (EX_CONFIG) naming the file, never a crash or a silent reset.
 */
#ifndef KC_STATE_H
#define KC_STATE_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "err.h"

#define STATE_NAME_MAX 64
#define STATE_JSON_MAX (64 * 1024)

struct state {
	char *dir;
};

struct state_global {
	char *server;    /* NULL when never set */
	char *ca_bundle; /* NULL for the system store */
	/* renew's failure hook, written by hand; saving never drops it. */
	char *failure_hook;
};

struct cert_config {
	char *name;          /* the CN, also the directory name */
	char *org;           /* org identifier, e.g. NTRJP-..., or NULL */
	char *key_type;      /* keys.h names */
	char *out;           /* installation directory (absolute) */
	char *deploy_hook;   /* or NULL */
	char *p12_pass_file; /* or NULL: KAKUIN_P12_PASS */
	int p12;             /* write bundle.p12 */
	int reuse_key;
	long hook_timeout; /* seconds; 0 for HOOK_DEFAULT_TIMEOUT */
	char *key_uri;     /* keys in this PKCS#11 token, or NULL: files */
	char *pin_file;    /* its PIN, or NULL: KAKUIN_PKCS11_PIN */
};

struct pending {
	char *order_url;
	time_t created;
};

/* The default: /var/lib/kakuin for root, else $HOME/.local/state/kakuin. */
enum kk_status state_default_dir(char **out);

/*
 * Opens (and with create, makes, mode 0700) the state directory. *out is
 * released with state_free().
 */
enum kk_status state_open(
    const char *dir, int create, struct state **out, struct kc_err *err);
void state_free(struct state *s);

/* *out = dir/rel (caller frees). */
enum kk_status state_path(const struct state *s, const char *rel, char **out);

/* *out = dir/certs/name/file (caller frees); file may be NULL. */
enum kk_status state_cert_path(
    const struct state *s, const char *name, const char *file, char **out);

/* 1 when name is usable as a certificate name and a directory name. */
int state_name_valid(const char *name);

/*
 * Reads a JSON object from path. KK_ENOTFOUND (err untouched) when missing;
 * a corrupted file is KK_EINVAL with EX_CONFIG naming it.
 */
enum kk_status state_read_json(
    const char *path, cJSON **out, struct kc_err *err);
enum kk_status state_write_json(
    const char *path, const cJSON *obj, struct kc_err *err);

/* config.json; a missing file gives empty fields. Clear with ..._clear. */
enum kk_status state_global_load(
    const struct state *s, struct state_global *g, struct kc_err *err);
enum kk_status state_global_save(
    const struct state *s, const struct state_global *g, struct kc_err *err);
void state_global_clear(struct state_global *g);

/* account.json's URL; KK_ENOTFOUND when there is no account yet. */
enum kk_status state_account_load(
    const struct state *s, char **url, struct kc_err *err);
enum kk_status state_account_save(
    const struct state *s, const char *url, struct kc_err *err);

/* certs/NAME/config.json; KK_ENOTFOUND when no such certificate. */
enum kk_status state_cert_load(const struct state *s, const char *name,
    struct cert_config *c, struct kc_err *err);
enum kk_status state_cert_save(
    const struct state *s, const struct cert_config *c, struct kc_err *err);
void cert_config_clear(struct cert_config *c);

/* Names of all configured certificates, sorted; free with state_names_free. */
enum kk_status state_cert_names(
    const struct state *s, char ***names, size_t *n, struct kc_err *err);
void state_names_free(char **names, size_t n);

/* certs/NAME/pending.json; KK_ENOTFOUND when nothing is pending. */
enum kk_status state_pending_load(const struct state *s, const char *name,
    struct pending *p, struct kc_err *err);
enum kk_status state_pending_save(const struct state *s, const char *name,
    const struct pending *p, struct kc_err *err);
/* Removes pending.json and pending.key or pending.uri. */
enum kk_status state_pending_clear(
    const struct state *s, const char *name, struct kc_err *err);
void pending_clear(struct pending *p);

/*
 * Small markers in certs/NAME/: file is "hook.pending" or "rejected.json".
 * state_marker_time gives the time stored by state_marker_set (KK_ENOTFOUND
 * when there is no marker); state_marker_clear removes it (missing is fine).
 */
enum kk_status state_marker_set(const struct state *s, const char *name,
    const char *file, time_t when, struct kc_err *err);
enum kk_status state_marker_time(const struct state *s, const char *name,
    const char *file, time_t *when, struct kc_err *err);
enum kk_status state_marker_clear(const struct state *s, const char *name,
    const char *file, struct kc_err *err);

#endif
