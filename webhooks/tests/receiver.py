"""A real HTTP receiver on localhost, as an integrator would write it: it verifies every request
with the standardwebhooks library and drops a ``webhook-id`` it has already processed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, secret: str | None = None, port: int = 0, status: int = 204):
        self.secret, self.status = secret, status
        self.events: list[dict] = []  # accepted, in arrival order
        self.ids: list[str] = []
        self.rejected: list[str] = []  # why requests were refused
        self.requests = 0
        self._lock = threading.Lock()
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.requests += 1
            try:
                payload = Webhook(self.secret).verify(body, headers) if self.secret else json.loads(body)
            except WebhookVerificationError as error:
                self.rejected.append(str(error))
                return 400
            message_id = headers.get("webhook-id", "")
            if not 200 <= self.status < 300:
                return self.status  # down for maintenance: nothing processed
            if message_id in self.ids:
                self.rejected.append("replay")
                return 200  # already processed: acknowledged, not processed again
            self.ids.append(message_id)
            self.events.append(payload)
            return self.status

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(body, {key.lower(): value for key, value in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Go down: the port refuses connections until ``start()``."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
