"""Email delivery benchmark: emails rendered per contact, with every header, handed to a local
provider by the delivery service itself, each hand-over recorded in PostgreSQL as it happens.

    python bench/delivery.py [--emails 20000] [--connections 2]                 # SMTP (aiosmtpd)
    python bench/delivery.py --provider postmark [--emails 50000]              # Postmark's batch API, imitated
    python bench/delivery.py --no-records                                      # rendering + SMTP only, no database

Seeds a dedicated database (pc_bench_delivery_emails, BENCH_DATABASE_URL to change it) with one
message decided ``sending`` for every contact, starts the provider in its own process (an
aiosmtpd sink, or an HTTP server answering Postmark's ``/email/batch`` per message), then runs
``sends_deliver`` in ``--connections`` processes, each on its share of the contacts: claim,
do-not-contact read before each hand-over, one record per accepted message (per batch call for
Postmark). Prints emails/s and checks that every send is ``sent`` and was received once.
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
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_delivery_emails")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
# Settings refuse the demo key outside debug; a key of this run's own serves every process it starts.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_sink(port: int, ready, counter) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def postmark_sink(port: int, ready, counter) -> None:
    """Postmark's batch endpoint: a JSON list in, one answer per message out, in order."""
    import http.server

    class Batch(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            messages = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with counter.get_lock():
                counter.value += len(messages)
            data = json.dumps([
                {"ErrorCode": 0, "Message": "OK", "MessageID": f"{n}", "To": m["To"]} for n, m in enumerate(messages)
            ]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Batch)
    ready.set()
    server.serve_forever()


def configure(provider: str, port: int) -> None:
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@example.org"
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_SERVER_TOKEN": "bench", "POSTMARK_API_URL": f"http://127.0.0.1:{port}/"}


SEED = """
TRUNCATE contacts_contact, messaging_message, messaging_dispatch, messaging_send, messaging_dispatchbatch
    RESTART IDENTITY CASCADE;
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at)
SELECT 'Zoé' || g, 'Martin', 'contact' || g || '@example.com', '', 'en', 'UTC', now(), now()
FROM generate_series(1, %(n)s) g;
UPDATE contacts_channel SET backend = %(backend)s WHERE slug = 'email';
"""
SENDS = """
INSERT INTO messaging_send (message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional,
    decided_at, evaluated_at, sent_at, attempts, last_error)
SELECT %(message)s, %(dispatch)s, c.id, %(channel)s, 'sending', 'channel_order', false, now(), now(), now(), 0, ''
FROM contacts_contact c;
ANALYZE;
"""


def seed(emails: int, provider: str) -> int:
    import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Channel
    from messaging.models import Dispatch, Message, MessageVersion

    call_command("migrate", verbosity=0)
    backend = "messaging.delivery.backends.postmark.PostmarkBatchEmailBackend" if provider == "postmark" else ""
    with connection.cursor() as cursor:
        cursor.execute(SEED, {"n": emails, "backend": backend})
    email = Channel.objects.get(slug="email")
    message = Message.objects.create(name="Spring sale")
    MessageVersion.objects.create(
        message=message, channel=email, position=0, subject="Hello {first_name}, spring is here",
        text_body="Hi {first_name},\n\nOur spring sale starts today.\n\nManage: {preferences_url}\n{unsubscribe_text}\n",
        html_body="<html><body><p>Hi {first_name},</p><p>Our <b>spring sale</b> starts today.</p>"
                  '<p><a href="{preferences_url}">Preferences</a></p></body></html>',
    )
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute(SENDS, {"message": message.pk, "dispatch": dispatch.pk, "channel": email.pk})
    return dispatch.pk


def sender(provider: str, port: int, dispatch_id: int, first: int, last: int) -> None:
    import django

    django.setup()
    configure(provider, port)
    from django.db.models import Q

    from messaging.services import sends_deliver

    report = sends_deliver(sends=Q(dispatch_id=dispatch_id, contact_id__gte=first, contact_id__lte=last))
    assert report.delivered == last - first + 1 and not report.retry, report


def sender_without_records(port: int, start: int, count: int, chunk: int) -> None:
    """The rendering and the SMTP exchange alone, as before hand-overs were recorded one by one."""
    import django

    django.setup()
    configure("smtp", port)
    from contacts.models import Channel
    from messaging.delivery.backends.email import EmailBackend
    from messaging.models import Message, MessageVersion
    from messaging.delivery.rendering import Delivery, MessageRenderer

    message = Message(pk=1, name="Spring sale")
    version = MessageVersion(
        message=message, subject="Hello {first_name}, spring is here",
        text_body="Hi {first_name},\n\nOur spring sale starts today.\n\nManage: {preferences_url}\n{unsubscribe_text}\n",
        html_body="<html><body><p>Hi {first_name},</p><p>Our <b>spring sale</b> starts today.</p>"
                  '<p><a href="{preferences_url}">Preferences</a></p></body></html>',
    )

    class Defaults:  # the global page settings, without a database
        show_preferences = show_frequency = show_pause = show_preferred_channel = show_categories = True
        show_segments = False
        unsubscribe_text = resubscribe_text = ""

    renderer = MessageRenderer(message, version, settings=Defaults())
    backend = EmailBackend(Channel(slug="email", address_field="email"))
    for offset in range(start, start + count, chunk):
        deliveries = [
            Delivery(send_id=n, contact_id=n, first_name=f"Zoé{n}", last_name="Martin",
                     address=f"contact{n}@example.com", locale="en")
            for n in range(offset, min(offset + chunk, start + count))
        ]
        errors = backend.deliver(renderer, deliveries)
        assert not errors, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--provider", choices=["smtp", "postmark"], default="smtp")
    parser.add_argument("--no-records", action="store_true", help="no database: rendering and SMTP only")
    args = parser.parse_args()
    port = free_port()
    ready, counter = multiprocessing.Event(), multiprocessing.Value("i", 0)
    sink = postmark_sink if args.provider == "postmark" else smtp_sink
    server = multiprocessing.Process(target=sink, args=(port, ready, counter), daemon=True)
    server.start()
    ready.wait(10)
    share = args.emails // args.connections

    if args.no_records:
        senders = [multiprocessing.Process(target=sender_without_records, args=(port, i * share, share, 5000))
                   for i in range(args.connections)]
    else:
        os.environ["DATABASE_URL"] = DATABASE_URL
        ensure_database()
        import django

        django.setup()
        from django.db import connection

        dispatch_id = seed(share * args.connections, args.provider)
        connection.close()  # the senders are forked: each opens its own
        senders = [
            multiprocessing.Process(target=sender, args=(args.provider, port, dispatch_id, i * share + 1, (i + 1) * share))
            for i in range(args.connections)
        ]
    started = time.perf_counter()
    for process in senders:
        process.start()
    for process in senders:
        process.join()
    elapsed = time.perf_counter() - started
    server.terminate()
    failed = [process.exitcode for process in senders if process.exitcode]
    recorded = ""
    if not args.no_records:
        from messaging.models import Send

        sent = Send.objects.filter(dispatch_id=dispatch_id, outcome="sent").count()
        recorded = f", {sent:,} recorded sent one by one" if args.provider == "smtp" else f", {sent:,} recorded sent per batch call"
    print(f"delivery ({args.provider}): {counter.value:,} emails accepted in {elapsed:.1f} s = "
          f"{counter.value / elapsed:,.0f} emails/s ({args.connections} connection(s), rendered per contact, "
          f"List-Unsubscribe + One-Click + List-Id{recorded}){' FAILED ' + str(failed) if failed else ''}")


def ensure_database() -> None:
    benchdb.ensure_database(DATABASE_URL)


if __name__ == "__main__":
    main()
