/* kk_path_join and kk_file_write_atomic: one behaviour for both programs. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "kk_file.h"

Test(kk_file, join_does_not_double_the_slash)
{
	char *p = NULL;

	cr_assert_eq(kk_path_join("/var/lib/kakuin", "kakuin.db", &p), KK_OK);
	cr_assert_str_eq(p, "/var/lib/kakuin/kakuin.db");
	free(p);
	cr_assert_eq(kk_path_join("/var/lib/kakuin/", "private", &p), KK_OK);
	cr_assert_str_eq(p, "/var/lib/kakuin/private");
	free(p);
	cr_assert_eq(kk_path_join("", "x", &p), KK_OK);
	cr_assert_str_eq(p, "/x");
	free(p);
}

static char *
slurp(const char *path)
{
	static char buf[64];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(kk_file, create_never_overwrites_replace_does)
{
	char dir[] = "/tmp/kk-file-XXXXXX", path[64];
	struct stat sb;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	cr_assert_eq(kk_file_write_atomic(path, "one", 3, 0600, 0), KK_OK);
	cr_assert_str_eq(slurp(path), "one");
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(kk_file_write_atomic(path, "two", 3, 0600, 0), KK_EEXIST);
	cr_assert_str_eq(slurp(path), "one");
	cr_assert_eq(kk_file_write_atomic(path, "three", 5, 0644, 1), KK_OK);
	cr_assert_str_eq(slurp(path), "three");
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0644);
	/* No temporary file is left behind. */
	cr_assert_eq(rmdir(dir), -1);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0, "a temporary file was left in %s", dir);
	snprintf(path, sizeof(path), "%s/missing/x", dir);
	cr_assert_eq(kk_file_write_atomic(path, "x", 1, 0600, 1), KK_EIO);
}
