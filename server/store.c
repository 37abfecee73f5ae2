/*
 * store.c - picks the storage backend named by the URL and forwards every
 * call to it. Output arguments are cleared here, once for all backends, so
 * that a failure leaves nothing for the caller to free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_log.h"
#include "store.h"
#include "store_backend.h"

struct store {
	const struct store_backend *be;
	void *impl;
};

static const struct store_backend *const backends[] = {
    &store_sqlite_backend,
#ifdef KAKUIN_HAVE_PG
    &store_pg_backend,
    &store_pg_short_backend,
#endif
};

#ifdef KAKUIN_HAVE_PG
#define PG_HINT " or postgresql://USER@HOST:PORT/DB"
#else
#define PG_HINT ""
#endif

/* The longest scheme we would ever echo back in a message. */
#define SCHEME_MAX 32

/*
 * Names the scheme of an unsupported URL without echoing the rest, which
 * may hold a password ("postgresql://user:secret@host/db").
 */
static void
log_unsupported(const char *url)
{
	size_t len;

	len = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                  "0123456789+.-");
	if (len == 0 || len > SCHEME_MAX || url[len] != ':') {
		kk_log("store: storage URL has no scheme; expected "
		       "sqlite:PATH" PG_HINT);
		return;
	}
	kk_log("store: %.*s%s is not supported by this build; use "
	       "sqlite:PATH" PG_HINT,
	    (int)len, url, strncmp(url + len, "://", 3) == 0 ? "://" : ":");
}

enum kk_status
store_open(const char *url, struct store **out)
{
	const struct store_backend *be = NULL;
	struct store *st = NULL;
	enum kk_status rc;
	size_t i, len;

	if (out == NULL)
		return KK_EINVAL;
	*out = NULL;
	if (url == NULL) {
		kk_log("store: no storage URL given");
		return KK_EINVAL;
	}
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		len = strlen(backends[i]->scheme);
		if (strncmp(url, backends[i]->scheme, len) == 0) {
			be = backends[i];
			break;
		}
	}
	if (be == NULL) {
		log_unsupported(url);
		return KK_EINVAL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return KK_ENOMEM;
	st->be = be;
	if ((rc = be->open(url + len, &st->impl)) != KK_OK)
		goto out;
	*out = st;
	st = NULL;
out:
	free(st);
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->be->close(st->impl);
	free(st);
}

enum kk_status
store_begin(struct store *st)
{
	return st->be->begin(st->impl);
}

enum kk_status
store_commit(struct store *st)
{
	return st->be->commit(st->impl);
}

void
store_rollback(struct store *st)
{
	st->be->rollback(st->impl);
}

enum kk_status
store_settle(struct store *st)
{
	return st->be->settle != NULL ? st->be->settle(st->impl) : KK_OK;
}

void
store_defer_durability(struct store *st, int on)
{
	if (st->be->defer != NULL)
		st->be->defer(st->impl, on);
}

/*
 * Forwarding. Getters and lists clear their outputs first, so that every
 * backend fails the same way: *out NULL, *n 0.
 */

enum kk_status
store_account_insert(struct store *st, const struct account *a)
{
	return st->be->account_insert(st->impl, a);
}

enum kk_status
store_account_get(struct store *st, const char *id, struct account **out)
{
	*out = NULL;
	return st->be->account_get(st->impl, id, out);
}

enum kk_status
store_account_by_thumbprint(
    struct store *st, const char *thumbprint, struct account **out)
{
	*out = NULL;
	return st->be->account_by_thumbprint(st->impl, thumbprint, out);
}

enum kk_status
store_account_update(struct store *st, const struct account *a)
{
	return st->be->account_update(st->impl, a);
}

enum kk_status
store_account_count_by_ip(
    struct store *st, const char *ip, time_t since, int *n)
{
	*n = 0;
	return st->be->account_count_by_ip(st->impl, ip, since, n);
}

enum kk_status
store_order_insert(struct store *st, const struct order *o)
{
	return st->be->order_insert(st->impl, o);
}

enum kk_status
store_order_get(struct store *st, const char *id, struct order **out)
{
	*out = NULL;
	return st->be->order_get(st->impl, id, out);
}

enum kk_status
store_order_by_authz(struct store *st, const char *authz_id, struct order **out)
{
	*out = NULL;
	return st->be->order_by_authz(st->impl, authz_id, out);
}

