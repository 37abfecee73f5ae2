/*
 * store_sqlite.c - the SQLite storage backend ("sqlite:PATH").
 *
 * One writing connection per store, in WAL mode: a commit that returned is on
 * disk and survives kill -9 or a power cut. SQLite itself runs with
 * synchronous=NORMAL (no sync inside COMMIT); store_commit() returns after
 * a group sync of the WAL outside the lock (store_gsync.h), and a write
 * outside store_begin() syncs before it returns (durable()). Only when the
 * WAL cannot be opened for syncing does SQLite sync with
 * synchronous=FULL, as slowly and as safely. Every
 * use of the writing connection happens under one recursive mutex, which
 * store_begin() keeps until store_commit() or store_rollback(): the
 * transaction belongs to the thread that opened it, and the calls that
 * thread makes meanwhile take the same mutex again. Lookups of other
 * threads meanwhile go to read-only connections (rprep()), which see
 * what was committed before them without waiting.
 *
 * All SQL is in the queries[] table below and every value reaches SQLite
 * through a bound parameter. Errors are logged with sqlite3_errmsg(),
 * which names tables and columns but never the values (they may be
 * secrets).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kk_log.h"
#include "store_backend.h"
#include "store_gsync.h"
#include "store_walbuf.h"

/* How long a statement waits for another process (e.g. "kakuin-server
 * token create" beside a running server) to release the database. */
#define BUSY_TIMEOUT_MS 5000

/*
 * The schema, one migration per element. Migration i brings the database
 * from user_version i to i + 1 in a transaction of its own. Never edit a
 * migration that has shipped: append the next one.
 *
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
    " created_at INTEGER NOT NULL,"
    " tos_agreed INTEGER NOT NULL);"
    "CREATE INDEX accounts_by_ip ON accounts (created_ip, created_at);"

    "CREATE TABLE authzs ("
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL REFERENCES accounts (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " id_type TEXT NOT NULL,"
    " id_value TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'valid',"
    " 'invalid', 'deactivated', 'expired', 'revoked')),"
    " expires INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX authzs_by_expiry ON authzs (status, expires);"

    "CREATE TABLE orders ("
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
    " created_at INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX orders_by_account ON orders (account_id, created_at);"
    "CREATE INDEX orders_by_authz ON orders (authz_id);"
    "CREATE INDEX orders_by_expiry ON orders (status, expires);"

    "CREATE TABLE challenges ("
    " id TEXT PRIMARY KEY,"
    " authz_id TEXT NOT NULL REFERENCES authzs (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " type TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'processing',"
    " 'valid', 'invalid')),"
    " token TEXT NOT NULL,"
    " error TEXT,"
    " validated INTEGER NOT NULL);"
    "CREATE INDEX challenges_by_authz ON challenges (authz_id);"

    /* One verification per challenge: a second request is a conflict. */
    "CREATE TABLE verifications ("
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
    " requested_at INTEGER NOT NULL,"
    " decided_at INTEGER NOT NULL);"
    "CREATE INDEX verifications_by_status"
    " ON verifications (status, requested_at);"
    "CREATE INDEX verifications_by_org ON verifications (org, requested_at);"

    /* Dual control means two distinct operators: one approval each. */
    "CREATE TABLE approvals ("
    " verification_id TEXT NOT NULL REFERENCES verifications (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " operator_name TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " legal_name TEXT,"
    " country TEXT,"
    " evidence TEXT,"
    " at INTEGER NOT NULL,"
    " UNIQUE (verification_id, operator_name));"

    "CREATE TABLE orgs ("
    " id TEXT PRIMARY KEY,"
    " legal_name TEXT,"
    " country TEXT,"
    " method TEXT,"
    " verified_at INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);"

    "CREATE TABLE certs ("
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
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL,"
    " reason INTEGER NOT NULL);"
    "CREATE INDEX certs_by_org ON certs (org, status);"
    "CREATE INDEX certs_by_status ON certs (status);"

    "CREATE TABLE eab_keys ("
    " kid TEXT PRIMARY KEY,"
    " hmac_key BLOB NOT NULL CHECK (length(hmac_key) > 0),"
    " org TEXT NOT NULL,"
    " created_by TEXT,"
    " created_at INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " max_uses INTEGER NOT NULL CHECK (max_uses >= 0),"
    " uses INTEGER NOT NULL);"

    /* A name is unique among active tokens only, so a revoked token's
     * name can be given to its replacement. */
    "CREATE TABLE op_tokens ("
    " hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('operator', 'auditor')),"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX op_tokens_active_name ON op_tokens (name)"
    " WHERE revoked_at = 0;"

    /* AUTOINCREMENT: a sequence number is never handed out twice. */
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_by_time ON audit (at);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"

    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);",

    /* 2: operator lists are paged in list order (store_page): indexes
     * that end in that order, so a page reads only its own rows. */
    "CREATE INDEX verifications_by_time ON verifications (requested_at);"
    "CREATE INDEX certs_by_org_only ON certs (org);",

    /* 3: documents attached to verifications, named by their SHA-256. */
    "CREATE TABLE attachments ("
    " verification_id TEXT NOT NULL REFERENCES verifications (id)"
    " DEFERRABLE INITIALLY DEFERRED,"
    " sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    " content_type TEXT NOT NULL,"
    " uploaded_by TEXT NOT NULL,"
    " uploaded_at INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY (verification_id, sha256));"
    /* Certificates searched by CN. */
    "CREATE INDEX certs_by_cn ON certs (cn);",
    /* 4: the current CRL of each issuer (store_crl_get). */
    "CREATE TABLE crls ("
    " issuer TEXT PRIMARY KEY,"
    " number INTEGER NOT NULL CHECK (number > 0),"
    " this_update INTEGER NOT NULL,"
    " next_update INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL,"
    " der BLOB NOT NULL);",

    /* 5: an order holds several authorizations (dns names besides or
     * instead of the org identifier): each points to its order. */
    "ALTER TABLE authzs ADD COLUMN order_id TEXT;"
    "ALTER TABLE authzs ADD COLUMN order_pos INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX authzs_by_order ON authzs (order_id, order_pos);",
    /* 6: organization domains, the authorizations they
     * made valid, and renewal information beside certificates. */
    "CREATE TABLE org_domains ("
    " name TEXT PRIMARY KEY,"
    " org TEXT NOT NULL,"
    " added_by TEXT NOT NULL,"
    " added_at INTEGER NOT NULL);"
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
    " window_start INTEGER NOT NULL,"
    " window_end INTEGER NOT NULL,"
    " replaced_by TEXT REFERENCES orders (id)"
    " DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX cert_renewals_by_order ON cert_renewals (replaced_by);",
#define REGISTRY_COLS                                                          \
	"number, name, furigana, en_name, address, post_code, kind,"           \
	" update_date, close_date, close_cause, seq"
#define REGISTRY_SET                                                           \
	" name = excluded.name, furigana = excluded.furigana,"                 \
	" en_name = excluded.en_name, address = excluded.address,"             \
	" post_code = excluded.post_code, kind = excluded.kind,"               \
	" update_date = excluded.update_date,"                                 \
	" close_date = excluded.close_date,"                                   \
	" close_cause = excluded.close_cause, seq = excluded.seq"
#define OUTBOX_COLS                                                            \
	"id, event, subject, target, payload, created_at, next_at, attempts,"  \
	" state"
#define DELIVERY_COLS "outbox_id, event, target, attempt, status, error, at"

    /* 7: the operator's desk: the corporate-number registry, the
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
    " seq INTEGER NOT NULL);"

    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " event TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),"
    " lease_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_due ON outbox (state, next_at);"

    "CREATE TABLE deliveries ("
    " outbox_id INTEGER NOT NULL REFERENCES outbox (id),"
    " event TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " error TEXT,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (outbox_id, attempt));"

    "CREATE TABLE reminders ("
    " org TEXT NOT NULL,"
    " days INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " PRIMARY KEY (org, days, expires));",

    /* 8: no query used audit_by_time (the audit list pages by seq, the
     * rowid), and every commit wrote a page of it to the WAL. */
    "DROP INDEX audit_by_time;",

    /* 9: seq without AUTOINCREMENT. AUTOINCREMENT rewrote a page of
     * sqlite_sequence in every transaction that audits (each one of an
     * enrollment's three); a plain INTEGER PRIMARY KEY is the largest
     * seq plus one, which is the same number because the newest event
     * is never deleted (the triggers forbid it). The table is rebuilt:
     * SQLite cannot drop AUTOINCREMENT in place. */
    "CREATE TABLE audit_new ("
    " seq INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT,"
    " detail TEXT);"
    "INSERT INTO audit_new (seq, at, actor, action, object, detail)"
    " SELECT seq, at, actor, action, object, detail FROM audit;"
    "DROP TABLE audit;"
    "ALTER TABLE audit_new RENAME TO audit;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define ACCOUNT_COLS                                                           \
	"id, status, jwk, thumbprint, contacts, org, eab_kid, created_ip,"     \
	" created_at, tos_agreed"
#define ORDER_COLS                                                             \
	"id, account_id, status, org, authz_id, profile, error, cert_serial,"  \
	" created_at, expires"
/* What is read of an order: its columns and the certificate it replaces. */
#define ORDER_READ                                                             \
	ORDER_COLS ", (SELECT serial FROM cert_renewals"                       \
	           " WHERE replaced_by = orders.id LIMIT 1)"
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
#define ATTACHMENT_COLS                                                        \
	"verification_id, sha256, content_type, uploaded_by, uploaded_at, "    \
	"size"
#define CRL_COLS "issuer, number, this_update, next_update, revoked, der"
#define AUDIT_COLS "seq, at, actor, action, object, detail"
#define RENEWAL_COLS "serial, window_start, window_end, replaced_by"

/* Keyset paging: the rows after the page's start, in list order. Row
 * values compare as the ORDER BY does, and the indexes end in these
 * columns (rowid implicitly), so the start is a seek, not a scan. */
#define VERIFICATION_PAGE                                                      \
	"(requested_at, rowid) > (?, ?) ORDER BY requested_at, rowid LIMIT ?"
#define CERT_PAGE "rowid < ? ORDER BY rowid DESC LIMIT ?"

enum q {
	Q_ACCOUNT_INSERT,
	Q_ACCOUNT_GET,
	Q_ACCOUNT_BY_THUMBPRINT,
	Q_ACCOUNT_UPDATE,
	Q_ACCOUNT_COUNT_BY_IP,
	Q_ORDER_INSERT,
	Q_ORDER_GET,
	Q_ORDER_BY_AUTHZ,
	Q_ORDER_UPDATE,
	Q_ORDER_IDS_BY_ACCOUNT,
	Q_ORDER_COUNT_BY_ACCOUNT,
	Q_ORDER_IDS_BY_ORG,
	Q_AUTHZ_IDS_BY_ORG,
	Q_AUTHZ_INSERT,
	Q_AUTHZ_GET,
	Q_AUTHZ_UPDATE,
	Q_AUTHZ_LIST_BY_ORDER,
	Q_CHALLENGE_INSERT,
	Q_CHALLENGE_GET,
	Q_CHALLENGE_LIST_BY_AUTHZ,
	Q_CHALLENGE_UPDATE,
	Q_EXPIRE_ORDERS,
	Q_EXPIRE_AUTHZS,
	Q_VERIFICATION_INSERT,
	Q_VERIFICATION_GET,
	Q_VERIFICATION_BY_CHALLENGE,
	Q_VERIFICATION_UPDATE,
	Q_VERIFICATION_LIST,
	Q_VERIFICATION_LIST_STATUS,
	Q_VERIFICATION_LIST_ORG,
	Q_VERIFICATION_LIST_STATUS_ORG,
	Q_VERIFICATION_POS,
	Q_APPROVAL_INSERT,
	Q_APPROVAL_LIST,
	Q_ORG_PUT,
	Q_REGISTRY_PUT,
	Q_REGISTRY_GET,
	Q_OUTBOX_ADD,
	Q_OUTBOX_CLAIM,
	Q_DELIVERY_ADD,
	Q_OUTBOX_SETTLE,
	Q_DELIVERY_LIST,
	Q_REMINDER_MARK,
	Q_ORG_GET,
	Q_ORG_LIST,
	Q_ORG_POS,
	Q_CERT_INSERT,
	Q_CERT_GET,
	Q_CERT_REVOKE,
	Q_CERT_EXISTS,
	Q_CERT_LIST,
	Q_CERT_LIST_ORG,
	Q_CERT_LIST_STATUS,
	Q_CERT_LIST_ORG_STATUS,
	Q_CERT_POS,
	Q_CERT_LIST_CN,
	Q_CERT_COUNT,
	Q_CERT_COUNT_STATUS,
	Q_CRL_GET,
	Q_CRL_PUT,
	Q_EAB_INSERT,
	Q_EAB_GET,
	Q_EAB_USE,
	Q_EAB_EXISTS,
	Q_EAB_EXPIRE,
	Q_TOKEN_INSERT,
	Q_TOKEN_BY_HASH,
	Q_TOKEN_REVOKE,
	Q_AUDIT_APPEND,
	Q_ATTACHMENT_INSERT,
	Q_ATTACHMENT_GET,
	Q_ATTACHMENT_LIST,
	Q_AUDIT_LIST,
	Q_AUDIT_POS,
	Q_COUNTER_NEXT,
	Q_DOMAIN_ADD,
	Q_DOMAIN_OWNER,
	Q_DOMAIN_LIST,
	Q_DOMAIN_GRANT,
	Q_DOMAIN_AUTHZ_IDS,
	Q_AUTHZ_REUSABLE,
	Q_AUTHZ_COUNT_BY_ACCOUNT,
	Q_ORDER_IDS_BY_AUTHZ,
	Q_RENEWAL_GET,
	Q_RENEWAL_WINDOW,
	Q_RENEWAL_REPLACED,
	Q_COUNT
};

