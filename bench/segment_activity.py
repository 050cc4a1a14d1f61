"""Message-activity segment benchmark: a filter on the send table over many contacts.

    python bench/segment_activity.py [--contacts 200000] [--sample 2000] [--reseed]

Seeds a dedicated PostgreSQL database (pc_bench_segment_activity by default, BENCH_DATABASE_URL to
change it): "Spring sale" sent to half the contacts over the last 60 days, "Summer sale" deferred
for a tenth. The segment is ``was sent a message in the last 30 days AND was not sent "Summer
sale" AND email is contactable``. Times the live count, the first build, a rebuild with nothing
changed and one contact's re-evaluation; then the same filter as the obvious per-contact Python
loop on a sample, extrapolated to every contact, as the baseline, and the ratio.
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
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_segment_activity")
os.environ.update(DATABASE_URL=DATABASE_URL, CONN_MAX_AGE="0", LOG_LEVEL="WARNING",
                  DJANGO_SETTINGS_MODULE="preference_center.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

CONTACTS = """
TRUNCATE contacts_contact, contacts_segment RESTART IDENTITY CASCADE;
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at, fields)
SELECT 'First' || g, 'Last' || g, 'c' || g || '@bench.example', '', 'en', 'UTC', now(), now(), '{}'
FROM generate_series(1, %(n)s) g;
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT id, %(email)s, 'unsubscribed', 'import', now() FROM contacts_contact WHERE id %% 20 = 1;
"""
SENDS = """
INSERT INTO {sends} (message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional, decided_at,
                     evaluated_at, deferred_until, sent_at, attempts, last_error)
SELECT %(sale)s, %(sale_dispatch)s, id, %(email)s, %(sent)s, 'preferred', false, at, at, NULL, at, 1, ''
FROM (SELECT id, now() - (id %% 60) * interval '1 day' AS at FROM contacts_contact WHERE id %% 2 = 0) c;
INSERT INTO {sends} (message_id, dispatch_id, contact_id, channel_id, outcome, reason, transactional, decided_at,
                     evaluated_at, deferred_until, first_deferred_at, sent_at, attempts, last_error)
SELECT %(summer)s, %(summer_dispatch)s, id, NULL, %(deferred)s, 'paused', false, now(), now(),
       now() + interval '1 day', now(), NULL, 0, ''
