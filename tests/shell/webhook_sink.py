"""A webhook receiver for the notification tests: checks each POST's
Kakuin-Signature (HMAC-SHA256 over "<t>.<body>" with the shared secret),
answers 500 to the first FAIL_FIRST requests and 204 to the rest, and
appends one JSON line per request to OUT: {"status": answered, "event":
header, "signature_ok": bool, "body": parsed body}. With DELAY, each
answer waits that many seconds (requests are served in parallel), so that
a sender that is slow to hear back can be tested. Writes its port to
PORTFILE once listening (port 0: a free one).

usage: webhook_sink.py SECRET FAIL_FIRST OUT PORTFILE [DELAY]
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET, FAIL_FIRST, OUT, PORTFILE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
DELAY = float(sys.argv[5]) if len(sys.argv) > 5 else 0
seen = 0
lock = threading.Lock()


def signature_ok(header, body):
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > 300:
        return False
    mac = hmac.new(SECRET.encode(), str(t).encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts.get("v1", ""))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = signature_ok(self.headers.get("Kakuin-Signature", ""), body)
        with lock:
            seen += 1
            status = 500 if seen <= FAIL_FIRST else (204 if ok else 401)
        time.sleep(DELAY)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with lock, open(OUT, "a") as f:
            f.write(json.dumps({"status": status,
                                "event": self.headers.get("Kakuin-Event"),
                                "signature_ok": ok, "raw": body.decode(),
                                "body": parsed}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
