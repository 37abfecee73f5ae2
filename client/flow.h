/*
 * flow.h - takes one certificate's order from creation to an installed
 * certificate: asks for oob-01 verification when the org authorization is
 * pending, waits for an operator (only as long as told), proves dns
 * identifiers with the challenge remembered in certs/NAME/solve.json
 * (prove.h), finalizes with a CSR from the pending key, polls honouring
 * Retry-After within a bound (leaving with EX_TEMPFAIL at once when the
 * server asks to come back after it), downloads, installs and runs the
 * deploy hook.
 *
 * The order URL and its key are saved in the state directory before
 * anything is asked of the server, so a run that is interrupted, or that
 * leaves because an operator has not acted yet, is finished by the next
 * run, and the pending entry is removed only after installation.
 */
#ifndef KC_FLOW_H
#define KC_FLOW_H

#include <stdio.h>

#include "session.h"
#include "state.h"

#define FLOW_ISSUE_TIMEOUT 300 /* seconds to wait for the CA to issue */
#define FLOW_POLL_MIN 1
#define FLOW_POLL_MAX 30
/* A pending order older than this is dropped: the CA has expired it. */
#define FLOW_PENDING_MAX (8 * 86400)
/* No new order this long after an operator refused verification. */
#define FLOW_REJECT_BACKOFF 86400

struct flow {
	struct session *s;
	const struct cert_config *cfg;
	int wait_seconds; /* for an operator; 0 leaves at once (exit 75) */
	FILE *log;        /* progress lines, or NULL for silence */
	int dropped;      /* out: the pending order was stale and dropped */
};

/*
 * Creates a new order for cfg with key (fresh or reused; borrowed) or,
 * when key_uri is not NULL, the token key it names (key is then unused),
 * saves it as pending and drives it like flow_resume. Once the new
 * certificate is installed, the token's other keys of cfg are destroyed.
 */
enum kk_status flow_new_order(
    struct flow *f, EVP_PKEY *key, const char *key_uri, struct kc_err *err);

/*
 * flow_new_order with a key in cfg's token: the one reuse names (a URI),
 * or when reuse is NULL a new one, generated there first.
 */
enum kk_status flow_new_token_order(
    struct flow *f, const char *reuse, struct kc_err *err);

/*
 * Drives the pending order of cfg. KK_OK once the certificate is installed
 * (the deploy hook is left to flow_run_hook); KK_ECONFLICT with
 * EX_TEMPFAIL while an operator must still act; KK_EINVAL with exit 1 when
 * the order was rejected (the operator's reason in err; the pending order
 * is dropped and rejected.json remembers when).
 *
 * A pending order older than FLOW_PENDING_MAX, or one the server
 * definitively refuses to show (a 4xx problem: unknown after a restore,
 * not ours), is dropped with a message and f->dropped set, so the caller
 * may order afresh; err then says why.
 */
enum kk_status flow_resume(struct flow *f, struct kc_err *err);

/*
 * Finishes an installation that left the hook.pending marker (written
 * before the pending order is cleared, so a crash in between loses
 * nothing): runs the deploy hook, then, only once it succeeded, destroys
 * the token keys of cfg other than the live one (a service still using
 * the old key must not lose it), and removes the marker; a failed hook is
 * retried by the next run. KK_OK without a marker. Notes go to log (may
 * be NULL), failures to prune to stderr.
 */
enum kk_status flow_run_hook(const struct state *s,
    const struct cert_config *cfg, FILE *log, struct kc_err *err);

/* The --p12 passphrase: --p12-pass-file's first line or KAKUIN_P12_PASS. */
enum kk_status flow_p12_pass(
    const struct cert_config *cfg, char **pass, struct kc_err *err);

#endif
