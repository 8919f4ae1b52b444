"""A webhook receiver for the tests: verifies every delivery with the Standard Webhooks
library (`pip install standardwebhooks`) and records it, one JSON line per request.

Usage: receiver.py LOG_FILE [FAIL_EVERY]. Prints its port on the first line of stdout.
POST /_secret sets the secret (body: whsec_...). With FAIL_EVERY=n, the 1st, (n+1)-th,
(2n+1)-th... request for each event answers 500, so that it is retried: with n=2 half of
all answers fail and every event gets through on its second attempt.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

LOG = open(sys.argv[1], "a", buffering=1)
FAIL_EVERY = int(sys.argv[2]) if len(sys.argv) > 2 else 0
STATE = {"secret": None, "attempts": {}}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered, so that the head and the body of an answer leave in one segment: two small
    # writes meet the client's delayed ACK and cost 40 ms an answer.
    wbufsize = 64 * 1024

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/_secret":
            STATE["secret"] = body.decode()
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = Webhook(STATE["secret"]).verify(body, headers)
            verified, error = True, None
        except Exception as e:  # noqa: BLE001 - any failure is recorded
            payload, verified, error = None, False, repr(e)
        event_id = headers.get("webhook-id")
        with LOCK:
            attempt = STATE["attempts"].get(event_id, 0) + 1
            STATE["attempts"][event_id] = attempt
            fail = FAIL_EVERY and attempt % FAIL_EVERY == 1
            LOG.write(json.dumps({
                "webhook_id": headers.get("webhook-id"),
                "verified": verified,
                "error": error,
                "answered": 500 if fail else 200,
                "sequence": payload.get("sequence") if payload else None,
            }) + "\n")
        self.send_response(500 if fail else 200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
