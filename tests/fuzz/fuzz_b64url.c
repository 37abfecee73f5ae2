/*
 * fuzz_b64url: base64url decoding is strict (one accepted encoding per
 * byte string), so decode then encode must give back the input exactly,
 * and encode then decode must give back the bytes.
 */
#include "fuzz_common.h"

#include "b64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *dec = NULL, *back = NULL;
	char *enc = NULL, *enc2 = NULL;
	size_t declen = 0, backlen = 0;
	enum kk_status st;

	/* Input as base64url text. */
	st = b64url_decode((const char *)data, size, &dec, &declen);
	if (st == KK_OK) {
		FUZZ_ASSERT(size % 4 != 1, "accepted length %zu", size);
		FUZZ_ASSERT(declen == size * 3 / 4, "%zu chars gave %zu bytes",
		    size, declen);
		FUZZ_ASSERT(dec[declen] == '\0', "no NUL after the bytes");
		for (size_t i = 0; i < size; i++)
			FUZZ_ASSERT(data[i] != '\0' &&
			                strchr(alphabet, data[i]) != NULL,
			    "accepted byte 0x%02x", data[i]);
		FUZZ_ASSERT(b64url_encode(dec, declen, &enc2) == KK_OK,
		    "cannot re-encode");
		FUZZ_ASSERT(
		    strlen(enc2) == size && memcmp(enc2, data, size) == 0,
		    "decode/encode is not the identity: \"%.*s\" -> \"%s\"",
		    (int)size, (const char *)data, enc2);
	} else {
		FUZZ_ASSERT(
		    st == KK_EINVAL || st == KK_ENOMEM, "status %d", (int)st);
		FUZZ_ASSERT(dec == NULL && declen == 0, "output on failure");
	}

	/* Input as bytes. */
	FUZZ_ASSERT(b64url_encode(data, size, &enc) == KK_OK, "encode failed");
	FUZZ_ASSERT(strlen(enc) == (size * 4 + 2) / 3, "%zu bytes gave %zu",
	    size, strlen(enc));
	FUZZ_ASSERT(
	    strspn(enc, alphabet) == strlen(enc), "bad output \"%s\"", enc);
	FUZZ_ASSERT(b64url_decode(enc, strlen(enc), &back, &backlen) == KK_OK,
	    "own encoding \"%s\" refused", enc);
	FUZZ_ASSERT(
	    backlen == size && (size == 0 || memcmp(back, data, size) == 0),
	    "encode/decode is not the identity");

	free(dec);
	free(enc);
	free(enc2);
	free(back);
	return 0;
}
