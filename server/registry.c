/*
 * The corporate-number registry: libcsv parses the NTA's CSV (RFC 4180
 * quoting: quoted fields may hold commas, doubled quotes and newlines),
 * each record is checked and bounded here, and the store keeps the latest
 * one per corporate number.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <unicase.h>
#include <uninorm.h>

#include "kk_log.h"
#include "policy.h"
#include "registry.h"
#include "text.h"

#define NCOLS 30
#define FIELD_MAX 1024       /* bytes of any one field we keep */
#define FIELD_HARD_MAX 65536 /* a field this long: not the NTA's file */
#define BATCH 1000           /* records per store call */
#define NAME_CHARS 150       /* the NTA's limit for column 7 */
#define ADDRESS_MAX (3 * FIELD_MAX + 1)

/* Column numbers (1-based, as in the NTA's documentation). */
enum col {
	C_SEQ = 1,
	C_NUMBER = 2,
	C_UPDATE = 5,
	C_NAME = 7,
	C_KIND = 9,
	C_PREF = 10,
	C_CITY = 11,
	C_STREET = 12,
	C_POST = 16,
	C_ABROAD = 17,
	C_CLOSE_DATE = 19,
	C_CLOSE_CAUSE = 20,
	C_LATEST = 24,
	C_EN_NAME = 25,
	C_FURIGANA = 29,
};

/* The record being read, and the import's running state. */
struct importer {
	struct store *st;
	struct registry_report *rep;
	registry_reject_fn *reject;
	void *arg;
	char field[NCOLS][FIELD_MAX + 1];
	int nfields;     /* fields seen in this record */
	const char *bad; /* why this record is refused, or NULL */
	long cur;        /* the line being parsed */
	long line;       /* the line the current record starts on */
	struct registry_entry batch[BATCH]; /* checked, not yet stored */
	size_t n_batch;
	enum kk_status failed; /* a storage failure stops everything */
};

/* libcsv: one field of the current record. */
static void
on_field(void *s, size_t len, void *data)
{
	struct importer *im = data;
	const char *p = s;
	long newlines = 0;

	/* The parser is fed line by line: a field ends on line cur. */
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n')
			newlines++;
	if (im->nfields == 0)
		im->line = im->cur - newlines;
	if (im->nfields >= NCOLS) {
		im->nfields++;
		return;
	}
	if (len > FIELD_MAX) {
		im->bad = "a field is longer than 1024 bytes";
		len = 0;
	} else if (memchr(p, '\0', len) != NULL) {
		im->bad = "a field holds a NUL byte";
		len = 0;
	}
	if (len > 0)
		memcpy(im->field[im->nfields], p, len);
	im->field[im->nfields][len] = '\0';
	im->nfields++;
}

static const char *
col(const struct importer *im, enum col c)
{
	return im->field[c - 1];
}

static int
all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

/* YYYY-MM-DD, the NTA's date format. */
static int
date_ok(const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != '-')
			return 0;
	return strncmp(s + 5, "01", 2) >= 0 && strncmp(s + 5, "12", 2) <= 0 &&
	       strncmp(s + 8, "01", 2) >= 0 && strncmp(s + 8, "31", 2) <= 0;
}

/* Empty, or text fit to show of at most max characters. */
static int
text_ok(const char *s, size_t max)
{
	return *s == '\0' || text_display_ok(s, max);
}

