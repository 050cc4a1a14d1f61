"""Public page benchmark: the preference page GET and the one-click POST under concurrent clients.

    python bench/public_page.py [--clients 50] [--requests 3000] [--workers 2] [--threads 1]
                                [--load wrk|asyncio] [--reseed] [--plain-too]

Seeds a dedicated PostgreSQL database (pc_bench_public, BENCH_PUBLIC_DATABASE_URL to change it)
with 20 categories, 10 public segments and one delivered send per contact, starts gunicorn on
it (the production server, DEBUG off, rate limit raised so that it counts but never refuses),
and drives it with ``--clients`` concurrent clients, each opening a new connection per request
as gunicorn's sync workers expect. The load comes from ``wrk`` when it is installed (written in C,
it leaves the cores to the server), else from an asyncio client in this process. Three runs on the same server: a trivial view through the
whole middleware stack (the ceiling), the preference page GET, and the one-click POST (each on a
send of its own, so every request writes). Prints p50/p99 latency, requests/s, and each run's
throughput as a share of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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

DATABASE_URL = os.environ.get("BENCH_PUBLIC_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_public")
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    LOG_LEVEL="WARNING",
    DEBUG="false",
    STATIC_MANIFEST="false",
    PUBLIC_RATELIMIT="100000000/m",
    DJANGO_SETTINGS_MODULE="preference_center.settings",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench-public"))
# Settings refuse the demo key outside debug; a key of this run's own serves every process it starts.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


# --- When gunicorn imports this module: the site plus one trivial view, the ceiling. ----------

def ping(request):
    from django.http import HttpResponse

    return HttpResponse(b"ok", content_type="text/plain")


def wsgi_application():
    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    django.setup()
    settings.ROOT_URLCONF = __name__
    return get_wsgi_application()


def __getattr__(name):
    # gunicorn asks for ``bench.public_page:application``; build it only then.
    if name == "application":
        return wsgi_application()
    if name == "urlpatterns":
        from django.urls import include, path

        return [path("bench/ping/", ping), path("", include("preference_center.urls"))]
    raise AttributeError(name)


# --- Seeding ------------------------------------------------------------------------------------

def ensure_database(reseed: bool) -> None:
    import psycopg2
    from urllib.parse import urlsplit

    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    admin = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        if reseed:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def seed(contacts: int) -> tuple[list[str], list[str]]:
    """Returns (page tokens, one-click tokens): distinct sends, so that each one-click writes."""
    import datetime

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from contacts.models import Category, Channel, Contact, PreferenceSettings, Segment
    from messaging.models import Dispatch, Message, MessageVersion, Send
    from messaging.public.tokens import send_token

    call_command("migrate", verbosity=0)
    PreferenceSettings.objects.filter(pk=1).update(show_preferences=True, show_segments=True)
    message = Message.objects.filter(name="Bench public page").first()
    if message is None or Send.objects.filter(message=message).count() < contacts:
        Send.objects.filter(message__name="Bench public page").delete()
        Message.objects.filter(name="Bench public page").delete()
        Contact.objects.filter(email__startswith="bench-public-").delete()
        for n in range(20):
            Category.objects.get_or_create(slug=f"bench-topic-{n}", defaults={"name": f"Topic {n}", "description": "News."})
        for n in range(10):
            Segment.objects.get_or_create(slug=f"bench-list-{n}", defaults={"name": f"List {n}", "public": True})
        email = Channel.objects.get(slug="email")
        message = Message.objects.create(name="Bench public page")
        MessageVersion.objects.create(message=message, channel=email, subject="Hi", text_body="Hello")
        now = timezone.now()
        dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
        people = Contact.objects.bulk_create(
            Contact(first_name=f"B{n}", email=f"bench-public-{n}@example.com", phone=f"+3361{n:07d}") for n in range(contacts)
        )
        Send.objects.bulk_create(
            Send(message=message, dispatch=dispatch, contact=c, channel=email, outcome="sent",
                 decided_at=now, evaluated_at=now, sent_at=now)
            for c in people
        )
    # Fresh one-click targets every run: lift the previous run's unsubscribes.
    from contacts.models import DoNotContact

    DoNotContact.objects.filter(contact__email__startswith="bench-public-").delete()
    ids = list(Send.objects.filter(message=message).order_by("pk").values_list("pk", flat=True))
    half = len(ids) // 2
    return [send_token(i) for i in ids[:half]], [send_token(i) for i in ids[half:]]


# --- Load ---------------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths, method, body, n = {}, "GET", nil, 0
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
if os.getenv("BENCH_POST") == "1" then
  method, body = "POST", "List-Unsubscribe=One-Click"
end
local headers = {["Connection"] = "close", ["Content-Type"] = "application/x-www-form-urlencoded"}
request = function()
  n = n + 1
  return wrk.format(method, paths[(n - 1) % #paths + 1], headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def load_wrk(port: int, paths: list[str], post: bool, clients: int, seconds: float) -> tuple[float, float, float, int, int]:
    """Runs wrk for ``seconds``: (p50 s, p99 s, requests/s, requests, errors)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp, "bench.lua"), Path(tmp, "paths.txt")
        script.write_text(WRK_SCRIPT)
        listing.write_text("\n".join(paths) + "\n")
        result = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
            env={**os.environ, "BENCH_PATHS": str(listing), "BENCH_POST": "1" if post else "0"},
            capture_output=True, text=True, check=True,
        )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))
    requests, duration_us, p50_us, p99_us, errors = map(int, line.split()[1:])
    return p50_us / 1e6, p99_us / 1e6, requests / (duration_us / 1e6), requests, errors


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def one_click(path: str) -> bytes:
    body = b"List-Unsubscribe=One-Click"
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


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
    parser.add_argument("--requests", type=int, default=3000, help="per run (asyncio); wrk runs --seconds instead")
    parser.add_argument("--seconds", type=float, default=5, help="per run (wrk)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (one per core did best)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; above 1 uses the gthread worker")
    parser.add_argument("--load", choices=["wrk", "asyncio"], default="wrk" if shutil.which("wrk") else "asyncio")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--plain-too", action="store_true",
                        help="also run the page GET on a second server that renders every page plainly (no shared skeleton)")
    args = parser.parse_args()

    ensure_database(args.reseed)
    # Enough distinct sends that no one-click repeats one (a repeat writes nothing, so it is cheaper).
    page_tokens, click_tokens = seed(max(2 * args.requests, 40_000))
    worker = ["-w", str(args.workers)] + (["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else [])

    def start(env: dict) -> tuple[subprocess.Popen, int]:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.public_page:application", "-b", f"127.0.0.1:{port}",
             *worker, "--backlog", "2048", "--log-level", "warning"],
            cwd=BASE_DIR, env={**os.environ, "CONN_MAX_AGE": "600", **env}, start_new_session=True,
        )
        servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server, port
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.2)

    servers: list[subprocess.Popen] = []
    try:
        _server, port = start({})
        pages = [f"/messaging/p/{t}/" for t in page_tokens]
        runs = {
            "trivial view (ceiling)": (port, ["/bench/ping/"], False),
            "preference page GET": (port, pages, False),
            "one-click POST": (port, [f"/messaging/u/{t}/" for t in click_tokens], True),
        }
        warm = [get("/bench/ping/")] * 200 + [get(p) for p in pages[-200:]]
        asyncio.run(load(port, warm, args.clients))
        if args.plain_too:
            _plain, plain_port = start({"PUBLIC_PAGE_PLAIN": "1"})
            runs["page GET, no skeleton"] = (plain_port, pages, False)
            asyncio.run(load(plain_port, warm, args.clients))
        server_kind = f"{args.threads} threads" if args.threads > 1 else "sync"
        amount = f"{args.seconds:g} s per run" if args.load == "wrk" else f"{args.requests} requests per run"
        print(f"{args.clients} concurrent clients ({args.load}, a new connection per request), {amount}, "
              f"gunicorn {args.workers} workers {server_kind}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.2f} before, PostgreSQL {DATABASE_URL.rsplit('/', 1)[-1]}")
        ceiling = None
        for name, (port, paths, post) in runs.items():
            if args.load == "wrk":
                p50, p99, rate, count, errors = load_wrk(port, paths, post, args.clients, args.seconds)
                outcome = f"{count} requests, {errors} errors or non-2xx"
                if post and count > len(paths):
                    outcome += f" ({count - len(paths)} repeated a one-click)"
            else:
                if post:
                    requests = [one_click(p) for p in paths[: args.requests]]
                else:
                    requests = [get(p) for p in (paths * args.requests)[: args.requests]]
                latencies, statuses, elapsed = asyncio.run(load(port, requests, args.clients))
                p50, p99, rate = percentile(latencies, 0.50), percentile(latencies, 0.99), len(latencies) / elapsed
                outcome = f"statuses {statuses}"
            ceiling = ceiling or rate
            print(f"{name:24} p50 {p50 * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms"
                  f"   {rate:7.0f} req/s   {rate / ceiling:5.0%} of the ceiling   {outcome}")
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
