#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selfpath.h"

enum kk_status
selfpath_find(const char *rel, const char *fallback, char **out)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	*out = NULL;
	/* readlink(2) gives the binary's real path, whatever symlink or
	 * relative name it was started by. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && (size_t)n < sizeof(exe) - 1) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (asprintf(out, "%s/%s", exe, rel) < 0) {
				*out = NULL;
				return KK_ENOMEM;
			}
			if (access(*out, F_OK) == 0)
				return KK_OK;
			free(*out);
		}
	}
	*out = strdup(fallback);
	return *out != NULL ? KK_OK : KK_ENOMEM;
}
