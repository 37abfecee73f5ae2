/*
 * store_pg.c - the PostgreSQL storage backend ("postgresql://..." and
 * "postgres://...", libpq connection URIs).
 *
 * Several kakuin-server replicas may share one database, so everything
 * that must hold across them is the database's job: the schema version is
 * raised under an advisory lock, the audit log refuses UPDATE, DELETE and
 * TRUNCATE by trigger, counters are single UPSERT statements, and
 * store_begin() opens a SERIALIZABLE transaction. A transaction that loses
 * a race with another replica (SQLSTATE 40001 or 40P01) fails with
 * KK_ERACE, which the registration authority answers by running the
 * transaction again; every call made while the database is out of reach
 * fails with KK_EAGAIN, which the HTTP layer answers with 503 and
 * Retry-After.
 *
 * Inside one process the contract is the SQLite backend's: a transaction
 * belongs to the thread that began it and excludes every other thread
 * until it ends. A small pool of connections serves the calls made
 * outside transactions in parallel (each runs at READ COMMITTED, one
 * statement or one short transaction of its own); store_begin() waits for
 * them to finish and holds the gate until commit or rollback, so threads
 * of one process never fail each other's transactions.
 *
 * Every change is committed with synchronous_commit on before the call
 * (or store_commit()) returns. A lost connection is reopened by the next
 * call that needs it, never in the middle of a transaction: the calls of
 * a transaction that lost its connection fail until it ends. An idle
 * connection whose server has already hung up (restart, fail-over) is
 * noticed before use, so only calls racing the loss fail with KK_EAGAIN.
 *
 * All SQL is constant text below and every value reaches the server as a
 * parameter of PQexecParams. Errors are logged with the server's primary
 * message, which names tables and constraints; the DETAIL line, which may
 * quote values (and values may be secrets), is never logged. The URL is
 * never logged either: it may hold a password.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "kk_log.h"
#include "store_backend.h"

/* Seconds a connection attempt may take, unless the URL says. */
#define CONNECT_TIMEOUT "5"
/* Connections for the calls made outside a transaction. */
#define POOL_SIZE 4
/* The most parameters any statement below takes. */
#define MAX_PARAMS 12
/* pg_advisory_xact_lock key taken while migrating: "kakuin" in ASCII. */
#define MIGRATION_LOCK "117684894673262"

/*
 * The schema, one migration per element. Migration i brings the database
 * from version i to i + 1 in a transaction of its own, together with the
 * row recording it in schema_version. Never edit a migration that has
 * shipped: append the next one.
 *
 * Times are seconds since the epoch (BIGINT), as in model.h. The column n
 * records insertion order, which lists use to break ties (SQLite's rowid).
 * References between ACME objects are checked at commit (DEFERRABLE
 * INITIALLY DEFERRED), so that a transaction may insert an order and its
 * authorization in either order.
 */
