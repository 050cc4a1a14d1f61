"""Dispatch benchmark: one message to a 1,000,000-contact segment through real Celery workers.

    python bench/dispatch.py [--contacts 1000000] [--batch-size 10000] [--workers 2] [--reseed]

Seeds a dedicated PostgreSQL database (pc_bench_dispatch by default, BENCH_DATABASE_URL to
change it) with a realistic mix: 5 % email DNC, 3 % SMS DNC, 20 % preferring SMS, 10 % at their
email cap, 3 % with email paused today, 2 % out of the message's category. Delivery goes to the
no-op backend so the figure is the decision engine end to end: planning, batch tasks through
Redis, the set-based decision, the hand-over. Then times the obvious per-contact loop
on a 10,000 sample as the baseline, and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_dispatch")
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    CELERY_TASK_DEFAULT_QUEUE=QUEUE,
    CONN_MAX_AGE="0",
    LOG_LEVEL="WARNING",
    DJANGO_SETTINGS_MODULE="preference_center.settings",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
# Settings refuse the demo key outside debug; a key of this run's own serves every process it starts.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def ensure_database() -> None:
    benchdb.ensure_database(DATABASE_URL)


SEED_CONTACTS = """
TRUNCATE contacts_contact, contacts_segment, contacts_category RESTART IDENTITY CASCADE;
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at)
SELECT 'First' || g, 'Last' || g, 'c' || g || '@bench.example', '+3361' || lpad(g::text, 8, '0'), 'en',
       (ARRAY['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'])[1 + g %% 4], now(), now()
FROM generate_series(1, %(n)s) g;
INSERT INTO contacts_segment (name, slug, description, public, public_name, created_at)
VALUES ('Everyone', 'everyone', '', false, '', now());
INSERT INTO contacts_category (name, slug, description, public, opt_in, created_at)
VALUES ('News', 'news', '', true, false, now());
INSERT INTO contacts_segmentmembership (contact_id, segment_id, removed, source, added_at, changed_at)
SELECT id, 1, false, 'import', now(), now() FROM contacts_contact;
-- 2 %% out of the category
INSERT INTO contacts_categorysubscription (contact_id, category_id, status, source, changed_at)
SELECT id, 1, 'unsubscribed', 'import', now() FROM contacts_contact WHERE id %% 50 = 7;
-- 5 %% email DNC, 3 %% SMS DNC
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'email'), 'unsubscribed', 'import', now()
FROM contacts_contact WHERE id %% 20 = 1;
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'sms'), 'bounced', 'import', now()
FROM contacts_contact WHERE id %% 100 IN (1, 4, 10);
-- 20 %% prefer SMS (where SMS is reachable)
INSERT INTO contacts_channelpreference (contact_id, channel_id, cap_number, cap_unit, pause_from, pause_to, preferred, updated_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'sms'), NULL, '', NULL, NULL, true, now()
FROM contacts_contact WHERE id %% 5 = 3;
-- 10 %% at their email cap (1 a week, one email sent two days ago), 3 %% email paused today
INSERT INTO contacts_channelpreference (contact_id, channel_id, cap_number, cap_unit, pause_from, pause_to, preferred, updated_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'email'),
       CASE WHEN id %% 10 = 4 THEN 1 END, CASE WHEN id %% 10 = 4 THEN 'week' ELSE '' END,
       CASE WHEN id %% 100 IN (10, 40, 70) THEN current_date - 2 END,
       CASE WHEN id %% 100 IN (10, 40, 70) THEN current_date + 5 END, false, now()
FROM contacts_contact WHERE id %% 10 = 4 OR id %% 100 IN (10, 40, 70);
ANALYZE;
"""

SEED_HISTORY = """
TRUNCATE messaging_message, messaging_dispatch, messaging_send, messaging_dispatchbatch,
         messaging_outboxmessage RESTART IDENTITY CASCADE;
INSERT INTO messaging_message (name, transactional, from_email, unsubscribe_text, resubscribe_text, created_at, updated_at)
VALUES ('Last week', false, '', '', '', now(), now());
INSERT INTO messaging_dispatch (message_id, status, deliver_until, batch_size, recipients, created_at, planned_at, finished_at)
VALUES (1, 'done', now(), 10000, 0, now(), now(), now());
INSERT INTO messaging_send (message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional,
    decided_at, evaluated_at, sent_at, delivered_at, attempts, last_error)