enum kk_status
store_order_update(struct store *st, const struct order *o)
{
	return st->be->order_update(st->impl, o);
}

enum kk_status
store_order_ids_by_account(
    struct store *st, const char *account_id, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->order_ids_by_account(st->impl, account_id, out, n);
}

enum kk_status
store_order_ids_by_org(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->order_ids_by_org(st->impl, org, status, out, n);
}

enum kk_status
store_authz_ids_by_org(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->authz_ids_by_org(st->impl, org, status, out, n);
}

enum kk_status
store_order_count_by_account(
    struct store *st, const char *account_id, time_t since, int *n)
{
	*n = 0;
	return st->be->order_count_by_account(st->impl, account_id, since, n);
}

enum kk_status
store_authz_insert(struct store *st, const struct authz *a)
{
	return st->be->authz_insert(st->impl, a);
}

enum kk_status
store_authz_get(struct store *st, const char *id, struct authz **out)
{
	*out = NULL;
	return st->be->authz_get(st->impl, id, out);
}

enum kk_status
store_authz_list_by_order(
    struct store *st, const char *order_id, struct authz ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->authz_list_by_order(st->impl, order_id, out, n);
}

enum kk_status
store_authz_update(struct store *st, const struct authz *a)
{
	return st->be->authz_update(st->impl, a);
}

enum kk_status
store_challenge_insert(struct store *st, const struct challenge *c)
{
	return st->be->challenge_insert(st->impl, c);
}

enum kk_status
store_challenge_get(struct store *st, const char *id, struct challenge **out)
{
	*out = NULL;
	return st->be->challenge_get(st->impl, id, out);
}

enum kk_status
store_challenge_list_by_authz(
    struct store *st, const char *authz_id, struct challenge ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->challenge_list_by_authz(st->impl, authz_id, out, n);
}

enum kk_status
store_challenge_update(struct store *st, const struct challenge *c)
{
	return st->be->challenge_update(st->impl, c);
}

enum kk_status
store_expire(struct store *st, time_t now, int *n)
{
	if (n != NULL)
		*n = 0;
	return st->be->expire(st->impl, now, n);
}

enum kk_status
store_verification_insert(struct store *st, const struct verification *v)
{
	return st->be->verification_insert(st->impl, v);
}

enum kk_status
store_verification_get(
    struct store *st, const char *id, struct verification **out)
{
	*out = NULL;
	return st->be->verification_get(st->impl, id, out);
}

enum kk_status
store_verification_by_challenge(
    struct store *st, const char *challenge_id, struct verification **out)
{
	*out = NULL;
	return st->be->verification_by_challenge(st->impl, challenge_id, out);
}

enum kk_status
store_verification_update(struct store *st, const struct verification *v)
{
	return st->be->verification_update(st->impl, v);
}

enum kk_status
store_verification_list(struct store *st, enum acme_status status,
    const char *org, struct store_page *pg, struct verification ***out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (pg != NULL)
		pg->more = 0;
	return st->be->verification_list(st->impl, status, org, pg, out, n);
}

enum kk_status
store_approval_insert(
    struct store *st, const char *verification_id, const struct approval *ap)
{
	return st->be->approval_insert(st->impl, verification_id, ap);
}

enum kk_status
store_org_put(struct store *st, const struct org *o)
{
	return st->be->org_put(st->impl, o);
}

enum kk_status
store_org_get(struct store *st, const char *id, struct org **out)
{
	*out = NULL;
	return st->be->org_get(st->impl, id, out);
}

enum kk_status
store_org_list(
    struct store *st, struct store_page *pg, struct org ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (pg != NULL)
		pg->more = 0;
	return st->be->org_list(st->impl, pg, out, n);
}

enum kk_status
store_cert_insert(struct store *st, const struct cert *c)
{
	return st->be->cert_insert(st->impl, c);
}

enum kk_status
store_cert_get(struct store *st, const char *serial, struct cert **out)
{
	*out = NULL;
	return st->be->cert_get(st->impl, serial, out);
}

enum kk_status
store_cert_revoke(struct store *st, const char *serial, time_t at, int reason)
{
	return st->be->cert_revoke(st->impl, serial, at, reason);
}