static const char *const migrations[] = {
    /* 1: everything in model.h */
    "CREATE TABLE accounts ("
    " id TEXT PRIMARY KEY,"
    " status TEXT NOT NULL"
    " CHECK (status IN ('valid', 'deactivated', 'revoked')),"
    " jwk TEXT NOT NULL,"
    " thumbprint TEXT NOT NULL UNIQUE,"
    " contacts TEXT NOT NULL,"
    " org TEXT,"
    " eab_kid TEXT,"
    " created_ip TEXT,"
    " created_at BIGINT NOT NULL,"
    " tos_agreed INTEGER NOT NULL);"
    "CREATE INDEX accounts_by_ip ON accounts (created_ip, created_at);"

    "CREATE TABLE authzs ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES accounts (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " id_type TEXT NOT NULL,"
    " id_value TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'valid',"
    " 'invalid', 'deactivated', 'expired', 'revoked')),"
    " expires BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX authzs_by_expiry ON authzs (status, expires);"
    "CREATE INDEX authzs_by_org ON authzs (id_value, status);"

    "CREATE TABLE orders ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES accounts (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'ready',"
    " 'processing', 'valid', 'invalid')),"
    " org TEXT NOT NULL,"
    " authz_id TEXT NOT NULL REFERENCES authzs (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " profile TEXT,"
    " error TEXT,"
    " cert_serial TEXT,"
    " created_at BIGINT NOT NULL,"
    " expires BIGINT NOT NULL);"
    "CREATE INDEX orders_by_account ON orders (account_id, created_at);"
    "CREATE INDEX orders_by_authz ON orders (authz_id);"
    "CREATE INDEX orders_by_expiry ON orders (status, expires);"
    "CREATE INDEX orders_by_org ON orders (org, status);"

    "CREATE TABLE challenges ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " id TEXT PRIMARY KEY,"
    " authz_id TEXT NOT NULL REFERENCES authzs (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " type TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'processing',"
    " 'valid', 'invalid')),"
    " token TEXT NOT NULL,"
    " error TEXT,"
    " validated BIGINT NOT NULL);"
    "CREATE INDEX challenges_by_authz ON challenges (authz_id);"

    /* One verification per challenge: a second request is a conflict. */
    "CREATE TABLE verifications ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " id TEXT PRIMARY KEY,"
    " org TEXT NOT NULL,"
    " account_id TEXT NOT NULL REFERENCES accounts (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " authz_id TEXT NOT NULL REFERENCES authzs (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " challenge_id TEXT NOT NULL UNIQUE REFERENCES challenges (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " status TEXT NOT NULL"
    " CHECK (status IN ('processing', 'valid', 'invalid')),"
    " reason TEXT,"
    " requested_at BIGINT NOT NULL,"
    " decided_at BIGINT NOT NULL);"
    "CREATE INDEX verifications_by_status"
    " ON verifications (status, requested_at);"
    "CREATE INDEX verifications_by_org ON verifications (org, requested_at);"

    /* Dual control means two distinct operators: one approval each. */
    "CREATE TABLE approvals ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " verification_id TEXT NOT NULL REFERENCES verifications (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " operator_name TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " legal_name TEXT,"
    " country TEXT,"
    " evidence TEXT,"
    " at BIGINT NOT NULL,"
    " UNIQUE (verification_id, operator_name));"

    "CREATE TABLE orgs ("
    " id TEXT PRIMARY KEY,"
    " legal_name TEXT,"
    " country TEXT,"
    " method TEXT,"
    " verified_at BIGINT NOT NULL,"
    " expires BIGINT NOT NULL);"

    "CREATE TABLE certs ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " serial TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES accounts (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " order_id TEXT NOT NULL REFERENCES orders (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " org TEXT NOT NULL,"
    " cn TEXT,"
    " pem TEXT NOT NULL,"
    " spki_sha256 TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),"
    " not_before BIGINT NOT NULL,"
    " not_after BIGINT NOT NULL,"
    " revoked_at BIGINT NOT NULL,"
    " reason INTEGER NOT NULL);"
    "CREATE INDEX certs_by_org ON certs (org, status);"
    "CREATE INDEX certs_by_status ON certs (status);"

    "CREATE TABLE eab_keys ("
    " kid TEXT PRIMARY KEY,"
    " hmac_key BYTEA NOT NULL CHECK (length(hmac_key) > 0),"
    " org TEXT NOT NULL,"
    " created_by TEXT,"
    " created_at BIGINT NOT NULL,"
    " expires BIGINT NOT NULL,"
    " max_uses INTEGER NOT NULL CHECK (max_uses >= 0),"
    " uses INTEGER NOT NULL);"

    /* A name is unique among active tokens only, so a revoked token's
     * name can be given to its replacement. */
    "CREATE TABLE op_tokens ("
    " hash BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('operator', 'auditor')),"
    " created_at BIGINT NOT NULL,"
    " revoked_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX op_tokens_active_name ON op_tokens (name)"
    " WHERE revoked_at = 0;"

    /*
     * A sequence never hands a number out twice. The triggers refuse
     * changes to the log from any role, the server's included; a role
     * that owns the table could drop them, so a deployment that wants
     * more runs the server as a role without ownership (README.md).
     */
    "CREATE TABLE audit ("
    " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_by_time ON audit (at);"
    "CREATE FUNCTION audit_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"

    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY,"
    " value BIGINT NOT NULL);",

    /*
     * 2: ACME nonces shared by replicas. UNLOGGED: no WAL and no fsync
     * for a row written with every response; a crash or a fail-over
     * empties the table, and a client whose nonce is gone gets badNonce
     * with a fresh one and simply retries (RFC 8555 6.5).
     */
    "CREATE UNLOGGED TABLE nonces ("
    " value TEXT PRIMARY KEY,"
    " expires BIGINT NOT NULL);"
    "CREATE INDEX nonces_by_expiry ON nonces (expires);",

    /* 3: operator lists are paged in list order (store_page): indexes
     * in that order, so a page reads only its own rows. */
    "CREATE INDEX verifications_by_time ON verifications (requested_at, n);"
    "CREATE INDEX certs_by_n ON certs (n);"
    "CREATE INDEX certs_by_org_n ON certs (org, n);"
    "CREATE INDEX certs_by_status_n ON certs (status, n);",

    /* 4: documents attached to verifications, named by their SHA-256. */
    "CREATE TABLE attachments ("
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " verification_id TEXT NOT NULL REFERENCES verifications (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    " content_type TEXT NOT NULL,"
    " uploaded_by TEXT NOT NULL,"
    " uploaded_at BIGINT NOT NULL,"
    " size BIGINT NOT NULL,"
    " data BYTEA NOT NULL,"
    " PRIMARY KEY (verification_id, sha256));"
    /* Certificates searched by CN. */
    "CREATE INDEX certs_by_cn_n ON certs (cn, n);",
    /* 5: the current CRL of each issuer, which every replica serves
     * (crl.c); regenerating replicas take turns on its row lock. */
    "CREATE TABLE crls ("
    " issuer TEXT PRIMARY KEY,"
    " number BIGINT NOT NULL CHECK (number > 0),"
    " this_update BIGINT NOT NULL,"
    " next_update BIGINT NOT NULL,"
    " revoked BIGINT NOT NULL,"
    " der BYTEA NOT NULL);",

    /* 6: an order holds several authorizations (dns names besides or
     * instead of the org identifier): each points to its order. */
    "ALTER TABLE authzs ADD COLUMN order_id TEXT;"
    "ALTER TABLE authzs ADD COLUMN order_pos INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX authzs_by_order ON authzs (order_id, order_pos);",
    /* 7: organization domains, the authorizations they made valid, and
     * renewal information beside certificates. */
    "CREATE TABLE org_domains ("
    " name TEXT PRIMARY KEY,"
    " org TEXT NOT NULL,"
    " added_by TEXT NOT NULL,"
    " added_at BIGINT NOT NULL);"
    "CREATE INDEX org_domains_by_org ON org_domains (org, name);"
    "CREATE TABLE org_domain_grants ("
    " authz_id TEXT PRIMARY KEY REFERENCES authzs (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " org TEXT NOT NULL);"
    "CREATE INDEX org_domain_grants_by_org ON org_domain_grants (org);"
    "CREATE INDEX authzs_by_account"
    " ON authzs (account_id, id_type, id_value, status);"
    "CREATE TABLE cert_renewals ("
    " serial TEXT PRIMARY KEY REFERENCES certs (serial)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " window_start BIGINT NOT NULL,"
    " window_end BIGINT NOT NULL,"
    " replaced_by TEXT REFERENCES orders (id)"
    " DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX cert_renewals_by_order ON cert_renewals (replaced_by);",

    /* 8: the operator's desk: the corporate-number registry, the
     * notification outbox, its delivery attempts and the expiry
     * reminders already taken care of. */
    "CREATE TABLE registry ("
    " number TEXT PRIMARY KEY CHECK (length(number) = 13),"
    " name TEXT NOT NULL,"
    " furigana TEXT,"
    " en_name TEXT,"
    " address TEXT NOT NULL,"
    " post_code TEXT,"
    " kind TEXT NOT NULL,"
    " update_date TEXT NOT NULL,"
    " close_date TEXT,"
    " close_cause TEXT,"
    " seq BIGINT NOT NULL);"

    "CREATE TABLE outbox ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " event TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " next_at BIGINT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),"
    " lease_until BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_due ON outbox (state, next_at);"

    "CREATE TABLE deliveries ("
    " outbox_id BIGINT NOT NULL REFERENCES outbox (id),"
    " event TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " error TEXT,"
    " at BIGINT NOT NULL,"
    " n BIGINT GENERATED ALWAYS AS IDENTITY,"
    " PRIMARY KEY (outbox_id, attempt));"

    "CREATE TABLE reminders ("
    " org TEXT NOT NULL,"
    " days INTEGER NOT NULL,"
    " expires BIGINT NOT NULL,"
    " PRIMARY KEY (org, days, expires));",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define ACCOUNT_COLS                                                           \
	"id, status, jwk, thumbprint, contacts, org, eab_kid, created_ip,"     \
	" created_at, tos_agreed"
#define ORDER_COLS                                                             \
	"id, account_id, status, org, authz_id, profile, error, cert_serial,"  \
	" created_at, expires"
#define AUTHZ_COLS                                                             \
	"id, account_id, id_type, id_value, status, expires, created_at,"      \
	" order_id, order_pos"
#define CHALLENGE_COLS "id, authz_id, type, status, token, error, validated"
#define VERIFICATION_COLS                                                      \
	"id, org, account_id, authz_id, challenge_id, status, reason,"         \
	" requested_at, decided_at"
#define APPROVAL_COLS "operator_name, method, legal_name, country, evidence, at"
#define ORG_COLS "id, legal_name, country, method, verified_at, expires"
#define CERT_COLS                                                              \
	"serial, account_id, order_id, org, cn, pem, spki_sha256, status,"     \
	" not_before, not_after, revoked_at, reason"
#define EAB_COLS                                                               \
	"kid, hmac_key, org, created_by, created_at, expires, max_uses, uses"
#define TOKEN_COLS "name, role, hash, created_at, revoked_at"
#define CRL_COLS "issuer, number, this_update, next_update, revoked, der"
#define AUDIT_COLS "seq, at, actor, action, object, detail"

/*
 * Lists are ordered by their documented key, then by n (insertion order),
 * so that records made in the same second keep a stable order.
 */
#define SQL_ACCOUNT_INSERT                                                     \
	"INSERT INTO accounts (" ACCOUNT_COLS ")"                              \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
#define SQL_ACCOUNT_GET "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1"
#define SQL_ACCOUNT_BY_THUMBPRINT                                              \
	"SELECT " ACCOUNT_COLS " FROM accounts WHERE thumbprint = $1"
#define SQL_ACCOUNT_UPDATE                                                     \
	"UPDATE accounts SET status = $2, jwk = $3, thumbprint = $4,"          \
	" contacts = $5, org = $6 WHERE id = $1"
#define SQL_ACCOUNT_COUNT_BY_IP                                                \
	"SELECT count(*) FROM accounts WHERE created_ip = $1"                  \
	" AND created_at >= $2"

#define SQL_ORDER_INSERT                                                       \
	"INSERT INTO orders (" ORDER_COLS ")"                                  \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
/* What is read of an order: its columns and the certificate it replaces. */
#define ORDER_READ                                                             \
	ORDER_COLS ", (SELECT serial FROM cert_renewals"                       \
	           " WHERE replaced_by = orders.id LIMIT 1)"
#define SQL_ORDER_GET "SELECT " ORDER_READ " FROM orders WHERE id = $1"
#define SQL_ORDER_BY_AUTHZ                                                     \
	"SELECT " ORDER_READ " FROM orders WHERE authz_id = $1"                \
	" ORDER BY created_at DESC, n DESC LIMIT 1"
#define SQL_ORDER_UPDATE                                                       \
	"UPDATE orders SET status = $2, error = $3, cert_serial = $4,"         \
	" expires = $5 WHERE id = $1"
#define SQL_ORDER_IDS_BY_ACCOUNT                                               \
	"SELECT id FROM orders WHERE account_id = $1"                          \
	" ORDER BY created_at DESC, n DESC"
#define SQL_ORDER_IDS_BY_ORG                                                   \
	"SELECT id FROM orders WHERE org = $1 AND status = $2"                 \
	" ORDER BY created_at DESC, n DESC"
#define SQL_AUTHZ_IDS_BY_ORG                                                   \
	"SELECT id FROM authzs WHERE id_value = $1 AND status = $2"            \
	" ORDER BY created_at DESC, n DESC"
#define SQL_ORDER_COUNT_BY_ACCOUNT                                             \
	"SELECT count(*) FROM orders WHERE account_id = $1"                    \
	" AND created_at >= $2"

#define SQL_AUTHZ_INSERT                                                       \
	"INSERT INTO authzs (" AUTHZ_COLS ")"                                  \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
#define SQL_AUTHZ_GET "SELECT " AUTHZ_COLS " FROM authzs WHERE id = $1"
#define SQL_AUTHZ_UPDATE                                                       \
	"UPDATE authzs SET status = $2, expires = $3 WHERE id = $1"
#define SQL_AUTHZ_LIST_BY_ORDER                                                \
	"SELECT " AUTHZ_COLS " FROM authzs WHERE order_id = $1"                \
	" ORDER BY order_pos"

#define SQL_CHALLENGE_INSERT                                                   \
	"INSERT INTO challenges (" CHALLENGE_COLS ")"                          \
	" VALUES ($1, $2, $3, $4, $5, $6, $7)"
#define SQL_CHALLENGE_GET                                                      \
	"SELECT " CHALLENGE_COLS " FROM challenges WHERE id = $1"
#define SQL_CHALLENGE_LIST_BY_AUTHZ                                            \
	"SELECT " CHALLENGE_COLS " FROM challenges WHERE authz_id = $1"        \
	" ORDER BY n"
#define SQL_CHALLENGE_UPDATE                                                   \
	"UPDATE challenges SET status = $2, error = $3, validated = $4"        \
	" WHERE id = $1"

/* expires = 0 means unset (model.h), never "long ago". */
#define SQL_EXPIRE_ORDERS                                                      \
	"UPDATE orders SET status = 'invalid'"                                 \
	" WHERE status IN ('pending', 'ready') AND expires > 0"                \
	" AND expires < $1"
#define SQL_EXPIRE_AUTHZS                                                      \
	"UPDATE authzs SET status = 'expired'"                                 \
	" WHERE status IN ('pending', 'valid') AND expires > 0"                \
	" AND expires < $1"

#define SQL_VERIFICATION_INSERT                                                \
	"INSERT INTO verifications (" VERIFICATION_COLS ")"                    \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
#define SQL_VERIFICATION_GET                                                   \
	"SELECT " VERIFICATION_COLS " FROM verifications WHERE id = $1"
#define SQL_VERIFICATION_BY_CHALLENGE                                          \
	"SELECT " VERIFICATION_COLS " FROM verifications"                      \
	" WHERE challenge_id = $1"
#define SQL_VERIFICATION_UPDATE                                                \
	"UPDATE verifications SET status = $2, reason = $3, decided_at = $4"   \
	" WHERE id = $1"
/* A NULL filter matches every row; the planner still sees a constant. */
#define SQL_VERIFICATION_LIST                                                  \
	"SELECT " VERIFICATION_COLS " FROM verifications"                      \
	" WHERE ($1::text IS NULL OR status = $1)"                             \
	" AND ($2::text IS NULL OR org = $2)"                                  \
	" AND (requested_at, n) > ($3, $4) ORDER BY requested_at, n LIMIT $5"
/* Where a page starts (store_page): the place of its key in list order. */
#define SQL_VERIFICATION_POS                                                   \
	"SELECT requested_at, n FROM verifications WHERE id = $1"
#define SQL_APPROVAL_INSERT                                                    \
	"INSERT INTO approvals (verification_id, " APPROVAL_COLS ")"           \
	" VALUES ($1, $2, $3, $4, $5, $6, $7)"
/* The approvals of several verifications ($1, a text[] literal), grouped
 * by verification in the array's order, each group in the order given:
 * one round trip for a whole page (the unique key's index finds them). */
#define SQL_APPROVAL_LIST                                                      \
	"SELECT verification_id, " APPROVAL_COLS " FROM approvals"             \
	" WHERE verification_id = ANY ($1::text[])"                            \
	" ORDER BY array_position($1::text[], verification_id), n"

#define SQL_ORG_PUT                                                            \
	"INSERT INTO orgs (" ORG_COLS ") VALUES ($1, $2, $3, $4, $5, $6)"      \
	" ON CONFLICT (id) DO UPDATE SET legal_name = EXCLUDED.legal_name,"    \
	" country = EXCLUDED.country, method = EXCLUDED.method,"               \
	" verified_at = EXCLUDED.verified_at, expires = EXCLUDED.expires"
#define SQL_ORG_GET "SELECT " ORG_COLS " FROM orgs WHERE id = $1"
#define SQL_ORG_LIST                                                           \
	"SELECT " ORG_COLS " FROM orgs WHERE id > $1 ORDER BY id LIMIT $2"
#define SQL_ORG_EXISTS "SELECT 1 FROM orgs WHERE id = $1"

#define SQL_CERT_INSERT                                                        \
	"INSERT INTO certs (" CERT_COLS ")"                                    \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
#define SQL_CERT_GET "SELECT " CERT_COLS " FROM certs WHERE serial = $1"
/* The first revocation's time and reason are what the CRL keeps. */
#define SQL_CERT_REVOKE                                                        \
	"UPDATE certs SET status = 'revoked', revoked_at = $2, reason = $3"    \
	" WHERE serial = $1 AND status = 'valid'"
#define SQL_CERT_EXISTS "SELECT 1 FROM certs WHERE serial = $1"
#define SQL_CERT_LIST                                                          \
	"SELECT " CERT_COLS " FROM certs"                                      \
	" WHERE ($1::text IS NULL OR org = $1)"                                \
	" AND ($2::text IS NULL OR status = $2) AND n < $3"                    \
	" ORDER BY n DESC LIMIT $4"
#define SQL_CERT_POS "SELECT n, 0 FROM certs WHERE serial = $1"
#define SQL_CERT_LIST_CN                                                       \
	"SELECT " CERT_COLS " FROM certs WHERE cn = $1"                        \
	" AND ($2::text IS NULL OR org = $2)"                                  \
	" AND ($3::text IS NULL OR status = $3) AND n < $4"                    \
	" ORDER BY n DESC LIMIT $5"

#define SQL_CERT_COUNT                                                         \
	"SELECT count(*) FROM certs WHERE ($1::text IS NULL OR status = $1)"

#define SQL_CRL_GET "SELECT " CRL_COLS " FROM crls WHERE issuer = $1"
/* Inside a transaction: a replica that wants to regenerate waits here
 * for the one doing so, and then (SERIALIZABLE) fails to serialize and
 * starts again, seeing the new CRL. */
#define SQL_CRL_LOCK SQL_CRL_GET " FOR UPDATE"
/* A lower number never replaces a higher one. */
#define SQL_CRL_PUT                                                            \
	"INSERT INTO crls (" CRL_COLS ") VALUES ($1, $2, $3, $4, $5, $6)"      \
	" ON CONFLICT (issuer) DO UPDATE SET number = excluded.number,"        \
	" this_update = excluded.this_update,"                                 \
	" next_update = excluded.next_update, revoked = excluded.revoked,"     \
	" der = excluded.der WHERE crls.number < excluded.number"

#define SQL_EAB_INSERT                                                         \
	"INSERT INTO eab_keys (" EAB_COLS ")"                                  \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
#define SQL_EAB_GET "SELECT " EAB_COLS " FROM eab_keys WHERE kid = $1"
/* Check and count in one statement: two racing uses of the last allowed
 * one cannot both succeed (the second re-reads the row it waited for). */
#define SQL_EAB_USE                                                            \
	"UPDATE eab_keys SET uses = uses + 1"                                  \
	" WHERE kid = $1 AND (max_uses = 0 OR uses < max_uses)"
#define SQL_EAB_EXISTS "SELECT 1 FROM eab_keys WHERE kid = $1"
#define SQL_EAB_EXPIRE                                                         \
	"UPDATE eab_keys SET expires = $2 WHERE kid = $1"                      \
	" AND (expires = 0 OR expires > $2)"

#define SQL_TOKEN_INSERT                                                       \
	"INSERT INTO op_tokens (" TOKEN_COLS ") VALUES ($1, $2, $3, $4, $5)"
#define SQL_TOKEN_BY_HASH                                                      \
	"SELECT " TOKEN_COLS " FROM op_tokens"                                 \
	" WHERE hash = $1 AND revoked_at = 0"
#define SQL_TOKEN_REVOKE                                                       \
	"UPDATE op_tokens SET revoked_at = $2"                                 \
	" WHERE name = $1 AND revoked_at = 0"

#define ATTACHMENT_COLS                                                        \
	"verification_id, sha256, content_type, uploaded_by, uploaded_at, "    \
	"size"
#define SQL_ATTACHMENT_INSERT                                                  \
	"INSERT INTO attachments (" ATTACHMENT_COLS ", data)"                  \
	" VALUES ($1, $2, $3, $4, $5, $6, $7)"
#define SQL_ATTACHMENT_GET                                                     \
	"SELECT " ATTACHMENT_COLS ", data FROM attachments"                    \
	" WHERE verification_id = $1 AND sha256 = $2"
#define SQL_ATTACHMENT_LIST                                                    \
	"SELECT " ATTACHMENT_COLS ", NULL FROM attachments"                    \
	" WHERE verification_id = $1 ORDER BY uploaded_at, n"
#define SQL_AUDIT_APPEND                                                       \
	"INSERT INTO audit (at, actor, action, object, detail)"                \
	" VALUES ($1, $2, $3, $4, $5)"
#define SQL_AUDIT_LIST                                                         \
	"SELECT " AUDIT_COLS " FROM audit WHERE at >= $1 AND seq > $2"         \
	" ORDER BY seq LIMIT $3"
#define SQL_AUDIT_POS "SELECT seq, 0 FROM audit WHERE seq = $1"

#define SQL_NONCE_PUT "INSERT INTO nonces (value, expires) VALUES ($1, $2)"
/* One statement: of two replicas redeeming a nonce at once, one deletes
 * the row and the other finds none. */
#define SQL_NONCE_TAKE                                                         \
	"DELETE FROM nonces WHERE value = $1 AND expires >= $2 RETURNING 1"
#define SQL_NONCE_PURGE "DELETE FROM nonces WHERE expires < $1"
/* Nonces issued between two purges of the expired ones. */
#define NONCE_PURGE_EVERY 1024

/* One statement, so two replicas never get the same value. */
#define SQL_COUNTER_NEXT                                                       \
	"INSERT INTO counters (name, value) VALUES ($1, 1)"                    \
	" ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"         \
	" RETURNING value"

#define RENEWAL_COLS "serial, window_start, window_end, replaced_by"
#define SQL_DOMAIN_ADD                                                         \
	"INSERT INTO org_domains (name, org, added_by, added_at)"              \
	" VALUES ($1, $2, $3, $4)"
#define SQL_DOMAIN_OWNER "SELECT org FROM org_domains WHERE name = $1"
#define SQL_DOMAIN_LIST                                                        \
	"SELECT name FROM org_domains WHERE org = $1 ORDER BY name"
#define SQL_DOMAIN_GRANT                                                       \
	"INSERT INTO org_domain_grants (authz_id, org) VALUES ($1, $2)"
#define SQL_DOMAIN_AUTHZ_IDS                                                   \
	"SELECT a.id FROM org_domain_grants g"                                 \
	" JOIN authzs a ON a.id = g.authz_id"                                  \
	" WHERE g.org = $1 AND a.status = $2"                                  \
	" ORDER BY a.created_at DESC, a.n DESC"
#define SQL_AUTHZ_REUSABLE                                                     \
	"SELECT " AUTHZ_COLS " FROM authzs WHERE account_id = $1"              \
	" AND id_type = $2 AND id_value = $3 AND status = 'valid'"             \
	" AND expires > $4 ORDER BY expires DESC, n DESC LIMIT 1"
#define SQL_AUTHZ_COUNT_BY_ACCOUNT                                             \
	"SELECT count(*) FROM authzs WHERE account_id = $1"                    \
	" AND created_at >= $2"
#define SQL_ORDER_IDS_BY_AUTHZ                                                 \
	"SELECT id FROM orders WHERE authz_id = $1"                            \
	" ORDER BY created_at DESC, n DESC"
#define SQL_RENEWAL_GET                                                        \
	"SELECT " RENEWAL_COLS " FROM cert_renewals WHERE serial = $1"
#define SQL_RENEWAL_WINDOW                                                     \
	"INSERT INTO cert_renewals (" RENEWAL_COLS ")"                         \
	" VALUES ($1, $2, $3, NULL) ON CONFLICT (serial) DO UPDATE SET"        \
	" window_start = EXCLUDED.window_start,"                               \
	" window_end = EXCLUDED.window_end"
#define SQL_RENEWAL_REPLACED                                                   \
	"INSERT INTO cert_renewals (" RENEWAL_COLS ")"                         \
	" VALUES ($1, 0, 0, $2) ON CONFLICT (serial) DO UPDATE SET"            \
	" replaced_by = EXCLUDED.replaced_by"

#define REGISTRY_COLS                                                          \
	"number, name, furigana, en_name, address, post_code, kind,"           \
	" update_date, close_date, close_cause, seq"
/* One statement per batch: the arrays are the batch's columns. */
#define SQL_REGISTRY_PUT_MANY                                                  \
	"INSERT INTO registry (" REGISTRY_COLS ")"                             \
	" SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"            \
	" $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"         \
	" $9::text[], $10::text[], $11::bigint[])"                             \
	" ON CONFLICT (number) DO UPDATE SET"                                  \
	" name = excluded.name, furigana = excluded.furigana,"                 \
	" en_name = excluded.en_name, address = excluded.address,"             \
	" post_code = excluded.post_code, kind = excluded.kind,"               \
	" update_date = excluded.update_date,"                                 \
	" close_date = excluded.close_date,"                                   \
	" close_cause = excluded.close_cause, seq = excluded.seq"              \
	" WHERE excluded.update_date > registry.update_date"
#define SQL_REGISTRY_GET                                                       \
	"SELECT " REGISTRY_COLS " FROM registry WHERE number = $1"
#define OUTBOX_COLS                                                            \
	"id, event, subject, target, payload, created_at, next_at, attempts,"  \
	" state"
#define SQL_OUTBOX_ADD                                                         \
	"INSERT INTO outbox (event, subject, target, payload, created_at,"     \
	" next_at, attempts, state)"                                           \
	" VALUES ($1, $2, $3, $4, $5, $6, 0, 'pending')"
/* SKIP LOCKED: replicas claiming at the same moment take disjoint rows
 * instead of waiting for (and then re-reading) each other's. */
#define SQL_OUTBOX_CLAIM                                                       \
	"UPDATE outbox SET lease_until = $2 WHERE id IN"                       \
	" (SELECT id FROM outbox WHERE state = 'pending'"                      \
	" AND next_at <= $1 AND lease_until <= $1"                             \
	" ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"                        \
	" RETURNING " OUTBOX_COLS
#define DELIVERY_COLS "outbox_id, event, target, attempt, status, error, at"
#define SQL_DELIVERY_ADD                                                       \
	"INSERT INTO deliveries (" DELIVERY_COLS ")"                           \
	" SELECT id, event, target, attempts + 1, $2::integer, $3::text,"      \
	" $4::bigint"                                                          \
	" FROM outbox WHERE id = $1"
#define SQL_OUTBOX_SETTLE                                                      \
	"UPDATE outbox SET attempts = attempts + 1, state = $2,"               \
	" next_at = $3, lease_until = 0 WHERE id = $1"
#define SQL_DELIVERY_LIST                                                      \
	"SELECT " DELIVERY_COLS " FROM deliveries"                             \
	" WHERE $1::bigint = 0 OR outbox_id = $1::bigint ORDER BY n"
#define SQL_REMINDER_MARK                                                      \
	"INSERT INTO reminders (org, days, expires) VALUES ($1, $2, $3)"       \
	" ON CONFLICT DO NOTHING"

struct pg {
	char *url; /* libpq URI; may hold a password, so never logged */
	pthread_mutex_t lock;     /* guards the members up to tx_key */
	pthread_cond_t cond;      /* signalled whenever one of them changes */
	PGconn *conns[POOL_SIZE]; /* NULL until first needed */
	int busy[POOL_SIZE];
	int calls;            /* calls running outside a transaction */
	int tx_open;          /* a thread holds a transaction */
	int tx_waiting;       /* threads waiting in store_begin() */
	pthread_key_t tx_key; /* non-NULL in the thread holding the tx */
	/* Used only by the thread holding the transaction. */
	int tx_slot;
	enum kk_status tx_failed; /* KK_OK, or why the tx cannot commit */
	unsigned nonces_put;      /* guarded by lock */
};

/* The connection one backend call uses, and how it took it. */
struct call {
	struct pg *p;
	PGconn *c;
	int slot;    /* pool slot taken, or -1 inside a transaction */
	int group;   /* a statement group opened by call_begin */
	int refused; /* the server refused a statement */
};

/* What call_begin opens around the statements of one call. */
enum group {
	G_NONE,      /* one read: nothing */
	G_STATEMENT, /* one change: a savepoint inside a transaction */
	G_CHANGE,    /* changes: a transaction, or a savepoint inside one */
	G_SNAPSHOT,  /* several reads that must agree: a snapshot */
};

/* Positional parameters, each text or binary; the first error sticks. */
struct params {
	const char *v[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	char num[MAX_PARAMS][24];
	int n;
	int bad;
};

/* Reads columns of one row in order, keeping the first error. */
struct reader {
	PGresult *res;
	int row;
	int col;
	enum kk_status rc;
};

typedef enum kk_status (*row_fn)(PGresult *res, int row, void *out);

static void
p_text(struct params *pa, const char *v)
{
	if (pa->n == MAX_PARAMS) {
		pa->bad = 1;
		return;
	}
	pa->v[pa->n] = v; /* NULL is SQL NULL */
	pa->len[pa->n] = 0;
	pa->fmt[pa->n] = 0;
	pa->n++;
}

static void
p_int(struct params *pa, int64_t v)
{
	if (pa->n == MAX_PARAMS) {
		pa->bad = 1;
		return;
	}
	snprintf(pa->num[pa->n], sizeof(pa->num[0]), "%" PRId64, v);
	p_text(pa, pa->num[pa->n]);
}

/* States are stored by name (acme_status.h), which the schema's CHECK
 * constraints know; ACME_STATUS_NONE is "unknown", which they refuse. */
static void
p_status(struct params *pa, enum acme_status st)
{
	p_text(pa, acme_status_name(st));
}

/* A list filter: ACME_STATUS_NONE matches any state (SQL NULL). */
static void
p_filter(struct params *pa, enum acme_status st)
{
	p_text(pa, st != ACME_STATUS_NONE ? acme_status_name(st) : NULL);
}

/* Binary, so that BYTEA needs no escaping; NULL v is SQL NULL. */
static void
p_blob(struct params *pa, const void *v, size_t len)
{
	if (pa->n == MAX_PARAMS || len > INT_MAX) {
		pa->bad = 1;
		return;
	}
	pa->v[pa->n] = v;
	pa->len[pa->n] = (int)len;
	pa->fmt[pa->n] = 1;
	pa->n++;
}

/* Connections and the gate between transactions and other calls. */

/* The length of m's first line: libpq's messages end in newlines and
 * may go on with hints, and a log line is one line. */
static int
line_len(const char *m)
{
	return (int)strcspn(m, "\n");
}

/* The server's primary message: never DETAIL, which may quote values. */
static const char *
primary(const PGresult *res, PGconn *c)
{
	const char *m = NULL;

	if (res != NULL)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (m == NULL && c != NULL)
		m = PQerrorMessage(c);
	return m != NULL && *m != '\0' ? m : "unknown error";
}

/*
 * Translates a failed statement. Constraint failures are the caller's
 * business (a taken key, a missing referenced record, a value the schema
 * refuses); losing a race is KK_ERACE, losing the server KK_EAGAIN;
 * the rest is a backend failure worth a log line.
 */
static enum kk_status
fail(PGconn *c, const PGresult *res, const char *what)
{
	const char *st = NULL, *m;

	if (res != NULL)
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (PQstatus(c) == CONNECTION_BAD) {
		kk_log("store: %s: the connection to PostgreSQL was lost; "
		       "the next call reconnects",
		    what);
		return KK_EAGAIN;
	}
	if (res == NULL)
		return KK_ENOMEM; /* libpq makes no result only then */
	if (st == NULL)
		st = "";
	if (strcmp(st, "23505") == 0)
		return KK_EEXIST;
	if (strcmp(st, "23503") == 0) {
		kk_log(
		    "store: %s: refers to a record that does not exist", what);
		return KK_ENOTFOUND;
	}
	if (strcmp(st, "23502") == 0 || strcmp(st, "23514") == 0) {
		m = primary(res, c);
		kk_log("store: %s: %.*s", what, line_len(m), m);
		return KK_EINVAL;
	}
	/* Serialization failure or deadlock: the transaction can be run
	 * again at once. Not logged: the retry is routine under load, and
	 * the caller logs the one that gives up. */
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return KK_ERACE;
	/* Connection exceptions, server shutting down or short of
	 * resources: worth trying again later. */
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 ||
	    strncmp(st, "53", 2) == 0) {
		m = primary(res, c);
		kk_log("store: %s: %.*s (SQLSTATE %s); try again", what,
		    line_len(m), m, st);
		return KK_EAGAIN;
	}
	m = primary(res, c);
	kk_log("store: %s: %.*s", what, line_len(m), m);
	return KK_EIO;
}

/* Runs SQL that carries no values (settings, transaction control). */
static enum kk_status
exec_plain(PGconn *c, const char *sql, const char *what)
{
	PGresult *res;
	enum kk_status rc = KK_OK;

	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = fail(c, res, what);
	PQclear(res);
	return rc;
}

/*
 * Whether the server of an idle connection has spoken since its last
 * answer. It has nothing to say to a healthy idle session of ours (no
 * LISTEN), so input waiting is its goodbye (a restart, a fail-over,
 * pg_terminate_backend) or the closed socket. Such a connection still
 * looks fine until read from; noticing now serves the request on a new
 * one instead of failing it with 503. A harmless message (a changed
 * setting reported) costs only a reconnection.
 */
static int
said_goodbye(PGconn *c)
{
	struct pollfd pfd = {PQsocket(c), POLLIN, 0};

	return pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

/*
 * Makes sure a pool slot has a working connection, (re)connecting if it
 * has none or lost it. Every session commits synchronously whatever the
 * server's default, and keeps notices (e.g. "relation already exists,
 * skipping") out of the server's log.
 */
static enum kk_status
conn_ready(struct pg *p, int slot)
{
	/* connect_timeout before dbname: the URL's own value, if it has
	 * one, comes later and wins. Without one, a database host that
	 * went silent would hold a request's thread for the system's TCP
	 * timeout, minutes, instead of answering 503 soon. */
	static const char *const keys[] = {
	    "connect_timeout", "dbname", "fallback_application_name", NULL};
	const char *vals[] = {CONNECT_TIMEOUT, p->url, "kakuin-server", NULL};
	PGconn *c = p->conns[slot];
	enum kk_status rc;

	if (c != NULL && PQstatus(c) == CONNECTION_OK && !said_goodbye(c))
		return KK_OK;
	if (c != NULL)
		kk_log("store: a connection to PostgreSQL was lost; "
		       "reconnecting");
	PQfinish(c);
	p->conns[slot] = NULL;
	/* expand_dbname: the URL sets every parameter it names. */
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL)
		return KK_ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq names host and user here, never the password. */
		kk_log("store: cannot connect to PostgreSQL: %.*s",
		    line_len(PQerrorMessage(c)), PQerrorMessage(c));
		PQfinish(c);
		return KK_EAGAIN;
	}
	rc = exec_plain(c,
	    "SET synchronous_commit = on; SET client_min_messages = warning;"
	    " SET client_encoding = 'UTF8'",
	    "session settings");
	if (rc != KK_OK) {
		PQfinish(c);
		return rc;
	}
	p->conns[slot] = c;
	return KK_OK;
}

/* Takes a free pool slot: call with the lock held and slot_free() true. */
static int
take_slot(struct pg *p)
{
	int i;

	for (i = 0; i < POOL_SIZE; i++)
		if (!p->busy[i]) {
			p->busy[i] = 1;
			return i;
		}
	abort(); /* the callers waited for a free one */
}

static int
slot_free(const struct pg *p)
{
	int i;

	for (i = 0; i < POOL_SIZE; i++)
		if (!p->busy[i])
			return 1;
	return 0;
}

static void
give_slot(struct pg *p, int slot)
{
	pthread_mutex_lock(&p->lock);
	p->busy[slot] = 0;
	p->calls--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static int
in_tx(struct pg *p)
{
	return pthread_getspecific(p->tx_key) != NULL;
}

/*
 * Starts one backend call: inside the calling thread's transaction, on
 * its connection; otherwise on a pool connection, once no transaction is
 * open or waiting (waiting transactions go first, so a stream of short
 * calls cannot starve them). Then opens the statement group g.
 */
static enum kk_status
call_begin(struct pg *p, struct call *k, enum group g)
{
	enum kk_status rc;
	const char *sql = NULL;

	k->p = p;
	k->group = G_NONE;
	k->refused = 0;
	if (in_tx(p)) {
		/* A transaction that failed has been rolled back by the
		 * server: a call now would commit on its own. */
		if (p->tx_failed != KK_OK) {
			kk_log("store: the open transaction failed "
			       "earlier; it can only be rolled back");
			return p->tx_failed;
		}
		k->slot = -1;
		k->c = p->conns[p->tx_slot];
		/* So that a failed change undoes itself, not the caller's
		 * whole transaction (which the server would abort). */
		if (g == G_CHANGE || g == G_STATEMENT)
			sql = "SAVEPOINT kk_call";
	} else {
		pthread_mutex_lock(&p->lock);
		while (p->tx_open || p->tx_waiting > 0 || !slot_free(p))
			pthread_cond_wait(&p->cond, &p->lock);
		k->slot = take_slot(p);
		p->calls++;
		pthread_mutex_unlock(&p->lock);
		if ((rc = conn_ready(p, k->slot)) != KK_OK) {
			give_slot(p, k->slot);
			return rc;
		}
		k->c = p->conns[k->slot];
		/* One statement commits on its own: no BEGIN needed. */
		if (g == G_CHANGE)
			sql = "BEGIN";
		else if (g == G_SNAPSHOT)
			sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
	}
	if (sql != NULL) {
		if ((rc = exec_plain(k->c, sql, sql)) != KK_OK) {
			if (k->slot >= 0)
				give_slot(p, k->slot);
			else
				p->tx_failed = rc;
			return rc;
		}
		k->group = k->slot < 0 ? G_CHANGE : g;
	}
	return KK_OK;
}

/*
 * Ends the call begun by call_begin, whose statements returned rc:
 * commits or undoes its group, and gives its connection back. Returns rc,
 * or the commit's failure.
 */
static enum kk_status
call_end(struct call *k, enum kk_status rc)
{
	struct pg *p = k->p;
	enum kk_status end;

	if (k->slot < 0) {
		if (k->group == G_CHANGE) {
			end = exec_plain(k->c,
			    rc == KK_OK ? "RELEASE SAVEPOINT kk_call"
			                : "ROLLBACK TO SAVEPOINT kk_call;"
			                  " RELEASE SAVEPOINT kk_call",
			    "savepoint");
			if (end != KK_OK)
				p->tx_failed = end;
		} else if (k->refused)
			p->tx_failed = rc; /* the server aborted the tx */
		/* Lost races and connections doom the whole transaction. */
		if (rc == KK_EAGAIN || rc == KK_ERACE)
			p->tx_failed = rc;
		return rc;
	}
	if (k->group != G_NONE) {
		if (rc == KK_OK)
			rc = exec_plain(k->c, "COMMIT", "commit");
		else
			(void)exec_plain(k->c, "ROLLBACK", "rollback");
	}
	give_slot(p, k->slot);
	/* Outside a transaction nobody runs the call again for the
	 * caller: to it, a lost race is a database not answering. */
	if (rc == KK_ERACE) {
		kk_log("store: a call lost a race with another transaction; "
		       "try again");
		rc = KK_EAGAIN;
	}
	return rc;
}

/*
 * Runs one statement of a call. A result with rows is kept in *out (may
 * be NULL: not wanted), which the caller clears; *changed (may be NULL)
 * gets the number of rows a change touched.
 */
static enum kk_status
step(struct call *k, const char *sql, const struct params *pa, const char *what,
    PGresult **out, int *changed)
{
	PGresult *res;
	ExecStatusType es;
	enum kk_status rc = KK_OK;

	if (out != NULL)
		*out = NULL;
	if (pa->bad) {
		kk_log("store: %s: a parameter is too large", what);
		return KK_EINVAL;
	}
	res = PQexecParams(k->c, sql, pa->n, NULL, pa->v, pa->len, pa->fmt, 0);
	es = PQresultStatus(res);
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		k->refused = 1;
		rc = fail(k->c, res, what);
		PQclear(res);
		return rc;
	}
	if (changed != NULL)
		*changed = atoi(PQcmdTuples(res));
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return KK_OK;
}

/* Column readers. */

static char *
col_text(struct reader *r)
{
	char *v;
	int col = r->col++;

	if (r->rc != KK_OK || PQgetisnull(r->res, r->row, col))
		return NULL;
	if ((v = strdup(PQgetvalue(r->res, r->row, col))) == NULL)
		r->rc = KK_ENOMEM;
	return v;
}

/* A state column: a name the schema allowed, else the row is corrupt. */
static enum acme_status
col_status(struct reader *r)
{
	enum acme_status st;
	int col = r->col++;

	if (r->rc != KK_OK || PQgetisnull(r->res, r->row, col))
		return ACME_STATUS_NONE;
	st = acme_status_parse(PQgetvalue(r->res, r->row, col));
	if (st == ACME_STATUS_NONE)
		r->rc = KK_EIO;
	return st;
}

static int64_t
col_int(struct reader *r)
{
	int col = r->col++;

	if (r->rc != KK_OK || PQgetisnull(r->res, r->row, col))
		return 0;
	return (int64_t)strtoll(PQgetvalue(r->res, r->row, col), NULL, 10);
}

/* A BYTEA column (text form, "\x..." hex) in memory of the caller's. */
static unsigned char *
col_blob(struct reader *r, size_t *len)
{
	unsigned char *raw, *v = NULL;
	size_t n = 0;
	int col = r->col++;

	*len = 0;
	if (r->rc != KK_OK || PQgetisnull(r->res, r->row, col))
		return NULL;
	raw = PQunescapeBytea(
	    (const unsigned char *)PQgetvalue(r->res, r->row, col), &n);
	if (raw == NULL) {
		r->rc = KK_ENOMEM;
		return NULL;
	}
	if (n > 0) {
		if ((v = malloc(n)) == NULL)
			r->rc = KK_ENOMEM;
		else {
			memcpy(v, raw, n);
			*len = n;
		}
	}
	PQfreemem(raw);
	return v;
}

/* Row readers: each makes one record from row `row` of res. */

static enum kk_status
account_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct account *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return KK_ENOMEM;
	a->id = col_text(&r);
	a->status = col_status(&r);
	a->jwk = col_text(&r);
	a->thumbprint = col_text(&r);
	a->contacts = col_text(&r);
	a->org = col_text(&r);
	a->eab_kid = col_text(&r);
	a->created_ip = col_text(&r);
	a->created_at = (time_t)col_int(&r);
	a->tos_agreed = (int)col_int(&r);
	if (r.rc != KK_OK) {
		account_free(a);
		return r.rc;
	}
	*(struct account **)out = a;
	return KK_OK;
}

static enum kk_status
order_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct order *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return KK_ENOMEM;
	o->id = col_text(&r);
	o->account_id = col_text(&r);
	o->status = col_status(&r);
	o->org = col_text(&r);
	o->authz_id = col_text(&r);
	o->profile = col_text(&r);
	o->error = col_text(&r);
	o->cert_serial = col_text(&r);
	o->created_at = (time_t)col_int(&r);
	o->expires = (time_t)col_int(&r);
	o->replaces = col_text(&r);
	if (r.rc != KK_OK) {
		order_free(o);
		return r.rc;
	}
	*(struct order **)out = o;
	return KK_OK;
}

