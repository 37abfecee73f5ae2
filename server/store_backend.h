/*
 * store_backend.h - what a storage backend provides to store.c.
 *
 * store.c parses the storage URL, picks the backend whose scheme matches
 * and forwards every public store_* call to it, so callers never learn
 * which database they talk to. A backend implements every operation with
 * exactly the contract store.h documents for the public function of the
 * same name; impl is the backend's own handle, made by open and released
 * by close. Adding a backend means one more table like
 * store_sqlite_backend and one line in store.c's list; the conformance
 * suite (tests/unit/store) then runs against it too.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kk_status.h"
#include "model.h"
#include "store.h"

/*
 * Paging helpers for backends. A page asks the database for one record
 * more than it answers: that record tells whether another page follows,
 * without counting the rest of the table.
 */
static inline int64_t
store_page_fetch(const struct store_page *pg)
{
	return pg != NULL && pg->limit > 0 && pg->limit < INT64_MAX
	           ? (int64_t)pg->limit + 1
	           : INT64_MAX;
}

/* Whether a list of n records holds that extra record: sets more, and the
 * caller drops the last record. */
static inline int
store_page_over(struct store_page *pg, size_t n)
{
	if (pg == NULL || pg->limit == 0 || n <= pg->limit)
		return 0;
	pg->more = 1;
	return 1;
}

struct store_backend {
	/* URL prefix this backend answers to, e.g. "sqlite:". */
	const char *scheme;
	/* rest is the URL after the scheme; *impl is released by close. */
	enum kk_status (*open)(const char *rest, void **impl);
	void (*close)(void *impl);

	enum kk_status (*begin)(void *impl);
	enum kk_status (*commit)(void *impl);
	void (*rollback)(void *impl);
	/* NULL: a commit others can see is durable already. */
	enum kk_status (*settle)(void *impl);
	/* NULL: commits are durable inside COMMIT (store_defer_durability). */
	void (*defer)(void *impl, int on);

	enum kk_status (*account_insert)(void *impl, const struct account *a);
	enum kk_status (*account_get)(
	    void *impl, const char *id, struct account **out);
	enum kk_status (*account_by_thumbprint)(
	    void *impl, const char *thumbprint, struct account **out);
	enum kk_status (*account_update)(void *impl, const struct account *a);
	enum kk_status (*account_count_by_ip)(
	    void *impl, const char *ip, time_t since, int *n);

	enum kk_status (*order_insert)(void *impl, const struct order *o);
	enum kk_status (*order_get)(
	    void *impl, const char *id, struct order **out);
	enum kk_status (*order_by_authz)(
	    void *impl, const char *authz_id, struct order **out);
	enum kk_status (*order_update)(void *impl, const struct order *o);
	enum kk_status (*order_ids_by_account)(
	    void *impl, const char *account_id, char ***out, size_t *n);
	enum kk_status (*order_count_by_account)(
	    void *impl, const char *account_id, time_t since, int *n);
	enum kk_status (*order_ids_by_org)(void *impl, const char *org,
	    enum acme_status status, char ***out, size_t *n);
	enum kk_status (*authz_ids_by_org)(void *impl, const char *org,
	    enum acme_status status, char ***out, size_t *n);

	enum kk_status (*authz_insert)(void *impl, const struct authz *a);
	enum kk_status (*authz_get)(
	    void *impl, const char *id, struct authz **out);
	enum kk_status (*authz_update)(void *impl, const struct authz *a);
	enum kk_status (*authz_list_by_order)(
	    void *impl, const char *order_id, struct authz ***out, size_t *n);

	enum kk_status (*challenge_insert)(
	    void *impl, const struct challenge *c);
	enum kk_status (*challenge_get)(
	    void *impl, const char *id, struct challenge **out);
	enum kk_status (*challenge_list_by_authz)(void *impl,
	    const char *authz_id, struct challenge ***out, size_t *n);
	enum kk_status (*challenge_update)(
	    void *impl, const struct challenge *c);

	enum kk_status (*expire)(void *impl, time_t now, int *n);

	enum kk_status (*verification_insert)(
	    void *impl, const struct verification *v);
	enum kk_status (*verification_get)(
	    void *impl, const char *id, struct verification **out);
	enum kk_status (*verification_by_challenge)(
	    void *impl, const char *challenge_id, struct verification **out);
	enum kk_status (*verification_update)(
	    void *impl, const struct verification *v);
	enum kk_status (*verification_list)(void *impl, enum acme_status status,
	    const char *org, struct store_page *pg, struct verification ***out,
	    size_t *n);
	enum kk_status (*approval_insert)(
	    void *impl, const char *verification_id, const struct approval *ap);

	enum kk_status (*org_put)(void *impl, const struct org *o);
	enum kk_status (*org_get)(void *impl, const char *id, struct org **out);
	enum kk_status (*org_list)(
	    void *impl, struct store_page *pg, struct org ***out, size_t *n);

	enum kk_status (*cert_insert)(void *impl, const struct cert *c);
	enum kk_status (*cert_get)(
	    void *impl, const char *serial, struct cert **out);
	enum kk_status (*cert_revoke)(
	    void *impl, const char *serial, time_t at, int reason);
	enum kk_status (*cert_list)(void *impl, const char *org,
	    enum acme_status status, struct store_page *pg, struct cert ***out,
	    size_t *n);