/*
 * Lists are ordered by their documented key, then by rowid (insertion
 * order), so that records made in the same second keep a stable order.
 */
static const char *const queries[Q_COUNT] = {
    [Q_ACCOUNT_INSERT] = "INSERT INTO accounts (" ACCOUNT_COLS ")"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_ACCOUNT_GET] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?",
    [Q_ACCOUNT_BY_THUMBPRINT] =
        "SELECT " ACCOUNT_COLS " FROM accounts WHERE thumbprint = ?",
    [Q_ACCOUNT_UPDATE] = "UPDATE accounts SET status = ?2, jwk = ?3,"
                         " thumbprint = ?4, contacts = ?5, org = ?6"
                         " WHERE id = ?1",
    [Q_ACCOUNT_COUNT_BY_IP] = "SELECT count(*) FROM accounts"
                              " WHERE created_ip = ? AND created_at >= ?",

    [Q_ORDER_INSERT] = "INSERT INTO orders (" ORDER_COLS ")"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_ORDER_GET] = "SELECT " ORDER_READ " FROM orders WHERE id = ?",
    [Q_ORDER_BY_AUTHZ] = "SELECT " ORDER_READ " FROM orders"
                         " WHERE authz_id = ?"
                         " ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [Q_ORDER_UPDATE] = "UPDATE orders SET status = ?2, error = ?3,"
                       " cert_serial = ?4, expires = ?5 WHERE id = ?1",
    [Q_ORDER_IDS_BY_ACCOUNT] = "SELECT id FROM orders WHERE account_id = ?"
                               " ORDER BY created_at DESC, rowid DESC",
    [Q_ORDER_COUNT_BY_ACCOUNT] = "SELECT count(*) FROM orders"
                                 " WHERE account_id = ? AND created_at >= ?",
    [Q_ORDER_IDS_BY_ORG] = "SELECT id FROM orders WHERE org = ? AND status = ?"
                           " ORDER BY created_at DESC, rowid DESC",
    [Q_AUTHZ_IDS_BY_ORG] = "SELECT id FROM authzs"
                           " WHERE id_value = ? AND status = ?"
                           " ORDER BY created_at DESC, rowid DESC",

    [Q_AUTHZ_INSERT] = "INSERT INTO authzs (" AUTHZ_COLS ")"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_AUTHZ_GET] = "SELECT " AUTHZ_COLS " FROM authzs WHERE id = ?",
    [Q_AUTHZ_UPDATE] = "UPDATE authzs SET status = ?2, expires = ?3"
                       " WHERE id = ?1",
    [Q_AUTHZ_LIST_BY_ORDER] = "SELECT " AUTHZ_COLS " FROM authzs"
                              " WHERE order_id = ? ORDER BY order_pos",

    [Q_CHALLENGE_INSERT] = "INSERT INTO challenges (" CHALLENGE_COLS ")"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_CHALLENGE_GET] =
        "SELECT " CHALLENGE_COLS " FROM challenges WHERE id = ?",
    [Q_CHALLENGE_LIST_BY_AUTHZ] =
        "SELECT " CHALLENGE_COLS " FROM challenges WHERE authz_id = ?"
        " ORDER BY rowid",
    [Q_CHALLENGE_UPDATE] = "UPDATE challenges SET status = ?2, error = ?3,"
                           " validated = ?4 WHERE id = ?1",

    /* expires = 0 means unset (model.h), never "long ago". */
    [Q_EXPIRE_ORDERS] = "UPDATE orders SET status = 'invalid'"
                        " WHERE status IN ('pending', 'ready')"
                        " AND expires > 0 AND expires < ?",
    [Q_EXPIRE_AUTHZS] = "UPDATE authzs SET status = 'expired'"
                        " WHERE status IN ('pending', 'valid')"
                        " AND expires > 0 AND expires < ?",

    [Q_VERIFICATION_INSERT] = "INSERT INTO verifications (" VERIFICATION_COLS
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_VERIFICATION_GET] =
        "SELECT " VERIFICATION_COLS " FROM verifications WHERE id = ?",
    [Q_VERIFICATION_BY_CHALLENGE] =
        "SELECT " VERIFICATION_COLS " FROM verifications"
        " WHERE challenge_id = ?",
    [Q_VERIFICATION_UPDATE] = "UPDATE verifications SET status = ?2,"
                              " reason = ?3, decided_at = ?4 WHERE id = ?1",
    /* Paged lists take the page's start and size last (store_page). */
    [Q_VERIFICATION_LIST] = "SELECT " VERIFICATION_COLS " FROM verifications"
                            " WHERE " VERIFICATION_PAGE,
    [Q_VERIFICATION_LIST_STATUS] =
        "SELECT " VERIFICATION_COLS " FROM verifications WHERE status = ?"
        " AND " VERIFICATION_PAGE,
    [Q_VERIFICATION_LIST_ORG] =
        "SELECT " VERIFICATION_COLS " FROM verifications WHERE org = ?"
        " AND " VERIFICATION_PAGE,
    [Q_VERIFICATION_LIST_STATUS_ORG] =
        "SELECT " VERIFICATION_COLS " FROM verifications"
        " WHERE status = ? AND org = ? AND " VERIFICATION_PAGE,
    [Q_VERIFICATION_POS] =
        "SELECT requested_at, rowid FROM verifications WHERE id = ?",
    [Q_APPROVAL_INSERT] =
        "INSERT INTO approvals (verification_id, " APPROVAL_COLS
        ") VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_APPROVAL_LIST] = "SELECT " APPROVAL_COLS " FROM approvals"
                        " WHERE verification_id = ? ORDER BY rowid",

    [Q_ORG_PUT] = "INSERT INTO orgs (" ORG_COLS ") VALUES (?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (id) DO UPDATE SET"
                  " legal_name = excluded.legal_name,"
                  " country = excluded.country, method = excluded.method,"
                  " verified_at = excluded.verified_at,"
                  " expires = excluded.expires",
    [Q_ORG_GET] = "SELECT " ORG_COLS " FROM orgs WHERE id = ?",
    [Q_ORG_LIST] =
        "SELECT " ORG_COLS " FROM orgs WHERE id > ? ORDER BY id LIMIT ?",
    [Q_ORG_POS] = "SELECT 0, 0 FROM orgs WHERE id = ?",

    [Q_CERT_INSERT] = "INSERT INTO certs (" CERT_COLS ")"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE serial = ?",
    /* The first revocation's time and reason are what the CRL keeps. */
    [Q_CERT_REVOKE] = "UPDATE certs SET status = 'revoked',"
                      " revoked_at = ?2, reason = ?3"
                      " WHERE serial = ?1 AND status = 'valid'",
    [Q_CERT_EXISTS] = "SELECT 1 FROM certs WHERE serial = ?",
    [Q_CERT_LIST] = "SELECT " CERT_COLS " FROM certs WHERE " CERT_PAGE,
    [Q_CERT_LIST_ORG] =
        "SELECT " CERT_COLS " FROM certs WHERE org = ? AND " CERT_PAGE,
    [Q_CERT_LIST_STATUS] =
        "SELECT " CERT_COLS " FROM certs WHERE status = ? AND " CERT_PAGE,
    [Q_CERT_LIST_ORG_STATUS] = "SELECT " CERT_COLS " FROM certs"
                               " WHERE org = ? AND status = ? AND " CERT_PAGE,
    [Q_CERT_POS] = "SELECT rowid, 0 FROM certs WHERE serial = ?",
    [Q_CERT_LIST_CN] = "SELECT " CERT_COLS " FROM certs WHERE cn = ?1"
                       " AND (?2 IS NULL OR org = ?2)"
                       " AND (?3 IS NULL OR status = ?3) AND " CERT_PAGE,

    [Q_REGISTRY_PUT] = "INSERT INTO registry (" REGISTRY_COLS ")"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (number) DO UPDATE SET" REGISTRY_SET
                       " WHERE excluded.update_date > registry.update_date",
    [Q_REGISTRY_GET] = "SELECT " REGISTRY_COLS " FROM registry"
                       " WHERE number = ?",
    [Q_OUTBOX_ADD] = "INSERT INTO outbox (event, subject, target, payload,"
                     " created_at, next_at, attempts, state)"
                     " VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')",
    [Q_OUTBOX_CLAIM] = "UPDATE outbox SET lease_until = ?2 WHERE id IN"
                       " (SELECT id FROM outbox WHERE state = 'pending'"
                       " AND next_at <= ?1 AND lease_until <= ?1"
                       " ORDER BY id LIMIT ?3)"
                       " RETURNING " OUTBOX_COLS,
    [Q_DELIVERY_ADD] = "INSERT INTO deliveries (" DELIVERY_COLS ")"
                       " SELECT id, event, target, attempts + 1, ?2, ?3, ?4"
                       " FROM outbox WHERE id = ?1",
    [Q_OUTBOX_SETTLE] = "UPDATE outbox SET attempts = attempts + 1,"
                        " state = ?2, next_at = ?3, lease_until = 0"
                        " WHERE id = ?1",
    [Q_DELIVERY_LIST] = "SELECT " DELIVERY_COLS " FROM deliveries"
                        " WHERE ?1 = 0 OR outbox_id = ?1"
                        " ORDER BY rowid",
    [Q_REMINDER_MARK] = "INSERT INTO reminders (org, days, expires)"
                        " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    [Q_CERT_COUNT] = "SELECT count(*) FROM certs",
    [Q_CERT_COUNT_STATUS] = "SELECT count(*) FROM certs WHERE status = ?",
    [Q_CRL_GET] = "SELECT " CRL_COLS " FROM crls WHERE issuer = ?",
    /* A lower number never replaces a higher one. */
    [Q_CRL_PUT] = "INSERT INTO crls (" CRL_COLS ") VALUES (?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (issuer) DO UPDATE SET"
                  " number = excluded.number,"
                  " this_update = excluded.this_update,"
                  " next_update = excluded.next_update,"
                  " revoked = excluded.revoked, der = excluded.der"
                  " WHERE excluded.number > crls.number",

    [Q_EAB_INSERT] = "INSERT INTO eab_keys (" EAB_COLS ")"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_EAB_GET] = "SELECT " EAB_COLS " FROM eab_keys WHERE kid = ?",
    /* Check and count in one statement: two racing uses of the last
     * allowed one cannot both succeed. */
    [Q_EAB_USE] = "UPDATE eab_keys SET uses = uses + 1"
                  " WHERE kid = ? AND (max_uses = 0 OR uses < max_uses)",
    [Q_EAB_EXISTS] = "SELECT 1 FROM eab_keys WHERE kid = ?",
    [Q_EAB_EXPIRE] = "UPDATE eab_keys SET expires = ? WHERE kid = ?"
                     " AND (expires = 0 OR expires > ?)",

    [Q_TOKEN_INSERT] = "INSERT INTO op_tokens (" TOKEN_COLS ")"
                       " VALUES (?, ?, ?, ?, ?)",
    [Q_TOKEN_BY_HASH] = "SELECT " TOKEN_COLS " FROM op_tokens"
                        " WHERE hash = ? AND revoked_at = 0",
    [Q_TOKEN_REVOKE] = "UPDATE op_tokens SET revoked_at = ?2"
                       " WHERE name = ?1 AND revoked_at = 0",

    [Q_ATTACHMENT_INSERT] = "INSERT INTO attachments (" ATTACHMENT_COLS
                            ", data) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_ATTACHMENT_GET] = "SELECT " ATTACHMENT_COLS ", data FROM attachments"
                         " WHERE verification_id = ? AND sha256 = ?",
    [Q_ATTACHMENT_LIST] = "SELECT " ATTACHMENT_COLS ", NULL FROM attachments"
                          " WHERE verification_id = ?"
                          " ORDER BY uploaded_at, rowid",
    [Q_AUDIT_APPEND] = "INSERT INTO audit (at, actor, action, object, detail)"
                       " VALUES (?, ?, ?, ?, ?)",
    [Q_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE at >= ?"
                     " AND seq > ? ORDER BY seq LIMIT ?",
    [Q_AUDIT_POS] = "SELECT seq, 0 FROM audit WHERE seq = ?",

    [Q_COUNTER_NEXT] = "INSERT INTO counters (name, value) VALUES (?, 1)"
                       " ON CONFLICT (name) DO UPDATE SET value = value + 1"
                       " RETURNING value",

    [Q_DOMAIN_ADD] = "INSERT INTO org_domains (name, org, added_by, added_at)"
                     " VALUES (?, ?, ?, ?)",
    [Q_DOMAIN_OWNER] = "SELECT org FROM org_domains WHERE name = ?",
    [Q_DOMAIN_LIST] = "SELECT name FROM org_domains WHERE org = ?"
                      " ORDER BY name",
    [Q_DOMAIN_GRANT] = "INSERT INTO org_domain_grants (authz_id, org)"
                       " VALUES (?, ?)",
    [Q_DOMAIN_AUTHZ_IDS] = "SELECT a.id FROM org_domain_grants g"
                           " JOIN authzs a ON a.id = g.authz_id"
                           " WHERE g.org = ? AND a.status = ?"
                           " ORDER BY a.created_at DESC, a.rowid DESC",
    /* INDEXED BY: left to itself, the planner walks authzs_by_expiry
     * for the ORDER BY ... LIMIT 1, through every valid authorization
     * of every account (a cost that grew with the table). */
    [Q_AUTHZ_REUSABLE] = "SELECT " AUTHZ_COLS " FROM authzs"
                         " INDEXED BY authzs_by_account"
                         " WHERE account_id = ? AND id_type = ?"
                         " AND id_value = ? AND status = 'valid'"
                         " AND expires > ?"
                         " ORDER BY expires DESC, rowid DESC LIMIT 1",
    [Q_AUTHZ_COUNT_BY_ACCOUNT] = "SELECT count(*) FROM authzs"
                                 " WHERE account_id = ? AND created_at >= ?",
    [Q_ORDER_IDS_BY_AUTHZ] = "SELECT id FROM orders WHERE authz_id = ?"
                             " ORDER BY created_at DESC, rowid DESC",
    [Q_RENEWAL_GET] = "SELECT " RENEWAL_COLS " FROM cert_renewals"
                      " WHERE serial = ?",
    [Q_RENEWAL_WINDOW] =
        "INSERT INTO cert_renewals (" RENEWAL_COLS ") VALUES (?, ?, ?, NULL)"
        " ON CONFLICT (serial) DO UPDATE SET"
        " window_start = excluded.window_start,"
        " window_end = excluded.window_end",
    [Q_RENEWAL_REPLACED] =
        "INSERT INTO cert_renewals (" RENEWAL_COLS ") VALUES (?, 0, 0, ?)"
        " ON CONFLICT (serial) DO UPDATE SET"
        " replaced_by = excluded.replaced_by",
};

