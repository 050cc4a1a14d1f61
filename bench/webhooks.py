"""Outbound webhook delivery benchmark: events from the outbox delivered, signed per Standard
Webhooks, to a local HTTP receiver, against a plain unsigned POST loop to the same receiver.

    python bench/webhooks.py [--events 100000] [--contacts 10000] [--verify]

Seeds a dedicated database (pc_bench_webhooks, BENCH_DATABASE_URL to change it) with one endpoint
and ``--events`` pending ``preferences.changed`` events spread over ``--contacts`` contacts,
starts the receiver in its own process (a ThreadingHTTPServer; ``--verify`` makes it check every
signature with the standardwebhooks library), then:

1. baseline: the same number of plain POSTs of the same bodies, unsigned, with the same number of
   threads (WEBHOOK_CONCURRENCY) and keep-alive sessions: the receiver's capacity from this client;
2. delivery: ``webhooks.delivery.endpoint_drain`` (what one worker runs): batches of the oldest
   pending event of each contact, signed, posted, and recorded in PostgreSQL.

Prints both rates, the ratio, and checks that every event was received and recorded delivered.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_webhooks")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"  # the receiver listens on 127.0.0.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def receiver(port: int, secret: str, verify: bool, ready, counter, rejected) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    webhook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = 204
            if verify and "webhook-signature" in self.headers:
                try:
                    webhook.verify(body, {key.lower(): value for key, value in self.headers.items()})
                except WebhookVerificationError:
                    status = 400
            with (counter if status == 204 else rejected).get_lock():
                (counter if status == 204 else rejected).value += 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


SEED = """
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at)
SELECT 'C' || g, '', 'c' || g || '@example.com', '', 'en', 'UTC', now(), now() FROM generate_series(1, %(contacts)s) g;
INSERT INTO webhooks_webhookevent (type, contact_id, payload, created_at)
SELECT 'preferences.changed', c.id,
       jsonb_build_object('type', 'preferences.changed', 'timestamp', now()::text, 'data', jsonb_build_object(
         'contact', jsonb_build_object('id', c.id, 'external_id', null), 'source', 'public_page', 'send_id', g,
         'changes', jsonb_build_array(
           jsonb_build_object('kind', 'dnc', 'subject', 'email', 'before', null, 'after', 'unsubscribed'),
           jsonb_build_object('kind', 'category', 'subject', 'news', 'before', null, 'after', 'unsubscribed')))),
       now()
FROM generate_series(1, %(events)s) g
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM contacts_contact) c ON c.n = g %% %(contacts)s;
INSERT INTO webhooks_webhookdelivery (event_id, endpoint_id, contact_id, status, attempts, next_attempt_at, give_up_at,
                                      response_code, last_error)
SELECT e.id, %(endpoint)s, e.contact_id, 'pending', 0, now(), now() + interval '1 day', null, ''
FROM webhooks_webhookevent e;
ANALYZE;
"""


def seed(events: int, contacts: int, url: str):
    from django.core.management import call_command
    from django.db import connection

    from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

    call_command("migrate", verbosity=0)
    WebhookDelivery.objects.all().delete()
    WebhookEvent.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE contacts_contact CASCADE")
    endpoint = WebhookEndpoint.objects.create(name="bench", url=url, events=["preferences.changed"])
    with connection.cursor() as cursor:
        cursor.execute(SEED, {"events": events, "contacts": contacts, "endpoint": endpoint.pk})
    return endpoint


def baseline(url: str, bodies: list[bytes], threads: int) -> float:
    import threading

    import requests

    local = threading.local()

    def post(body: bytes) -> int:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        return session.post(url, data=body, headers={"content-type": "application/json"}, timeout=10).status_code

    started = time.perf_counter()
    # Like the drainer: a batch of posts side by side, then the next batch.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(bodies), 500):
            list(pool.map(post, bodies[start:start + 500]))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--verify", action="store_true", help="the receiver verifies every signature")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = DATABASE_URL
    benchdb.ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings

    from webhooks.delivery import endpoint_drain
    from webhooks.models import WebhookDelivery, WebhookEvent

    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    endpoint = seed(args.events, args.contacts, url)
    ready, counter, rejected = multiprocessing.Event(), multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=receiver, args=(port, endpoint.secret, args.verify, ready, counter, rejected),
                                     daemon=True)
    server.start()
    ready.wait(10)

    bodies = [json.dumps(payload, separators=(",", ":")).encode()
              for payload in WebhookEvent.objects.order_by("id").values_list("payload", flat=True).iterator()]
    base_elapsed = baseline(url, bodies, settings.WEBHOOK_CONCURRENCY)
    base_received, counter.value = counter.value, 0

    started = time.perf_counter()
    while WebhookDelivery.objects.filter(status="pending").exists():
        endpoint_drain(endpoint_id=endpoint.pk)
    elapsed = time.perf_counter() - started
    delivered = WebhookDelivery.objects.filter(status="delivered").count()
    server.terminate()

    base_rate, rate = base_received / base_elapsed, delivered / elapsed
    print(f"baseline (plain unsigned POST loop, {settings.WEBHOOK_CONCURRENCY} threads, keep-alive): "
          f"{base_received:,} posts in {base_elapsed:.1f} s = {base_rate:,.0f} posts/s")
    print(f"webhook delivery (outbox → signed POST → recorded, per-contact order, {args.contacts:,} contacts): "
          f"{delivered:,} events in {elapsed:.1f} s = {rate:,.0f} events/s"
          f"{' (receiver verifying signatures)' if args.verify else ''}")
    print(f"ratio delivery / baseline: {rate / base_rate:.2f}; received {counter.value:,}, rejected {rejected.value:,}"
          f"{'' if delivered == counter.value == args.events else '  MISMATCH'}")


if __name__ == "__main__":
    main()
