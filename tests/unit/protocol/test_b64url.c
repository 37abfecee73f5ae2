#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "b64url.h"

static void
check_encode(const char *in, size_t len, const char *want)
{
	char *out = NULL;

	cr_assert_eq(
	    b64url_encode((const unsigned char *)in, len, &out), KK_OK);
	cr_assert_str_eq(out, want);
	free(out);
}

static void
check_decode(const char *in, const char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t len = 99;

	cr_assert_eq(b64url_decode(in, strlen(in), &out, &len), KK_OK,
	    "decoding \"%s\"", in);
	cr_assert_eq(len, wantlen);
	cr_assert_eq(memcmp(out, want, len), 0);
	cr_assert_eq(out[len], '\0', "decoded text is NUL-terminated");
	free(out);
}

static void
check_refused(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t len = 99;

	cr_assert_eq(b64url_decode(in, strlen(in), &out, &len), KK_EINVAL,
	    "\"%s\" must be refused", in);
	cr_assert_null(out);
	cr_assert_eq(len, 0);
}

/* RFC 4648 section 10 vectors, without the padding. */
Test(b64url, rfc4648_vectors)
{
	check_encode("", 0, "");
	check_encode("f", 1, "Zg");
	check_encode("fo", 2, "Zm8");
	check_encode("foo", 3, "Zm9v");
	check_encode("foob", 4, "Zm9vYg");
	check_encode("fooba", 5, "Zm9vYmE");
	check_encode("foobar", 6, "Zm9vYmFy");
	check_decode("", "", 0);
	check_decode("Zg", "f", 1);
	check_decode("Zm8", "fo", 2);
	check_decode("Zm9v", "foo", 3);
	check_decode("Zm9vYmFy", "foobar", 6);
}

/* The URL-safe characters replace '+' and '/'. */
Test(b64url, url_alphabet)
{
	check_encode("\xfb\xff\xbf", 3, "-_-_");
	check_decode("-_-_", "\xfb\xff\xbf", 3);
	check_refused("+/+/");
}

Test(b64url, all_byte_values_round_trip)
{
	unsigned char in[256], *back = NULL;
	char *enc = NULL;
	size_t len, start, n;
	int i;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	/* Every length mod 3 and every starting byte. */
	for (start = 0; start < 3; start++) {
		n = sizeof(in) - start;
		cr_assert_eq(b64url_encode(in + start, n, &enc), KK_OK);
		cr_assert_eq(strlen(enc), (n * 4 + 2) / 3);
		cr_assert_null(strpbrk(enc, "=+/"));
		cr_assert_eq(
		    b64url_decode(enc, strlen(enc), &back, &len), KK_OK);
		cr_assert_eq(len, n);
		cr_assert_eq(memcmp(back, in + start, n), 0);
		free(enc);
		free(back);
	}
}

Test(b64url, decode_needs_no_nul)
{
	unsigned char *out = NULL;
	size_t len;

	/* Only the first 4 characters count. */
	cr_assert_eq(b64url_decode("Zm9vYmFy", 4, &out, &len), KK_OK);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(out, "foo", 3), 0);
	free(out);
}

Test(b64url, refuses_padding)
{
	check_refused("Zg==");
	check_refused("Zm8=");
	check_refused("Zg=");
	check_refused("====");
}

Test(b64url, refuses_invalid_characters)
{
	check_refused("Zm9v!");
	check_refused("Zm 9v");
	check_refused("Zm9v\n");
	check_refused("Zm.v");
	check_refused("\xc3\xa9\xc3\xa9");
	/*
	 * In a tail of two or three, anywhere: a bad character in the last
	 * place shows in the trailing bits too, one before it only if the
	 * tail's characters are checked.
	 */
	check_refused("=A");
	check_refused("Z=A");
	check_refused("Zm9v=A");
	check_refused("Zm9v!AA");
}

Test(b64url, refuses_impossible_length)
{
	check_refused("Z");
	check_refused("Zm9vY");
	/* Zero bits, so only the length gives them away. */
	check_refused("A");
	check_refused("AAAAA");
}

/* "Zh" and "Zg" would both decode to "f"; only "Zg" is canonical. */
Test(b64url, refuses_nonzero_trailing_bits)
{
	check_refused("Zh");
	check_refused("Z_");
	check_refused("Zm9");
	check_refused("Zm-");
	check_decode("Zm8", "fo", 2);
}

Test(b64url, embedded_nul_is_refused)
{
	unsigned char *out = NULL;
	size_t len;

	cr_assert_eq(b64url_decode("Zm\0v", 4, &out, &len), KK_EINVAL);
	cr_assert_null(out);
}
