/* Attachments (model.h): released here, beside the other records. */
#include <stdlib.h>

#include "model.h"

void
attachment_free(struct attachment *a)
{
	if (a == NULL)
		return;
	free(a->verification_id);
	free(a->sha256);
	free(a->content_type);
	free(a->uploaded_by);
	free(a->data);
	free(a);
}