enum kk_status
store_cert_list(struct store *st, const char *org, enum acme_status status,
    struct store_page *pg, struct cert ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (pg != NULL)
		pg->more = 0;
	return st->be->cert_list(st->impl, org, status, pg, out, n);
}

enum kk_status
store_eab_insert(struct store *st, const struct eab_key *k)
{
	return st->be->eab_insert(st->impl, k);
}

enum kk_status
store_eab_get(struct store *st, const char *kid, struct eab_key **out)
{
	*out = NULL;
	return st->be->eab_get(st->impl, kid, out);
}

enum kk_status
store_eab_use(struct store *st, const char *kid)
{
	return st->be->eab_use(st->impl, kid);
}

enum kk_status
store_eab_expire(struct store *st, const char *kid, time_t at)
{
	return st->be->eab_expire(st->impl, kid, at);
}

enum kk_status
store_cert_count(struct store *st, enum acme_status status, int64_t *n)
{
	*n = 0;
	return st->be->cert_count(st->impl, status, n);
}

enum kk_status
store_crl_get(struct store *st, const char *issuer, struct crl_state **out)
{
	*out = NULL;
	return st->be->crl_get(st->impl, issuer, out);
}

enum kk_status
store_crl_put(struct store *st, const struct crl_state *c)
{
	if (c->issuer == NULL || c->der == NULL || c->der_len == 0 ||
	    c->number <= 0)
		return KK_EINVAL;
	return st->be->crl_put(st->impl, c);
}

enum kk_status
store_token_insert(struct store *st, const struct op_token *t)
{
	return st->be->token_insert(st->impl, t);
}

enum kk_status
store_token_by_hash(
    struct store *st, const unsigned char hash[32], struct op_token **out)
{
	*out = NULL;
	return st->be->token_by_hash(st->impl, hash, out);
}

enum kk_status
store_token_revoke(struct store *st, const char *name, time_t at)
{
	return st->be->token_revoke(st->impl, name, at);
}

enum kk_status
store_cert_list_cn(struct store *st, const char *cn, const char *org,
    enum acme_status status, struct store_page *pg, struct cert ***out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (pg != NULL)
		pg->more = 0;
	return st->be->cert_list_cn(st->impl, cn, org, status, pg, out, n);
}

enum kk_status
store_attachment_insert(struct store *st, const struct attachment *a)
{
	return st->be->attachment_insert(st->impl, a);
}

enum kk_status
store_attachment_get(struct store *st, const char *verification_id,
    const char *sha256, struct attachment **out)
{
	*out = NULL;
	return st->be->attachment_get(st->impl, verification_id, sha256, out);
}

enum kk_status
store_attachment_list(struct store *st, const char *verification_id,
    struct attachment ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->attachment_list(st->impl, verification_id, out, n);
}

enum kk_status
store_audit_append(struct store *st, const struct audit_event *e)
{
	return st->be->audit_append(st->impl, e);
}

enum kk_status
store_audit_list(struct store *st, time_t since, struct store_page *pg,
    struct audit_event ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (pg != NULL)
		pg->more = 0;
	return st->be->audit_list(st->impl, since, pg, out, n);
}

enum kk_status
store_counter_next(struct store *st, const char *name, int64_t *out)
{
	*out = 0;
	return st->be->counter_next(st->impl, name, out);
}

int
store_shares_nonces(struct store *st)
{
	return st->be->nonce_put != NULL && st->be->nonce_take != NULL;
}

enum kk_status
store_nonce_put(struct store *st, const char *nonce, time_t expires)
{
	if (st->be->nonce_put == NULL)
		return KK_EINVAL;
	return st->be->nonce_put(st->impl, nonce, expires);
}

enum kk_status
store_nonce_take(struct store *st, const char *nonce, time_t now)
{
	if (st->be->nonce_take == NULL)
		return KK_EINVAL;
	return st->be->nonce_take(st->impl, nonce, now);
}

/* Organization domains and renewal information. */

enum kk_status
store_org_domain_add(struct store *st, const char *org, const char *name,
    const char *added_by, time_t at)
{
	return st->be->org_domain_add(st->impl, org, name, added_by, at);
}

enum kk_status
store_org_domain_owner(struct store *st, const char *name, char **org)
{
	*org = NULL;
	return st->be->org_domain_owner(st->impl, name, org);
}