/* Transaction control run on every store_begin() and store_commit(). */
enum ctl { CTL_BEGIN, CTL_COMMIT, CTL_COUNT };

static const char *const ctl_sql[CTL_COUNT] = {
    [CTL_BEGIN] = "BEGIN IMMEDIATE",
    [CTL_COMMIT] = "COMMIT",
};

/*
 * A read-only connection beside the store's one writing connection. In WAL
 * mode a reader sees every commit made before its statement began and
 * never waits for the writer, so a lookup need not queue behind another
 * thread's whole transaction (which holds s->lock from store_begin() to
 * store_commit()). See rprep().
 */
struct rconn {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
};

#define SQ_READERS 4

struct sq {
	sqlite3 *db;
	pthread_mutex_t lock;
	int in_tx;        /* store_begin() holds the lock; guarded by lock */
	struct gsync *gs; /* NULL: every commit syncs inside SQLite */
	sqlite3_stmt *ctl[CTL_COUNT]; /* see ctl() */
	sqlite3_stmt *stmt[Q_COUNT];
	struct rconn rd[SQ_READERS];
	int n_rd;                 /* readers open; 0: reads use db */
	const char *vfs;          /* walbuf's, or NULL: SQLite's default */
	pthread_key_t defer;      /* set: this thread's commits do not wait */
	int has_defer;            /* defer was created */
	_Atomic unsigned next_rd; /* where the next reader search starts */
	/* Commits begun on db (its commit hook), and how many of them had
	 * ended at the last ticket() or unlock(): see sq_settle. */
	_Atomic uint64_t commits_begun;
	_Atomic uint64_t commits_ended;
};

/* Binds positional parameters in order, keeping the first error. */
struct binder {
	sqlite3_stmt *q;
	sqlite3 *db;        /* q's connection, for error messages */
	struct rconn *held; /* rprep()'s reader, NULL: s->lock */
	int idx;
	int rc;
};

/* Reads columns in order, keeping the first error. */
struct reader {
	sqlite3_stmt *q;
	int col;
	enum kk_status rc;
};

typedef enum kk_status (*row_fn)(sqlite3_stmt *q, void *out);

static void
lock(struct sq *s)
{
	pthread_mutex_lock(&s->lock);
}

static void
unlock(struct sq *s)
{
	/* Every commit made under the lock has ended by now, and has its
	 * ticket if it wrote anything (each takes one before it lets go):
	 * see sq_settle. */
	atomic_store(&s->commits_ended, atomic_load(&s->commits_begun));
	pthread_mutex_unlock(&s->lock);
}

/*
 * Translates a failed SQLite call. Constraint failures are the caller's
 * business (a taken key, a missing referenced record, a value the schema
 * refuses); the rest is a backend failure worth a log line.
 */
static enum kk_status
fail_db(sqlite3 *db, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return KK_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		kk_log("store: %s: refers to a record that does not "
		       "exist",
		    what);
		return KK_ENOTFOUND;
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_CHECK:
		kk_log("store: %s: %s", what, sqlite3_errmsg(db));
		return KK_EINVAL;
	default:
		break;
	}
	if ((rc & 0xff) == SQLITE_NOMEM)
		return KK_ENOMEM;
	kk_log("store: %s: %s", what, sqlite3_errmsg(db));
	return KK_EIO;
}

static enum kk_status
fail(struct sq *s, int rc, const char *what)
{
	return fail_db(s->db, rc, what);
}

/* Runs SQL that carries no values (schema, transaction control). */
static enum kk_status
exec_as(struct sq *s, const char *sql, const char *what)
{
	int rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? KK_OK : fail(s, rc, what);
}

/* The same for a short statement that names itself in a log line. */
static enum kk_status
exec(struct sq *s, const char *sql)
{
	return exec_as(s, sql, sql);
}

/*
 * Runs transaction control statement c, prepared once: sqlite3_exec
 * would parse it again each time, several times per request.
 */
static enum kk_status
ctl(struct sq *s, enum ctl c)
{
	int rc;

	if (s->ctl[c] == NULL &&
	    (rc = sqlite3_prepare_v3(s->db, ctl_sql[c], -1,
	         SQLITE_PREPARE_PERSISTENT, &s->ctl[c], NULL)) != SQLITE_OK)
		return fail(s, rc, ctl_sql[c]);
	rc = sqlite3_step(s->ctl[c]);
	sqlite3_reset(s->ctl[c]);
	return rc == SQLITE_DONE ? KK_OK : fail(s, rc, ctl_sql[c]);
}

/*
 * The gsync ticket of the commit that has just returned on db: call with
 * the lock, before anyone else may commit, so that tickets follow
 * commits. Every commit begun by now has ended and is covered by this
 * ticket (or failed): see sq_settle.
 */
static uint64_t
ticket(struct sq *s)
{
	uint64_t t = gsync_ticket(s->gs);

	atomic_store(&s->commits_ended, atomic_load(&s->commits_begun));
	return t;
}

/*
 * A write outside store_begin() has just committed with synchronous=NORMAL:
 * returns once it is on disk. The wait holds the store's lock, which
 * these rare writes (migrations aside, only operator commands and
 * maintenance) can afford; the transactions of store_begin() wait
 * outside it.
 */
static enum kk_status
durable(struct sq *s)
{
	if (s->gs == NULL || s->in_tx)
		return KK_OK;
	return gsync_wait(s->gs, ticket(s));
}

/*
 * After an I/O error or a full disk SQLite may roll a transaction back on
 * its own. The calls that follow would then each commit on their own and
 * leave half of the caller's change on disk: refuse them instead, until
 * the caller's commit (which fails) or rollback ends the transaction.
 */
static enum kk_status
tx_lost(struct sq *s)
{
	if (!s->in_tx || !sqlite3_get_autocommit(s->db))
		return KK_OK;
	kk_log("store: the open transaction was rolled back after "
	       "an earlier error");
	return KK_EIO;
}

/* The statement for q on db, prepared once into cache[q]. */
static enum kk_status
prep_on(sqlite3 *db, sqlite3_stmt **cache, enum q q, struct binder *b)
{
	int rc;

	if (cache[q] == NULL) {
		rc = sqlite3_prepare_v3(db, queries[q], -1,
		    SQLITE_PREPARE_PERSISTENT, &cache[q], NULL);
		if (rc != SQLITE_OK)
			return fail_db(db, rc, "prepare");
	}
	b->q = cache[q];
	return KK_OK;
}

static void
binder_init(struct binder *b, sqlite3 *db)
{
	b->q = NULL;
	b->db = db;
	b->held = NULL;
	b->idx = 0;
	b->rc = SQLITE_OK;
}

/* The cached statement for q, ready for binding. Call with the lock. */
static enum kk_status
prep(struct sq *s, enum q q, struct binder *b)
{
	enum kk_status st;

	binder_init(b, s->db);
	if ((st = tx_lost(s)) != KK_OK)
		return st;
	return prep_on(s->db, s->stmt, q, b);
}

/* Makes a statement reusable and drops its bound values. */
static void
finish(struct binder *b)
{
	if (b->q == NULL)
		return;
	sqlite3_reset(b->q);
	sqlite3_clear_bindings(b->q);
	b->q = NULL;
}

/* A reader, locked: the first free one, else one to wait for. */
static struct rconn *
reader_take(struct sq *s)
{
	unsigned i = atomic_fetch_add(&s->next_rd, 1);
	struct rconn *r;

	for (int k = 0; k < s->n_rd; k++) {
		r = &s->rd[(i + (unsigned)k) % (unsigned)s->n_rd];
		if (pthread_mutex_trylock(&r->lock) == 0)
			return r;
	}
	r = &s->rd[i % (unsigned)s->n_rd];
	pthread_mutex_lock(&r->lock);
	return r;
}

/*
 * prep() for a statement that only reads, taking the lock it needs:
 * release with rfinish(). The writing connection when this thread may
 * use it at once (it is free, or this thread's own transaction holds it:
 * the read must then see that transaction's changes); otherwise a reader,
 * rather than waiting for another thread's transaction to end.
 */
static enum kk_status
rprep(struct sq *s, enum q q, struct binder *b)
{
	struct rconn *r;

	if (s->n_rd == 0)
		lock(s);
	else if (pthread_mutex_trylock(&s->lock) != 0) {
		r = reader_take(s);
		binder_init(b, r->db);
		b->held = r;
		return prep_on(r->db, r->stmt, q, b);
	}
	return prep(s, q, b);
}