/* Why the record in im cannot be imported, or NULL. */
static const char *
check(const struct importer *im)
{
	if (im->bad != NULL)
		return im->bad;
	if (im->nfields != NCOLS)
		return "the record does not have 30 columns";
	if (!all_digits(col(im, C_SEQ), 1, 18))
		return "column 1 (sequence number) is not a number";
	if (!policy_ntrjp_valid(col(im, C_NUMBER)))
		return "column 2 is not a 13-digit corporate number with a "
		       "correct check digit";
	if (!date_ok(col(im, C_UPDATE)))
		return "column 5 (update date) is not YYYY-MM-DD";
	if (*col(im, C_NAME) == '\0' ||
	    !text_display_ok(col(im, C_NAME), NAME_CHARS))
		return "column 7 (name) is empty, longer than 150 characters "
		       "or not displayable UTF-8";
	if (!all_digits(col(im, C_KIND), 3, 3))
		return "column 9 (kind) is not a 3-digit code";
	if (*col(im, C_POST) != '\0' && !all_digits(col(im, C_POST), 7, 7))
		return "column 16 (post code) is not 7 digits";
	if (*col(im, C_CLOSE_DATE) != '\0' && !date_ok(col(im, C_CLOSE_DATE)))
		return "column 19 (close date) is not YYYY-MM-DD";
	if (*col(im, C_CLOSE_CAUSE) != '\0' &&
	    !all_digits(col(im, C_CLOSE_CAUSE), 2, 2))
		return "column 20 (close cause) is not a 2-digit code";
	if (strcmp(col(im, C_LATEST), "0") != 0 &&
	    strcmp(col(im, C_LATEST), "1") != 0)
		return "column 24 (latest) is neither 0 nor 1";
	if (!text_ok(col(im, C_PREF), 64) || !text_ok(col(im, C_CITY), 64) ||
	    !text_ok(col(im, C_STREET), 300) ||
	    !text_ok(col(im, C_ABROAD), 300) ||
	    !text_ok(col(im, C_EN_NAME), 300) ||
	    !text_ok(col(im, C_FURIGANA), 300))
		return "an address, English name or furigana column is too "
		       "long or not displayable UTF-8";
	return NULL;
}

/* A copy of field c, NULL when empty; *ok 0 when out of memory. */
static char *
dup_opt(const struct importer *im, enum col c, int *ok)
{
	char *v;

	if (*col(im, c) == '\0')
		return NULL;
	if ((v = strdup(col(im, c))) == NULL)
		*ok = 0;
	return v;
}

/* Orders a batch by number, then update date, then place in the file,
 * so that the last of each number is the one to keep. */
