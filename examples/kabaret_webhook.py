#!/usr/bin/env python3
"""A receiving side for kitsu-actions webhook deliveries, with Python's standard library only.

    KITSU_ACTIONS_WEBHOOK_SECRET=... python3 kabaret_webhook.py --port 8765

Each delivery is a POST of JSON with three headers:
  X-Kitsu-Actions-Delivery   the delivery id, the same on every retry of one delivery
  X-Kitsu-Actions-Timestamp  Unix seconds when this attempt was signed
  X-Kitsu-Actions-Signature  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>

It answers 401 to a bad signature or a stale timestamp, 200 to a delivery it already took (and does not
act twice), and 200 after acting on a new one. Where this prints, a Kabaret service would open the shots
in its asset manager.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["KITSU_ACTIONS_WEBHOOK_SECRET"].encode()
MAX_AGE_S = 300
seen = set()


def verified(timestamp: str, body: bytes, signature: str) -> bool:
    """The signature is the HMAC of the timestamp, a dot and the body, and the timestamp is recent."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_S:
        return False
    expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Deliveries(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        delivery = self.headers.get("X-Kitsu-Actions-Delivery", "")
        if not verified(
            self.headers.get("X-Kitsu-Actions-Timestamp", ""),
            body,
            self.headers.get("X-Kitsu-Actions-Signature", ""),
        ):
            self.answer(401, {"error": "bad signature"})
            print(json.dumps({"refused": delivery}), flush=True)
            return
        if delivery in seen:
            self.answer(200, {"received": delivery, "again": True})
            return
        seen.add(delivery)
        selection = json.loads(body)
        shots = [task["label"] for task in selection["tasks"]]
        print(json.dumps({"verified": delivery, "action": selection["action"]["id"], "shots": shots}), flush=True)
        self.answer(200, {"received": delivery})

    def answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    server = HTTPServer(("127.0.0.1", parser.parse_args().port), Deliveries)
    print(json.dumps({"listening": server.server_port}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
