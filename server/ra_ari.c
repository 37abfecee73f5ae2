/*
 * The registration authority's part of renewal information (RFC 9773):
 * the window it suggests for each certificate, the operators' drill that
 * moves it, and the record of which order replaces which certificate.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kk_log.h"
#include "ra_internal.h"
#include "rfc3339.h"

/*
 * The default window: from a third of the lifetime left to a sixth left.
 * Its start is when a client without ARI renews (a third left), so the
 * two agree; the last sixth is left for retries.
 */
static void
default_window(const struct cert *c, struct ra_window *w)
{
	time_t life = c->not_after - c->not_before;

	if (life <= 0)
		life = 1;
	w->start = c->not_after - life / 3;
	w->end = c->not_after - life / 6;
	if (w->end <= w->start)
		w->end = w->start + 1;
}

enum kk_status
ra_renewal_window(struct ra *ra, const char *serial, struct ra_window *out)
{
	struct cert *c = NULL;
	struct renewal *r = NULL;
	enum kk_status st;

	memset(out, 0, sizeof(*out));
	if ((st = store_cert_get(ra->store, serial, &c)) != KK_OK)
		return st;
	st = store_renewal_get(ra->store, serial, &r);
	if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	st = KK_OK;
	if (c->status == ACME_STATUS_REVOKED) {
		/* Passed already: a client renews at once (RFC 9773 4.2). */
		out->start = c->revoked_at - 2 * 3600;
		out->end = c->revoked_at - 3600;
	} else if (r != NULL && r->end > r->start) {
		out->start = r->start;
		out->end = r->end;
		out->moved = 1;
	} else {
		default_window(c, out);
	}
out:
	cert_free(c);
	renewal_free(r);
	return st;
}

/* Sets one certificate's window and audits it, inside the transaction. */
static enum kk_status
move_one(struct ra *ra, const char *actor, const char *serial,
    const struct ra_window_move *m, time_t now)
{
	cJSON *d = cJSON_CreateObject();
	char a[RFC3339_LEN], b[RFC3339_LEN];
	enum kk_status st = KK_ENOMEM;

	rfc3339_format(m->start, a);
	rfc3339_format(m->end, b);
	if (d != NULL && cJSON_AddStringToObject(d, "start", a) != NULL &&
	    cJSON_AddStringToObject(d, "end", b) != NULL &&
	    (m->reason == NULL ||
	        cJSON_AddStringToObject(d, "reason", m->reason) != NULL) &&
	    (st = store_renewal_set_window(
	         ra->store, serial, m->start, m->end)) == KK_OK)
		st = audit_record(
		    ra->store, now, actor, "cert.renewal_window", serial, d);
	cJSON_Delete(d);
	return st;
}

/* One attempt at ra_renewal_window_move. */
static enum kk_status
renewal_window_move_once(struct ra *ra, const char *actor,
    const struct ra_window_move *m, time_t now, int *moved,
    const char **missing)
{
	struct cert **cs = NULL, *c = NULL;
	size_t n = 0;
	enum kk_status st;

	*moved = 0;
	if (missing != NULL)
		*missing = NULL;
	if (m->end <= m->start)
		return KK_EINVAL;
	if ((st = store_begin(ra->store)) != KK_OK)
		return st;
	if (m->org != NULL) {
		if ((st = store_cert_list(ra->store, m->org, ACME_STATUS_VALID,
		         NULL, &cs, &n)) != KK_OK)
			goto out;
		for (size_t i = 0; i < n && st == KK_OK; i++)
			if ((st = move_one(ra, actor, cs[i]->serial, m, now)) ==
			    KK_OK)
				(*moved)++;
	}
	for (size_t i = 0; i < m->n_serials && st == KK_OK; i++) {
		if ((st = store_cert_get(ra->store, m->serials[i], &c)) ==
		    KK_ENOTFOUND) {
			if (missing != NULL)
				*missing = m->serials[i];
			break;
		}
		cert_free(c);
		c = NULL;
		if (st == KK_OK &&
		    (st = move_one(ra, actor, m->serials[i], m, now)) == KK_OK)
			(*moved)++;
	}
out:
	for (size_t i = 0; i < n; i++)
		cert_free(cs[i]);
	free(cs);
	if ((st = ra_finish(ra, st)) != KK_OK) {
		*moved = 0;
		return st;
	}
	kk_log("renewal window of %d certificates moved by %s", *moved, actor);
	return KK_OK;
}

