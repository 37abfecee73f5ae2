/* Resource ids and secrets: random, distinct, and safe on a command line. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model.h"

#define DRAWS 2000 /* a leading '-' would show up with p = 1 - (63/64)^2000 */

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(model, ids_never_start_with_a_dash_and_are_distinct)
{
	char *ids[DRAWS];

	for (int i = 0; i < DRAWS; i++) {
		cr_assert_eq(model_new_id(&ids[i]), KK_OK);
		cr_assert_eq(strlen(ids[i]), MODEL_ID_LEN);
		cr_assert_neq(ids[i][0], '-', "id %s", ids[i]);
	}
	qsort(ids, DRAWS, sizeof(ids[0]), cmp);
	for (int i = 1; i < DRAWS; i++)
		cr_assert_str_neq(ids[i - 1], ids[i]);
	for (int i = 0; i < DRAWS; i++)
		free(ids[i]);
}

Test(model, secrets_never_start_with_a_dash)
{
	unsigned char raw[32];
	char *b64;

	for (int i = 0; i < DRAWS; i++) {
		cr_assert_eq(model_random_b64(raw, sizeof(raw), &b64), KK_OK);
		cr_assert_eq(strlen(b64), 43);
		cr_assert_neq(b64[0], '-');
		free(b64);
	}
}
