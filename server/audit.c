/*
 * The audit log's writer: events as store records with their detail as
 * compact JSON text.
 */
#include <string.h>

#include "audit.h"
#include "kk_log.h"

enum kk_status
audit_record(struct store *st, time_t at, const char *actor, const char *action,
    const char *object, const cJSON *detail)
{
	struct audit_event e;
	char *text = NULL;
	enum kk_status rc;

	memset(&e, 0, sizeof(e));
	if (detail != NULL && (text = cJSON_PrintUnformatted(detail)) == NULL)
		return KK_ENOMEM;
	e.at = at;
	e.actor = (char *)actor;
	e.action = (char *)action;
	e.object = (char *)object;
	e.detail = text;
	/* A lost race is not worth a line: the caller's transaction is
	 * rolled back and run again, and the event recorded then; a line
	 * naming a serial here would read as if that certificate existed. */
	if ((rc = store_audit_append(st, &e)) != KK_OK && rc != KK_ERACE)
		kk_log("audit: cannot record %s on %s: %s; the change is "
		       "rolled back",
		    action, object, kk_strerror(rc));
	cJSON_free(text);
	return rc;
}