static enum kk_status
authz_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct authz *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return KK_ENOMEM;
	a->id = col_text(&r);
	a->account_id = col_text(&r);
	a->id_type = col_text(&r);
	a->id_value = col_text(&r);
	a->status = col_status(&r);
	a->expires = (time_t)col_int(&r);
	a->created_at = (time_t)col_int(&r);
	a->order_id = col_text(&r);
	a->order_pos = (int)col_int(&r);
	if (r.rc != KK_OK) {
		authz_free(a);
		return r.rc;
	}
	*(struct authz **)out = a;
	return KK_OK;
}

static enum kk_status
challenge_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct challenge *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->id = col_text(&r);
	c->authz_id = col_text(&r);
	c->type = col_text(&r);
	c->status = col_status(&r);
	c->token = col_text(&r);
	c->error = col_text(&r);
	c->validated = (time_t)col_int(&r);
	if (r.rc != KK_OK) {
		challenge_free(c);
		return r.rc;
	}
	*(struct challenge **)out = c;
	return KK_OK;
}

/* The verification without its approvals (approvals_load adds them). */
static enum kk_status
verification_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct verification *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return KK_ENOMEM;
	v->id = col_text(&r);
	v->org = col_text(&r);
	v->account_id = col_text(&r);
	v->authz_id = col_text(&r);
	v->challenge_id = col_text(&r);
	v->status = col_status(&r);
	v->reason = col_text(&r);
	v->requested_at = (time_t)col_int(&r);
	v->decided_at = (time_t)col_int(&r);
	if (r.rc != KK_OK) {
		verification_free(v);
		return r.rc;
	}
	*(struct verification **)out = v;
	return KK_OK;
}