/* Ends what rprep() began, whether or not it succeeded. */
static void
rfinish(struct sq *s, struct binder *b)
{
	struct rconn *r = b->held;

	finish(b);
	if (r != NULL)
		pthread_mutex_unlock(&r->lock);
	else
		unlock(s);
}

static void
bind_text(struct binder *b, const char *v)
{
	if (b->rc == SQLITE_OK)
		b->rc =
		    sqlite3_bind_text(b->q, ++b->idx, v, -1, SQLITE_TRANSIENT);
}

/* States are stored by name (acme_status.h), which the schema's CHECK
 * constraints know; ACME_STATUS_NONE is stored as "unknown", refused. */
static void
bind_status(struct binder *b, enum acme_status st)
{
	bind_text(b, acme_status_name(st));
}

static void
bind_int(struct binder *b, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->q, ++b->idx, (sqlite3_int64)v);
}

static void
bind_blob(struct binder *b, const void *v, size_t len)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_blob64(
		    b->q, ++b->idx, v, (sqlite3_uint64)len, SQLITE_TRANSIENT);
}

/*
 * Steps a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows it changed.
 */
static enum kk_status
run(struct sq *s, struct binder *b, const char *what, int *changes)
{
	int rc;

	if (b->rc != SQLITE_OK)
		return fail(s, b->rc, what);
	rc = sqlite3_step(b->q);
	if (rc != SQLITE_DONE)
		return fail(s, rc, what);
	if (changes != NULL)
		*changes = sqlite3_changes(s->db);
	/* A write that was a transaction of its own has just committed. */
	if (sqlite3_get_autocommit(s->db) && !sqlite3_stmt_readonly(b->q))
		return durable(s);
	return KK_OK;
}

/* Steps to the next row: KK_OK with a row, KK_ENOTFOUND at the end. */
static enum kk_status
next_row(struct binder *b, const char *what)
{
	int rc;

	if (b->rc != SQLITE_OK)
		return fail_db(b->db, b->rc, what);
	rc = sqlite3_step(b->q);
	if (rc == SQLITE_ROW)
		return KK_OK;
	if (rc == SQLITE_DONE)
		return KK_ENOTFOUND;
	return fail_db(b->db, rc, what);
}

