"""A minimal receiver for the File Processor's completion webhooks (Standard Webhooks).

    pip install standardwebhooks
    FILES_WEBHOOK_SECRET=whsec_... python docs/examples/files_webhook_receiver.py 9000

Prints each verified delivery; answers 204 (success), 401 for a bad signature. A `webhook-id` seen
before is acknowledged again without being processed twice (deliveries are retried with the same id).
"""

# ruff: noqa: T201 - a command-line example prints what it receives
from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

VERIFIER = Webhook(os.environ["FILES_WEBHOOK_SECRET"])
SEEN: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = VERIFIER.verify(body, headers)
        except WebhookVerificationError as exc:
            self.send_response(401)
            self.end_headers()
            print(f"refused: {exc}", file=sys.stderr)
            return
        if headers["webhook-id"] not in SEEN:
            SEEN.add(headers["webhook-id"])
            job = event["data"]
            print(
                json.dumps(
                    {
                        "type": event["type"],
                        "job": job["id"],
                        "status": job["status"],
                        "download_url": job["download_url"],
                        "error": job["error"],
                    }
                )
            )
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Handler).serve_forever()