static int
by_number(const void *a, const void *b)
{
	const struct registry_entry *x = a, *y = b;
	int c;

	if ((c = strcmp(x->number, y->number)) != 0)
		return c;
	if ((c = strcmp(x->update_date, y->update_date)) != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Stores the batch: one record per number (a file may name a number
 * twice), in one store call. */
static enum kk_status
flush(struct importer *im)
{
	size_t n = 0, stored = 0, i;
	enum kk_status rc;

	if (im->n_batch == 0)
		return KK_OK;
	qsort(im->batch, im->n_batch, sizeof(*im->batch), by_number);
	for (i = 0; i < im->n_batch; i++) {
		if (i + 1 < im->n_batch &&
		    strcmp(im->batch[i].number, im->batch[i + 1].number) == 0) {
			im->rep->kept++; /* superseded in the same file */
			registry_entry_clear(&im->batch[i]);
			continue;
		}
		if (n != i) {
			im->batch[n] = im->batch[i];
			memset(&im->batch[i], 0, sizeof(im->batch[i]));
		}
		n++;
	}
	rc = store_registry_put_many(im->st, im->batch, n, &stored);
	if (rc == KK_OK) {
		im->rep->stored += (long)stored;
		im->rep->kept += (long)(n - stored);
	}
	for (i = 0; i < im->n_batch; i++)
		registry_entry_clear(&im->batch[i]);
	im->n_batch = 0;
	return rc;
}

/* Adds the checked record in im to the batch, storing a full one. */
static enum kk_status
store_record(struct importer *im)
{
	struct registry_entry *e = &im->batch[im->n_batch];
	char address[ADDRESS_MAX];
	int ok = 1;

	if (*col(im, C_PREF) != '\0' || *col(im, C_CITY) != '\0' ||
	    *col(im, C_STREET) != '\0')
		snprintf(address, sizeof(address), "%s%s%s", col(im, C_PREF),
		    col(im, C_CITY), col(im, C_STREET));
	else
		snprintf(address, sizeof(address), "%s", col(im, C_ABROAD));
	memset(e, 0, sizeof(*e));
	e->number = dup_opt(im, C_NUMBER, &ok);
	e->name = dup_opt(im, C_NAME, &ok);
	e->furigana = dup_opt(im, C_FURIGANA, &ok);
	e->en_name = dup_opt(im, C_EN_NAME, &ok);
	e->post_code = dup_opt(im, C_POST, &ok);
	e->kind = dup_opt(im, C_KIND, &ok);
	e->update_date = dup_opt(im, C_UPDATE, &ok);
	e->close_date = dup_opt(im, C_CLOSE_DATE, &ok);
	e->close_cause = dup_opt(im, C_CLOSE_CAUSE, &ok);
	if ((e->address = strdup(address)) == NULL)
		ok = 0;
	/* The place in the file, for by_number; the NTA's own sequence
	 * number is per file too. */
	e->seq = strtoll(col(im, C_SEQ), NULL, 10);
	im->n_batch++;
	if (!ok)
		return KK_ENOMEM;
	return im->n_batch == BATCH ? flush(im) : KK_OK;
}

/* libcsv: the end of a record. */
static void
on_record(int term, void *data)
{
	struct importer *im = data;
	const char *why;

	(void)term;
	if (im->failed == KK_OK) {
		im->rep->rows++;
		if ((why = check(im)) != NULL) {
			im->rep->rejected++;
			if (im->reject != NULL)
				im->reject(im->arg, im->line, why);
		} else if (strcmp(col(im, C_LATEST), "1") != 0)
			im->rep->not_latest++;
		else if ((im->failed = store_record(im)) != KK_OK)
			kk_log("registry: line %ld: %s", im->line,
			    kk_strerror(im->failed));
	}
	im->nfields = 0;
	im->bad = NULL;
}

/* Keeps what libcsv hands back: spaces around fields belong to them. */
static int
no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/*
 * Feeds one chunk to the parser a line at a time, so that every field
 * knows the line it ends on. 0, or -1 when the text is not CSV.
 */
static int
feed(struct csv_parser *p, struct importer *im, const char *buf, size_t n)
{
	const char *nl;
	size_t off = 0, len;

	while (off < n && im->failed == KK_OK) {
		nl = memchr(buf + off, '\n', n - off);
		len = nl != NULL ? (size_t)(nl - (buf + off)) + 1 : n - off;
		if (csv_parse(p, buf + off, len, on_field, on_record, im) !=
		        len ||
		    p->entry_pos > FIELD_HARD_MAX)
			return -1;
		off += len;
		if (nl != NULL)
			im->cur++;
	}
	return 0;
}

enum kk_status
registry_import(struct store *st, FILE *f, struct registry_report *rep,
    registry_reject_fn *reject, void *arg, char **err)
{
	struct csv_parser p;
	struct importer *im;
	char buf[4096];
	size_t n;
	int broken = 0;
	enum kk_status rc = KK_OK;

	*err = NULL;
	memset(rep, 0, sizeof(*rep));
	if ((im = calloc(1, sizeof(*im))) == NULL)
		return KK_ENOMEM;
	im->st = st;
	im->rep = rep;
	im->reject = reject;
	im->arg = arg;
	im->cur = im->line = 1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		free(im);
		return KK_ENOMEM;
	}
	csv_set_space_func(&p, no_space);
	while (!broken && im->failed == KK_OK &&
	       (n = fread(buf, 1, sizeof(buf), f)) > 0)
		broken = feed(&p, im, buf, n) != 0;
	if (!broken && im->failed == KK_OK) {
		if (ferror(f))
			rc = KK_EIO;
		else
			broken = csv_fini(&p, on_field, on_record, im) != 0;
	}
	if (broken && im->failed == KK_OK) {
		rc = KK_EINVAL;
		if (asprintf(err,
		        "line %ld: not CSV as the NTA publishes it "
		        "(%s)",
		        im->cur,
		        p.entry_pos > FIELD_HARD_MAX
		            ? "a field longer than 64 KiB"
		            : csv_strerror(csv_error(&p))) < 0)
			*err = NULL;
	}
	if (im->failed != KK_OK)
		rc = im->failed;
	/* What was read before a break in the CSV stands: each record was
	 * checked on its own. */
	if (im->failed == KK_OK && (im->failed = flush(im)) != KK_OK)
		rc = im->failed;
	for (size_t i = 0; i < im->n_batch; i++)
		registry_entry_clear(&im->batch[i]);
	csv_free(&p);
	free(im);
	return rc;
}

const char *
registry_number(const char *org)
{
	static const char prefix[] = "NTRJP-";
	const char *d;

	if (org == NULL || strncmp(org, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	d = org + sizeof(prefix) - 1;
	return all_digits(d, 13, 13) ? d : NULL;
}

/*
 * s in NFKC, case folded, with each run of white space made one space and
 * none at either end: *out (caller frees, NUL-terminated).
 */
static int
fold(const char *s, char **out)
{
	uint8_t *f;
	size_t len = 0, i, j = 0;
	int space = 0;

	*out = NULL;
	f = u8_casefold(
	    (const uint8_t *)s, strlen(s), NULL, UNINORM_NFKC, NULL, &len);
	if (f == NULL)
		return -1;
	if ((*out = malloc(len + 1)) == NULL) {
		free(f);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (f[i] == ' ' || f[i] == '\t') {
			space = j > 0;
			continue;
		}
		if (space)
			(*out)[j++] = ' ';
		space = 0;
		(*out)[j++] = (char)f[i];
	}
	(*out)[j] = '\0';
	free(f);
	return 0;
}

static int
same_name(const char *a, const char *b)
{
	char *fa = NULL, *fb = NULL;
	int r = -1;

	if (fold(a, &fa) == 0 && fold(b, &fb) == 0)
		r = strcmp(fa, fb) == 0;
	free(fa);
	free(fb);
	return r;
}

int
registry_name_matches(const struct registry_entry *e, const char *name)
{
	int r = same_name(e->name, name);

	if (r == 0 && e->en_name != NULL)
		r = same_name(e->en_name, name);
	return r;
}

const char *
registry_kind_name(const char *code)
{
	static const struct {
		const char *code, *name;
	} kinds[] = {
	    {"101", "国の機関"},
	    {"201", "地方公共団体"},
	    {"301", "株式会社"},
	    {"302", "有限会社"},
	    {"303", "合名会社"},
	    {"304", "合資会社"},
	    {"305", "合同会社"},
	    {"399", "その他の設立登記法人"},
	    {"401", "外国会社等"},
	    {"499", "その他"},
	};

	for (size_t i = 0; code != NULL && i < sizeof(kinds) / sizeof(*kinds);
	     i++)
		if (strcmp(code, kinds[i].code) == 0)
			return kinds[i].name;
	return NULL;
}

/* Adds name: v when v is set; 0, or -1 when out of memory. */
static int
add_opt(cJSON *j, const char *name, const char *v)
{
	return v == NULL || cJSON_AddStringToObject(j, name, v) != NULL ? 0
	                                                                : -1;
}

cJSON *
registry_entry_json(const struct registry_entry *e)
{
	cJSON *j = cJSON_CreateObject();

	if (j == NULL || add_opt(j, "corporateNumber", e->number) != 0 ||
	    add_opt(j, "name", e->name) != 0 ||
	    add_opt(j, "furigana", e->furigana) != 0 ||
	    add_opt(j, "englishName", e->en_name) != 0 ||
	    add_opt(j, "address", e->address) != 0 ||
	    add_opt(j, "postCode", e->post_code) != 0 ||
	    add_opt(j, "kind", e->kind) != 0 ||
	    add_opt(j, "kindName", registry_kind_name(e->kind)) != 0 ||
	    add_opt(j, "updated", e->update_date) != 0 ||
	    (e->close_date != NULL &&
	        (cJSON_AddTrueToObject(j, "closed") == NULL ||
	            add_opt(j, "closeDate", e->close_date) != 0 ||
	            add_opt(j, "closeCause", e->close_cause) != 0))) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