static char *
col_text(struct reader *r)
{
	const unsigned char *t;
	char *v;
	int col = r->col++;

	if (r->rc != KK_OK || sqlite3_column_type(r->q, col) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(r->q, col);
	if (t == NULL || (v = strdup((const char *)t)) == NULL) {
		r->rc = KK_ENOMEM;
		return NULL;
	}
	return v;
}

/* A state column: a name the schema allowed, else the row is corrupt. */
static enum acme_status
col_status(struct reader *r)
{
	const unsigned char *t;
	enum acme_status st;
	int col = r->col++;

	if (r->rc != KK_OK)
		return ACME_STATUS_NONE;
	t = sqlite3_column_text(r->q, col);
	if ((st = acme_status_parse((const char *)t)) == ACME_STATUS_NONE)
		r->rc = KK_EIO;
	return st;
}

static int64_t
col_int(struct reader *r)
{
	int col = r->col++;

	if (r->rc != KK_OK)
		return 0;
	return (int64_t)sqlite3_column_int64(r->q, col);
}

/* A copy of a BLOB column in memory of the caller's own. */
static unsigned char *
col_blob(struct reader *r, size_t *len)
{
	const void *p;
	unsigned char *v;
	int col = r->col++, n;

	*len = 0;
	if (r->rc != KK_OK || sqlite3_column_type(r->q, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(r->q, col);
	n = sqlite3_column_bytes(r->q, col);
	if (n <= 0)
		return NULL;
	if (p == NULL || (v = malloc((size_t)n)) == NULL) {
		r->rc = KK_ENOMEM;
		return NULL;
	}
	memcpy(v, p, (size_t)n);
	*len = (size_t)n;
	return v;
}

/*
 * A group of statements that must happen together: a transaction of its
 * own outside store_begin(), a savepoint inside one (so that a failure
 * undoes only this group and leaves the caller's transaction usable).
 * Writers take the write lock up front, so that they never fail half way
 * for another process holding it.
 */
static enum kk_status
atomic_begin(struct sq *s, int write)
{
	enum kk_status rc;

	if ((rc = tx_lost(s)) != KK_OK)
		return rc;
	if (s->in_tx)
		return exec(s, "SAVEPOINT atomic");
	return exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static enum kk_status
atomic_end(struct sq *s, enum kk_status rc)
{
	if (s->in_tx) {
		if (rc != KK_OK)
			(void)sqlite3_exec(
			    s->db, "ROLLBACK TO atomic", NULL, NULL, NULL);
		(void)sqlite3_exec(s->db, "RELEASE atomic", NULL, NULL, NULL);
		return rc;
	}
	if (rc == KK_OK && (rc = exec(s, "COMMIT")) == KK_OK)
		return durable(s);
	/* SQLite may already have rolled back after an I/O error. */
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * One-key lookups: binds key to query q and reads the single row through
 * row into out. KK_ENOTFOUND when there is none.
 */
static enum kk_status
get_one(struct sq *s, enum q q, const char *key, row_fn row, void *out)
{
	struct binder b;
	enum kk_status rc;

	if ((rc = rprep(s, q, &b)) != KK_OK)
		goto out;
	bind_text(&b, key);
	if ((rc = next_row(&b, "lookup")) != KK_OK)
		goto out;
	rc = row(b.q, out);
out:
	rfinish(s, &b);
	return rc;
}

/* Single-statement changes; KK_ENOTFOUND when an update matched nothing. */
static enum kk_status
change(struct sq *s, struct binder *b, const char *what, int must_change)
{
	enum kk_status rc;
	int n = 0;

	if ((rc = run(s, b, what, &n)) != KK_OK)
		return rc;
	return must_change && n == 0 ? KK_ENOTFOUND : KK_OK;
}

/*
 * Collects every row of a statement through ROW into a new array of T *:
 * the list convention of store.h.
 */
#define DEFINE_COLLECT(NAME, T, ROW, FREE)                                     \
	static enum kk_status NAME(                                            \
	    struct sq *s, struct binder *b, T ***out, size_t *n)               \
	{                                                                      \
		T **arr = NULL, **tmp;                                         \
		size_t cap = 0, len = 0;                                       \
		enum kk_status rc;                                             \
                                                                               \
		while ((rc = next_row(b, "list")) == KK_OK) {                  \
			if (len == cap) {                                      \
				cap = cap == 0 ? 8 : cap * 2;                  \
				tmp = reallocarray(arr, cap, sizeof(*arr));    \
				if (tmp == NULL) {                             \
					rc = KK_ENOMEM;                        \
					goto out;                              \
				}                                              \
				arr = tmp;                                     \
			}                                                      \
			if ((rc = ROW(b->q, &arr[len])) != KK_OK)              \
				goto out;                                      \
			len++;                                                 \
		}                                                              \
		if (rc != KK_ENOTFOUND)                                        \
			goto out;                                              \
		rc = KK_OK;                                                    \
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

/* Row readers: each makes one record from the current row. */

static enum kk_status
account_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
order_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
authz_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
challenge_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
verification_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
org_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
cert_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
eab_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
token_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
audit_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
id_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
	char *id;

	id = col_text(&r);
	if (r.rc == KK_OK && id == NULL)
		r.rc = KK_EIO; /* ids are NOT NULL */
	if (r.rc != KK_OK)
		return r.rc;
	*(char **)out = id;
	return KK_OK;
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
attachment_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
	struct attachment *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return KK_ENOMEM;
	a->verification_id = col_text(&r);
	a->sha256 = col_text(&r);
	a->content_type = col_text(&r);
	a->uploaded_by = col_text(&r);
	a->uploaded_at = (time_t)col_int(&r);
	a->size = (size_t)col_int(&r);
	if (sqlite3_column_type(q, r.col) != SQLITE_NULL) {
		size_t len;

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

/* Opening, migrations, transactions. */

/*
 * Creates the database file 0600 before SQLite does (SQLite would use the
 * umask), and takes group and other access away from an existing one: it
 * holds EAB HMAC keys. SQLite gives the -wal and -shm files the same mode.
 */
static enum kk_status
secure_file(const char *path)
{
	struct stat sb;
	enum kk_status rc = KK_OK;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		kk_log("store: cannot open %s: %s", path, strerror(errno));
		return KK_EIO;
	}
	if (fstat(fd, &sb) == -1) {
		kk_log("store: cannot stat %s: %s", path, strerror(errno));
		rc = KK_EIO;
	} else if ((sb.st_mode & 077) != 0) {
		if (fchmod(fd, 0600) == -1) {
			kk_log("store: %s is readable by others and "
			       "cannot be made 0600: %s",
			    path, strerror(errno));
			rc = KK_EIO;
		} else
			kk_log("store: %s was readable by others; "
			       "made it 0600",
			    path);
	}
	close(fd);
	return rc;
}

static enum kk_status
user_version(struct sq *s, int *v)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		*v = sqlite3_column_int(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? KK_OK : fail(s, rc, "PRAGMA user_version");
}

/*
 * Applies the migrations the database has not seen yet, each in its own
 * transaction together with the version bump, so that a crash leaves the
 * database at one version or the next, and two processes opening it at
 * once do not both migrate (BEGIN IMMEDIATE serialises them).
 */
static enum kk_status
migrate(struct sq *s)
{
	enum kk_status rc;
	char *bump;
	int v = 0; /* set by user_version; gcc -O2 cannot see it */

	for (;;) {
		if ((rc = exec(s, "BEGIN IMMEDIATE")) != KK_OK)
			return rc;
		if ((rc = user_version(s, &v)) != KK_OK)
			goto fail;
		if (v == N_MIGRATIONS)
			return exec(s, "COMMIT");
		if (v < 0 || v > N_MIGRATIONS) {
			kk_log("store: database schema version %d is "
			       "not one this build knows (1 to %d); "
			       "is it from a newer kakuin-server?\n",
			    v, N_MIGRATIONS);
			rc = KK_ECONFLICT;
			goto fail;
		}
		if ((rc = exec_as(s, migrations[v], "schema migration")) !=
		    KK_OK) {
			kk_log("store: migration to schema version "
			       "%d failed; the database stays at "
			       "version %d",
			    v + 1, v);
			goto fail;
		}
		/* A PRAGMA takes no parameters; v is our own counter. */
		bump = sqlite3_mprintf("PRAGMA user_version = %d", v + 1);
		if (bump == NULL) {
			rc = KK_ENOMEM;
			goto fail;
		}
		rc = exec(s, bump);
		sqlite3_free(bump);
		if (rc != KK_OK || (rc = exec(s, "COMMIT")) != KK_OK)
			goto fail;
		kk_log("store: database schema migrated to version "
		       "%d",
		    v + 1);
	}
fail:
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static enum kk_status
configure(struct sq *s)
{
	sqlite3_stmt *q = NULL;
	const unsigned char *mode;
	enum kk_status rc;
	int src;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	src = sqlite3_prepare_v2(
	    s->db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
		mode = sqlite3_column_text(q, 0);
		if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
			kk_log("store: the database refuses WAL mode "
			       "(is it on a network file system?)");
			sqlite3_finalize(q);
			return KK_EIO;
		}
		src = SQLITE_OK;
	}
	sqlite3_finalize(q);
	if (src != SQLITE_OK)
		return fail(s, src, "PRAGMA journal_mode");
	/* FULL: in WAL mode, NORMAL may lose the last commits on power
	 * loss, and a certificate handed out must never be forgotten.
	 * group_sync_open() lowers it once commits sync on their own. */
	if ((rc = exec(s, "PRAGMA synchronous = FULL")) != KK_OK ||
	    (rc = exec(s, "PRAGMA foreign_keys = ON")) != KK_OK)
		return rc;
	return KK_OK;
}

/* SQLite's commit hook: inside COMMIT, before a reader can see it. */
static int
commit_begins(void *arg)
{
	struct sq *s = arg;

	atomic_fetch_add(&s->commits_begun, 1);
	return 0; /* go on with the commit */
}

/*
 * Group commit needs the WAL file, which WAL mode has made by now. Without
 * it every commit syncs inside SQLite, as slowly and as safely.
 */
static void
group_sync_open(struct sq *s, const char *path)
{
	char *wal = NULL;

	if (asprintf(&wal, "%s-wal", path) < 0)
		return;
	if (gsync_new(wal, &s->gs) != KK_OK)
		kk_log("store: commits sync one by one");
	else if (exec(s, "PRAGMA synchronous = NORMAL") != KK_OK) {
		/* Then SQLite still syncs every commit itself. */
		gsync_free(s->gs);
		s->gs = NULL;
	} else
		(void)sqlite3_commit_hook(s->db, commit_begins, s);
	free(wal);
}

/*
 * The readers, once the schema is current. One that cannot be opened is
 * only a loss of speed: with none, reads use the writing connection.
 */
static void
readers_open(struct sq *s, const char *path)
{
	struct rconn *r;
	int rc;

	while (s->n_rd < SQ_READERS) {
		r = &s->rd[s->n_rd];
		memset(r, 0, sizeof(*r));
		rc = sqlite3_open_v2(path, &r->db,
		    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, s->vfs);
		if (rc == SQLITE_OK) {
			sqlite3_extended_result_codes(r->db, 1);
			sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
			/* It only reads: let SQLite hold it to that. */
			rc = sqlite3_exec(
			    r->db, "PRAGMA query_only = ON", NULL, NULL, NULL);
		}
		if (rc != SQLITE_OK) {
			kk_log("store: a reader connection: %s",
			    r->db != NULL ? sqlite3_errmsg(r->db)
			                  : sqlite3_errstr(rc));
			sqlite3_close(r->db);
			return;
		}
		pthread_mutex_init(&r->lock, NULL);
		s->n_rd++;
	}
}

static void
readers_close(struct sq *s)
{
	struct rconn *r;

	for (int k = 0; k < s->n_rd; k++) {
		r = &s->rd[k];
		for (int i = 0; i < Q_COUNT; i++)
			sqlite3_finalize(r->stmt[i]);
		sqlite3_close(r->db);
		pthread_mutex_destroy(&r->lock);
	}
	s->n_rd = 0;
}

static void
sq_close(void *impl)
{
	struct sq *s = impl;
	int i;

	if (s == NULL)
		return;
	readers_close(s);
	if (s->has_defer)
		pthread_key_delete(s->defer);
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (i = 0; i < CTL_COUNT; i++)
		sqlite3_finalize(s->ctl[i]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		kk_log("store: close: %s", sqlite3_errmsg(s->db));
	gsync_free(s->gs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static enum kk_status
sq_open(const char *path, void **impl)
{
	pthread_mutexattr_t attr;
	struct sq *s;
	enum kk_status rc;
	int src;

	*impl = NULL;
	if (*path == '\0') {
		kk_log("store: sqlite: URL names no file "
		       "(expected sqlite:PATH)");
		return KK_EINVAL;
	}
	if ((rc = secure_file(path)) != KK_OK)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KK_ENOMEM;
	if (pthread_mutexattr_init(&attr) != 0) {
		free(s);
		return KK_ENOMEM;
	}
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	src = pthread_mutex_init(&s->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (src != 0) {
		free(s);
		return KK_ENOMEM;
	}
	/* A commit in one write to the WAL; without it, as SQLite writes. */
	if (walbuf_register(&s->vfs) != KK_OK)
		kk_log("store: WAL frames are written one by one");
	/* NOMUTEX: every use of the connection is under s->lock already. */
	src = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    s->vfs);
	if (src != SQLITE_OK) {
		kk_log("store: cannot open %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db)
		                  : sqlite3_errstr(src));
		rc = src == SQLITE_NOMEM ? KK_ENOMEM : KK_EIO;
		goto out;
	}
	if ((rc = configure(s)) != KK_OK || (rc = migrate(s)) != KK_OK)
		goto out;
	group_sync_open(s, path);
	readers_open(s, path);
	/* Without the key every commit waits for its sync: slower only. */
	s->has_defer = pthread_key_create(&s->defer, NULL) == 0;
	*impl = s;
	s = NULL;
out:
	sq_close(s);
	return rc;
}

static enum kk_status
sq_begin(void *impl)
{
	struct sq *s = impl;
	enum kk_status rc;

	lock(s);
	if (s->in_tx) {
		/* Only the owner gets here: the others wait in lock(). */
		kk_log("store: begin: this thread already has a "
		       "transaction open");
		unlock(s);
		return KK_ECONFLICT;
	}
	/* The sync comes after COMMIT, from gsync_wait in sq_commit. */
	if ((rc = ctl(s, CTL_BEGIN)) != KK_OK) {
		unlock(s);
		return rc;
	}
	s->in_tx = 1;
	return KK_OK; /* the lock stays held until commit or rollback */
}

/*
 * A commit that fails rolls the transaction back and ends it: nothing
 * stays half done, and a store_rollback() after it is harmless.
 */
static enum kk_status
sq_commit(void *impl)
{
	struct sq *s = impl;
	enum kk_status rc;
	uint64_t t = 0;

	lock(s);
	if (!s->in_tx) {
		kk_log("store: commit without a transaction");
		unlock(s);
		return KK_ECONFLICT;
	}
	if ((rc = ctl(s, CTL_COMMIT)) != KK_OK &&
	    !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	/* Taken before anyone else may commit: tickets follow commits. */
	if (rc == KK_OK && s->gs != NULL)
		t = ticket(s);
	s->in_tx = 0;
	unlock(s); /* ours */
	unlock(s); /* sq_begin's */
	/* Outside the lock: other transactions go on meanwhile, and their
	 * commits share this sync. A thread that defers waits later, in
	 * sq_settle, for this and whatever it reads meanwhile at once. */
	if (t != 0 && (!s->has_defer || pthread_getspecific(s->defer) == NULL))
		rc = gsync_wait(s->gs, t);
	else if (t != 0 && gsync_failed(s->gs))
		rc = KK_EIO; /* nothing will be durable: say so now */
	return rc;
}

static void
sq_defer(void *impl, int on)
{
	struct sq *s = impl;

	/* The mark is any non-NULL pointer: the store itself will do. */
	if (s->has_defer)
		(void)pthread_setspecific(s->defer, on ? s : NULL);
}

static enum kk_status
sq_settle(void *impl)
{
	struct sq *s = impl;

	/* s->gs is set once at open: no lock needed to read it. */
	if (s->gs == NULL)
		return KK_OK;
	/*
	 * A reader connection sees a commit once COMMIT has put it in the
	 * WAL, a moment before the writer takes its ticket: the tickets
	 * issued so far may then miss a commit this thread has read. While
	 * a commit may be in that moment, a ticket of our own waits for a
	 * sync begun after the read, which covers it.
	 */
	if (atomic_load(&s->commits_ended) != atomic_load(&s->commits_begun))
		return gsync_wait(s->gs, gsync_ticket(s->gs));
	return gsync_settle(s->gs);
}

static void
sq_rollback(void *impl)
{
	struct sq *s = impl;

	lock(s);
	if (!s->in_tx) {
		unlock(s);
		return;
	}
	if (!sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		kk_log("store: rollback: %s", sqlite3_errmsg(s->db));
	s->in_tx = 0;
	unlock(s);
	unlock(s);
}

/* Accounts. */

static enum kk_status
sq_account_insert(void *impl, const struct account *a)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ACCOUNT_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, a->id);
	bind_status(&b, a->status);
	bind_text(&b, a->jwk);
	bind_text(&b, a->thumbprint);
	bind_text(&b, a->contacts != NULL ? a->contacts : "[]");
	bind_text(&b, a->org);
	bind_text(&b, a->eab_kid);
	bind_text(&b, a->created_ip);
	bind_int(&b, a->created_at);
	bind_int(&b, a->tos_agreed);
	rc = change(s, &b, "account insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_account_get(void *impl, const char *id, struct account **out)
{
	return get_one(impl, Q_ACCOUNT_GET, id, account_row, out);
}

static enum kk_status
sq_account_by_thumbprint(
    void *impl, const char *thumbprint, struct account **out)
{
	return get_one(
	    impl, Q_ACCOUNT_BY_THUMBPRINT, thumbprint, account_row, out);
}

static enum kk_status
sq_account_update(void *impl, const struct account *a)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ACCOUNT_UPDATE, &b)) != KK_OK)
		goto out;
	bind_text(&b, a->id);
	bind_status(&b, a->status);
	bind_text(&b, a->jwk);
	bind_text(&b, a->thumbprint);
	bind_text(&b, a->contacts != NULL ? a->contacts : "[]");
	bind_text(&b, a->org);
	rc = change(s, &b, "account update", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* SELECT count(*) with a text key and a time bound. */
static enum kk_status
count(struct sq *s, enum q q, const char *key, time_t since, int *n)
{
	struct binder b;
	enum kk_status rc;

	if ((rc = rprep(s, q, &b)) != KK_OK)
		goto out;
	bind_text(&b, key);
	bind_int(&b, since);
	if ((rc = next_row(&b, "count")) == KK_OK)
		*n = sqlite3_column_int(b.q, 0);
	else if (rc == KK_ENOTFOUND)
		rc = KK_EIO; /* count(*) always has a row */
out:
	rfinish(s, &b);
	return rc;
}

static enum kk_status
sq_account_count_by_ip(void *impl, const char *ip, time_t since, int *n)
{
	return count(impl, Q_ACCOUNT_COUNT_BY_IP, ip, since, n);
}

/* Orders. */

static enum kk_status
sq_order_insert(void *impl, const struct order *o)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ORDER_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, o->id);
	bind_text(&b, o->account_id);
	bind_status(&b, o->status);
	bind_text(&b, o->org);
	bind_text(&b, o->authz_id);
	bind_text(&b, o->profile);
	bind_text(&b, o->error);
	bind_text(&b, o->cert_serial);
	bind_int(&b, o->created_at);
	bind_int(&b, o->expires);
	rc = change(s, &b, "order insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_order_get(void *impl, const char *id, struct order **out)
{
	return get_one(impl, Q_ORDER_GET, id, order_row, out);
}

static enum kk_status
sq_order_by_authz(void *impl, const char *authz_id, struct order **out)
{
	return get_one(impl, Q_ORDER_BY_AUTHZ, authz_id, order_row, out);
}

static enum kk_status
sq_order_update(void *impl, const struct order *o)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ORDER_UPDATE, &b)) != KK_OK)
		goto out;
	bind_text(&b, o->id);
	bind_status(&b, o->status);
	bind_text(&b, o->error);
	bind_text(&b, o->cert_serial);
	bind_int(&b, o->expires);
	rc = change(s, &b, "order update", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_order_ids_by_account(
    void *impl, const char *account_id, char ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ORDER_IDS_BY_ACCOUNT, &b)) != KK_OK)
		goto out;
	bind_text(&b, account_id);
	rc = collect_ids(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Ids from q bound to (org, status): orders or authorizations. */
static enum kk_status
ids_by_org(struct sq *s, enum q q, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, q, &b)) != KK_OK)
		goto out;
	bind_text(&b, org);
	bind_status(&b, status);
	rc = collect_ids(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_order_ids_by_org(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	return ids_by_org(impl, Q_ORDER_IDS_BY_ORG, org, status, out, n);
}

static enum kk_status
sq_authz_ids_by_org(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	return ids_by_org(impl, Q_AUTHZ_IDS_BY_ORG, org, status, out, n);
}

static enum kk_status
sq_order_count_by_account(
    void *impl, const char *account_id, time_t since, int *n)
{
	return count(impl, Q_ORDER_COUNT_BY_ACCOUNT, account_id, since, n);
}

/* Authorizations. */

static enum kk_status
sq_authz_insert(void *impl, const struct authz *a)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_AUTHZ_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, a->id);
	bind_text(&b, a->account_id);
	bind_text(&b, a->id_type);
	bind_text(&b, a->id_value);
	bind_status(&b, a->status);
	bind_int(&b, a->expires);
	bind_int(&b, a->created_at);
	bind_text(&b, a->order_id);
	bind_int(&b, a->order_pos);
	rc = change(s, &b, "authz insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_authz_get(void *impl, const char *id, struct authz **out)
{
	return get_one(impl, Q_AUTHZ_GET, id, authz_row, out);
}

static enum kk_status
sq_authz_update(void *impl, const struct authz *a)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_AUTHZ_UPDATE, &b)) != KK_OK)
		goto out;
	bind_text(&b, a->id);
	bind_status(&b, a->status);
	bind_int(&b, a->expires);
	rc = change(s, &b, "authz update", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_authz_list_by_order(
    void *impl, const char *order_id, struct authz ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	if ((rc = rprep(s, Q_AUTHZ_LIST_BY_ORDER, &b)) != KK_OK)
		goto out;
	bind_text(&b, order_id);
	rc = collect_authzs(s, &b, out, n);
out:
	rfinish(s, &b);
	return rc;
}

/* Challenges. */

static enum kk_status
sq_challenge_insert(void *impl, const struct challenge *c)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_CHALLENGE_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, c->id);
	bind_text(&b, c->authz_id);
	bind_text(&b, c->type);
	bind_status(&b, c->status);
	bind_text(&b, c->token);
	bind_text(&b, c->error);
	bind_int(&b, c->validated);
	rc = change(s, &b, "challenge insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_challenge_get(void *impl, const char *id, struct challenge **out)
{
	return get_one(impl, Q_CHALLENGE_GET, id, challenge_row, out);
}

static enum kk_status
sq_challenge_list_by_authz(
    void *impl, const char *authz_id, struct challenge ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_CHALLENGE_LIST_BY_AUTHZ, &b)) != KK_OK)
		goto out;
	bind_text(&b, authz_id);
	rc = collect_challenges(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_challenge_update(void *impl, const struct challenge *c)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_CHALLENGE_UPDATE, &b)) != KK_OK)
		goto out;
	bind_text(&b, c->id);
	bind_status(&b, c->status);
	bind_text(&b, c->error);
	bind_int(&b, c->validated);
	rc = change(s, &b, "challenge update", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Expiry. */

static enum kk_status
expire_one(struct sq *s, enum q q, time_t now, int *total)
{
	struct binder b;
	enum kk_status rc;
	int n = 0;

	if ((rc = prep(s, q, &b)) != KK_OK)
		return rc;
	bind_int(&b, now);
	if ((rc = run(s, &b, "expire", &n)) == KK_OK)
		*total += n;
	finish(&b);
	return rc;
}

static enum kk_status
sq_expire(void *impl, time_t now, int *n)
{
	struct sq *s = impl;
	enum kk_status rc;
	int total = 0;

	lock(s);
	if ((rc = atomic_begin(s, 1)) != KK_OK)
		goto out;
	if ((rc = expire_one(s, Q_EXPIRE_ORDERS, now, &total)) == KK_OK)
		rc = expire_one(s, Q_EXPIRE_AUTHZS, now, &total);
	if ((rc = atomic_end(s, rc)) == KK_OK && n != NULL)
		*n = total;
out:
	unlock(s);
	return rc;
}

/* Verifications and approvals. */

static enum kk_status
approval_insert(
    struct sq *s, const char *verification_id, const struct approval *ap)
{
	struct binder b;
	enum kk_status rc;

	if ((rc = prep(s, Q_APPROVAL_INSERT, &b)) != KK_OK)
		return rc;
	bind_text(&b, verification_id);
	bind_text(&b, ap->operator_name);
	bind_text(&b, ap->method);
	bind_text(&b, ap->legal_name);
	bind_text(&b, ap->country);
	bind_text(&b, ap->evidence);
	bind_int(&b, ap->at);
	rc = change(s, &b, "approval insert", 0);
	finish(&b);
	return rc;
}

/* Reads v's approvals, in the order they were given, into v. */
static enum kk_status
approvals_load(struct sq *s, struct verification *v)
{
	struct binder b;
	struct reader r;
	struct approval *ap, *tmp;
	enum kk_status rc;
	size_t cap = 0;

	if ((rc = prep(s, Q_APPROVAL_LIST, &b)) != KK_OK)
		return rc;
	bind_text(&b, v->id);
	while ((rc = next_row(&b, "approval list")) == KK_OK) {
		if (v->n_approvals == cap) {
			cap = cap == 0 ? 2 : cap * 2;
			tmp = reallocarray(v->approvals, cap, sizeof(*tmp));
			if (tmp == NULL) {
				rc = KK_ENOMEM;
				break;
			}
			v->approvals = tmp;
		}
		r = (struct reader){b.q, 0, KK_OK};
		ap = &v->approvals[v->n_approvals++];
		ap->operator_name = col_text(&r);
		ap->method = col_text(&r);
		ap->legal_name = col_text(&r);
		ap->country = col_text(&r);
		ap->evidence = col_text(&r);
		ap->at = (time_t)col_int(&r);
		if ((rc = r.rc) != KK_OK)
			break; /* verification_free frees the partial one */
	}
	finish(&b);
	return rc == KK_ENOTFOUND ? KK_OK : rc;
}

static enum kk_status
verification_fetch(
    struct sq *s, enum q q, const char *key, struct verification **out)
{
	struct verification *v = NULL;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = atomic_begin(s, 0)) != KK_OK)
		goto out;
	if ((rc = prep(s, q, &b)) == KK_OK) {
		bind_text(&b, key);
		if ((rc = next_row(&b, "verification")) == KK_OK)
			rc = verification_row(b.q, &v);
		finish(&b);
	}
	if (rc == KK_OK)
		rc = approvals_load(s, v);
	if ((rc = atomic_end(s, rc)) == KK_OK) {
		*out = v;
		v = NULL;
	}