/*
 * The i-th identifier of an order whose authorizations are list (n of
 * them): theirs, or, for an order whose authorization names no order
 * (org orders, and those made before authorizations named orders), the
 * order's organization alone. NULL past the end.
 */
static const struct authz *
nth_identifier(
    struct authz *const *list, size_t n, const struct authz *org, size_t i)
{
	if (n > 0)
		return i < n ? list[i] : NULL;
	return i == 0 && org->id_value != NULL && *org->id_value != '\0' ? org
	                                                                 : NULL;
}

/*
 * Whether certificate c and order o share an identifier (RFC 9773 5),
 * by type and value: the certificate's are those of the order that
 * issued it (its dns names, its org identifier).
 */
static enum kk_status
shares_identifier(
    struct ra *ra, const struct cert *c, const struct order *o, int *yes)
{
	struct authz **ca = NULL, **oa = NULL, corg, oorg;
	const struct authz *x, *y;
	size_t nc = 0, no = 0;
	enum kk_status st = KK_OK;

	*yes = 0;
	memset(&corg, 0, sizeof(corg));
	memset(&oorg, 0, sizeof(oorg));
	corg.id_type = oorg.id_type = "org";
	corg.id_value = c->org;
	oorg.id_value = o->org;
	if ((c->order_id == NULL || (st = store_authz_list_by_order(ra->store,
	                                 c->order_id, &ca, &nc)) == KK_OK) &&
	    (st = store_authz_list_by_order(ra->store, o->id, &oa, &no)) ==
	        KK_OK)
		for (size_t i = 0;
		     !*yes && (x = nth_identifier(ca, nc, &corg, i)) != NULL;
		     i++)
			for (size_t j = 0; !*yes && (y = nth_identifier(oa, no,
			                                 &oorg, j)) != NULL;
			     j++)
				*yes = strcmp(x->id_type, y->id_type) == 0 &&
				       strcmp(x->id_value, y->id_value) == 0;
	for (size_t i = 0; i < nc; i++)
		authz_free(ca[i]);
	for (size_t i = 0; i < no; i++)
		authz_free(oa[i]);
	free(ca);
	free(oa);
	return st;
}

enum kk_status
ra_renewal_window_move(struct ra *ra, const char *actor,
    const struct ra_window_move *m, time_t now, int *moved,
    const char **missing)
{
	enum kk_status st;
	int tries = 0;

	do
		st =
		    renewal_window_move_once(ra, actor, m, now, moved, missing);
	while (ra_again(&st, &tries));
	return st;
}

enum kk_status
ra_renewal_replace(struct ra *ra, const struct account *acct,
    const char *serial, const struct order *o, const char **why)
{
	struct cert *c = NULL;
	struct renewal *r = NULL;
	struct order *prev = NULL;
	enum kk_status st;
	int shared = 0;

	if ((st = store_cert_get(ra->store, serial, &c)) != KK_OK)
		return st;
	if (strcmp(c->account_id, acct->id) != 0) {
		st = ra_refuse(why, "the certificate named by \"replaces\" "
		                    "belongs to another account");
		goto out;
	}
	if ((st = shares_identifier(ra, c, o, &shared)) != KK_OK)
		goto out;
	if (!shared) {
		if (why != NULL)
			*why = "the certificate named by \"replaces\" shares "
			       "no identifier with the order";
		st = KK_EINVAL;
		goto out;
	}
	st = store_renewal_get(ra->store, serial, &r);
	if (st == KK_OK && r->replaced_by != NULL) {
		/* RFC 9773 5: only an order that failed frees it again. */
		st = store_order_get(ra->store, r->replaced_by, &prev);
		if (st == KK_OK && prev->status != ACME_STATUS_INVALID) {
			st = KK_EEXIST;
			goto out;
		}
		if (st != KK_OK && st != KK_ENOTFOUND)
			goto out;
	} else if (st != KK_OK && st != KK_ENOTFOUND)
		goto out;
	st = store_renewal_set_replaced(ra->store, serial, o->id);
out:
	cert_free(c);
	renewal_free(r);
	order_free(prev);
	return st;
}
