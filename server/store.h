/*
 * store.h - the server's persistent storage. The ACME and operator logic
 * call only these functions and never see SQL; the backend is chosen by the
 * storage URL: "sqlite:PATH" (store_sqlite.c) or "postgresql://..."
 * (store_pg.c, which several server replicas may share).
 *
 * Conventions:
 * - Every function returns KK_OK, KK_ENOTFOUND (no such record), KK_EEXIST
 *   (unique key taken), KK_ENOMEM or KK_EIO (backend failure, logged
 *   without any secret), KK_EAGAIN: the database is out of reach for now;
 *   nothing was changed and the caller may try the whole request again
 *   later, or KK_ERACE: a call or the commit of a transaction lost a
 *   race with a concurrent transaction (another replica's); the
 *   transaction can only be rolled back, and running it again from its
 *   store_begin(), reading everything anew, may well succeed at once.
 *   Calls outside a transaction never return KK_ERACE (KK_EAGAIN).
 * - Getters allocate: *out is owned by the caller and released with the
 *   record's *_free from model.h. List functions return an array of
 *   pointers in *out (caller frees each element and then the array with
 *   free()) and its length in *n; an empty list is *out NULL, *n 0.
 * - Inputs are borrowed; nothing keeps a pointer to them.
 * - The handle is shared by all server threads. Each call is atomic on its
 *   own. store_begin() opens a transaction that belongs to the calling
 *   thread; calls made by that thread until store_commit() or
 *   store_rollback() belong to it. It excludes every other thread's
 *   changes and transactions, which wait for it. Another thread's read
 *   outside a transaction sees only committed state: it may wait for the
 *   transaction (PostgreSQL) or read what was committed before it
 *   (SQLite), never what the transaction has not committed.
 *   A change is durable when store_commit() (or a call outside a
 *   transaction) returns KK_OK.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kk_status.h"
#include "model.h"
#include "model_desk.h"

struct store;

/*
 * One page of an operator list, so that no answer grows with the table:
 * at most limit records (0 = all, for callers inside the server) after
 * the record whose key is after (NULL = from the start). The key is the
 * one the list's comment names; the store finds the record's place in its
 * order and continues from there in the query itself (keyset paging on an
 * index), so a page costs the same on the first and the last page.
 * KK_ENOTFOUND when no record has the key after. more is set when
 * records follow the page.
 */
struct store_page {
	size_t limit;
	const char *after;
	int more;
};

/*
 * Opens (creating if needed) the store at url and brings its schema up to
 * the current version, one numbered migration at a time in a transaction
 * each. *out is released with store_close().
 */
enum kk_status store_open(const char *url, struct store **out);
void store_close(struct store *st);

