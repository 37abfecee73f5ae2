#include "renew.h"

int
renew_due(time_t not_before, time_t not_after, time_t now,
    const struct renew_window *ari, time_t *when)
{
	time_t due;

	if (ari != NULL && ari->end >= ari->start)
		due = ari->start;
	else if (not_after <= not_before)
		due = not_before; /* nonsense validity: renew now */
	else
		due = not_after - (not_after - not_before) / 3;
	if (when != NULL)
		*when = due;
	return now >= due;
}