	enum kk_status (*cert_count)(
	    void *impl, enum acme_status status, int64_t *n);
	enum kk_status (*crl_get)(
	    void *impl, const char *issuer, struct crl_state **out);
	enum kk_status (*crl_put)(void *impl, const struct crl_state *c);

	enum kk_status (*eab_insert)(void *impl, const struct eab_key *k);
	enum kk_status (*eab_get)(
	    void *impl, const char *kid, struct eab_key **out);
	enum kk_status (*eab_use)(void *impl, const char *kid);
	enum kk_status (*eab_expire)(void *impl, const char *kid, time_t at);

	enum kk_status (*token_insert)(void *impl, const struct op_token *t);
	enum kk_status (*token_by_hash)(
	    void *impl, const unsigned char hash[32], struct op_token **out);
	enum kk_status (*token_revoke)(void *impl, const char *name, time_t at);

	enum kk_status (*audit_append)(void *impl, const struct audit_event *e);
	enum kk_status (*cert_list_cn)(void *impl, const char *cn,
	    const char *org, enum acme_status status, struct store_page *pg,
	    struct cert ***out, size_t *n);
	enum kk_status (*attachment_insert)(
	    void *impl, const struct attachment *a);
	enum kk_status (*attachment_get)(void *impl,
	    const char *verification_id, const char *sha256,
	    struct attachment **out);
	enum kk_status (*attachment_list)(void *impl,
	    const char *verification_id, struct attachment ***out, size_t *n);
	enum kk_status (*audit_list)(void *impl, time_t since,
	    struct store_page *pg, struct audit_event ***out, size_t *n);

	enum kk_status (*counter_next)(
	    void *impl, const char *name, int64_t *out);

	/* store_registry_put is put_many of one. */
	enum kk_status (*registry_put_many)(void *impl,
	    const struct registry_entry *e, size_t n, size_t *stored);
	enum kk_status (*registry_get)(
	    void *impl, const char *number, struct registry_entry **out);
	enum kk_status (*outbox_add)(void *impl, const struct outbox_item *it);
	enum kk_status (*outbox_claim)(void *impl, time_t now, time_t lease,
	    size_t max, struct outbox_item ***out, size_t *n);
	enum kk_status (*outbox_settle)(void *impl, const struct delivery *d,
	    enum outbox_state state, time_t next_at);
	enum kk_status (*delivery_list)(
	    void *impl, int64_t outbox_id, struct delivery ***out, size_t *n);
	enum kk_status (*reminder_mark)(
	    void *impl, const char *org, int days, time_t expires, int *fresh);

	/* NULL in backends that one process uses alone (store.h). */
	enum kk_status (*nonce_put)(
	    void *impl, const char *nonce, time_t expires);
	enum kk_status (*nonce_take)(void *impl, const char *nonce, time_t now);

	/* Organization domains and renewal information (store.h). */
	enum kk_status (*org_domain_add)(void *impl, const char *org,
	    const char *name, const char *added_by, time_t at);
	enum kk_status (*org_domain_owner)(
	    void *impl, const char *name, char **org);
	enum kk_status (*org_domain_list)(
	    void *impl, const char *org, char ***out, size_t *n);
	enum kk_status (*org_domain_grant)(
	    void *impl, const char *authz_id, const char *org);
	enum kk_status (*org_domain_authz_ids)(void *impl, const char *org,
	    enum acme_status status, char ***out, size_t *n);
	enum kk_status (*authz_reusable)(void *impl, const char *account_id,
	    const char *id_type, const char *id_value, time_t now,
	    struct authz **out);
	enum kk_status (*order_ids_by_authz)(
	    void *impl, const char *authz_id, char ***out, size_t *n);
	enum kk_status (*authz_count_by_account)(
	    void *impl, const char *account_id, time_t since, int *n);
	enum kk_status (*renewal_get)(
	    void *impl, const char *serial, struct renewal **out);
	enum kk_status (*renewal_set_window)(
	    void *impl, const char *serial, time_t start, time_t end);
	enum kk_status (*renewal_set_replaced)(
	    void *impl, const char *serial, const char *order_id);

	/* Lookups of many keys (store.h): n > 0, *out NULL on entry. */
	enum kk_status (*account_get_many)(void *impl, const char *const *ids,
	    size_t n, struct account ***out);
	enum kk_status (*order_get_many)(
	    void *impl, const char *const *ids, size_t n, struct order ***out);
	enum kk_status (*renewal_get_many)(void *impl,
	    const char *const *serials, size_t n, struct renewal ***out);
	enum kk_status (*registry_get_many)(void *impl,
	    const char *const *numbers, size_t n, struct registry_entry ***out);
};

/* SQLite, "sqlite:PATH" (store_sqlite.c). */
extern const struct store_backend store_sqlite_backend;

/* PostgreSQL, "postgresql://..." or "postgres://..." (store_pg.c), in
 * builds with libpq. */
extern const struct store_backend store_pg_backend;
extern const struct store_backend store_pg_short_backend;

#endif
