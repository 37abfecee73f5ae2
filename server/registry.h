/*
 * registry.h - the National Tax Agency's corporate-number registry: its
 * published CSV (Unicode edition, UTF-8, no header, 30 columns) imported
 * into the store, and the questions the registration authority asks it.
 *
 * Columns relied on (1-based, as the NTA numbers them): 1 sequence
 * number, 2 corporate number, 5 update date, 7 name, 9 kind, 10
 * prefecture, 11 city, 12 street address, 16 post code, 17 address
 * outside Japan, 19 close date, 20 close cause, 24 latest (1 = the latest
 * record of that corporation), 25 English name, 29 furigana. The others
 * are read, counted and bounded, and not kept.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "kk_status.h"
#include "model_desk.h"
#include "store.h"

/* What an import did, row by row. */
struct registry_report {
	long rows;       /* records read */
	long stored;     /* written: new, or newer than the one stored */
	long kept;       /* not newer than the record stored: left alone */
	long not_latest; /* column 24 is 0: superseded, not imported */
	long rejected;   /* refused; each one named to the reject callback */
};

/* Told of each rejected record: the line it starts on and why (a static
 * sentence). */
typedef void registry_reject_fn(void *arg, long line, const char *why);

/*
 * Imports the CSV read from f into st in batches of a thousand records,
 * each stored in one atomic step, so that a server using the same store
 * is never held up long. Importing the same file again changes nothing;
 * a later file updates what changed; of a number named twice in one file
 * the latest record counts. Rows that break the format's rules are rejected
 * one by one (reject is told, may be NULL) and the rest imported. A file
 * that is not CSV at all (a stray quote, a field past 64 KiB) stops the
 * import with KK_EINVAL and *err (caller frees) naming the line; the
 * records before it are stored, and importing the corrected file
 * completes it. rep is filled in either case.
 */
enum kk_status registry_import(struct store *st, FILE *f,
    struct registry_report *rep, registry_reject_fn *reject, void *arg,
    char **err);

/* The corporate number in an organization identifier "NTRJP-" followed by
 * 13 digits (a pointer into org), or NULL for any other identifier. */
const char *registry_number(const char *org);

/*
 * Whether legal_name names the corporation of e: its registered name or
 * its English name, compared after Unicode NFKC normalization and case
 * folding with runs of spaces made one (so full-width letters and the
 * ideographic space of the registry's names match what an operator
 * types). 1 yes, 0 no, -1 out of memory.
 */
int registry_name_matches(const struct registry_entry *e, const char *name);

/*
 * The entry as the operator API shows it: {"corporateNumber", "name",
 * "furigana"?, "englishName"?, "address", "postCode"?, "kind",
 * "kindName"?, "updated", "closed"?, "closeDate"?, "closeCause"?};
 * NULL when out of memory. Caller frees with cJSON_Delete.
 */
cJSON *registry_entry_json(const struct registry_entry *e);

/* A name for the NTA's kind code (e.g. "301": "株式会社"), or NULL. */
const char *registry_kind_name(const char *code);

#endif
