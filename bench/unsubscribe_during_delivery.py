"""One-click while a delivery to those very contacts is in flight to a slow provider.

    python bench/unsubscribe_during_delivery.py [--contacts 300] [--clicks 100] [--provider-delay 0.1]

A local SMTP server accepts one email every ``--provider-delay`` seconds (0.1: 10 emails/s), or
holds every email until the SMTP timeout (``--provider-delay 60``). The delivery service hands a
message to every contact over one connection, in its own process; gunicorn serves the product as
the README starts it. Meanwhile one-click POSTs go to contacts whose send is claimed for that
delivery. Prints the latency of the answers (p50, p99, max), whether each do-not-contact was
stored, and how many emails reached an unsubscribed contact after the answer (only the email in
flight at that instant may, and its send must be marked ``dnc_during_handover``).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_unsubscribe")

import delivery as delivery_bench  # noqa: E402 - the seeding and the sink live there

DATABASE_URL = delivery_bench.DATABASE_URL


def deliver(port: int, dispatch_id: int) -> None:
    import django

    django.setup()
    delivery_bench.configure("smtp", port)
    from django.db.models import Q

    from messaging.services import sends_deliver

    sends_deliver(sends=Q(dispatch_id=dispatch_id))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--clicks", type=int, default=100)
    parser.add_argument("--provider-delay", type=float, default=0.1)
    args = parser.parse_args()
    # The web server gets this process's environment: the same key signs and checks the link tokens.
    os.environ.update(DATABASE_URL=DATABASE_URL, PUBLIC_RATELIMIT="100000/m", CONN_MAX_AGE="0")
    delivery_bench.ensure_database()
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.db import connection

    from contacts.models import DoNotContact
    from messaging.models import Send
    from messaging.public.tokens import send_token

    received: list[tuple[str, float]] = []

    class SlowProvider:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(args.provider_delay)
            received.append((envelope.rcpt_tos[0], time.time()))
            return "250 OK"

    smtp_port, web_port = delivery_bench.free_port(), delivery_bench.free_port()
    controller = Controller(SlowProvider(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    dispatch_id = delivery_bench.seed(args.contacts, "smtp")
    connection.close()
    web = subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/gunicorn"), "preference_center.wsgi", "--workers", "4", "--bind", f"127.0.0.1:{web_port}"],
        cwd=BASE_DIR, env={**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "STATIC_MANIFEST": "false"},
        stdout=subprocess.DEVNULL, stderr=open(os.environ.get("VAR_DIR", "/tmp") + "/bench-gunicorn.log", "w"),
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", web_port, timeout=1).request("GET", "/")
                break
            except OSError:
                time.sleep(0.2)
        first = Send.objects.filter(dispatch_id=dispatch_id).order_by("pk").values_list("pk", flat=True).first()
        for _ in range(20):  # every gunicorn worker has served a page (GET changes nothing)
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=60)
            conn.request("GET", f"/messaging/u/{send_token(first)}/")
            conn.getresponse().read()
            conn.close()
        connection.close()  # the delivery process is forked: it opens its own
        sender = multiprocessing.Process(target=deliver, args=(smtp_port, dispatch_id))
        sender.start()

        latencies, answered_at, statuses = [], {}, []
        clicked: set[int] = set()
        while len(latencies) < args.clicks and sender.is_alive():
            # A contact whose send is claimed by the delivery right now: in flight (every other click), or next in line.
            send = (Send.objects.filter(dispatch_id=dispatch_id, outcome="sending", claimed_at__isnull=False)
                    .exclude(contact_id__in=clicked).order_by("pk").values_list("pk", "contact_id", "contact__email")
                    [len(latencies) % 2:][:1])
            send = send[0] if send else None
            if send is None:
                time.sleep(0.01)
                continue
            clicked.add(send[1])
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=60)
            started = time.time()
            conn.request("POST", f"/messaging/u/{send_token(send[0])}/", body=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            statuses.append(conn.getresponse().status)
            answered_at[send[2]] = time.time()
            latencies.append(answered_at[send[2]] - started)
            conn.close()
            time.sleep(0.05)

        sender.join()
    finally:
        web.terminate()
        controller.stop()

    latencies.sort()
    late = [(to, at) for to, at in received if to in answered_at and at > answered_at[to]]
    marked = Send.objects.filter(dispatch_id=dispatch_id, reason="dnc_during_handover",
                                 contact__email__in=[to for to, _ in late]).count()
    stored = DoNotContact.objects.filter(contact_id__in=clicked, reason="unsubscribed").count()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"one-click during delivery (provider: one email per {args.provider_delay} s): {len(latencies)} answers, "
          f"statuses {sorted(set(statuses))}, p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"do-not-contact stored: {stored} of {len(clicked)}; emails received after the answer: {len(late)} "
          f"(all in flight at that instant and marked dnc_during_handover: {marked == len(late)})")


if __name__ == "__main__":
    main()