FROM contacts_contact WHERE id %% 10 = 3;
ANALYZE;
"""


def seed(contacts: int, reseed: bool) -> tuple[int, int]:
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Channel
    from messaging.models import Dispatch, Message, Send

    email = Channel.objects.get(slug="email").pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        if not reseed and cursor.fetchone()[0] == contacts and Message.objects.filter(name="Summer sale").exists():
            return Message.objects.get(name="Spring sale").pk, Message.objects.get(name="Summer sale").pk
        started = time.perf_counter()
        cursor.execute(f"TRUNCATE {Send._meta.db_table}, {Dispatch._meta.db_table}, {Message._meta.db_table} CASCADE")
        cursor.execute(CONTACTS, {"n": contacts, "email": email})
        until = timezone.now() + timezone.timedelta(days=7)
        sale, summer = Message.objects.create(name="Spring sale"), Message.objects.create(name="Summer sale")
        dispatches = [Dispatch.objects.create(message=m, deliver_until=until) for m in (sale, summer)]
        cursor.execute(SENDS.format(sends=Send._meta.db_table), {
            "sale": sale.pk, "summer": summer.pk, "sale_dispatch": dispatches[0].pk,
            "summer_dispatch": dispatches[1].pk, "email": email, "sent": Send.Outcome.SENT,
            "deferred": Send.Outcome.DEFERRED,
        })
        print(f"seeded {contacts:,} contacts and their sends in {time.perf_counter() - started:.1f} s")
    return sale.pk, summer.pk


def the_filter(summer_id: int) -> dict:
    return {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "activity", "op": "sent_in_last", "value": 30},
        {"field": "activity", "op": "not_sent_message", "value": summer_id},
        {"field": "channel:email", "op": "contactable"},
    ]}]}


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def baseline_per_contact(contact_ids: list[int], summer_id: int) -> float:
    """The obvious loop: each contact's sends and do-not-contact read, the rule applied in Python."""
    from django.utils import timezone

    from contacts.models import Channel, Contact, DoNotContact
    from contacts.rules import channel_reachable
    from messaging.models import CAP_COUNTED, Send

    email = Channel.objects.get(slug="email")
    since = timezone.now() - timezone.timedelta(days=30)
    started = time.perf_counter()
    for contact_id in contact_ids:
        contact = Contact.objects.get(pk=contact_id)
        sends = list(Send.objects.filter(contact=contact).values("message_id", "outcome", "sent_at"))
        sent = [s for s in sends if s["outcome"] in CAP_COUNTED]
        dnc = DoNotContact.objects.filter(contact=contact, channel=email).exists()
        _ = (any(s["sent_at"] >= since for s in sent) and not any(s["message_id"] == summer_id for s in sent)
             and channel_reachable(has_address=bool(contact.email), dnc=dnc))
    return (time.perf_counter() - started) / len(contact_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()

    benchdb.django_ready(DATABASE_URL)
    from django.db import connection, transaction
    _sale_id, summer_id = seed(args.contacts, args.reseed)

    from contacts.models import Contact, Segment, SegmentMembership
    from contacts.segment_filter import filter_clean
    from contacts.selectors import filter_count
    from contacts.services.dynamic_segments import contact_segments_refresh, segment_rebuild

    spec = filter_clean(the_filter(summer_id))
    Segment.objects.filter(slug="recent-not-summer").delete()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE contacts_preferencechange DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM contacts_preferencechange WHERE source = 'filter'")
        cursor.execute("ALTER TABLE contacts_preferencechange ENABLE TRIGGER USER")
    segment = Segment.objects.create(name="Recent, not Summer", slug="recent-not-summer", filter=spec)

    count, count_s = timed(lambda: filter_count(spec=spec, timeout_ms=60_000))
    first, first_s = timed(lambda: segment_rebuild(segment_id=segment.pk))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_segmentmembership")
    same, same_s = timed(lambda: segment_rebuild(segment_id=segment.pk))

    ids = list(Contact.objects.order_by("?").values_list("pk", flat=True)[: args.refreshes])
    durations = []
    with transaction.atomic():
        for contact in Contact.objects.filter(pk__in=ids):
            started = time.perf_counter()
            contact_segments_refresh(contact=contact)
            durations.append(time.perf_counter() - started)
        transaction.set_rollback(True)

    sample = list(Contact.objects.order_by("?").values_list("pk", flat=True)[: args.sample])
    per_contact = baseline_per_contact(sample, summer_id)
    baseline_s = per_contact * args.contacts
    members = SegmentMembership.objects.filter(segment=segment, removed=False).count()

    print(f"contacts: {args.contacts:,}; members: {members:,}")
    print(f"live count:                 {count_s:7.3f} s ({count.count:,} match)")
    print(f"first build:                {first_s:7.3f} s (+{first.added:,})")
    print(f"rebuild, nothing changed:   {same_s:7.3f} s (+{same.added:,} -{same.removed:,})")
    print(f"one contact re-evaluated:   {statistics.median(durations) * 1000:7.2f} ms median, "
          f"{max(durations) * 1000:.2f} ms max over {len(durations)}")
    print(f"baseline, per-contact loop: {per_contact * 1000:7.3f} ms/contact on {len(sample):,} "
          f"-> {baseline_s:,.0f} s for {args.contacts:,}")
    print(f"ratio, baseline / first build: {baseline_s / first_s:,.0f}x")


if __name__ == "__main__":
    main()