static enum kk_status
org_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct org *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return KK_ENOMEM;
	o->id = col_text(&r);
	o->legal_name = col_text(&r);
	o->country = col_text(&r);
	o->method = col_text(&r);
	o->verified_at = (time_t)col_int(&r);
	o->expires = (time_t)col_int(&r);
	if (r.rc != KK_OK) {
		org_free(o);
		return r.rc;
	}
	*(struct org **)out = o;
	return KK_OK;
}

static enum kk_status
cert_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct cert *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->serial = col_text(&r);
	c->account_id = col_text(&r);
	c->order_id = col_text(&r);
	c->org = col_text(&r);
	c->cn = col_text(&r);
	c->pem = col_text(&r);
	c->spki_sha256 = col_text(&r);
	c->status = col_status(&r);
	c->not_before = (time_t)col_int(&r);
	c->not_after = (time_t)col_int(&r);
	c->revoked_at = (time_t)col_int(&r);
	c->reason = (int)col_int(&r);
	if (r.rc != KK_OK) {
		cert_free(c);
		return r.rc;
	}
	*(struct cert **)out = c;
	return KK_OK;
}

static enum kk_status
eab_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct eab_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return KK_ENOMEM;
	k->kid = col_text(&r);
	k->hmac_key = col_blob(&r, &k->hmac_key_len);
	k->org = col_text(&r);
	k->created_by = col_text(&r);
	k->created_at = (time_t)col_int(&r);
	k->expires = (time_t)col_int(&r);
	k->max_uses = (int)col_int(&r);
	k->uses = (int)col_int(&r);
	if (r.rc != KK_OK) {
		eab_key_free(k);
		return r.rc;
	}
	*(struct eab_key **)out = k;
	return KK_OK;
}

static enum kk_status
token_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct op_token *t;
	unsigned char *hash;
	size_t len;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return KK_ENOMEM;
	t->name = col_text(&r);
	t->role = col_text(&r);
	hash = col_blob(&r, &len);
	if (hash != NULL && len == sizeof(t->hash))
		memcpy(t->hash, hash, len);
	else if (r.rc == KK_OK)
		r.rc = KK_EIO; /* the schema's CHECK makes this impossible */
	free(hash);
	t->created_at = (time_t)col_int(&r);
	t->revoked_at = (time_t)col_int(&r);
	if (r.rc != KK_OK) {
		op_token_free(t);
		return r.rc;
	}
	*(struct op_token **)out = t;
	return KK_OK;
}

static enum kk_status
audit_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct audit_event *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return KK_ENOMEM;
	e->seq = col_int(&r);
	e->at = (time_t)col_int(&r);
	e->actor = col_text(&r);
	e->action = col_text(&r);
	e->object = col_text(&r);
	e->detail = col_text(&r);
	if (r.rc != KK_OK) {
		audit_event_free(e);
		return r.rc;
	}
	*(struct audit_event **)out = e;
	return KK_OK;
}

static enum kk_status
id_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	char *id;

	id = col_text(&r);
	if (r.rc == KK_OK && id == NULL)
		r.rc = KK_EIO; /* ids are NOT NULL */
	if (r.rc != KK_OK)
		return r.rc;
	*(char **)out = id;
	return KK_OK;
}

/*
 * Makes every row of res into a new array of T * through ROW: the list
 * convention of store.h (an empty list is NULL, 0).
 */
#define DEFINE_COLLECT(NAME, T, ROW, FREE)                                     \
	static enum kk_status NAME(PGresult *res, T ***out, size_t *n)         \
	{                                                                      \
		T **arr = NULL;                                                \
		size_t len = 0, rows = (size_t)PQntuples(res);                 \
		enum kk_status rc = KK_OK;                                     \
                                                                               \
		if (rows == 0)                                                 \
			return KK_OK;                                          \
		if ((arr = calloc(rows, sizeof(*arr))) == NULL)                \
			return KK_ENOMEM;                                      \
		for (; len < rows; len++)                                      \
			if ((rc = ROW(res, (int)len, &arr[len])) != KK_OK)     \
				goto out;                                      \
		*out = arr;                                                    \
		*n = len;                                                      \
		arr = NULL;                                                    \
		len = 0;                                                       \
	out:                                                                   \
		while (len > 0)                                                \
			FREE(arr[--len]);                                      \
		free(arr);                                                     \
		return rc;                                                     \
	}

DEFINE_COLLECT(collect_ids, char, id_row, free)
DEFINE_COLLECT(
    collect_challenges, struct challenge, challenge_row, challenge_free)
DEFINE_COLLECT(collect_authzs, struct authz, authz_row, authz_free)
DEFINE_COLLECT(collect_verifications, struct verification, verification_row,
    verification_free)
DEFINE_COLLECT(collect_orgs, struct org, org_row, org_free)
DEFINE_COLLECT(collect_certs, struct cert, cert_row, cert_free)
DEFINE_COLLECT(collect_audit, struct audit_event, audit_row, audit_event_free)

/* ATTACHMENT_COLS and data (NULL in lists). */
static enum kk_status
attachment_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct attachment *a;
	size_t len;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return KK_ENOMEM;
	a->verification_id = col_text(&r);
	a->sha256 = col_text(&r);
	a->content_type = col_text(&r);
	a->uploaded_by = col_text(&r);
	a->uploaded_at = (time_t)col_int(&r);
	a->size = (size_t)col_int(&r);
	if (r.rc == KK_OK && !PQgetisnull(res, row, r.col)) {
		a->data = col_blob(&r, &len);
		if (r.rc == KK_OK && len != a->size)
			r.rc = KK_EIO;
	}
	if (r.rc != KK_OK) {
		attachment_free(a);
		return r.rc;
	}
	*(struct attachment **)out = a;
	return KK_OK;
}

DEFINE_COLLECT(
    collect_attachments, struct attachment, attachment_row, attachment_free)

/* Generic calls. */

/*
 * A change of one statement. must_change: an update that touches no row
 * is KK_ENOTFOUND.
 */
static enum kk_status
change(struct pg *p, const char *sql, const struct params *pa, const char *what,
    int must_change)
{
	struct call k;
	enum kk_status rc;
	int n = 0;

	if ((rc = call_begin(p, &k, G_STATEMENT)) != KK_OK)
		return rc;
	rc = step(&k, sql, pa, what, NULL, &n);
	if (rc == KK_OK && must_change && n == 0) {
		/* Nothing changed: nothing to undo either. */
		(void)call_end(&k, KK_OK);
		return KK_ENOTFOUND;
	}
	return call_end(&k, rc);
}

/* A one-row lookup read through row into out; KK_ENOTFOUND for none. */
static enum kk_status
get_one(struct pg *p, const char *sql, const struct params *pa, row_fn row,
    void *out)
{
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;

	if ((rc = call_begin(p, &k, G_NONE)) != KK_OK)
		return rc;
	if ((rc = step(&k, sql, pa, "lookup", &res, NULL)) == KK_OK) {
		if (PQntuples(res) == 0)
			rc = KK_ENOTFOUND;
		else
			rc = row(res, 0, out);
	}
	PQclear(res);
	if (rc == KK_ENOTFOUND) {
		/* A missing row is an answer, not a failed statement. */
		(void)call_end(&k, KK_OK);
		return rc;
	}
	return call_end(&k, rc);
}

static enum kk_status
get_by_key(
    struct pg *p, const char *sql, const char *key, row_fn row, void *out)
{
	struct params pa = {0};

	p_text(&pa, key);
	return get_one(p, sql, &pa, row, out);
}

/* Whether a row exists: KK_OK or KK_ENOTFOUND. */
static enum kk_status
exists(struct pg *p, const char *sql, const char *key)
{
	struct call k;
	struct params pa = {0};
	PGresult *res = NULL;
	enum kk_status rc;

	p_text(&pa, key);
	if ((rc = call_begin(p, &k, G_NONE)) != KK_OK)
		return rc;
	if ((rc = step(&k, sql, &pa, "exists", &res, NULL)) == KK_OK &&
	    PQntuples(res) == 0) {
		PQclear(res);
		(void)call_end(&k, KK_OK);
		return KK_ENOTFOUND;
	}
	PQclear(res);
	return call_end(&k, rc);
}

/* SELECT count(*) with a text key and a time bound. */
static enum kk_status
count(struct pg *p, const char *sql, const char *key, time_t since, int *n)
{
	struct call k;
	struct params pa = {0};
	PGresult *res = NULL;
	enum kk_status rc;

	p_text(&pa, key);
	p_int(&pa, since);
	if ((rc = call_begin(p, &k, G_NONE)) != KK_OK)
		return rc;
	if ((rc = step(&k, sql, &pa, "count", &res, NULL)) == KK_OK) {
		if (PQntuples(res) == 1)
			*n = atoi(PQgetvalue(res, 0, 0));
		else
			rc = KK_EIO; /* count(*) always has a row */
	}
	PQclear(res);
	return call_end(&k, rc);
}