out:
	verification_free(v);
	unlock(s);
	return rc;
}

/* Inserts the verification with any approvals it already carries. */
static enum kk_status
sq_verification_insert(void *impl, const struct verification *v)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;
	size_t i;

	lock(s);
	if ((rc = atomic_begin(s, 1)) != KK_OK)
		goto out;
	if ((rc = prep(s, Q_VERIFICATION_INSERT, &b)) == KK_OK) {
		bind_text(&b, v->id);
		bind_text(&b, v->org);
		bind_text(&b, v->account_id);
		bind_text(&b, v->authz_id);
		bind_text(&b, v->challenge_id);
		bind_status(&b, v->status);
		bind_text(&b, v->reason);
		bind_int(&b, v->requested_at);
		bind_int(&b, v->decided_at);
		rc = change(s, &b, "verification insert", 0);
		finish(&b);
	}
	for (i = 0; rc == KK_OK && i < v->n_approvals; i++)
		rc = approval_insert(s, v->id, &v->approvals[i]);
	rc = atomic_end(s, rc);
out:
	unlock(s);
	return rc;
}

static enum kk_status
sq_verification_get(void *impl, const char *id, struct verification **out)
{
	return verification_fetch(impl, Q_VERIFICATION_GET, id, out);
}

static enum kk_status
sq_verification_by_challenge(
    void *impl, const char *challenge_id, struct verification **out)
{
	return verification_fetch(
	    impl, Q_VERIFICATION_BY_CHALLENGE, challenge_id, out);
}

static enum kk_status
sq_verification_update(void *impl, const struct verification *v)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_VERIFICATION_UPDATE, &b)) != KK_OK)
		goto out;
	bind_text(&b, v->id);
	bind_status(&b, v->status);
	bind_text(&b, v->reason);
	bind_int(&b, v->decided_at);
	rc = change(s, &b, "verification update", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/*
 * Where page pg starts: the place (*a, *b) in list order of the record
 * pg->after, which query q finds by key, or (a0, b0) for the first page.
 * KK_ENOTFOUND for a key no record has. Call with the lock.
 */
static enum kk_status
page_start(struct sq *s, enum q q, const struct store_page *pg, int64_t a0,
    int64_t b0, int64_t *a, int64_t *b)
{
	struct binder bi;
	enum kk_status rc;

	*a = a0;
	*b = b0;
	if (pg == NULL || pg->after == NULL)
		return KK_OK;
	if ((rc = prep(s, q, &bi)) != KK_OK)
		return rc;
	bind_text(&bi, pg->after);
	if ((rc = next_row(&bi, "page start")) == KK_OK) {
		*a = (int64_t)sqlite3_column_int64(bi.q, 0);
		*b = (int64_t)sqlite3_column_int64(bi.q, 1);
	}
	finish(&bi);
	return rc;
}

static enum kk_status
sq_verification_list(void *impl, enum acme_status status, const char *org,
    struct store_page *pg, struct verification ***out, size_t *n)
{
	struct sq *s = impl;
	struct verification **list = NULL;
	struct binder b;
	enum kk_status rc;
	size_t len = 0, i;
	int64_t at, row;
	enum q q;

	/* One query per filter combination, so each can use its index. */
	if (status != ACME_STATUS_NONE)
		q = org != NULL ? Q_VERIFICATION_LIST_STATUS_ORG
		                : Q_VERIFICATION_LIST_STATUS;
	else
		q = org != NULL ? Q_VERIFICATION_LIST_ORG : Q_VERIFICATION_LIST;
	lock(s);
	if ((rc = atomic_begin(s, 0)) != KK_OK)
		goto out;
	rc = page_start(
	    s, Q_VERIFICATION_POS, pg, INT64_MIN, INT64_MIN, &at, &row);
	if (rc == KK_OK && (rc = prep(s, q, &b)) == KK_OK) {
		if (status != ACME_STATUS_NONE)
			bind_status(&b, status);
		if (org != NULL)
			bind_text(&b, org);
		bind_int(&b, at);
		bind_int(&b, row);
		bind_int(&b, store_page_fetch(pg));
		rc = collect_verifications(s, &b, &list, &len);
		finish(&b);
	}
	if (rc == KK_OK && store_page_over(pg, len))
		verification_free(list[--len]);
	for (i = 0; rc == KK_OK && i < len; i++)
		rc = approvals_load(s, list[i]);
	if ((rc = atomic_end(s, rc)) == KK_OK) {
		*out = list;
		*n = len;
		list = NULL;
		len = 0;
	}
out:
	for (i = 0; i < len; i++)
		verification_free(list[i]);
	free(list);
	unlock(s);
	return rc;
}

static enum kk_status
sq_approval_insert(
    void *impl, const char *verification_id, const struct approval *ap)
{
	struct sq *s = impl;
	enum kk_status rc;

	lock(s);
	rc = approval_insert(s, verification_id, ap);
	unlock(s);
	return rc;
}

/* Organizations. */

static enum kk_status
sq_org_put(void *impl, const struct org *o)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ORG_PUT, &b)) != KK_OK)
		goto out;
	bind_text(&b, o->id);
	bind_text(&b, o->legal_name);
	bind_text(&b, o->country);
	bind_text(&b, o->method);
	bind_int(&b, o->verified_at);
	bind_int(&b, o->expires);
	rc = change(s, &b, "org put", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_org_get(void *impl, const char *id, struct org **out)
{
	return get_one(impl, Q_ORG_GET, id, org_row, out);
}

static enum kk_status
sq_org_list(void *impl, struct store_page *pg, struct org ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;
	int64_t unused_a, unused_b;

	lock(s);
	/* Ids order the list themselves; the look-up only tells an unknown
	 * cursor from the end of the list. */
	if ((rc = page_start(s, Q_ORG_POS, pg, 0, 0, &unused_a, &unused_b)) !=
	        KK_OK ||
	    (rc = prep(s, Q_ORG_LIST, &b)) != KK_OK)
		goto out;
	bind_text(&b, pg != NULL && pg->after != NULL ? pg->after : "");
	bind_int(&b, store_page_fetch(pg));
	if ((rc = collect_orgs(s, &b, out, n)) == KK_OK &&
	    store_page_over(pg, *n))
		org_free((*out)[--*n]);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Certificates. */

static enum kk_status
sq_cert_insert(void *impl, const struct cert *c)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_CERT_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, c->serial);
	bind_text(&b, c->account_id);
	bind_text(&b, c->order_id);
	bind_text(&b, c->org);
	bind_text(&b, c->cn);
	bind_text(&b, c->pem);
	bind_text(&b, c->spki_sha256);
	bind_status(
	    &b, c->status != ACME_STATUS_NONE ? c->status : ACME_STATUS_VALID);
	bind_int(&b, c->not_before);
	bind_int(&b, c->not_after);
	bind_int(&b, c->revoked_at);
	bind_int(&b, c->reason);
	rc = change(s, &b, "cert insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_cert_get(void *impl, const char *serial, struct cert **out)
{
	return get_one(impl, Q_CERT_GET, serial, cert_row, out);
}

/* Whether a row exists for key: KK_OK or KK_ENOTFOUND. */
static enum kk_status
exists(struct sq *s, enum q q, const char *key)
{
	struct binder b;
	enum kk_status rc;

	if ((rc = prep(s, q, &b)) != KK_OK)
		return rc;
	bind_text(&b, key);
	rc = next_row(&b, "exists");
	finish(&b);
	return rc;
}

/* KK_ECONFLICT for a certificate already revoked: its first revocation
 * (time and reason) stands. */
static enum kk_status
sq_cert_revoke(void *impl, const char *serial, time_t at, int reason)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_CERT_REVOKE, &b)) != KK_OK)
		goto out;
	bind_text(&b, serial);
	bind_int(&b, at);
	bind_int(&b, reason);
	rc = change(s, &b, "cert revoke", 1);
	finish(&b);
	if (rc == KK_ENOTFOUND && exists(s, Q_CERT_EXISTS, serial) == KK_OK)
		rc = KK_ECONFLICT;
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_cert_list(void *impl, const char *org, enum acme_status status,
    struct store_page *pg, struct cert ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;
	int64_t row, unused;
	enum q q;

	if (org != NULL)
		q = status != ACME_STATUS_NONE ? Q_CERT_LIST_ORG_STATUS
		                               : Q_CERT_LIST_ORG;
	else
		q = status != ACME_STATUS_NONE ? Q_CERT_LIST_STATUS
		                               : Q_CERT_LIST;
	lock(s);
	if ((rc = page_start(s, Q_CERT_POS, pg, INT64_MAX, 0, &row, &unused)) !=
	        KK_OK ||
	    (rc = prep(s, q, &b)) != KK_OK)
		goto out;
	if (org != NULL)
		bind_text(&b, org);
	if (status != ACME_STATUS_NONE)
		bind_status(&b, status);
	bind_int(&b, row);
	bind_int(&b, store_page_fetch(pg));
	if ((rc = collect_certs(s, &b, out, n)) == KK_OK &&
	    store_page_over(pg, *n))
		cert_free((*out)[--*n]);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_cert_list_cn(void *impl, const char *cn, const char *org,
    enum acme_status status, struct store_page *pg, struct cert ***out,
    size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;
	int64_t row, unused;

	lock(s);
	if ((rc = page_start(s, Q_CERT_POS, pg, INT64_MAX, 0, &row, &unused)) !=
	        KK_OK ||
	    (rc = prep(s, Q_CERT_LIST_CN, &b)) != KK_OK)
		goto out;
	bind_text(&b, cn);
	bind_text(&b, org);
	bind_text(
	    &b, status != ACME_STATUS_NONE ? acme_status_name(status) : NULL);
	bind_int(&b, row);
	bind_int(&b, store_page_fetch(pg));
	if ((rc = collect_certs(s, &b, out, n)) == KK_OK &&
	    store_page_over(pg, *n))
		cert_free((*out)[--*n]);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_cert_count(void *impl, enum acme_status status, int64_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s,
	         status == ACME_STATUS_NONE ? Q_CERT_COUNT
	                                    : Q_CERT_COUNT_STATUS,
	         &b)) != KK_OK)
		goto out;
	if (status != ACME_STATUS_NONE)
		bind_status(&b, status);
	if ((rc = next_row(&b, "count")) == KK_OK)
		*n = sqlite3_column_int64(b.q, 0);
	else if (rc == KK_ENOTFOUND)
		rc = KK_EIO; /* count(*) always has a row */
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* CRLs. One process uses the database: its transactions exclude each
 * other already, so there is no row to lock. */

