"""Email delivery benchmark: 20,000 emails rendered per contact, with every header, to a local SMTP server.

    python bench/delivery.py [--emails 20000] [--connections 2]

Starts an SMTP sink (aiosmtpd) in its own process, then renders and delivers with the product's
email backend (pre-built bytes over one reused connection per sender process) and prints emails/s.
No database is touched: deliveries are built in memory as the worker builds them from a batch.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import socket
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
# Settings refuse the demo key outside debug; a key of this run's own serves every process it starts.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def sink(port: int, ready, counter) -> None:
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


def sender(port: int, start: int, count: int, chunk: int) -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@example.org"
    from contacts.models import Channel
    from messaging.backends.email import EmailBackend
    from messaging.models import Message, MessageVersion
    from messaging.rendering import Delivery, MessageRenderer

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
    parser.add_argument("--chunk", type=int, default=5000)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready, counter = multiprocessing.Event(), multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=sink, args=(port, ready, counter), daemon=True)
    server.start()
    ready.wait(10)
    share = args.emails // args.connections
    started = time.perf_counter()
    senders = [
        multiprocessing.Process(target=sender, args=(port, i * share, share, args.chunk)) for i in range(args.connections)
    ]
    for process in senders:
        process.start()
    for process in senders:
        process.join()
    elapsed = time.perf_counter() - started
    server.terminate()
    print(f"delivery: {counter.value:,} emails accepted by the SMTP server in {elapsed:.1f} s = "
          f"{counter.value / elapsed:,.0f} emails/s ({args.connections} connection(s), rendered per contact, "
          "List-Unsubscribe + One-Click + List-Id)")


if __name__ == "__main__":
    main()
