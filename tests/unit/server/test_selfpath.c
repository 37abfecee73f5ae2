/* Files beside the executable: found relative to it, wherever it runs. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "selfpath.h"

#define SELF "../tests/unit_server_test_selfpath"

Test(selfpath, resolves_against_the_executable_directory)
{
	char dir[PATH_MAX], *want = NULL, *p;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	cr_assert_gt(n, 0);
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0';
	/* This test binary, named from its own directory's parent. */
	cr_assert_eq(selfpath_find(SELF, "/nonexistent/fallback", &p), KK_OK);
	cr_assert_geq(asprintf(&want, "%s/%s", dir, SELF), 0);
	cr_assert_str_eq(p, want);
	free(want);
	free(p);
}

Test(selfpath, falls_back_when_the_file_is_not_there)
{
	char *p;

	cr_assert_eq(selfpath_find("../share/kakuin/no-such-file.json",
	                 "/usr/share/kakuin/default.json", &p),
	    KK_OK);
	cr_assert_str_eq(p, "/usr/share/kakuin/default.json");
	free(p);
}