/* Opening, migrations, transactions. */

/* The schema version: the highest migration recorded. */
static enum kk_status
schema_version(PGconn *c, int *v)
{
	PGresult *res;
	enum kk_status rc = KK_OK;

	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = fail(c, res, "schema version");
	else
		*v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/*
 * Creates the schema_version table in a new database. Only then: CREATE
 * TABLE IF NOT EXISTS would still need the CREATE privilege, which a role
 * that does not own the schema (README.md) lacks.
 */
static enum kk_status
version_table(PGconn *c)
{
	PGresult *res;
	enum kk_status rc = KK_OK;
	int missing;

	res = PQexec(c, "SELECT to_regclass('schema_version') IS NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = fail(c, res, "schema version");
		PQclear(res);
		return rc;
	}
	missing = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!missing)
		return KK_OK;
	return exec_plain(c,
	    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
	    " applied_at BIGINT NOT NULL)",
	    "schema version");
}

static enum kk_status
record_version(PGconn *c, int v)
{
	struct call k = {0};
	struct params pa = {0};

	k.c = c;
	p_int(&pa, v);
	return step(&k,
	    "INSERT INTO schema_version (version, applied_at)"
	    " VALUES ($1, extract(epoch FROM now())::bigint)",
	    &pa, "schema version", NULL, NULL);
}

/*
 * Applies the migrations the database has not seen yet, each in its own
 * transaction together with its schema_version row, so that a failure
 * leaves the database at one version or the next. The advisory lock,
 * taken first in each transaction, makes replicas that start together
 * migrate one after the other: the second finds the work done.
 */
static enum kk_status
migrate(PGconn *c)
{
	enum kk_status rc;
	int v = 0;

	for (;;) {
		if ((rc = exec_plain(c, "BEGIN", "migration")) != KK_OK)
			return rc;
		if ((rc = exec_plain(c,
		         "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")",
		         "migration lock")) != KK_OK ||
		    (rc = version_table(c)) != KK_OK ||
		    (rc = schema_version(c, &v)) != KK_OK)
			goto fail;
		if (v == N_MIGRATIONS)
			return exec_plain(c, "COMMIT", "migration");
		if (v < 0 || v > N_MIGRATIONS) {
			kk_log("store: database schema version %d is not one "
			       "this build knows (1 to %d); is it from a newer "
			       "kakuin-server?\n",
			    v, N_MIGRATIONS);
			rc = KK_ECONFLICT;
			goto fail;
		}
		if ((rc = exec_plain(c, migrations[v], "schema migration")) !=
		        KK_OK ||
		    (rc = record_version(c, v + 1)) != KK_OK ||
		    (rc = exec_plain(c, "COMMIT", "migration")) != KK_OK) {
			kk_log("store: migration to schema version %d failed; "
			       "the database stays at version %d",
			    v + 1, v);
			goto fail;
		}
		kk_log("store: database schema migrated to version "
		       "%d",
		    v + 1);
	}
fail:
	(void)exec_plain(c, "ROLLBACK", "rollback");
	return rc;
}

static void
pg_close(void *impl)
{
	struct pg *p = impl;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < POOL_SIZE; i++)
		PQfinish(p->conns[i]);
	pthread_key_delete(p->tx_key);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	if (p->url != NULL) {
		explicit_bzero(p->url, strlen(p->url)); /* a password, maybe */
		free(p->url);
	}
	free(p);
}

/*
 * rest is the URL after "postgresql://" or "postgres://"; libpq takes
 * either scheme, so the URL is rebuilt with the first. An empty rest is
 * libpq's defaults (local socket, the user's own name).
 */
static enum kk_status
pg_open(const char *rest, void **impl)
{
	struct pg *p;
	enum kk_status rc;

	*impl = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return KK_ENOMEM;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return KK_ENOMEM;
	}
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return KK_ENOMEM;
	}
	if (pthread_key_create(&p->tx_key, NULL) != 0) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return KK_ENOMEM;
	}
	if (asprintf(&p->url, "postgresql://%s", rest) < 0) {
		p->url = NULL;
		rc = KK_ENOMEM;
		goto out;
	}
	/* A server that cannot reach its database at start does not
	 * start: that is an I/O failure, not a "try again". */
	if ((rc = conn_ready(p, 0)) != KK_OK) {
		if (rc == KK_EAGAIN)
			rc = KK_EIO;
		goto out;
	}
	if ((rc = migrate(p->conns[0])) != KK_OK) {
		if (rc == KK_EAGAIN)
			rc = KK_EIO;
		goto out;
	}
	*impl = p;
	p = NULL;
out:
	pg_close(p);
	return rc;
}

static enum kk_status
pg_begin(void *impl)
{
	struct pg *p = impl;
	enum kk_status rc;
	int slot;

	if (in_tx(p)) {
		kk_log("store: begin: this thread already has a "
		       "transaction open");
		return KK_ECONFLICT;
	}
	pthread_mutex_lock(&p->lock);
	p->tx_waiting++;
	while (p->tx_open || p->calls > 0)
		pthread_cond_wait(&p->cond, &p->lock);
	p->tx_waiting--;
	p->tx_open = 1;
	slot = take_slot(p); /* no calls: every slot is free */
	pthread_mutex_unlock(&p->lock);

	/* Reconnecting here is safe: no transaction is open yet. */
	if ((rc = conn_ready(p, slot)) != KK_OK ||
	    (rc = exec_plain(p->conns[slot],
	         "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin")) != KK_OK) {
		pthread_mutex_lock(&p->lock);
		p->busy[slot] = 0;
		p->tx_open = 0;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return rc;
	}
	p->tx_slot = slot;
	p->tx_failed = KK_OK;
	pthread_setspecific(p->tx_key, p);
	return KK_OK;
}

/* Ends the calling thread's transaction and lets the others in. */
static void
tx_release(struct pg *p)
{
	pthread_setspecific(p->tx_key, NULL);
	pthread_mutex_lock(&p->lock);
	p->busy[p->tx_slot] = 0;
	p->tx_open = 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/*
 * A commit that fails ends the transaction all the same (the server rolls
 * it back): nothing stays half done, and a store_rollback() after it is
 * harmless. A reference left dangling is KK_ENOTFOUND, a race lost to
 * another replica KK_ERACE.
 */
static enum kk_status
pg_commit(void *impl)
{
	struct pg *p = impl;
	PGconn *c;
	PGresult *res;
	enum kk_status rc = KK_OK;

	if (!in_tx(p)) {
		kk_log("store: commit without a transaction");
		return KK_ECONFLICT;
	}
	c = p->conns[p->tx_slot];
	if (p->tx_failed != KK_OK) {
		rc = p->tx_failed;
		kk_log("store: commit of a transaction that failed "
		       "earlier: rolled back");
		(void)exec_plain(c, "ROLLBACK", "rollback");
		goto out;
	}
	res = PQexec(c, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = fail(c, res, "commit");
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* The server answers COMMIT of an aborted transaction with
		 * ROLLBACK: nothing was kept. */
		kk_log("store: commit: the server rolled the "
		       "transaction back");
		rc = KK_EIO;
	}
	PQclear(res);
out:
	tx_release(p);
	return rc;
}

static void
pg_rollback(void *impl)
{
	struct pg *p = impl;

	if (!in_tx(p))
		return;
	(void)exec_plain(p->conns[p->tx_slot], "ROLLBACK", "rollback");
	tx_release(p);
}

/* Accounts. */

static enum kk_status
pg_account_insert(void *impl, const struct account *a)
{
	struct params pa = {0};

	p_text(&pa, a->id);
	p_status(&pa, a->status);
	p_text(&pa, a->jwk);
	p_text(&pa, a->thumbprint);
	p_text(&pa, a->contacts != NULL ? a->contacts : "[]");
	p_text(&pa, a->org);
	p_text(&pa, a->eab_kid);
	p_text(&pa, a->created_ip);
	p_int(&pa, a->created_at);
	p_int(&pa, a->tos_agreed);
	return change(impl, SQL_ACCOUNT_INSERT, &pa, "account insert", 0);
}

static enum kk_status
pg_account_get(void *impl, const char *id, struct account **out)
{
	return get_by_key(impl, SQL_ACCOUNT_GET, id, account_row, out);
}

static enum kk_status
pg_account_by_thumbprint(
    void *impl, const char *thumbprint, struct account **out)
{
	return get_by_key(
	    impl, SQL_ACCOUNT_BY_THUMBPRINT, thumbprint, account_row, out);
}

static enum kk_status
pg_account_update(void *impl, const struct account *a)
{
	struct params pa = {0};

	p_text(&pa, a->id);
	p_status(&pa, a->status);
	p_text(&pa, a->jwk);
	p_text(&pa, a->thumbprint);
	p_text(&pa, a->contacts != NULL ? a->contacts : "[]");
	p_text(&pa, a->org);
	return change(impl, SQL_ACCOUNT_UPDATE, &pa, "account update", 1);
}

static enum kk_status
pg_account_count_by_ip(void *impl, const char *ip, time_t since, int *n)
{
	return count(impl, SQL_ACCOUNT_COUNT_BY_IP, ip, since, n);
}

/* Orders. */

static enum kk_status
pg_order_insert(void *impl, const struct order *o)
{
	struct params pa = {0};

	p_text(&pa, o->id);
	p_text(&pa, o->account_id);
	p_status(&pa, o->status);
	p_text(&pa, o->org);
	p_text(&pa, o->authz_id);
	p_text(&pa, o->profile);
	p_text(&pa, o->error);
	p_text(&pa, o->cert_serial);
	p_int(&pa, o->created_at);
	p_int(&pa, o->expires);
	return change(impl, SQL_ORDER_INSERT, &pa, "order insert", 0);
}

static enum kk_status
pg_order_get(void *impl, const char *id, struct order **out)
{
	return get_by_key(impl, SQL_ORDER_GET, id, order_row, out);
}

static enum kk_status
pg_order_by_authz(void *impl, const char *authz_id, struct order **out)
{
	return get_by_key(impl, SQL_ORDER_BY_AUTHZ, authz_id, order_row, out);
}

static enum kk_status
pg_order_update(void *impl, const struct order *o)
{
	struct params pa = {0};

	p_text(&pa, o->id);
	p_status(&pa, o->status);
	p_text(&pa, o->error);
	p_text(&pa, o->cert_serial);
	p_int(&pa, o->expires);
	return change(impl, SQL_ORDER_UPDATE, &pa, "order update", 1);
}

/* A list query with its parameters, collected by collect. */
#define DEFINE_LIST(NAME, T, COLLECT)                                          \
	static enum kk_status NAME(struct pg *p, const char *sql,              \
	    const struct params *pa, T ***out, size_t *n)                      \
	{                                                                      \
		struct call k;                                                 \
		PGresult *res = NULL;                                          \
		enum kk_status rc;                                             \
                                                                               \
		if ((rc = call_begin(p, &k, G_NONE)) != KK_OK)                 \
			return rc;                                             \
		if ((rc = step(&k, sql, pa, "list", &res, NULL)) == KK_OK)     \
			rc = COLLECT(res, out, n);                             \
		PQclear(res);                                                  \
		return call_end(&k, rc);                                       \
	}

/*
 * Where page pg starts: the place (*a, *b) in list order of the record
 * pg->after, which sql finds by key, or (a0, b0) for the first page.
 * KK_ENOTFOUND for a key no record has.
 */
static enum kk_status
page_start(struct call *k, const char *sql, const struct store_page *pg,
    int64_t a0, int64_t b0, int64_t *a, int64_t *b)
{
	struct params pa = {0};
	PGresult *res = NULL;
	enum kk_status rc;

	*a = a0;
	*b = b0;
	if (pg == NULL || pg->after == NULL)
		return KK_OK;
	p_text(&pa, pg->after);
	if ((rc = step(k, sql, &pa, "page start", &res, NULL)) != KK_OK)
		goto out;
	if (PQntuples(res) != 1 || PQnfields(res) != 2) {
		rc = KK_ENOTFOUND;
		goto out;
	}
	*a = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*b = (int64_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10);
out:
	PQclear(res);
	return rc;
}

/*
 * A paged list ordered by one number: pa holds the filters, to which the
 * page's start (found by pos_sql, a0 for the first page) and size are
 * added; the start and the page are read in one snapshot.
 */
#define DEFINE_PAGED_LIST(NAME, T, COLLECT, FREE)                              \
	static enum kk_status NAME(struct pg *p, const char *sql,              \
	    struct params *pa, const char *pos_sql, int64_t a0,                \
	    struct store_page *pg, T ***out, size_t *n)                        \
	{                                                                      \
		struct call k;                                                 \
		PGresult *res = NULL;                                          \
		enum kk_status rc;                                             \
		int64_t a, unused;                                             \
                                                                               \
		if ((rc = call_begin(p, &k, G_SNAPSHOT)) != KK_OK)             \
			return rc;                                             \
		if ((rc = page_start(&k, pos_sql, pg, a0, 0, &a, &unused)) !=  \
		    KK_OK)                                                     \
			goto out;                                              \
		p_int(pa, a);                                                  \
		p_int(pa, store_page_fetch(pg));                               \
		if ((rc = step(&k, sql, pa, "list", &res, NULL)) == KK_OK &&   \
		    (rc = COLLECT(res, out, n)) == KK_OK &&                    \
		    store_page_over(pg, *n))                                   \
			FREE((*out)[--*n]);                                    \
	out:                                                                   \
		PQclear(res);                                                  \
		return call_end(&k, rc);                                       \
	}

DEFINE_PAGED_LIST(page_certs, struct cert, collect_certs, cert_free)
DEFINE_PAGED_LIST(
    page_audit, struct audit_event, collect_audit, audit_event_free)

DEFINE_LIST(list_ids, char, collect_ids)
DEFINE_LIST(list_challenges, struct challenge, collect_challenges)
DEFINE_LIST(list_authzs, struct authz, collect_authzs)
DEFINE_LIST(list_orgs, struct org, collect_orgs)
DEFINE_LIST(list_attachments, struct attachment, collect_attachments)

static enum kk_status
pg_order_ids_by_account(
    void *impl, const char *account_id, char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, account_id);
	return list_ids(impl, SQL_ORDER_IDS_BY_ACCOUNT, &pa, out, n);
}

static enum kk_status
pg_order_count_by_account(
    void *impl, const char *account_id, time_t since, int *n)
{
	return count(impl, SQL_ORDER_COUNT_BY_ACCOUNT, account_id, since, n);
}