enum kk_status
store_org_domain_list(struct store *st, const char *org, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->org_domain_list(st->impl, org, out, n);
}

enum kk_status
store_org_domain_grant(struct store *st, const char *authz_id, const char *org)
{
	return st->be->org_domain_grant(st->impl, authz_id, org);
}

enum kk_status
store_org_domain_authz_ids(struct store *st, const char *org,
    enum acme_status status, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->org_domain_authz_ids(st->impl, org, status, out, n);
}

enum kk_status
store_authz_reusable(struct store *st, const char *account_id,
    const char *id_type, const char *id_value, time_t now, struct authz **out)
{
	*out = NULL;
	return st->be->authz_reusable(
	    st->impl, account_id, id_type, id_value, now, out);
}

enum kk_status
store_order_ids_by_authz(
    struct store *st, const char *authz_id, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->order_ids_by_authz(st->impl, authz_id, out, n);
}

enum kk_status
store_authz_count_by_account(
    struct store *st, const char *account_id, time_t since, int *n)
{
	*n = 0;
	return st->be->authz_count_by_account(st->impl, account_id, since, n);
}

enum kk_status
store_renewal_get(struct store *st, const char *serial, struct renewal **out)
{
	*out = NULL;
	return st->be->renewal_get(st->impl, serial, out);
}

enum kk_status
store_renewal_set_window(
    struct store *st, const char *serial, time_t start, time_t end)
{
	return st->be->renewal_set_window(st->impl, serial, start, end);
}

enum kk_status
store_renewal_set_replaced(
    struct store *st, const char *serial, const char *order_id)
{
	return st->be->renewal_set_replaced(st->impl, serial, order_id);
}

enum kk_status
store_registry_put(
    struct store *st, const struct registry_entry *e, int *stored)
{
	size_t n = 0;
	enum kk_status rc = st->be->registry_put_many(st->impl, e, 1, &n);

	if (stored != NULL)
		*stored = n > 0;
	return rc;
}

enum kk_status
store_registry_put_many(
    struct store *st, const struct registry_entry *e, size_t n, size_t *stored)
{
	*stored = 0;
	if (n == 0)
		return KK_OK;
	return st->be->registry_put_many(st->impl, e, n, stored);
}

enum kk_status
store_registry_get(
    struct store *st, const char *number, struct registry_entry **out)
{
	*out = NULL;
	return st->be->registry_get(st->impl, number, out);
}

enum kk_status
store_outbox_add(struct store *st, const struct outbox_item *it)
{
	return st->be->outbox_add(st->impl, it);
}

enum kk_status
store_outbox_claim(struct store *st, time_t now, time_t lease, size_t max,
    struct outbox_item ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->outbox_claim(st->impl, now, lease, max, out, n);
}

enum kk_status
store_outbox_settle(struct store *st, const struct delivery *d,
    enum outbox_state state, time_t next_at)
{
	return st->be->outbox_settle(st->impl, d, state, next_at);
}

enum kk_status
store_delivery_list(
    struct store *st, int64_t outbox_id, struct delivery ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->delivery_list(st->impl, outbox_id, out, n);
}

enum kk_status
store_reminder_mark(
    struct store *st, const char *org, int days, time_t expires, int *fresh)
{
	*fresh = 0;
	return st->be->reminder_mark(st->impl, org, days, expires, fresh);
}

enum kk_status
store_account_get_many(
    struct store *st, const char *const *ids, size_t n, struct account ***out)
{
	*out = NULL;
	return n == 0 ? KK_OK : st->be->account_get_many(st->impl, ids, n, out);
}

enum kk_status
store_order_get_many(
    struct store *st, const char *const *ids, size_t n, struct order ***out)
{
	*out = NULL;
	return n == 0 ? KK_OK : st->be->order_get_many(st->impl, ids, n, out);
}

enum kk_status
store_renewal_get_many(struct store *st, const char *const *serials, size_t n,
    struct renewal ***out)
{
	*out = NULL;
	return n == 0 ? KK_OK
	              : st->be->renewal_get_many(st->impl, serials, n, out);
}

enum kk_status
store_registry_get_many(struct store *st, const char *const *numbers, size_t n,
    struct registry_entry ***out)
{
	*out = NULL;
	return n == 0 ? KK_OK
	              : st->be->registry_get_many(st->impl, numbers, n, out);
}
