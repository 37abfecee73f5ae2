/*
 * The console's pure parts: the language from Accept-Language, which file
 * names it serves, and the attachment types and their magic bytes.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "console.h"
#include "console_assets.h"
#include "ra_attach.h"

Test(console, language_from_accept_language)
{
	cr_assert_str_eq(console_language(NULL), "en");
	cr_assert_str_eq(console_language(""), "en");
	cr_assert_str_eq(console_language("ja"), "ja");
	cr_assert_str_eq(console_language("ja-JP,ja;q=0.9,en;q=0.8"), "ja");
	cr_assert_str_eq(console_language("en-US,en;q=0.9,ja;q=0.8"), "en");
	cr_assert_str_eq(console_language("en;q=0.5, ja;q=0.7"), "ja");
	cr_assert_str_eq(console_language("fr, de;q=0.9"), "en");
	cr_assert_str_eq(console_language("fr, ja;q=0.1"), "ja");
	/* ja;q=0 means "not Japanese". */
	cr_assert_str_eq(console_language("ja;q=0"), "en");
	/* "jav" (Javanese) is not Japanese. */
	cr_assert_str_eq(console_language("jav"), "en");
	cr_assert_str_eq(console_language("JA-jp"), "ja");
	cr_assert_str_eq(console_language(",,;q=,ja;q=abc"), "en");
}

Test(console, file_names)
{
	cr_assert(console_name_ok("console.js"));
	cr_assert(console_name_ok("index.html"));
	cr_assert_not(console_name_ok(""));
	cr_assert_not(console_name_ok("console"));
	cr_assert_not(console_name_ok(".js"));
	cr_assert_not(console_name_ok("a.b.js"));
	cr_assert_not(console_name_ok("..%2fkakuin.db"));
	cr_assert_not(console_name_ok("Console.js"));
	cr_assert_not(console_name_ok("a/b.js"));
}

Test(console, assets_built_in)
{
	int html = 0, js = 0, css = 0;

	for (size_t i = 0; i < console_n_assets; i++) {
		cr_assert(console_name_ok(console_assets[i].name), "%s",
		    console_assets[i].name);
		cr_assert_gt(console_assets[i].len, 0);
		html += strcmp(console_assets[i].name, "index.html") == 0;
		js += strcmp(console_assets[i].name, "console.js") == 0;
		css += strcmp(console_assets[i].name, "console.css") == 0;
	}
	cr_assert(html && js && css);
}

Test(console, attachment_types)
{
	cr_assert_str_eq(ra_attach_type("application/pdf"), "application/pdf");
	cr_assert_str_eq(ra_attach_type("Image/PNG"), "image/png");
	cr_assert_str_eq(
	    ra_attach_type("image/jpeg; charset=binary"), "image/jpeg");
	cr_assert_null(ra_attach_type("image/gif"));
	cr_assert_null(ra_attach_type("application/pdfx"));
	cr_assert_null(ra_attach_type("application/pd"));
	cr_assert_null(ra_attach_type(NULL));
}