static enum kk_status
pg_order_ids_by_org(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, org);
	p_status(&pa, status);
	return list_ids(impl, SQL_ORDER_IDS_BY_ORG, &pa, out, n);
}

/* Authorizations. */

static enum kk_status
pg_authz_ids_by_org(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, org);
	p_status(&pa, status);
	return list_ids(impl, SQL_AUTHZ_IDS_BY_ORG, &pa, out, n);
}

static enum kk_status
pg_authz_insert(void *impl, const struct authz *a)
{
	struct params pa = {0};

	p_text(&pa, a->id);
	p_text(&pa, a->account_id);
	p_text(&pa, a->id_type);
	p_text(&pa, a->id_value);
	p_status(&pa, a->status);
	p_int(&pa, a->expires);
	p_int(&pa, a->created_at);
	p_text(&pa, a->order_id);
	p_int(&pa, a->order_pos);
	return change(impl, SQL_AUTHZ_INSERT, &pa, "authz insert", 0);
}

static enum kk_status
pg_authz_get(void *impl, const char *id, struct authz **out)
{
	return get_by_key(impl, SQL_AUTHZ_GET, id, authz_row, out);
}

static enum kk_status
pg_authz_update(void *impl, const struct authz *a)
{
	struct params pa = {0};

	p_text(&pa, a->id);
	p_status(&pa, a->status);
	p_int(&pa, a->expires);
	return change(impl, SQL_AUTHZ_UPDATE, &pa, "authz update", 1);
}

static enum kk_status
pg_authz_list_by_order(
    void *impl, const char *order_id, struct authz ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, order_id);
	return list_authzs(impl, SQL_AUTHZ_LIST_BY_ORDER, &pa, out, n);
}

/* Challenges. */

static enum kk_status
pg_challenge_insert(void *impl, const struct challenge *c)
{
	struct params pa = {0};

	p_text(&pa, c->id);
	p_text(&pa, c->authz_id);
	p_text(&pa, c->type);
	p_status(&pa, c->status);
	p_text(&pa, c->token);
	p_text(&pa, c->error);
	p_int(&pa, c->validated);
	return change(impl, SQL_CHALLENGE_INSERT, &pa, "challenge insert", 0);
}

static enum kk_status
pg_challenge_get(void *impl, const char *id, struct challenge **out)
{
	return get_by_key(impl, SQL_CHALLENGE_GET, id, challenge_row, out);
}

static enum kk_status
pg_challenge_list_by_authz(
    void *impl, const char *authz_id, struct challenge ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, authz_id);
	return list_challenges(impl, SQL_CHALLENGE_LIST_BY_AUTHZ, &pa, out, n);
}

static enum kk_status
pg_challenge_update(void *impl, const struct challenge *c)
{
	struct params pa = {0};

	p_text(&pa, c->id);
	p_status(&pa, c->status);
	p_text(&pa, c->error);
	p_int(&pa, c->validated);
	return change(impl, SQL_CHALLENGE_UPDATE, &pa, "challenge update", 1);
}

/* Expiry: both updates or neither. */

static enum kk_status
pg_expire(void *impl, time_t now, int *n)
{
	struct call k;
	struct params pa = {0};
	enum kk_status rc;
	int orders = 0, authzs = 0;

	p_int(&pa, now);
	if ((rc = call_begin(impl, &k, G_CHANGE)) != KK_OK)
		return rc;
	if ((rc = step(&k, SQL_EXPIRE_ORDERS, &pa, "expire", NULL, &orders)) ==
	    KK_OK)
		rc = step(&k, SQL_EXPIRE_AUTHZS, &pa, "expire", NULL, &authzs);
	if ((rc = call_end(&k, rc)) == KK_OK && n != NULL)
		*n = orders + authzs;
	return rc;
}

/* Verifications and approvals. */

static enum kk_status
approval_insert(
    struct call *k, const char *verification_id, const struct approval *ap)
{
	struct params pa = {0};

	p_text(&pa, verification_id);
	p_text(&pa, ap->operator_name);
	p_text(&pa, ap->method);
	p_text(&pa, ap->legal_name);
	p_text(&pa, ap->country);
	p_text(&pa, ap->evidence);
	p_int(&pa, ap->at);
	return step(k, SQL_APPROVAL_INSERT, &pa, "approval insert", NULL, NULL);
}

/*
 * keys[0..n) as a PostgreSQL array literal (*out, caller frees): NULL
 * keys are NULL elements, the others quoted, with their quotes and
 * backslashes escaped.
 */
static enum kk_status
text_array(const char *const *keys, size_t n, char **out)
{
	size_t len = 3, i;
	const char *c;
	char *s, *w;

	*out = NULL;
	for (i = 0; i < n; i++)
		len += (keys[i] != NULL ? 2 * strlen(keys[i]) : 4) + 3;
	if ((s = malloc(len)) == NULL)
		return KK_ENOMEM;
	w = s;
	*w++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*w++ = ',';
		if (keys[i] == NULL) {
			memcpy(w, "NULL", 4);
			w += 4;
			continue;
		}
		*w++ = '"';
		for (c = keys[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				*w++ = '\\';
			*w++ = *c;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	*out = s;
	return KK_OK;
}

/* Reads rows [first, end) of res, approvals of v, into v. */
static enum kk_status
approvals_take(PGresult *res, int first, int end, struct verification *v)
{
	struct reader r;
	struct approval *ap;
	int i;

	if (first == end)
		return KK_OK;
	if ((v->approvals = calloc((size_t)(end - first), sizeof(*ap))) == NULL)
		return KK_ENOMEM;
	for (i = first; i < end; i++) {
		r = (struct reader){res, i, 1, KK_OK}; /* after the id */
		ap = &v->approvals[v->n_approvals++];
		ap->operator_name = col_text(&r);
		ap->method = col_text(&r);
		ap->legal_name = col_text(&r);
		ap->country = col_text(&r);
		ap->evidence = col_text(&r);
		ap->at = (time_t)col_int(&r);
		if (r.rc != KK_OK)
			return r
			    .rc; /* verification_free frees the partial one */
	}
	return KK_OK;
}

/*
 * Reads the approvals of each of list[0..n) (distinct verifications),
 * in the order they were given, into it: one query for them all, so that
 * a page of the operator's list costs one round trip, not one each.
 */
static enum kk_status
approvals_load(struct call *k, struct verification *const *list, size_t n)
{
	struct params pa = {0};
	PGresult *res = NULL;
	const char **keys;
	char *ids = NULL;
	enum kk_status rc;
	int row = 0, rows, first;
	size_t i;

	if (n == 0)
		return KK_OK;
	if ((keys = calloc(n, sizeof(*keys))) == NULL)
		return KK_ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = list[i]->id;
	rc = text_array(keys, n, &ids);
	free(keys);
	if (rc != KK_OK)
		return rc;
	p_text(&pa, ids);
	if ((rc = step(k, SQL_APPROVAL_LIST, &pa, "approval list", &res,
	         NULL)) != KK_OK)
		goto out;
	rows = PQntuples(res);
	for (i = 0; rc == KK_OK && i < n; i++) {
		first = row;
		while (row < rows &&
		       strcmp(PQgetvalue(res, row, 0), list[i]->id) == 0)
			row++;
		rc = approvals_take(res, first, row, list[i]);
	}
out:
	PQclear(res);
	free(ids);
	return rc;
}

/* A verification and its approvals, read from one snapshot. */
static enum kk_status
verification_fetch(
    struct pg *p, const char *sql, const char *key, struct verification **out)
{
	struct verification *v = NULL;
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;

	p_text(&pa, key);
	if ((rc = call_begin(p, &k, G_SNAPSHOT)) != KK_OK)
		return rc;
	if ((rc = step(&k, sql, &pa, "verification", &res, NULL)) == KK_OK) {
		if (PQntuples(res) == 0)
			rc = KK_ENOTFOUND;
		else
			rc = verification_row(res, 0, &v);
	}
	PQclear(res);
	if (rc == KK_OK)
		rc = approvals_load(&k, &v, 1);
	if (rc == KK_ENOTFOUND) {
		(void)call_end(&k, KK_OK);
		return rc;
	}
	if ((rc = call_end(&k, rc)) == KK_OK) {
		*out = v;
		v = NULL;
	}
	verification_free(v);
	return rc;
}

/* Inserts the verification with any approvals it already carries: all of
 * them or nothing. */
static enum kk_status
pg_verification_insert(void *impl, const struct verification *v)
{
	struct params pa = {0};
	struct call k;
	enum kk_status rc;
	size_t i;

	p_text(&pa, v->id);
	p_text(&pa, v->org);
	p_text(&pa, v->account_id);
	p_text(&pa, v->authz_id);
	p_text(&pa, v->challenge_id);
	p_status(&pa, v->status);
	p_text(&pa, v->reason);
	p_int(&pa, v->requested_at);
	p_int(&pa, v->decided_at);
	if ((rc = call_begin(impl, &k, G_CHANGE)) != KK_OK)
		return rc;
	rc = step(&k, SQL_VERIFICATION_INSERT, &pa, "verification insert", NULL,
	    NULL);
	for (i = 0; rc == KK_OK && i < v->n_approvals; i++)
		rc = approval_insert(&k, v->id, &v->approvals[i]);
	return call_end(&k, rc);
}

static enum kk_status
pg_verification_get(void *impl, const char *id, struct verification **out)
{
	return verification_fetch(impl, SQL_VERIFICATION_GET, id, out);
}

static enum kk_status
pg_verification_by_challenge(
    void *impl, const char *challenge_id, struct verification **out)
{
	return verification_fetch(
	    impl, SQL_VERIFICATION_BY_CHALLENGE, challenge_id, out);
}

static enum kk_status
pg_verification_update(void *impl, const struct verification *v)
{
	struct params pa = {0};

	p_text(&pa, v->id);
	p_status(&pa, v->status);
	p_text(&pa, v->reason);
	p_int(&pa, v->decided_at);
	return change(
	    impl, SQL_VERIFICATION_UPDATE, &pa, "verification update", 1);
}

static enum kk_status
pg_verification_list(void *impl, enum acme_status status, const char *org,
    struct store_page *pg, struct verification ***out, size_t *n)
{
	struct verification **list = NULL;
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;
	size_t len = 0, i;
	int64_t at, row;

	p_filter(&pa, status);
	p_text(&pa, org);
	if ((rc = call_begin(impl, &k, G_SNAPSHOT)) != KK_OK)
		return rc;
	rc = page_start(
	    &k, SQL_VERIFICATION_POS, pg, INT64_MIN, INT64_MIN, &at, &row);
	p_int(&pa, at);
	p_int(&pa, row);
	p_int(&pa, store_page_fetch(pg));
	if (rc == KK_OK && (rc = step(&k, SQL_VERIFICATION_LIST, &pa,
	                        "verification list", &res, NULL)) == KK_OK)
		rc = collect_verifications(res, &list, &len);
	PQclear(res);
	if (rc == KK_OK && store_page_over(pg, len))
		verification_free(list[--len]);
	if (rc == KK_OK)
		rc = approvals_load(&k, list, len);
	if ((rc = call_end(&k, rc)) == KK_OK) {
		*out = list;
		*n = len;
		list = NULL;
		len = 0;
	}
	for (i = 0; i < len; i++)
		verification_free(list[i]);
	free(list);
	return rc;
}

static enum kk_status
pg_approval_insert(
    void *impl, const char *verification_id, const struct approval *ap)
{
	struct call k;
	enum kk_status rc;

	if ((rc = call_begin(impl, &k, G_STATEMENT)) != KK_OK)
		return rc;
	return call_end(&k, approval_insert(&k, verification_id, ap));
}

/* Organizations. */

static enum kk_status
pg_org_put(void *impl, const struct org *o)
{
	struct params pa = {0};

	p_text(&pa, o->id);
	p_text(&pa, o->legal_name);
	p_text(&pa, o->country);
	p_text(&pa, o->method);
	p_int(&pa, o->verified_at);
	p_int(&pa, o->expires);
	return change(impl, SQL_ORG_PUT, &pa, "org put", 0);
}

static enum kk_status
pg_org_get(void *impl, const char *id, struct org **out)
{
	return get_by_key(impl, SQL_ORG_GET, id, org_row, out);
}

static enum kk_status
pg_org_list(void *impl, struct store_page *pg, struct org ***out, size_t *n)
{
	struct params pa = {0};
	enum kk_status rc;

	/* Ids order the list themselves: the look-up only tells an unknown
	 * cursor from the end of the list, and orgs are never deleted. */
	if (pg != NULL && pg->after != NULL &&
	    (rc = exists(impl, SQL_ORG_EXISTS, pg->after)) != KK_OK)
		return rc;
	p_text(&pa, pg != NULL && pg->after != NULL ? pg->after : "");
	p_int(&pa, store_page_fetch(pg));
	if ((rc = list_orgs(impl, SQL_ORG_LIST, &pa, out, n)) == KK_OK &&
	    store_page_over(pg, *n))
		org_free((*out)[--*n]);
	return rc;
}

/* Certificates. */

static enum kk_status
pg_cert_insert(void *impl, const struct cert *c)
{
	struct params pa = {0};

	p_text(&pa, c->serial);
	p_text(&pa, c->account_id);
	p_text(&pa, c->order_id);
	p_text(&pa, c->org);
	p_text(&pa, c->cn);
	p_text(&pa, c->pem);
	p_text(&pa, c->spki_sha256);
	p_status(
	    &pa, c->status != ACME_STATUS_NONE ? c->status : ACME_STATUS_VALID);
	p_int(&pa, c->not_before);
	p_int(&pa, c->not_after);
	p_int(&pa, c->revoked_at);
	p_int(&pa, c->reason);
	return change(impl, SQL_CERT_INSERT, &pa, "cert insert", 0);
}

static enum kk_status
pg_cert_get(void *impl, const char *serial, struct cert **out)
{
	return get_by_key(impl, SQL_CERT_GET, serial, cert_row, out);
}

/* KK_ECONFLICT for a certificate already revoked: its first revocation
 * (time and reason) stands. */
static enum kk_status
pg_cert_revoke(void *impl, const char *serial, time_t at, int reason)
{
	struct params pa = {0};
	enum kk_status rc;

	p_text(&pa, serial);
	p_int(&pa, at);
	p_int(&pa, reason);
	rc = change(impl, SQL_CERT_REVOKE, &pa, "cert revoke", 1);
	if (rc == KK_ENOTFOUND &&
	    exists(impl, SQL_CERT_EXISTS, serial) == KK_OK)
		rc = KK_ECONFLICT;
	return rc;
}

static enum kk_status
pg_cert_list(void *impl, const char *org, enum acme_status status,
    struct store_page *pg, struct cert ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, org);
	p_filter(&pa, status);
	return page_certs(
	    impl, SQL_CERT_LIST, &pa, SQL_CERT_POS, INT64_MAX, pg, out, n);
}

static enum kk_status
pg_cert_list_cn(void *impl, const char *cn, const char *org,
    enum acme_status status, struct store_page *pg, struct cert ***out,
    size_t *n)
{
	struct params pa = {0};

	p_text(&pa, cn);
	p_text(&pa, org);
	p_filter(&pa, status);
	return page_certs(
	    impl, SQL_CERT_LIST_CN, &pa, SQL_CERT_POS, INT64_MAX, pg, out, n);
}

static enum kk_status
pg_cert_count(void *impl, enum acme_status status, int64_t *n)
{
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;

	p_filter(&pa, status);
	if ((rc = call_begin(impl, &k, G_NONE)) != KK_OK)
		return rc;
	if ((rc = step(&k, SQL_CERT_COUNT, &pa, "count", &res, NULL)) ==
	    KK_OK) {
		if (PQntuples(res) == 1)
			*n = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else
			rc = KK_EIO; /* count(*) always has a row */
	}
	PQclear(res);
	return call_end(&k, rc);
}

/* CRLs. */

static enum kk_status
crl_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct crl_state *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KK_ENOMEM;
	c->issuer = col_text(&r);
	c->number = col_int(&r);
	c->this_update = (time_t)col_int(&r);
	c->next_update = (time_t)col_int(&r);
	c->revoked = col_int(&r);
	c->der = col_blob(&r, &c->der_len);
	if (r.rc == KK_OK && c->der == NULL)
		r.rc = KK_EIO; /* the schema refuses an empty one */
	if (r.rc != KK_OK) {
		crl_state_free(c);
		return r.rc;
	}
	*(struct crl_state **)out = c;
	return KK_OK;
}