static enum kk_status
crl_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
sq_crl_get(void *impl, const char *issuer, struct crl_state **out)
{
	return get_one(impl, Q_CRL_GET, issuer, crl_row, out);
}

static enum kk_status
sq_crl_put(void *impl, const struct crl_state *c)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;
	int n = 0;

	lock(s);
	if ((rc = prep(s, Q_CRL_PUT, &b)) != KK_OK)
		goto out;
	bind_text(&b, c->issuer);
	bind_int(&b, c->number);
	bind_int(&b, c->this_update);
	bind_int(&b, c->next_update);
	bind_int(&b, c->revoked);
	bind_blob(&b, c->der, c->der_len);
	if ((rc = run(s, &b, "crl put", &n)) == KK_OK && n == 0)
		rc = KK_ECONFLICT; /* a newer CRL is stored */
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* EAB keys. */

static enum kk_status
sq_eab_insert(void *impl, const struct eab_key *k)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_EAB_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, k->kid);
	bind_blob(&b, k->hmac_key, k->hmac_key_len);
	bind_text(&b, k->org);
	bind_text(&b, k->created_by);
	bind_int(&b, k->created_at);
	bind_int(&b, k->expires);
	bind_int(&b, k->max_uses);
	bind_int(&b, k->uses);
	rc = change(s, &b, "eab insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_eab_get(void *impl, const char *kid, struct eab_key **out)
{
	return get_one(impl, Q_EAB_GET, kid, eab_row, out);
}

static enum kk_status
sq_eab_use(void *impl, const char *kid)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_EAB_USE, &b)) != KK_OK)
		goto out;
	bind_text(&b, kid);
	rc = change(s, &b, "eab use", 1);
	finish(&b);
	/* Nothing counted: an unknown kid, or one used up. */
	if (rc == KK_ENOTFOUND && exists(s, Q_EAB_EXISTS, kid) == KK_OK)
		rc = KK_ELIMIT;
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_eab_expire(void *impl, const char *kid, time_t at)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_EAB_EXPIRE, &b)) != KK_OK)
		goto out;
	bind_int(&b, at);
	bind_text(&b, kid);
	bind_int(&b, at);
	rc = change(s, &b, "eab expire", 1);
	finish(&b);
	/* Nothing changed: unknown, or expired already (which is fine). */
	if (rc == KK_ENOTFOUND && exists(s, Q_EAB_EXISTS, kid) == KK_OK)
		rc = KK_OK;
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Operator tokens. */

static enum kk_status
sq_token_insert(void *impl, const struct op_token *t)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_TOKEN_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, t->name);
	bind_text(&b, t->role);
	bind_blob(&b, t->hash, sizeof(t->hash));
	bind_int(&b, t->created_at);
	bind_int(&b, t->revoked_at);
	rc = change(s, &b, "token insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Revoked tokens are not found: a caller cannot forget to check. */
static enum kk_status
sq_token_by_hash(
    void *impl, const unsigned char hash[32], struct op_token **out)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_TOKEN_BY_HASH, &b)) != KK_OK)
		goto out;
	bind_blob(&b, hash, 32);
	if ((rc = next_row(&b, "token lookup")) == KK_OK)
		rc = token_row(b.q, out);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_token_revoke(void *impl, const char *name, time_t at)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	/* revoked_at 0 means active: it cannot also mean "revoked". */
	if (at <= 0)
		return KK_EINVAL;
	lock(s);
	if ((rc = prep(s, Q_TOKEN_REVOKE, &b)) != KK_OK)
		goto out;
	bind_text(&b, name);
	bind_int(&b, at);
	rc = change(s, &b, "token revoke", 1);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Audit log and counters. */

static enum kk_status
sq_attachment_insert(void *impl, const struct attachment *a)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	if (a->data == NULL || a->size == 0)
		return KK_EINVAL;
	lock(s);
	if ((rc = prep(s, Q_ATTACHMENT_INSERT, &b)) != KK_OK)
		goto out;
	bind_text(&b, a->verification_id);
	bind_text(&b, a->sha256);
	bind_text(&b, a->content_type);
	bind_text(&b, a->uploaded_by);
	bind_int(&b, a->uploaded_at);
	bind_int(&b, (int64_t)a->size);
	bind_blob(&b, a->data, a->size);
	rc = change(s, &b, "attachment insert", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_attachment_get(void *impl, const char *verification_id, const char *sha256,
    struct attachment **out)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ATTACHMENT_GET, &b)) != KK_OK)
		goto out;
	bind_text(&b, verification_id);
	bind_text(&b, sha256);
	if ((rc = next_row(&b, "attachment lookup")) == KK_OK)
		rc = attachment_row(b.q, out);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_attachment_list(void *impl, const char *verification_id,
    struct attachment ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ATTACHMENT_LIST, &b)) != KK_OK)
		goto out;
	bind_text(&b, verification_id);
	rc = collect_attachments(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_audit_append(void *impl, const struct audit_event *e)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_AUDIT_APPEND, &b)) != KK_OK)
		goto out;
	bind_int(&b, e->at);
	bind_text(&b, e->actor);
	bind_text(&b, e->action);
	bind_text(&b, e->object);
	bind_text(&b, e->detail);
	rc = change(s, &b, "audit append", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_audit_list(void *impl, time_t since, struct store_page *pg,
    struct audit_event ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;
	int64_t seq, unused;

	lock(s);
	if ((rc = page_start(s, Q_AUDIT_POS, pg, 0, 0, &seq, &unused)) !=
	        KK_OK ||
	    (rc = prep(s, Q_AUDIT_LIST, &b)) != KK_OK)
		goto out;
	bind_int(&b, since);
	bind_int(&b, seq);
	bind_int(&b, store_page_fetch(pg));
	if ((rc = collect_audit(s, &b, out, n)) == KK_OK &&
	    store_page_over(pg, *n))
		audit_event_free((*out)[--*n]);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_counter_next(void *impl, const char *name, int64_t *out)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;
	int64_t v = 0;

	lock(s);
	if ((rc = prep(s, Q_COUNTER_NEXT, &b)) != KK_OK)
		goto out;
	bind_text(&b, name);
	if ((rc = next_row(&b, "counter")) != KK_OK) {
		if (rc == KK_ENOTFOUND)
			rc = KK_EIO; /* RETURNING always gives the row */
		goto out;
	}
	v = sqlite3_column_int64(b.q, 0);
	/* The statement commits (outside a transaction) when it ends: only
	 * then is the value ours for good. */
	if ((rc = next_row(&b, "counter")) == KK_ENOTFOUND) {
		/* Outside a transaction it has just committed: a value
		 * handed out before its sync could be handed out again
		 * after a crash. */
		if ((rc = durable(s)) == KK_OK)
			*out = v;
	} else if (rc == KK_OK)
		rc = KK_EIO;
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* Organization domains and renewal information. */

static enum kk_status
sq_org_domain_add(void *impl, const char *org, const char *name,
    const char *added_by, time_t at)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_DOMAIN_ADD, &b)) != KK_OK)
		goto out;
	bind_text(&b, name);
	bind_text(&b, org);
	bind_text(&b, added_by);
	bind_int(&b, at);
	rc = change(s, &b, "domain add", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_org_domain_owner(void *impl, const char *name, char **org)
{
	return get_one(impl, Q_DOMAIN_OWNER, name, id_row, org);
}

static enum kk_status
sq_org_domain_list(void *impl, const char *org, char ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_DOMAIN_LIST, &b)) != KK_OK)
		goto out;
	bind_text(&b, org);
	rc = collect_ids(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_org_domain_grant(void *impl, const char *authz_id, const char *org)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_DOMAIN_GRANT, &b)) != KK_OK)
		goto out;
	bind_text(&b, authz_id);
	bind_text(&b, org);
	rc = change(s, &b, "domain grant", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_org_domain_authz_ids(void *impl, const char *org, enum acme_status status,
    char ***out, size_t *n)
{
	return ids_by_org(impl, Q_DOMAIN_AUTHZ_IDS, org, status, out, n);
}

static enum kk_status
sq_authz_reusable(void *impl, const char *account_id, const char *id_type,
    const char *id_value, time_t now, struct authz **out)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	if ((rc = rprep(s, Q_AUTHZ_REUSABLE, &b)) != KK_OK)
		goto out;
	bind_text(&b, account_id);
	bind_text(&b, id_type);
	bind_text(&b, id_value);
	bind_int(&b, now);
	if ((rc = next_row(&b, "authz reuse")) == KK_OK)
		rc = authz_row(b.q, out);
out:
	rfinish(s, &b);
	return rc;
}

