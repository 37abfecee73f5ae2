#!/usr/bin/env bash
# Finalize of a dns order takes a CSR only when its names are exactly the
# order's (RFC 8555 7.4): an extra name, a missing one, a name in another
# case or a CN that is not one of them is badCSR, and the order stays
# ready for a right CSR. The client is certbot's ACME library (python3-acme),
# which lets a test send any CSR.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
py=/usr/bin/python3
$py -c 'import acme.client, josepy, cryptography' 2>/dev/null ||
    { echo "SKIP: python3-acme is not installed (certbot brings it)"; exit 77; }
kk_setup
kk_va_start
kk_verified_org

step "one order, one validation, four refused CSRs, then the right one"
REQUESTS_CA_BUNDLE=$KK_CA $py - "$KK_URL/acme/directory" "$KK_EAB_KID" \
    "$KK_EAB_HMAC" "$KK_HTTP_PORT" "$KK_TMP/chain.pem" \
    >"$KK_TMP/py.out" 2>&1 <<'PY' || fail "$(cat "$KK_TMP/py.out")"
import datetime, http.server, sys, threading
import josepy as jose
from acme import challenges, client, crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

url, kid, hmac, port, out = sys.argv[1:6]
key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
net = client.ClientNetwork(key, alg=jose.ES256, user_agent="kakuin-test")
directory = messages.Directory.from_json(net.get(url).json())
acme = client.ClientV2(directory, net)
eab = messages.ExternalAccountBinding.from_data(
    account_public_key=key.public_key(), kid=kid, hmac_key=hmac,
    directory=directory)
acme.new_account(messages.NewRegistration.from_data(
    email="ops@example.jp", terms_of_service_agreed=True,
    external_account_binding=eab))

tokens = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = tokens.get(self.path.rsplit("/", 1)[-1], "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", int(port)), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()

pkey = ec.generate_private_key(ec.SECP256R1())
kp = pkey.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
names = ["c1.test", "c2.test"]
orderr = acme.new_order(crypto_util.make_csr(kp, names))
for authz in orderr.authorizations:
    for chb in authz.body.challenges:
        if isinstance(chb.chall, challenges.HTTP01):
            resp, validation = chb.response_and_validation(key)
            tokens[chb.chall.encode("token")] = validation
            acme.answer_challenge(chb, resp)
deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
orderr = acme.poll_authorizations(orderr, deadline)

def with_cn(cn, sans):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    b = b.add_extension(x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in sans]), critical=False)
    return b.sign(pkey, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)

def refused(csr, what):
    try:
        acme.finalize_order(orderr.update(csr_pem=csr), deadline)
    except messages.Error as e:
        assert e.typ == "urn:ietf:params:acme:error:badCSR", (what, e)
        print("refused,", what + ":", e.detail)
        return
    raise SystemExit("accepted a CSR with " + what)

refused(crypto_util.make_csr(kp, names + ["c3.test"]), "an extra name")
refused(crypto_util.make_csr(kp, names[:1]), "a missing name")
refused(crypto_util.make_csr(kp, ["c1.test", "C2.test"]), "a name in upper case")
refused(with_cn("other.test", names), "a CN that is not a name")
done = acme.finalize_order(
    orderr.update(csr_pem=with_cn("c2.test", names)), deadline)
open(out, "w").write(done.fullchain_pem)
PY
cat "$KK_TMP/py.out"
[ "$(grep -c '^refused' "$KK_TMP/py.out")" -eq 4 ] || fail "not four refusals"
openssl x509 -in "$KK_TMP/chain.pem" >"$KK_TMP/leaf.pem"
# The CN is the order's first name whatever the CSR's CN says.
kk_dns_cert_ok "$KK_TMP/leaf.pem" "TLS Web Client Authentication" \
    c1.test c2.test
echo "PASS"