static enum kk_status
pg_crl_get(void *impl, const char *issuer, struct crl_state **out)
{
	struct pg *p = impl;

	return get_by_key(
	    p, in_tx(p) ? SQL_CRL_LOCK : SQL_CRL_GET, issuer, crl_row, out);
}

static enum kk_status
pg_crl_put(void *impl, const struct crl_state *c)
{
	struct params pa = {0};
	enum kk_status rc;

	p_text(&pa, c->issuer);
	p_int(&pa, c->number);
	p_int(&pa, c->this_update);
	p_int(&pa, c->next_update);
	p_int(&pa, c->revoked);
	p_blob(&pa, c->der, c->der_len);
	rc = change(impl, SQL_CRL_PUT, &pa, "crl put", 1);
	return rc == KK_ENOTFOUND ? KK_ECONFLICT : rc; /* a newer one stands */
}

/* EAB keys. */

static enum kk_status
pg_eab_insert(void *impl, const struct eab_key *k)
{
	struct params pa = {0};

	p_text(&pa, k->kid);
	p_blob(&pa, k->hmac_key, k->hmac_key_len);
	p_text(&pa, k->org);
	p_text(&pa, k->created_by);
	p_int(&pa, k->created_at);
	p_int(&pa, k->expires);
	p_int(&pa, k->max_uses);
	p_int(&pa, k->uses);
	return change(impl, SQL_EAB_INSERT, &pa, "eab insert", 0);
}

static enum kk_status
pg_eab_get(void *impl, const char *kid, struct eab_key **out)
{
	return get_by_key(impl, SQL_EAB_GET, kid, eab_row, out);
}

static enum kk_status
pg_eab_use(void *impl, const char *kid)
{
	struct params pa = {0};
	enum kk_status rc;

	p_text(&pa, kid);
	rc = change(impl, SQL_EAB_USE, &pa, "eab use", 1);
	/* Nothing counted: an unknown kid, or one used up. */
	if (rc == KK_ENOTFOUND && exists(impl, SQL_EAB_EXISTS, kid) == KK_OK)
		rc = KK_ELIMIT;
	return rc;
}

static enum kk_status
pg_eab_expire(void *impl, const char *kid, time_t at)
{
	struct params pa = {0};
	enum kk_status rc;

	p_text(&pa, kid);
	p_int(&pa, at);
	rc = change(impl, SQL_EAB_EXPIRE, &pa, "eab expire", 1);
	/* Nothing changed: unknown, or expired already (which is fine). */
	if (rc == KK_ENOTFOUND && exists(impl, SQL_EAB_EXISTS, kid) == KK_OK)
		rc = KK_OK;
	return rc;
}

/* Operator tokens. */

static enum kk_status
pg_token_insert(void *impl, const struct op_token *t)
{
	struct params pa = {0};

	p_text(&pa, t->name);
	p_text(&pa, t->role);
	p_blob(&pa, t->hash, sizeof(t->hash));
	p_int(&pa, t->created_at);
	p_int(&pa, t->revoked_at);
	return change(impl, SQL_TOKEN_INSERT, &pa, "token insert", 0);
}

/* Revoked tokens are not found: a caller cannot forget to check. */
static enum kk_status
pg_token_by_hash(
    void *impl, const unsigned char hash[32], struct op_token **out)
{
	struct params pa = {0};

	p_blob(&pa, hash, 32);
	return get_one(impl, SQL_TOKEN_BY_HASH, &pa, token_row, out);
}

static enum kk_status
pg_token_revoke(void *impl, const char *name, time_t at)
{
	struct params pa = {0};

	/* revoked_at 0 means active: it cannot also mean "revoked". */
	if (at <= 0)
		return KK_EINVAL;
	p_text(&pa, name);
	p_int(&pa, at);
	return change(impl, SQL_TOKEN_REVOKE, &pa, "token revoke", 1);
}

/* Attachments. */

static enum kk_status
pg_attachment_insert(void *impl, const struct attachment *a)
{
	struct params pa = {0};

	if (a->data == NULL || a->size == 0)
		return KK_EINVAL;
	p_text(&pa, a->verification_id);
	p_text(&pa, a->sha256);
	p_text(&pa, a->content_type);
	p_text(&pa, a->uploaded_by);
	p_int(&pa, a->uploaded_at);
	p_int(&pa, (int64_t)a->size);
	p_blob(&pa, a->data, a->size);
	return change(impl, SQL_ATTACHMENT_INSERT, &pa, "attachment insert", 0);
}

static enum kk_status
pg_attachment_get(void *impl, const char *verification_id, const char *sha256,
    struct attachment **out)
{
	struct params pa = {0};

	p_text(&pa, verification_id);
	p_text(&pa, sha256);
	return get_one(impl, SQL_ATTACHMENT_GET, &pa, attachment_row, out);
}

static enum kk_status
pg_attachment_list(void *impl, const char *verification_id,
    struct attachment ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, verification_id);
	return list_attachments(impl, SQL_ATTACHMENT_LIST, &pa, out, n);
}

/* Audit log and counters. */

static enum kk_status
pg_audit_append(void *impl, const struct audit_event *e)
{
	struct params pa = {0};

	p_int(&pa, e->at);
	p_text(&pa, e->actor);
	p_text(&pa, e->action);
	p_text(&pa, e->object);
	p_text(&pa, e->detail);
	return change(impl, SQL_AUDIT_APPEND, &pa, "audit append", 0);
}

static enum kk_status
pg_audit_list(void *impl, time_t since, struct store_page *pg,
    struct audit_event ***out, size_t *n)
{
	struct params pa = {0};

	p_int(&pa, since);
	return page_audit(
	    impl, SQL_AUDIT_LIST, &pa, SQL_AUDIT_POS, 0, pg, out, n);
}

static enum kk_status
pg_counter_next(void *impl, const char *name, int64_t *out)
{
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;
	int64_t v = 0;

	p_text(&pa, name);
	if ((rc = call_begin(impl, &k, G_STATEMENT)) != KK_OK)
		return rc;
	if ((rc = step(&k, SQL_COUNTER_NEXT, &pa, "counter", &res, NULL)) ==
	    KK_OK) {
		if (PQntuples(res) == 1)
			v = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else
			rc = KK_EIO; /* RETURNING always gives the row */
	}
	PQclear(res);
	/* Outside a transaction the statement committed on its own: the
	 * value is ours for good. */
	if ((rc = call_end(&k, rc)) == KK_OK)
		*out = v;
	return rc;
}

/* Nonces. */

static enum kk_status
pg_nonce_put(void *impl, const char *nonce, time_t expires)
{
	struct pg *p = impl;
	struct params pa = {0}, purge = {0};
	enum kk_status rc;
	int due;

	p_text(&pa, nonce);
	p_int(&pa, expires);
	if ((rc = change(p, SQL_NONCE_PUT, &pa, "nonce put", 0)) != KK_OK)
		return rc;
	/* Now and then, whichever replica is issuing drops the expired
	 * ones; a failure here costs nothing but space. */
	pthread_mutex_lock(&p->lock);
	due = ++p->nonces_put % NONCE_PURGE_EVERY == 0;
	pthread_mutex_unlock(&p->lock);
	if (due) {
		p_int(&purge, time(NULL));
		(void)change(p, SQL_NONCE_PURGE, &purge, "nonce purge", 0);
	}
	return KK_OK;
}

static enum kk_status
pg_nonce_take(void *impl, const char *nonce, time_t now)
{
	struct params pa = {0};

	p_text(&pa, nonce);
	p_int(&pa, now);
	return change(impl, SQL_NONCE_TAKE, &pa, "nonce take", 1);
}

/* Organization domains and renewal information. */

static enum kk_status
pg_org_domain_add(void *impl, const char *org, const char *name,
    const char *added_by, time_t at)
{
	struct params pa = {0};

	p_text(&pa, name);
	p_text(&pa, org);
	p_text(&pa, added_by);
	p_int(&pa, at);
	return change(impl, SQL_DOMAIN_ADD, &pa, "domain add", 0);
}

static enum kk_status
pg_org_domain_owner(void *impl, const char *name, char **org)
{
	return get_by_key(impl, SQL_DOMAIN_OWNER, name, id_row, org);
}

static enum kk_status
pg_org_domain_list(void *impl, const char *org, char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, org);
	return list_ids(impl, SQL_DOMAIN_LIST, &pa, out, n);
}

static enum kk_status
pg_org_domain_grant(void *impl, const char *authz_id, const char *org)
{
	struct params pa = {0};

	p_text(&pa, authz_id);
	p_text(&pa, org);
	return change(impl, SQL_DOMAIN_GRANT, &pa, "domain grant", 0);
}

static enum kk_status
pg_org_domain_authz_ids(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, org);
	p_status(&pa, status);
	return list_ids(impl, SQL_DOMAIN_AUTHZ_IDS, &pa, out, n);
}

static enum kk_status
pg_authz_reusable(void *impl, const char *account_id, const char *id_type,
    const char *id_value, time_t now, struct authz **out)
{
	struct params pa = {0};

	p_text(&pa, account_id);
	p_text(&pa, id_type);
	p_text(&pa, id_value);
	p_int(&pa, now);
	return get_one(impl, SQL_AUTHZ_REUSABLE, &pa, authz_row, out);
}

static enum kk_status
pg_order_ids_by_authz(void *impl, const char *authz_id, char ***out, size_t *n)
{
	struct params pa = {0};

	p_text(&pa, authz_id);
	return list_ids(impl, SQL_ORDER_IDS_BY_AUTHZ, &pa, out, n);
}

static enum kk_status
pg_authz_count_by_account(
    void *impl, const char *account_id, time_t since, int *n)
{
	return count(impl, SQL_AUTHZ_COUNT_BY_ACCOUNT, account_id, since, n);
}

static enum kk_status
renewal_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct renewal *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return KK_ENOMEM;
	w->serial = col_text(&r);
	w->start = (time_t)col_int(&r);
	w->end = (time_t)col_int(&r);
	w->replaced_by = col_text(&r);
	if (r.rc != KK_OK) {
		renewal_free(w);
		return r.rc;
	}
	*(struct renewal **)out = w;
	return KK_OK;
}

static enum kk_status
pg_renewal_get(void *impl, const char *serial, struct renewal **out)
{
	return get_by_key(impl, SQL_RENEWAL_GET, serial, renewal_row, out);
}

static enum kk_status
pg_renewal_set_window(void *impl, const char *serial, time_t start, time_t end)
{
	struct params pa = {0};

	p_text(&pa, serial);
	p_int(&pa, start);
	p_int(&pa, end);
	return change(impl, SQL_RENEWAL_WINDOW, &pa, "renewal window", 0);
}

static enum kk_status
pg_renewal_set_replaced(void *impl, const char *serial, const char *order_id)
{
	struct params pa = {0};

	p_text(&pa, serial);
	p_text(&pa, order_id);
	return change(impl, SQL_RENEWAL_REPLACED, &pa, "renewal replaced", 0);
}

/* The operator's desk: registry, outbox, deliveries, reminders. */

static enum kk_status
registry_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct registry_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return KK_ENOMEM;
	e->number = col_text(&r);
	e->name = col_text(&r);
	e->furigana = col_text(&r);
	e->en_name = col_text(&r);
	e->address = col_text(&r);
	e->post_code = col_text(&r);
	e->kind = col_text(&r);
	e->update_date = col_text(&r);
	e->close_date = col_text(&r);
	e->close_cause = col_text(&r);
	e->seq = col_int(&r);
	if (r.rc != KK_OK) {
		registry_entry_free(e);
		return r.rc;
	}
	*(struct registry_entry **)out = e;
	return KK_OK;
}

static enum kk_status
outbox_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct outbox_item *it;
	char *state;
	int v = 0;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return KK_ENOMEM;
	it->id = col_int(&r);
	it->event = col_text(&r);
	it->subject = col_text(&r);
	it->target = col_text(&r);
	it->payload = col_text(&r);
	it->created_at = (time_t)col_int(&r);
	it->next_at = (time_t)col_int(&r);
	it->attempts = (int)col_int(&r);
	state = col_text(&r);
	if (r.rc == KK_OK && (v = outbox_state_parse(state)) < 0)
		r.rc = KK_EIO; /* the schema's CHECK makes this impossible */
	it->state = v < 0 ? OUTBOX_FAILED : (enum outbox_state)v;
	free(state);
	if (r.rc != KK_OK) {
		outbox_item_free(it);
		return r.rc;
	}
	*(struct outbox_item **)out = it;
	return KK_OK;
}

static enum kk_status
delivery_row(PGresult *res, int row, void *out)
{
	struct reader r = {res, row, 0, KK_OK};
	struct delivery *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return KK_ENOMEM;
	d->outbox_id = col_int(&r);
	d->event = col_text(&r);
	d->target = col_text(&r);
	d->attempt = (int)col_int(&r);
	d->status = (int)col_int(&r);
	d->error = col_text(&r);
	d->at = (time_t)col_int(&r);
	if (r.rc != KK_OK) {
		delivery_free(d);
		return r.rc;
	}
	*(struct delivery **)out = d;
	return KK_OK;
}