static enum kk_status
sq_order_ids_by_authz(void *impl, const char *authz_id, char ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_ORDER_IDS_BY_AUTHZ, &b)) != KK_OK)
		goto out;
	bind_text(&b, authz_id);
	rc = collect_ids(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_authz_count_by_account(
    void *impl, const char *account_id, time_t since, int *n)
{
	return count(impl, Q_AUTHZ_COUNT_BY_ACCOUNT, account_id, since, n);
}

static enum kk_status
renewal_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
sq_renewal_get(void *impl, const char *serial, struct renewal **out)
{
	return get_one(impl, Q_RENEWAL_GET, serial, renewal_row, out);
}

static enum kk_status
sq_renewal_set_window(void *impl, const char *serial, time_t start, time_t end)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_RENEWAL_WINDOW, &b)) != KK_OK)
		goto out;
	bind_text(&b, serial);
	bind_int(&b, start);
	bind_int(&b, end);
	rc = change(s, &b, "renewal window", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_renewal_set_replaced(void *impl, const char *serial, const char *order_id)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_RENEWAL_REPLACED, &b)) != KK_OK)
		goto out;
	bind_text(&b, serial);
	bind_text(&b, order_id);
	rc = change(s, &b, "renewal replaced", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/* The operator's desk: registry, outbox, deliveries, reminders. */

static enum kk_status
registry_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
outbox_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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
	else
		it->state = (enum outbox_state)v;
	free(state);
	if (r.rc != KK_OK) {
		outbox_item_free(it);
		return r.rc;
	}
	*(struct outbox_item **)out = it;
	return KK_OK;
}

static enum kk_status
delivery_row(sqlite3_stmt *q, void *out)
{
	struct reader r = {q, 0, KK_OK};
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

static enum kk_status
registry_put(struct sq *s, const struct registry_entry *e, size_t *stored)
{
	struct binder b;
	enum kk_status rc;
	int n = 0;

	if ((rc = prep(s, Q_REGISTRY_PUT, &b)) != KK_OK)
		return rc;
	bind_text(&b, e->number);
	bind_text(&b, e->name);
	bind_text(&b, e->furigana);
	bind_text(&b, e->en_name);
	bind_text(&b, e->address);
	bind_text(&b, e->post_code);
	bind_text(&b, e->kind);
	bind_text(&b, e->update_date);
	bind_text(&b, e->close_date);
	bind_text(&b, e->close_cause);
	bind_int(&b, e->seq);
	rc = run(s, &b, "registry put", &n);
	finish(&b);
	*stored += (size_t)n;
	return rc;
}

static enum kk_status
sq_registry_put_many(
    void *impl, const struct registry_entry *e, size_t n, size_t *stored)
{
	struct sq *s = impl;
	enum kk_status rc;
	size_t count = 0;

	lock(s);
	if ((rc = atomic_begin(s, 1)) == KK_OK) {
		for (size_t i = 0; i < n && rc == KK_OK; i++)
			rc = registry_put(s, &e[i], &count);
		rc = atomic_end(s, rc);
	}
	unlock(s);
	if (rc == KK_OK)
		*stored = count;
	return rc;
}

static enum kk_status
sq_registry_get(void *impl, const char *number, struct registry_entry **out)
{
	return get_one(impl, Q_REGISTRY_GET, number, registry_row, out);
}

static enum kk_status
sq_outbox_add(void *impl, const struct outbox_item *it)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_OUTBOX_ADD, &b)) != KK_OK)
		goto out;
	bind_text(&b, it->event);
	bind_text(&b, it->subject);
	bind_text(&b, it->target);
	bind_text(&b, it->payload);
	bind_int(&b, it->created_at);
	bind_int(&b, it->next_at);
	rc = change(s, &b, "outbox add", 0);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_outbox_claim(void *impl, time_t now, time_t lease, size_t max,
    struct outbox_item ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_OUTBOX_CLAIM, &b)) != KK_OK)
		goto out;
	bind_int(&b, now);
	bind_int(&b, lease);
	bind_int(&b, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	/*
	 * Outside a transaction a claim commits as the statement ends,
	 * and like every such write it returns once synced: the items it
	 * claimed may come from requests whose commits are still waiting
	 * for their sync (store_defer_durability), and a message must not
	 * go out about a change that a crash could undo. A claim of
	 * nothing wrote nothing and sends nothing.
	 */
	if ((rc = collect_outbox(s, &b, out, n)) == KK_OK && *n > 0 &&
	    (rc = durable(s)) != KK_OK) {
		while (*n > 0)
			outbox_item_free((*out)[--*n]);
		free(*out);
		*out = NULL;
	}
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_outbox_settle(void *impl, const struct delivery *d, enum outbox_state state,
    time_t next_at)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;
	int n = 0;

	lock(s);
	if ((rc = atomic_begin(s, 1)) != KK_OK)
		goto unlock;
	if ((rc = prep(s, Q_DELIVERY_ADD, &b)) != KK_OK)
		goto out;
	bind_int(&b, d->outbox_id);
	bind_int(&b, d->status);
	bind_text(&b, d->error);
	bind_int(&b, d->at);
	if ((rc = run(s, &b, "delivery add", &n)) != KK_OK)
		goto out;
	if (n == 0) {
		rc = KK_ENOTFOUND;
		goto out;
	}
	finish(&b);
	if ((rc = prep(s, Q_OUTBOX_SETTLE, &b)) != KK_OK)
		goto out;
	bind_int(&b, d->outbox_id);
	bind_text(&b, outbox_state_name(state));
	bind_int(&b, next_at);
	rc = change(s, &b, "outbox settle", 1);
out:
	finish(&b);
	rc = atomic_end(s, rc);
unlock:
	unlock(s);
	return rc;
}

static enum kk_status
sq_delivery_list(
    void *impl, int64_t outbox_id, struct delivery ***out, size_t *n)
{
	struct sq *s = impl;
	struct binder b = {0};
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_DELIVERY_LIST, &b)) != KK_OK)
		goto out;
	bind_int(&b, outbox_id);
	rc = collect_deliveries(s, &b, out, n);
out:
	finish(&b);
	unlock(s);
	return rc;
}

static enum kk_status
sq_reminder_mark(
    void *impl, const char *org, int days, time_t expires, int *fresh)
{
	struct sq *s = impl;
	struct binder b;
	enum kk_status rc;

	lock(s);
	if ((rc = prep(s, Q_REMINDER_MARK, &b)) != KK_OK)
		goto out;
	bind_text(&b, org);
	bind_int(&b, days);
	bind_int(&b, expires);
	rc = run(s, &b, "reminder mark", fresh);
out:
	finish(&b);
	unlock(s);
	return rc;
}

/*
 * Lookups of many keys (store.h). An in-process lookup costs
 * microseconds, so the one-key query is run for each key in turn: one
 * statement, prepared once, and the lock taken once for them all.
 * get_each reads keys[i]'s row (none: *out stays NULL) and leaves the
 * statement ready for the next key.
 */
static enum kk_status
get_each(struct binder *b, const char *key, row_fn row, void *out)
{
	enum kk_status rc;

	bind_text(b, key);
	if ((rc = next_row(b, "lookup")) == KK_OK)
		rc = row(b->q, out);
	else if (rc == KK_ENOTFOUND)
		rc = KK_OK;
	sqlite3_reset(b->q);
	sqlite3_clear_bindings(b->q);
	b->idx = 0;
	return rc;
}

#define DEFINE_GET_MANY(NAME, T, Q, ROW, FREE)                                 \
	static enum kk_status NAME(                                            \
	    void *impl, const char *const *keys, size_t n, T ***out)           \
	{                                                                      \
		struct sq *s = impl;                                           \
		struct binder b;                                               \
		T **arr = NULL;                                                \
		size_t i;                                                      \
		enum kk_status rc;                                             \
                                                                               \
		if ((rc = rprep(s, Q, &b)) != KK_OK)                           \
			goto out;                                              \
		if ((arr = calloc(n, sizeof(*arr))) == NULL) {                 \
			rc = KK_ENOMEM;                                        \
			goto out;                                              \
		}                                                              \
		for (i = 0; i < n && rc == KK_OK; i++)                         \
			if (keys[i] != NULL)                                   \
				rc = get_each(&b, keys[i], ROW, &arr[i]);      \
		if (rc == KK_OK) {                                             \
			*out = arr;                                            \
			arr = NULL;                                            \
		}                                                              \
	out:                                                                   \
		rfinish(s, &b);                                                \
		for (i = 0; arr != NULL && i < n; i++)                         \
			FREE(arr[i]);                                          \
		free(arr);                                                     \
		return rc;                                                     \
	}

DEFINE_GET_MANY(sq_account_get_many, struct account, Q_ACCOUNT_GET, account_row,
    account_free)
DEFINE_GET_MANY(
    sq_order_get_many, struct order, Q_ORDER_GET, order_row, order_free)
DEFINE_GET_MANY(sq_renewal_get_many, struct renewal, Q_RENEWAL_GET, renewal_row,
    renewal_free)
DEFINE_GET_MANY(sq_registry_get_many, struct registry_entry, Q_REGISTRY_GET,
    registry_row, registry_entry_free)

const struct store_backend store_sqlite_backend = {
    .scheme = "sqlite:",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .settle = sq_settle,
    .defer = sq_defer,
    .account_insert = sq_account_insert,
    .account_get = sq_account_get,
    .account_by_thumbprint = sq_account_by_thumbprint,
    .account_update = sq_account_update,
    .account_count_by_ip = sq_account_count_by_ip,
    .order_insert = sq_order_insert,
    .order_get = sq_order_get,
    .order_by_authz = sq_order_by_authz,
    .order_update = sq_order_update,
    .order_ids_by_account = sq_order_ids_by_account,
    .order_count_by_account = sq_order_count_by_account,
    .order_ids_by_org = sq_order_ids_by_org,
    .authz_ids_by_org = sq_authz_ids_by_org,
    .authz_insert = sq_authz_insert,
    .authz_get = sq_authz_get,
    .authz_update = sq_authz_update,
    .authz_list_by_order = sq_authz_list_by_order,
    .challenge_insert = sq_challenge_insert,
    .challenge_get = sq_challenge_get,
    .challenge_list_by_authz = sq_challenge_list_by_authz,
    .challenge_update = sq_challenge_update,
    .expire = sq_expire,
    .verification_insert = sq_verification_insert,
    .verification_get = sq_verification_get,
    .verification_by_challenge = sq_verification_by_challenge,
    .verification_update = sq_verification_update,
    .verification_list = sq_verification_list,
    .approval_insert = sq_approval_insert,
    .org_put = sq_org_put,
    .org_get = sq_org_get,
    .org_list = sq_org_list,
    .cert_insert = sq_cert_insert,
    .cert_get = sq_cert_get,
    .cert_revoke = sq_cert_revoke,
    .cert_list = sq_cert_list,
    .cert_list_cn = sq_cert_list_cn,
    .cert_count = sq_cert_count,
    .crl_get = sq_crl_get,
    .crl_put = sq_crl_put,
    .eab_insert = sq_eab_insert,
    .eab_get = sq_eab_get,
    .eab_use = sq_eab_use,
    .eab_expire = sq_eab_expire,
    .token_insert = sq_token_insert,
    .token_by_hash = sq_token_by_hash,
    .token_revoke = sq_token_revoke,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .attachment_insert = sq_attachment_insert,
    .attachment_get = sq_attachment_get,
    .registry_put_many = sq_registry_put_many,
    .registry_get = sq_registry_get,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_settle = sq_outbox_settle,
    .delivery_list = sq_delivery_list,
    .reminder_mark = sq_reminder_mark,
    .attachment_list = sq_attachment_list,
    .counter_next = sq_counter_next,
    .org_domain_add = sq_org_domain_add,
    .org_domain_owner = sq_org_domain_owner,
    .org_domain_list = sq_org_domain_list,
    .org_domain_grant = sq_org_domain_grant,
    .org_domain_authz_ids = sq_org_domain_authz_ids,
    .authz_reusable = sq_authz_reusable,
    .authz_count_by_account = sq_authz_count_by_account,
    .order_ids_by_authz = sq_order_ids_by_authz,
    .renewal_get = sq_renewal_get,
    .renewal_set_window = sq_renewal_set_window,
    .renewal_set_replaced = sq_renewal_set_replaced,
    .account_get_many = sq_account_get_many,
    .order_get_many = sq_order_get_many,
    .renewal_get_many = sq_renewal_get_many,
    .registry_get_many = sq_registry_get_many,
};
