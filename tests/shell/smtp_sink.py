"""A minimal SMTP sink for the notification tests (RFC 5321 as a relay
on loopback speaks it: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT):
each message is appended to OUT as one JSON line {"from", "to": [...],
"tls": bool, "data": text}. With CERT and KEY it offers STARTTLS (RFC
3207). Writes its port to PORTFILE once listening.

usage: smtp_sink.py OUT PORTFILE [CERT KEY]
"""
import json
import os
import socketserver
import ssl
import sys

OUT, PORTFILE = sys.argv[1], sys.argv[2]
TLS = None
if len(sys.argv) > 4:
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(sys.argv[3], sys.argv[4])


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink ESMTP")
        sender, rcpts, tls = None, [], False
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.reply("250-sink")
                if TLS is not None and not tls:
                    self.reply("250-STARTTLS")
                self.reply("250 8BITMIME")
            elif cmd.upper() == "STARTTLS" and TLS is not None and not tls:
                self.reply("220 go ahead")
                self.request = TLS.wrap_socket(self.request, server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
                sender, rcpts, tls = None, [], True
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].strip().strip("<>").split(">")[0], []
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip().strip("<>").split(">")[0])
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = []
                while True:
                    l = self.rfile.readline(65536)
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data.append(l.decode("utf-8", "replace"))
                with open(OUT, "a") as f:
                    f.write(json.dumps({"from": sender, "to": rcpts, "tls": tls,
                                        "data": "".join(data)}) + "\n")
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", 0), Session)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