DEFINE_COLLECT(collect_outbox, struct outbox_item, outbox_row, outbox_item_free)
DEFINE_COLLECT(collect_deliveries, struct delivery, delivery_row, delivery_free)

/*
 * A PostgreSQL array literal of the n strings at field offset off of the
 * entries e (NULL members are NULL elements), every element quoted and
 * escaped, or of their sequence numbers (off < 0). *out: caller frees.
 */
static enum kk_status
registry_array(const struct registry_entry *e, size_t n, long off, char **out)
{
	char *buf = NULL, *v;
	size_t len = 2, at = 0;

	for (size_t i = 0; i < n; i++) {
		v = off < 0 ? NULL : *(char **)((char *)&e[i] + off);
		len += 4 + 24 + (v != NULL ? 2 * strlen(v) : 0);
	}
	if ((buf = malloc(len + 1)) == NULL)
		return KK_ENOMEM;
	buf[at++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf[at++] = ',';
		if (off < 0) {
			at += (size_t)snprintf(
			    buf + at, len - at, "%" PRId64, e[i].seq);
			continue;
		}
		v = *(char **)((char *)&e[i] + off);
		if (v == NULL) {
			memcpy(buf + at, "NULL", 4);
			at += 4;
			continue;
		}
		buf[at++] = '"';
		for (; *v != '\0'; v++) {
			if (*v == '"' || *v == '\\')
				buf[at++] = '\\';
			buf[at++] = *v;
		}
		buf[at++] = '"';
	}
	buf[at++] = '}';
	buf[at] = '\0';
	*out = buf;
	return KK_OK;
}

static enum kk_status
pg_registry_put_many(
    void *impl, const struct registry_entry *e, size_t n, size_t *stored)
{
	static const long offs[] = {
	    offsetof(struct registry_entry, number),
	    offsetof(struct registry_entry, name),
	    offsetof(struct registry_entry, furigana),
	    offsetof(struct registry_entry, en_name),
	    offsetof(struct registry_entry, address),
	    offsetof(struct registry_entry, post_code),
	    offsetof(struct registry_entry, kind),
	    offsetof(struct registry_entry, update_date),
	    offsetof(struct registry_entry, close_date),
	    offsetof(struct registry_entry, close_cause), -1, /* seq */
	};
	char *arrays[sizeof(offs) / sizeof(*offs)] = {NULL};
	struct params pa = {0};
	struct call k;
	enum kk_status rc = KK_OK;
	size_t i;
	int changed = 0;

	for (i = 0; i < sizeof(offs) / sizeof(*offs) && rc == KK_OK; i++)
		if ((rc = registry_array(e, n, offs[i], &arrays[i])) == KK_OK)
			p_text(&pa, arrays[i]);
	if (rc == KK_OK && (rc = call_begin(impl, &k, G_STATEMENT)) == KK_OK) {
		rc = step(&k, SQL_REGISTRY_PUT_MANY, &pa, "registry put", NULL,
		    &changed);
		if ((rc = call_end(&k, rc)) == KK_OK)
			*stored = (size_t)changed;
	}
	for (i = 0; i < sizeof(offs) / sizeof(*offs); i++)
		free(arrays[i]);
	return rc;
}

static enum kk_status
pg_registry_get(void *impl, const char *number, struct registry_entry **out)
{
	return get_by_key(impl, SQL_REGISTRY_GET, number, registry_row, out);
}

static enum kk_status
pg_outbox_add(void *impl, const struct outbox_item *it)
{
	struct params pa = {0};

	p_text(&pa, it->event);
	p_text(&pa, it->subject);
	p_text(&pa, it->target);
	p_text(&pa, it->payload);
	p_int(&pa, it->created_at);
	p_int(&pa, it->next_at);
	return change(impl, SQL_OUTBOX_ADD, &pa, "outbox add", 0);
}

static enum kk_status
pg_outbox_claim(void *impl, time_t now, time_t lease, size_t max,
    struct outbox_item ***out, size_t *n)
{
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;

	p_int(&pa, now);
	p_int(&pa, lease);
	p_int(&pa, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if ((rc = call_begin(impl, &k, G_STATEMENT)) != KK_OK)
		return rc;
	if ((rc = step(&k, SQL_OUTBOX_CLAIM, &pa, "outbox claim", &res,
	         NULL)) == KK_OK)
		rc = collect_outbox(res, out, n);
	PQclear(res);
	if ((rc = call_end(&k, rc)) != KK_OK) {
		while (*n > 0)
			outbox_item_free((*out)[--*n]);
		free(*out);
		*out = NULL;
	}
	return rc;
}

static enum kk_status
pg_outbox_settle(void *impl, const struct delivery *d, enum outbox_state state,
    time_t next_at)
{
	struct params add = {0}, upd = {0};
	struct call k;
	enum kk_status rc;
	int n = 0;

	p_int(&add, d->outbox_id);
	p_int(&add, d->status);
	p_text(&add, d->error);
	p_int(&add, d->at);
	p_int(&upd, d->outbox_id);
	p_text(&upd, outbox_state_name(state));
	p_int(&upd, next_at);
	if ((rc = call_begin(impl, &k, G_CHANGE)) != KK_OK)
		return rc;
	rc = step(&k, SQL_DELIVERY_ADD, &add, "delivery add", NULL, &n);
	if (rc == KK_OK && n == 0)
		rc = KK_ENOTFOUND;
	if (rc == KK_OK)
		rc = step(
		    &k, SQL_OUTBOX_SETTLE, &upd, "outbox settle", NULL, NULL);
	return call_end(&k, rc);
}

static enum kk_status
pg_delivery_list(
    void *impl, int64_t outbox_id, struct delivery ***out, size_t *n)
{
	struct params pa = {0};
	struct call k;
	PGresult *res = NULL;
	enum kk_status rc;

	p_int(&pa, outbox_id);
	if ((rc = call_begin(impl, &k, G_NONE)) != KK_OK)
		return rc;
	if ((rc = step(&k, SQL_DELIVERY_LIST, &pa, "list", &res, NULL)) ==
	    KK_OK)
		rc = collect_deliveries(res, out, n);
	PQclear(res);
	return call_end(&k, rc);
}

static enum kk_status
pg_reminder_mark(
    void *impl, const char *org, int days, time_t expires, int *fresh)
{
	struct params pa = {0};
	struct call k;
	enum kk_status rc;

	p_text(&pa, org);
	p_int(&pa, days);
	p_int(&pa, expires);
	if ((rc = call_begin(impl, &k, G_STATEMENT)) != KK_OK)
		return rc;
	rc = step(&k, SQL_REMINDER_MARK, &pa, "reminder mark", NULL, fresh);
	return call_end(&k, rc);
}

/*
 * Lookups of many keys (store.h), one query each: the keys, a text[]
 * parameter, are unnested with their positions and joined to the table
 * by its primary key, so that a key given twice gives two rows and each
 * row says where it goes (its last column, counted from 1). An array
 * literal rather than a parameter per key keeps the statement the same
 * for any number of keys.
 */
#define SQL_GET_MANY(COLS, TABLE, KEY)                                         \
	"SELECT " COLS ", k.pos FROM unnest($1::text[]) WITH ORDINALITY"       \
	" AS k (key_value, pos) JOIN " TABLE " ON " TABLE "." KEY              \
	" = k.key_value"

/* Runs SQL_GET_MANY query sql for keys[0..n): *res, caller clears. */
static enum kk_status
get_many(struct pg *p, const char *sql, const char *const *keys, size_t n,
    PGresult **res)
{
	struct params pa = {0};
	struct call k;
	char *arr = NULL;
	enum kk_status rc;

	*res = NULL;
	if ((rc = text_array(keys, n, &arr)) != KK_OK)
		return rc;
	p_text(&pa, arr);
	if ((rc = call_begin(p, &k, G_NONE)) == KK_OK) {
		rc = step(&k, sql, &pa, "lookup", res, NULL);
		rc = call_end(&k, rc);
	}
	free(arr);
	return rc;
}

/* The place in keys[0..n) of row's record (its last column). */
static enum kk_status
get_many_place(PGresult *res, int row, size_t n, size_t *place)
{
	const char *v = PQgetvalue(res, row, PQnfields(res) - 1);
	char *end;
	long long pos = strtoll(v, &end, 10);

	if (end == v || *end != '\0' || pos < 1 || (size_t)pos > n)
		return KK_EIO;
	*place = (size_t)pos - 1;
	return KK_OK;
}

#define DEFINE_GET_MANY(NAME, T, SQL, ROW, FREE)                               \
	static enum kk_status NAME(                                            \
	    void *impl, const char *const *keys, size_t n, T ***out)           \
	{                                                                      \
		PGresult *res = NULL;                                          \
		T **arr = NULL;                                                \
		size_t i, at = 0;                                              \
		int row, rows;                                                 \
		enum kk_status rc;                                             \
                                                                               \
		if ((rc = get_many(impl, SQL, keys, n, &res)) != KK_OK)        \
			goto out;                                              \
		if ((arr = calloc(n, sizeof(*arr))) == NULL) {                 \
			rc = KK_ENOMEM;                                        \
			goto out;                                              \
		}                                                              \
		rows = res != NULL ? PQntuples(res) : 0;                       \
		for (row = 0; row < rows && rc == KK_OK; row++)                \
			if ((rc = get_many_place(res, row, n, &at)) ==         \
			        KK_OK &&                                       \
			    arr[at] == NULL)                                   \
				rc = ROW(res, row, &arr[at]);                  \
		if (rc == KK_OK) {                                             \
			*out = arr;                                            \
			arr = NULL;                                            \
		}                                                              \
	out:                                                                   \
		for (i = 0; arr != NULL && i < n; i++)                         \
			FREE(arr[i]);                                          \
		free(arr);                                                     \
		PQclear(res);                                                  \
		return rc;                                                     \
	}

DEFINE_GET_MANY(pg_account_get_many, struct account,
    SQL_GET_MANY(ACCOUNT_COLS, "accounts", "id"), account_row, account_free)
DEFINE_GET_MANY(pg_order_get_many, struct order,
    SQL_GET_MANY(ORDER_READ, "orders", "id"), order_row, order_free)
DEFINE_GET_MANY(pg_renewal_get_many, struct renewal,
    SQL_GET_MANY(RENEWAL_COLS, "cert_renewals", "serial"), renewal_row,
    renewal_free)
DEFINE_GET_MANY(pg_registry_get_many, struct registry_entry,
    SQL_GET_MANY(REGISTRY_COLS, "registry", "number"), registry_row,
    registry_entry_free)

#define PG_OPS                                                                 \
	.open = pg_open, .close = pg_close, .begin = pg_begin,                 \
	.commit = pg_commit, .rollback = pg_rollback,                          \
	.account_insert = pg_account_insert, .account_get = pg_account_get,    \
	.account_by_thumbprint = pg_account_by_thumbprint,                     \
	.account_update = pg_account_update,                                   \
	.account_count_by_ip = pg_account_count_by_ip,                         \
	.order_insert = pg_order_insert, .order_get = pg_order_get,            \
	.order_by_authz = pg_order_by_authz, .order_update = pg_order_update,  \
	.order_ids_by_account = pg_order_ids_by_account,                       \
	.order_count_by_account = pg_order_count_by_account,                   \
	.order_ids_by_org = pg_order_ids_by_org,                               \
	.authz_ids_by_org = pg_authz_ids_by_org,                               \
	.authz_insert = pg_authz_insert, .authz_get = pg_authz_get,            \
	.authz_update = pg_authz_update,                                       \
	.authz_list_by_order = pg_authz_list_by_order,                         \
	.challenge_insert = pg_challenge_insert,                               \
	.challenge_get = pg_challenge_get,                                     \
	.challenge_list_by_authz = pg_challenge_list_by_authz,                 \
	.challenge_update = pg_challenge_update, .expire = pg_expire,          \
	.verification_insert = pg_verification_insert,                         \
	.verification_get = pg_verification_get,                               \
	.verification_by_challenge = pg_verification_by_challenge,             \
	.verification_update = pg_verification_update,                         \
	.verification_list = pg_verification_list,                             \
	.approval_insert = pg_approval_insert, .org_put = pg_org_put,          \
	.org_get = pg_org_get, .org_list = pg_org_list,                        \
	.cert_insert = pg_cert_insert, .cert_get = pg_cert_get,                \
	.cert_revoke = pg_cert_revoke, .cert_list = pg_cert_list,              \
	.eab_insert = pg_eab_insert, .eab_get = pg_eab_get,                    \
	.eab_use = pg_eab_use, .eab_expire = pg_eab_expire,                    \
	.token_insert = pg_token_insert, .token_by_hash = pg_token_by_hash,    \
	.token_revoke = pg_token_revoke, .audit_append = pg_audit_append,      \
	.audit_list = pg_audit_list, .counter_next = pg_counter_next,          \
	.attachment_insert = pg_attachment_insert,                             \
	.cert_list_cn = pg_cert_list_cn, .attachment_get = pg_attachment_get,  \
	.attachment_list = pg_attachment_list, .nonce_put = pg_nonce_put,      \
	.cert_count = pg_cert_count, .crl_get = pg_crl_get,                    \
	.crl_put = pg_crl_put, .nonce_take = pg_nonce_take,                    \
	.org_domain_add = pg_org_domain_add,                                   \
	.org_domain_owner = pg_org_domain_owner,                               \
	.org_domain_list = pg_org_domain_list,                                 \
	.org_domain_grant = pg_org_domain_grant,                               \
	.org_domain_authz_ids = pg_org_domain_authz_ids,                       \
	.authz_reusable = pg_authz_reusable,                                   \
	.authz_count_by_account = pg_authz_count_by_account,                   \
	.order_ids_by_authz = pg_order_ids_by_authz,                           \
	.renewal_get = pg_renewal_get,                                         \
	.renewal_set_window = pg_renewal_set_window,                           \
	.renewal_set_replaced = pg_renewal_set_replaced,                       \
	.registry_put_many = pg_registry_put_many,                             \
	.registry_get = pg_registry_get, .outbox_add = pg_outbox_add,          \
	.outbox_claim = pg_outbox_claim, .outbox_settle = pg_outbox_settle,    \
	.delivery_list = pg_delivery_list, .reminder_mark = pg_reminder_mark,  \
	.account_get_many = pg_account_get_many,                               \
	.order_get_many = pg_order_get_many,                                   \
	.renewal_get_many = pg_renewal_get_many,                               \
	.registry_get_many = pg_registry_get_many

/* libpq's two spellings of its URI scheme. */
const struct store_backend store_pg_backend = {
    .scheme = "postgresql://",
    PG_OPS,
};
const struct store_backend store_pg_short_backend = {
    .scheme = "postgres://",
    PG_OPS,
};
