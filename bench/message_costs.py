"""What-it-cost benchmark: a message's costs, a dispatch's, and the dashboard of every message.

    python bench/message_costs.py [--contacts 50000] [--messages 100] [--reseed]

Seeds a dedicated PostgreSQL database (pc_bench_message_costs by default, BENCH_DATABASE_URL to
change it): each message sent to a tenth of the contacts, 2 % of its sends unsubscribed through
their link, and five history rows per contact that name no send (staff and import edits). Times
one message's costs, one dispatch's and the dashboard with the send index, then the same reads
with the index dropped (in a rolled-back transaction) as the baseline, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_message_costs")
os.environ.update(DATABASE_URL=DATABASE_URL, CONN_MAX_AGE="0", LOG_LEVEL="WARNING",
                  DJANGO_SETTINGS_MODULE="preference_center.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

CONTACTS = """
TRUNCATE contacts_contact RESTART IDENTITY CASCADE;
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at, fields)
SELECT 'First' || g, 'Last' || g, 'c' || g || '@bench.example', '', 'en', 'UTC', now(), now(), '{}'
FROM generate_series(1, %(n)s) g;
INSERT INTO contacts_preferencechange (contact_id, kind, channel_id, subject, old_value, new_value, source, user_agent, created_at)
SELECT c.id, 'preferred_channel', %(email)s, '', 'null', '"email"', 'staff:bench', '', now() - g * interval '1 day'
FROM contacts_contact c, generate_series(1, 5) g;
"""
SENDS = """
INSERT INTO {sends} (message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional, decided_at,
                     evaluated_at, deferred_until, sent_at, attempts, last_error)
SELECT m.id, d.id, c.id, %(email)s, 'sent', 'preferred', false, now(), now(), NULL, now(), 1, ''
FROM {messages} m JOIN {dispatches} d ON d.message_id = m.id
JOIN contacts_contact c ON c.id %% 10 = m.id %% 10;
INSERT INTO contacts_preferencechange (contact_id, kind, channel_id, subject, old_value, new_value, source, send_id,
                                       user_agent, created_at)
SELECT contact_id, 'dnc', channel_id, '', 'null', '"unsubscribed"',
       CASE WHEN id %% 2 = 0 THEN 'public_page' ELSE 'one_click' END, id, '', now() - (id %% 30) * interval '1 day'
FROM {sends} WHERE id %% 50 = 7;
ANALYZE;
"""


def seed(contacts: int, messages: int, reseed: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Channel
    from messaging.models import Dispatch, Message, Send

    email = Channel.objects.get(slug="email").pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        if not reseed and cursor.fetchone()[0] == contacts and Message.objects.count() == messages:
            return
        started = time.perf_counter()
        cursor.execute(f"TRUNCATE {Send._meta.db_table}, {Dispatch._meta.db_table}, {Message._meta.db_table} CASCADE")
        cursor.execute("ALTER TABLE contacts_preferencechange DISABLE TRIGGER USER")
        cursor.execute(CONTACTS, {"n": contacts, "email": email})
        until = timezone.now() + timezone.timedelta(days=7)
        for index in range(messages):
            Dispatch.objects.create(message=Message.objects.create(name=f"Message {index}"), deliver_until=until)
        cursor.execute(SENDS.format(sends=Send._meta.db_table, messages=Message._meta.db_table,
                                    dispatches=Dispatch._meta.db_table), {"email": email})
        cursor.execute("ALTER TABLE contacts_preferencechange ENABLE TRIGGER USER")
        print(f"seeded {contacts:,} contacts, {messages} messages and their sends in {time.perf_counter() - started:.1f} s")


def median_of(function, runs: int) -> float:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    benchdb.django_ready(DATABASE_URL)
    from django.db import connection, transaction
    seed(args.contacts, args.messages, args.reseed)

    from contacts.models import PreferenceChange
    from messaging.models import Dispatch, Message, Send
    from messaging.selectors import (
        dispatch_leaving_costs, leaving_costs_grouped, message_leaving_costs, messages_leaving_costs,
    )

    message = Message.objects.order_by("pk")[args.messages // 2]
    dispatch = Dispatch.objects.get(message=message)

    def reads() -> dict[str, float]:
        return {
            "one message": median_of(lambda: message_leaving_costs(message=message), args.runs),
            "one dispatch": median_of(lambda: dispatch_leaving_costs(dispatch=dispatch), args.runs),
            "dashboard": median_of(lambda: messages_leaving_costs(sort="-rate"), args.runs),
        }

    # What the dashboard's split by channel costs: grouped by message and channel against by message only.
    every_send = Send.objects.all()
    split = median_of(lambda: leaving_costs_grouped(sends=every_send, by="message_channel"), args.runs)
    totals = median_of(lambda: leaving_costs_grouped(sends=every_send, by="message"), args.runs)
    indexed = reads()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX prefchange_send_idx")
        baseline = reads()
        transaction.set_rollback(True)

    print(f"contacts: {args.contacts:,}; messages: {args.messages}; sends: {Send.objects.count():,}; "
          f"history rows: {PreferenceChange.objects.count():,}")
    for name in indexed:
        print(f"{name:13s} with index {indexed[name] * 1000:9.1f} ms, without (baseline) "
              f"{baseline[name] * 1000:9.1f} ms, ratio {baseline[name] / indexed[name]:6.1f}x")
    print(f"grouped by message and channel {split * 1000:9.1f} ms, by message only (baseline) "
          f"{totals * 1000:9.1f} ms, ratio {split / totals:6.2f}x")


if __name__ == "__main__":
    main()
