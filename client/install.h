/*
 * install.h - crash-safe installation of a key and its certificate.
 *
 * Layout of the --out directory:
 *
 *   .sets/SERIAL.TIME.PID/ one complete set: key.pem (0600), cert.pem,
 *                        chain.pem, fullchain.pem[, bundle.p12 (0600)];
 *                        key.uri instead of key.pem for a token key
 *   live -> .sets/...    the set in use
 *   previous -> .sets/...  the set before it (kept for roll-back)
 *   key.pem -> live/key.pem, cert.pem -> live/cert.pem, ... (fixed links)
 *
 * A new set is written into a temporary directory under .sets, every file
 * and the directory fsynced, then renamed to its final name; only then is
 * the `live` link replaced, by rename(2) of a new symlink over it. That
 * single rename switches key, certificate and chain together: every file a
 * reader opens is complete and belongs to one complete set, and a crash at
 * any point leaves either the old set or the new one live. A reader that
 * opens key.pem and then cert.pem as two separate opens may straddle the
 * switch and get the old key with the new certificate; a reader that needs
 * a matching pair resolves `live` once (open the directory, then openat(2)
 * both files in it, or readlink -f live) or reads bundle.p12. Sets other
 * than live and previous are pruned afterwards.
 */
#ifndef KC_INSTALL_H
#define KC_INSTALL_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

struct install_req {
	const char *out;       /* the --out directory; created if missing */
	const char *name;      /* friendly name inside bundle.p12 */
	EVP_PKEY *key;         /* must match the chain's first certificate */
	const char *chain_pem; /* the issued chain as downloaded, leaf first */
	size_t chain_len;
	const char *p12_pass; /* NULL: no bundle.p12 */
	const char *key_uri;  /* key is in a token: key.uri, not key.pem */
};

/*
 * Installs one set as described above. *serial (caller frees) is the new
 * certificate's serial in hex. Fails before touching the live set when the
 * key does not match the certificate or anything cannot be written; the
 * message names the path.
 *
 * For tests only: when the environment variable KAKUIN_TEST_CRASH_AT
 * names a step (files, set, previous, live, links) the process kills
 * itself with SIGKILL right after that step, as a power cut would.
 */
/*
 * Makes out (mkdir -p) and checks it is writable: EX_CANTCREAT naming the
 * path when not, so that nothing is ordered for a certificate that could
 * not be installed.
 */
enum kk_status install_check_out(const char *out, struct kc_err *err);

enum kk_status install_set(
    const struct install_req *req, char **serial, struct kc_err *err);

/* The KAKUIN_TEST_CRASH_AT hook above, for other steps of a renewal. */
void install_crash_point(const char *step);

#endif