enum kk_status store_begin(struct store *st);
enum kk_status store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * Returns once every change that any thread has committed is durable.
 * A commit becomes visible to other threads before store_commit() has
 * made it durable (SQLite's group commit, store_gsync.h): a request that
 * read it calls this before answering, so that no answer shows what a
 * crash could still undo. Cheap when nothing is pending. KK_EIO when the
 * storage cannot make changes durable.
 */
enum kk_status store_settle(struct store *st);

/*
 * While on for the calling thread, store_commit() may return before the
 * change is durable: the caller promises a store_settle() before anything
 * (an answer, a file, a message) depends on the change. The HTTP layer
 * turns it on for each request and settles before each answer, so that a
 * request's own commit and what it read afterwards share one wait.
 * Backends that make a commit durable inside COMMIT ignore it.
 */
void store_defer_durability(struct store *st, int on);

/*
 * Lookups of many keys in one call, for a page that shows a related
 * record beside each of its own (the operator lists): one query for the
 * page on PostgreSQL, not a round trip per record. *out gets an array of
 * n pointers in the order of keys: (*out)[i] is the record whose key is
 * keys[i], or NULL when there is none (a NULL key has none); a key given
 * twice gets a record of its own in each place. KK_OK whether or not
 * records were found. The caller frees each record with its *_free and
 * then the array with free(); n 0 gives *out NULL. Each record is one
 * that was committed; the records of one call need not come from the
 * same instant (SQLite reads them one by one).
 */
enum kk_status store_account_get_many(
    struct store *st, const char *const *ids, size_t n, struct account ***out);
enum kk_status store_order_get_many(
    struct store *st, const char *const *ids, size_t n, struct order ***out);
enum kk_status store_renewal_get_many(struct store *st,
    const char *const *serials, size_t n, struct renewal ***out);
enum kk_status store_registry_get_many(struct store *st,
    const char *const *numbers, size_t n, struct registry_entry ***out);

/* Accounts. Update writes status, jwk, thumbprint, contacts and org. */
enum kk_status store_account_insert(struct store *st, const struct account *a);
enum kk_status store_account_get(
    struct store *st, const char *id, struct account **out);
enum kk_status store_account_by_thumbprint(
    struct store *st, const char *thumbprint, struct account **out);
enum kk_status store_account_update(struct store *st, const struct account *a);
enum kk_status store_account_count_by_ip(
    struct store *st, const char *ip, time_t since, int *n);

/*
 * Orders. Update writes status, error, cert_serial and expires. What is
 * read has replaces too: the serial of the certificate whose renewal
 * record names the order (store_renewal_set_replaced), in the same round
 * trip.
 */
enum kk_status store_order_insert(struct store *st, const struct order *o);
enum kk_status store_order_get(
    struct store *st, const char *id, struct order **out);
enum kk_status store_order_by_authz(
    struct store *st, const char *authz_id, struct order **out);
enum kk_status store_order_update(struct store *st, const struct order *o);
/* Ids of the account's orders, newest first. */
enum kk_status store_order_ids_by_account(
    struct store *st, const char *account_id, char ***out, size_t *n);
enum kk_status store_order_count_by_account(
    struct store *st, const char *account_id, time_t since, int *n);
/* Ids of the organization's orders in status, newest first. */
enum kk_status store_order_ids_by_org(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n);

/* Authorizations. Update writes status and expires. */
enum kk_status store_authz_insert(struct store *st, const struct authz *a);
enum kk_status store_authz_get(
    struct store *st, const char *id, struct authz **out);
enum kk_status store_authz_update(struct store *st, const struct authz *a);
/* The authorizations made for an order, in the order of its identifiers
 * (none for an order made before authzs named their order). *out and its
 * records are the caller's. */
enum kk_status store_authz_list_by_order(
    struct store *st, const char *order_id, struct authz ***out, size_t *n);
/* Ids of the authorizations for org identifier value org in status. */
enum kk_status store_authz_ids_by_org(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n);

/* Challenges. Update writes status, error and validated. */
enum kk_status store_challenge_insert(
    struct store *st, const struct challenge *c);
enum kk_status store_challenge_get(
    struct store *st, const char *id, struct challenge **out);
/* All challenges of an authorization, in insertion order. */
enum kk_status store_challenge_list_by_authz(
    struct store *st, const char *authz_id, struct challenge ***out, size_t *n);
enum kk_status store_challenge_update(
    struct store *st, const struct challenge *c);

/*
 * Marks pending/ready orders whose expires < now "invalid" and pending
 * authorizations whose expires < now "expired" (RFC 8555 7.1.6), and valid
 * authorizations whose expires < now "expired". *n (may be NULL) gets the
 * number of records changed.
 */
enum kk_status store_expire(struct store *st, time_t now, int *n);

/*
 * Verifications and their approvals. Getters fill approvals (in the order
 * they were given). Update writes status, reason and decided_at. List
 * filters are ANDed; NULL (ACME_STATUS_NONE for status) means any. Oldest
 * first.
 */
enum kk_status store_verification_insert(
    struct store *st, const struct verification *v);
enum kk_status store_verification_get(
    struct store *st, const char *id, struct verification **out);
enum kk_status store_verification_by_challenge(
    struct store *st, const char *challenge_id, struct verification **out);
enum kk_status store_verification_update(
    struct store *st, const struct verification *v);
/* Paged by id (pg may be NULL: all). */
enum kk_status store_verification_list(struct store *st,
    enum acme_status status, const char *org, struct store_page *pg,
    struct verification ***out, size_t *n);
enum kk_status store_approval_insert(
    struct store *st, const char *verification_id, const struct approval *ap);

/* Organizations: put inserts or replaces by id. List is ordered by id. */
enum kk_status store_org_put(struct store *st, const struct org *o);
enum kk_status store_org_get(
    struct store *st, const char *id, struct org **out);
/* Paged by id (pg may be NULL: all). */
enum kk_status store_org_list(
    struct store *st, struct store_page *pg, struct org ***out, size_t *n);

/* Certificates. Revoke sets status "revoked", revoked_at and reason. */
enum kk_status store_cert_insert(struct store *st, const struct cert *c);
enum kk_status store_cert_get(
    struct store *st, const char *serial, struct cert **out);
enum kk_status store_cert_revoke(
    struct store *st, const char *serial, time_t at, int reason);
/* Filters ANDed, NULL or ACME_STATUS_NONE = any; newest first. Paged by
 * serial (pg may be NULL: all). */
enum kk_status store_cert_list(struct store *st, const char *org,
    enum acme_status status, struct store_page *pg, struct cert ***out,
    size_t *n);

/* The number of certificates in status (any: ACME_STATUS_NONE). */
enum kk_status store_cert_count(
    struct store *st, enum acme_status status, int64_t *n);

/*
 * The CRL that replicas share, one per issuer. Get: KK_ENOTFOUND when the
 * issuer has none yet. Inside a transaction the backend also locks the
 * record (PostgreSQL: SELECT ... FOR UPDATE) until the transaction ends,
 * so that one replica at a time regenerates it; outside one it is a plain
 * read that never waits for a regeneration. Put inserts or replaces the
 * issuer's record, but never with a lower or equal number: KK_ECONFLICT
 * then, and the stored record stands.
 */
enum kk_status store_crl_get(
    struct store *st, const char *issuer, struct crl_state **out);
enum kk_status store_crl_put(struct store *st, const struct crl_state *c);

/* EAB keys. Use counts one use: KK_ELIMIT when max_uses is reached. */
enum kk_status store_eab_insert(struct store *st, const struct eab_key *k);
enum kk_status store_eab_get(
    struct store *st, const char *kid, struct eab_key **out);
enum kk_status store_eab_use(struct store *st, const char *kid);
/* Makes the key expire at `at` unless it expires sooner already;
 * KK_ENOTFOUND for an unknown kid. */
enum kk_status store_eab_expire(struct store *st, const char *kid, time_t at);

/* Operator tokens, looked up by the SHA-256 of the presented token. */
/* A revoked token is not found by hash: KK_ENOTFOUND, as for no token. */
enum kk_status store_token_insert(struct store *st, const struct op_token *t);
enum kk_status store_token_by_hash(
    struct store *st, const unsigned char hash[32], struct op_token **out);
/* KK_ENOTFOUND if no active token has that name. */
enum kk_status store_token_revoke(
    struct store *st, const char *name, time_t at);

/* The audit log is append-only: there is no update or delete. seq is
 * assigned by the store. Events with at >= since, oldest first. */
enum kk_status store_audit_append(
    struct store *st, const struct audit_event *e);
/* Paged by seq, in decimal (pg may be NULL: all). */
enum kk_status store_audit_list(struct store *st, time_t since,
    struct store_page *pg, struct audit_event ***out, size_t *n);

/*
 * Certificates whose CN is cn, newest first, narrowed by org and status
 * like store_cert_list (NULL, ACME_STATUS_NONE: any); paged the same way,
 * a cursor of either list serving both.
 */
enum kk_status store_cert_list_cn(struct store *st, const char *cn,
    const char *org, enum acme_status status, struct store_page *pg,
    struct cert ***out, size_t *n);

/*
 * A verification's attachments, one per (verification, SHA-256): insert
 * is KK_EEXIST when that document is attached already. get returns the
 * content too; list (oldest first) leaves data NULL.
 */
enum kk_status store_attachment_insert(
    struct store *st, const struct attachment *a);
enum kk_status store_attachment_get(struct store *st,
    const char *verification_id, const char *sha256, struct attachment **out);
enum kk_status store_attachment_list(struct store *st,
    const char *verification_id, struct attachment ***out, size_t *n);

/*
 * Nonces kept in the store, for replicas that share it: any replica
 * redeems, once, a nonce any of them issued. Only backends several
 * processes share keep them (store_shares_nonces() says whether; the
 * others leave nonces to nonce.c's memory). Put records a nonce that is
 * good until expires; take redeems it: KK_OK once, KK_ENOTFOUND for a
 * nonce unknown, taken already or expired at now.
 */
int store_shares_nonces(struct store *st);
enum kk_status store_nonce_put(
    struct store *st, const char *nonce, time_t expires);
enum kk_status store_nonce_take(
    struct store *st, const char *nonce, time_t now);

/* A persistent counter (e.g. "crl_number"): *out gets its next value,
 * starting at 1, never repeated even across crashes. */
enum kk_status store_counter_next(
    struct store *st, const char *name, int64_t *out);

/*
 * Organization domains: dns names an operator recorded as an
 * organization's (ra_domain.c). A name belongs to one organization: add
 * is KK_EEXIST when it is recorded already, for whichever. Owner gives
 * the organization of exactly that name (*org caller frees). List: the
 * organization's names, sorted.
 */
enum kk_status store_org_domain_add(struct store *st, const char *org,
    const char *name, const char *added_by, time_t at);
enum kk_status store_org_domain_owner(
    struct store *st, const char *name, char **org);
enum kk_status store_org_domain_list(
    struct store *st, const char *org, char ***out, size_t *n);
/*
 * An authorization made valid because its name is under org's domains:
 * remembered, so that suspending the organization revokes it.
 * Authz ids lists those of org's grants in status, newest first.
 */
enum kk_status store_org_domain_grant(
    struct store *st, const char *authz_id, const char *org);
enum kk_status store_org_domain_authz_ids(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n);

/*
 * The account's newest valid authorization for the identifier that is
 * still valid at now (expires > now), for a new order to reuse.
 */
enum kk_status store_authz_reusable(struct store *st, const char *account_id,
    const char *id_type, const char *id_value, time_t now, struct authz **out);
/* Ids of the orders on an authorization (reused ones have several),
 * newest first. */
enum kk_status store_order_ids_by_authz(
    struct store *st, const char *authz_id, char ***out, size_t *n);
/* Authorizations the account was given since (created_at >= since). */
enum kk_status store_authz_count_by_account(
    struct store *st, const char *account_id, time_t since, int *n);

/*
 * Renewal information (RFC 9773) kept beside a certificate. Get is
 * KK_ENOTFOUND when nothing was recorded for serial (the default window
 * applies, nothing replaced it). Set window records an operator's window
 * and set replaced the order that replaces the certificate; each keeps
 * the other's part (an order says what it replaces itself: struct order).
 */
enum kk_status store_renewal_get(
    struct store *st, const char *serial, struct renewal **out);
enum kk_status store_renewal_set_window(
    struct store *st, const char *serial, time_t start, time_t end);
enum kk_status store_renewal_set_replaced(
    struct store *st, const char *serial, const char *order_id);

/*
 * The corporate-number registry (model_desk.h). Put stores e unless a
 * record for its number with the same or a later update_date is stored
 * already (so that importing a file twice changes nothing); *stored (may
 * be NULL) is 1 when e was written, 0 when the stored record was kept.
 * Get finds a corporate number's entry. Put_many does the same for the n
 * entries of e, whose numbers must be distinct, in one atomic step (one
 * statement on PostgreSQL, so that an import costs a round trip per
 * batch, not per record); *stored counts those written.
 */
enum kk_status store_registry_put(
    struct store *st, const struct registry_entry *e, int *stored);
enum kk_status store_registry_put_many(
    struct store *st, const struct registry_entry *e, size_t n, size_t *stored);
enum kk_status store_registry_get(
    struct store *st, const char *number, struct registry_entry **out);

/*
 * The notification outbox (model_desk.h). Add writes a pending item (its
 * id is assigned; next_at says when it is due), normally inside the
 * transaction of the change it announces. Claim takes at most max items
 * that are pending, due at now and not claimed by anyone until now, and
 * claims them until lease: no other caller, in this process or in another
 * replica sharing the store, gets them before then (it is one statement;
 * PostgreSQL skips rows another replica is claiming). Settle records one
 * delivery attempt d (d->outbox_id names the item) and moves the item to
 * state, due again at next_at when still pending, with its claim
 * released; KK_ENOTFOUND for an unknown id. Deliveries lists the recorded
 * attempts of one item (outbox_id 0: of all items), oldest first.
 */
enum kk_status store_outbox_add(struct store *st, const struct outbox_item *it);
enum kk_status store_outbox_claim(struct store *st, time_t now, time_t lease,
    size_t max, struct outbox_item ***out, size_t *n);
enum kk_status store_outbox_settle(struct store *st, const struct delivery *d,
    enum outbox_state state, time_t next_at);
enum kk_status store_delivery_list(
    struct store *st, int64_t outbox_id, struct delivery ***out, size_t *n);

/*
 * Expiry reminders are sent once: mark records that the reminder days
 * days before the organization's verification expiring at expires was
 * taken care of. *fresh is 1 if this call marked it, 0 if it was marked
 * already (never an error, so that it can run inside a transaction).
 */
enum kk_status store_reminder_mark(
    struct store *st, const char *org, int days, time_t expires, int *fresh);

#endif
