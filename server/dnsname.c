/*
 * Validation of dns identifier values. Upper case is refused rather than
 * folded: RFC 8555 7.1.4 leaves case to the client, and a name kept as
 * the client sent it is what the CSR must repeat byte for byte.
 */
#include <string.h>

#include "dnsname.h"

static enum kk_status
refuse(const char **why, const char *sentence)
{
	if (why != NULL)
		*why = sentence;
	return KK_EINVAL;
}

enum kk_status
dnsname_check(const char *name, const char **why)
{
	size_t len, label = 0, labels = 1;
	int digits_only = 1;
	const char *p;

	if (name == NULL || (len = strlen(name)) == 0)
		return refuse(why, "the name is empty");
	if (len > DNSNAME_MAX)
		return refuse(why, "the name is longer than 253 characters");
	if (name[0] == '*')
		return refuse(why, "wildcard names are not issued");
	for (p = name; *p != '\0'; p++) {
		char c = *p;

		if (c == '.') {
			if (label == 0)
				return refuse(
				    why, "the name has an empty label");
			if (p[-1] == '-')
				return refuse(
				    why, "a label ends with a hyphen");
			label = 0;
			labels++;
			digits_only = 1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			return refuse(why, "the name must be in lower case");
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-'))
			return refuse(why, "the name has a character other "
			                   "than a-z, 0-9, '-' and '.'");
		if (c == '-' && label == 0)
			return refuse(why, "a label begins with a hyphen");
		if (++label > 63)
			return refuse(
			    why, "a label is longer than 63 characters");
		digits_only &= c >= '0' && c <= '9';
	}
	if (label == 0)
		return refuse(why, "the name ends with a dot or is empty");
	if (p[-1] == '-')
		return refuse(why, "a label ends with a hyphen");
	if (labels < 2)
		return refuse(why, "the name needs at least two labels");
	if (digits_only)
		return refuse(why, "the last label is all digits (IP addresses "
		                   "are not dns identifiers)");
	return KK_OK;
}