SELECT 1, 1, id, (SELECT id FROM contacts_channel WHERE slug = 'email'), 'sent', 'channel_order', false,
       now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 0, ''
FROM contacts_contact WHERE id %% 10 = 4;
UPDATE contacts_channel SET backend = 'messaging.delivery.backends.noop.NoopBackend', default_cap_number = 0, default_cap_unit = '';
ANALYZE;
"""


def seed(contacts: int, reseed: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        existing = cursor.fetchone()[0]
        if reseed or existing != contacts:
            started = time.perf_counter()
            cursor.execute(SEED_CONTACTS, {"n": contacts})
            print(f"seeded {contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        cursor.execute(SEED_HISTORY, {"unused": 0})


def bench_message():
    from contacts.models import Category, Channel, Segment
    from messaging.models import Message, MessageVersion

    message = Message.objects.create(name="Spring sale", category=Category.objects.get(slug="news"))
    message.segments.add(Segment.objects.get(slug="everyone"))
    for position, slug in enumerate(["email", "sms"]):
        MessageVersion.objects.create(
            message=message, channel=Channel.objects.get(slug=slug), position=position,
            subject="Hello {first_name}", text_body="Hi {first_name}, spring sale!",
        )
    return message


def start_workers(count: int) -> list[subprocess.Popen]:
    from preference_center.celery import app

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "preference_center", "worker", "-Q", QUEUE, "-n", f"bench{i}-{QUEUE}@%h",
             "-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
            cwd=BASE_DIR, start_new_session=True,
        )
        for i in range(count)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if sum(QUEUE in next(iter(reply)) for reply in replies) >= count:
            return workers
    raise SystemExit("workers did not start")


def per_contact_baseline(sample: int) -> float:
    """The obvious loop: for each recipient, read its preferences, decide, write its send."""
    from django.db import transaction
    from django.utils import timezone

    from contacts.models import SegmentMembership
    from messaging.engine.decision import decide, message_plan
    from messaging.engine.decision.inputs import contact_facts
    from messaging.models import Dispatch, Send

    message = bench_message()
    now = timezone.now()
    with transaction.atomic():
        dispatch = Dispatch.objects.create(message=message, deliver_until=message.deadline(now))
        plan = message_plan(message, deliver_until=dispatch.deliver_until)
        ids = list(SegmentMembership.objects.filter(removed=False).order_by("contact_id").values_list("contact_id", flat=True)[:sample])
        started = time.perf_counter()
        for contact_id in ids:
            decision = decide(contact_facts(plan, [contact_id], now)[contact_id], plan, now)
            Send.objects.create(
                message=message, dispatch=dispatch, contact_id=contact_id, channel_id=decision.channel_id,
                outcome=decision.outcome, reason=decision.reason, decided_at=now, evaluated_at=now,
                deferred_until=decision.deferred_until, sent_at=now if decision.outcome == "sending" else None,
                first_deferred_at=now if decision.outcome == "deferred" else None,
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(ids) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed(args.contacts, args.reseed)

    from messaging import services
    from messaging.models import Dispatch
    from messaging.selectors import dispatch_progress

    workers = start_workers(args.workers)
    try:
        message = bench_message()
        started = time.perf_counter()
        dispatch = services.dispatch_create(message=message, batch_size=args.batch_size)
        while Dispatch.objects.get(pk=dispatch.pk).status != Dispatch.Status.DONE:
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()

    progress = dispatch_progress(dispatch=Dispatch.objects.get(pk=dispatch.pk))
    rate = progress.decided / elapsed
    print(f"dispatch: {progress.decided:,} recipients in {elapsed:.1f} s = {rate:,.0f} recipients/s "
          f"({args.workers} workers, batches of {args.batch_size:,})")
    for outcome, count in progress.counts.items():
        if count:
            print(f"  {outcome:>20}: {count:>9,}  {100 * count / progress.decided:5.1f} %")
    baseline = per_contact_baseline(args.sample)
    print(f"per-contact loop on {args.sample:,} recipients: {baseline:,.0f} recipients/s")
    print(f"ratio: {rate / baseline:.0f}x")


if __name__ == "__main__":
    main()
