"""REST API benchmark: PATCH preferences at concurrent clients, against a trivial DRF view in the same run.

    python bench/api.py [--clients 50] [--requests 3000] [--contacts 5000] [--workers 2] [--reseed]

Seeds a dedicated PostgreSQL database (pc_bench_api, BENCH_API_DATABASE_URL to change it) with
``--contacts`` contacts, 10 categories and 5 segments, issues an API key with every scope, starts
gunicorn on it (the production server, DEBUG off, the per-key throttle raised so that it counts
but never refuses) and drives it with ``--clients`` concurrent asyncio clients, a new connection
per request as gunicorn's sync workers expect. Two runs on the same server:

- a trivial DRF view behind the same key authentication, permission and throttle (the ceiling);
- ``PATCH /api/v1/contacts/<id>/preferences/`` that changes each contact's email cap (a write,
  its history row and the re-read of the §6 shape, every time).

Prints p50/p99 latency, requests/s, statuses, and the PATCH throughput as a share of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.httpload import load  # noqa: E402 (the repository is on the path now)

DATABASE_URL = os.environ.get("BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_api")
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    LOG_LEVEL="WARNING",
    DEBUG="false",
    STATIC_MANIFEST="false",
    API_THROTTLE_RATE="100000000/min",
    DJANGO_SETTINGS_MODULE="preference_center.settings",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench-api"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


# --- When gunicorn imports this module: the site plus one trivial DRF view, the ceiling. ---------

def wsgi_application():
    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    django.setup()
    settings.ROOT_URLCONF = __name__
    return get_wsgi_application()


def __getattr__(name):
    # gunicorn asks for ``bench.api:application``; build it only then.
    if name == "application":
        return wsgi_application()
    if name == "urlpatterns":
        from django.urls import include, path
        from rest_framework.response import Response
        from rest_framework.views import APIView

        class Ping(APIView):
            def get(self, request):
                return Response({"ok": True})

        return [path("bench/ping/", Ping.as_view()), path("", include("preference_center.urls"))]
    raise AttributeError(name)


# --- Seeding ------------------------------------------------------------------------------------

def seed(contacts: int, reseed: bool) -> tuple[list[int], str]:
    import django

    from bench.benchdb import ensure_database

    if reseed:
        import psycopg2

        server_url, name = DATABASE_URL.rsplit("/", 1)
        server = psycopg2.connect(server_url + "/postgres")
        server.autocommit = True
        server.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.close()
    ensure_database(DATABASE_URL)
    django.setup()
    from django.core.management import call_command

    from api.models import Scope
    from api.services import api_key_create
    from contacts.models import Category, ChannelPreference, Contact, Segment

    call_command("migrate", verbosity=0)
    for n in range(10):
        Category.objects.get_or_create(slug=f"bench-topic-{n}", defaults={"name": f"Topic {n}"})
    for n in range(5):
        Segment.objects.get_or_create(slug=f"bench-list-{n}", defaults={"name": f"List {n}"})
    have = Contact.objects.filter(email__startswith="bench-api-").count()
    Contact.objects.bulk_create(
        Contact(first_name=f"B{n}", email=f"bench-api-{n}@example.com", phone=f"+3362{n:07d}")
        for n in range(have, contacts)
    )
    ids = list(Contact.objects.filter(email__startswith="bench-api-").order_by("pk").values_list("pk", flat=True))
    ChannelPreference.objects.filter(contact_id__in=ids).delete()  # every PATCH of this run changes a cap

    secret = api_key_create(acting_user=None, name=f"bench-{secrets.token_hex(4)}", scopes=list(Scope.values)).secret
    return ids[:contacts], secret


# --- Load ---------------------------------------------------------------------------------------

def request(method: str, path: str, secret: str, body: dict | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Token {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000, help="per run")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    ids, secret = seed(max(args.contacts, args.requests), args.reseed)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.api:application", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--backlog", "2048", "--log-level", "warning"],
        cwd=BASE_DIR, env={**os.environ, "CONN_MAX_AGE": "600"}, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.2)
        ping = request("GET", "/bench/ping/", secret)
        asyncio.run(load(port, [ping] * 200, args.clients))  # warm the workers' connections
        patches = [
            request("PATCH", f"/api/v1/contacts/{contact_id}/preferences/", secret,
                    {"channels": {"email": {"frequency": {"number": 1 + n % 7, "unit": "week"}}}})
            for n, contact_id in enumerate(ids[: args.requests])
        ]
        runs = {"trivial DRF view (ceiling)": [ping] * args.requests, "PATCH preferences": patches}
        print(f"{args.clients} concurrent clients (asyncio, a new connection per request), {args.requests} requests "
              f"per run, gunicorn {args.workers} sync workers, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.2f} before, PostgreSQL {DATABASE_URL.rsplit('/', 1)[-1]}")
        ceiling = None
        for name, requests in runs.items():
            latencies, statuses, elapsed = asyncio.run(load(port, requests, args.clients))
            rate = len(latencies) / elapsed
            ceiling = ceiling or rate
            print(f"{name:28} p50 {percentile(latencies, 0.5) * 1000:6.1f} ms   p99 "
                  f"{percentile(latencies, 0.99) * 1000:6.1f} ms   {rate:7.0f} req/s   "
                  f"{rate / ceiling:5.0%} of the ceiling   statuses {statuses}")
        print(f"ratio PATCH preferences / trivial DRF view: {rate / ceiling:.2f}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
