"""Dynamic segment benchmark: a three-condition filter over 1,000,000 contacts.

    python bench/segments.py [--contacts 1000000] [--sample 10000] [--reseed] [--compare REV --pairs 3]

Seeds a dedicated PostgreSQL database (pc_bench_segments by default, BENCH_DATABASE_URL to change
it): a custom field ``plan`` (a third "gold"), 5 % email do-not-contact, 10 % unsubscribed from
"News". The segment is ``plan is gold AND email is contactable AND receives News``. Times the live
count, the first build, a rebuild with nothing changed, a rebuild after 1 % of contacts changed,
and one contact's re-evaluation; then the same filter as the obvious per-contact Python loop on a
sample, extrapolated to every contact, as the baseline, and the ratio.

``--compare REV`` then times the first build and one contact's refresh of the code at git revision
REV (``contacts/services/dynamic_segments.py`` and the history's indexes as they were) and of this
code alternately, on the same database, and prints the ratios: figures from separate runs on a
shared machine are not comparable. Each first build runs on a new segment inside a transaction
that is rolled back, with the deferred foreign-key checks forced inside the timing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_segments")
os.environ.update(DATABASE_URL=DATABASE_URL, CONN_MAX_AGE="0", LOG_LEVEL="WARNING",
                  DJANGO_SETTINGS_MODULE="preference_center.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

SEED = """
TRUNCATE contacts_contact, contacts_segment, contacts_category, contacts_contactfield RESTART IDENTITY CASCADE;
INSERT INTO contacts_contactfield (key, label, type, choices, help_text, public, position)
VALUES ('plan', 'Plan', 'choice', '["gold", "silver", "bronze"]', '', false, 0);
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at, fields)
SELECT 'First' || g, 'Last' || g, 'c' || g || '@bench.example', '', 'en', 'UTC', now(), now(),
       jsonb_build_object('plan', (ARRAY['gold', 'silver', 'bronze'])[1 + g %% 3])
FROM generate_series(1, %(n)s) g;
INSERT INTO contacts_category (name, slug, description, public, opt_in, created_at)
VALUES ('News', 'news', '', true, false, now());
INSERT INTO contacts_categorysubscription (contact_id, category_id, status, source, changed_at)
SELECT id, 1, 'unsubscribed', 'import', now() FROM contacts_contact WHERE id %% 10 = 7;
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'email'), 'unsubscribed', 'import', now()
FROM contacts_contact WHERE id %% 20 = 1;
ANALYZE;
"""
# 1 % of contacts change plan (gold ↔ silver), as an import by COPY would: only a rebuild notices.
CHANGE_ONE_PERCENT = """
UPDATE contacts_contact SET fields = jsonb_build_object('plan', CASE fields->>'plan' WHEN 'gold' THEN 'silver' ELSE 'gold' END)
WHERE id % 100 = 42 AND fields->>'plan' IN ('gold', 'silver')
"""


def seed(contacts: int, reseed: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        if reseed or cursor.fetchone()[0] != contacts:
            started = time.perf_counter()
            cursor.execute(SEED, {"n": contacts})
            print(f"seeded {contacts:,} contacts in {time.perf_counter() - started:.1f} s")


def the_filter(category_id: int) -> dict:
    return {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "field:plan", "op": "equals", "value": "gold"},
        {"field": "channel:email", "op": "contactable"},
        {"field": "category", "op": "receives", "value": category_id},
    ]}]}


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def baseline_per_contact(contact_ids: list[int], category_id: int) -> float:
    """The obvious loop: each contact read with its rows, the rules applied in Python; seconds per contact."""
    from contacts.models import Category, CategorySubscription, Channel, Contact, DoNotContact
    from contacts.rules import category_receives, channel_reachable

    email, news = Channel.objects.get(slug="email"), Category.objects.get(pk=category_id)
    started = time.perf_counter()
    matches = 0
    for contact_id in contact_ids:
        contact = Contact.objects.get(pk=contact_id)
        dnc = DoNotContact.objects.filter(contact=contact, channel=email).exists()
        status = CategorySubscription.objects.filter(contact=contact, category=news).values_list("status", flat=True).first()
        if (contact.fields.get("plan") == "gold" and channel_reachable(has_address=bool(contact.email), dnc=dnc)
                and category_receives(news, status)):
            matches += 1
    return (time.perf_counter() - started) / len(contact_ids)


# The history's indexes before the partial ones (contacts migration 0020), for --compare.
OLD_HISTORY_INDEXES = """
DROP INDEX prefchange_channel_idx;
DROP INDEX prefchange_category_idx;
CREATE INDEX bench_old_prefchange_channel ON contacts_preferencechange (channel_id);
CREATE INDEX bench_old_prefchange_category ON contacts_preferencechange (category_id);
"""


def code_at(revision: str) -> types.ModuleType:
    """``contacts.services.dynamic_segments`` as it was at ``revision``, loaded beside the current one."""
    path = "contacts/services/dynamic_segments.py"
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=BASE_DIR, check=True, capture_output=True,
                            text=True).stdout
    module = types.ModuleType(f"dynamic_segments_at_{revision}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
    return module


def first_build_timed(module, spec: dict, name: str, old_schema: bool) -> float:
    """One first build of a new segment with ``spec``, commit checks included, rolled back."""
    from django.db import connection, transaction

    from contacts.models import Segment

    with connection.cursor() as cursor:  # each run starts from the same tables
        cursor.execute("VACUUM ANALYZE contacts_segmentmembership")
        cursor.execute("VACUUM ANALYZE contacts_preferencechange")
    with transaction.atomic():
        if old_schema:
            with connection.cursor() as cursor:
                cursor.execute(OLD_HISTORY_INDEXES)
        segment = Segment.objects.create(name=name, slug=name, filter=spec)
        started = time.perf_counter()
        module.segment_rebuild(segment_id=segment.pk)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def compare(revision: str, spec: dict, pairs: int, contact_ids: list[int], category_id: int) -> None:
    from django.db import transaction

    from contacts.models import Contact, PreferenceChange
    from contacts.services import dynamic_segments as new

    old = code_at(revision)
    builds = {"old": [], "new": []}
    for pair in range(pairs):
        for label, module in (("old", old), ("new", new)):
            builds[label].append(first_build_timed(module, spec, f"compare-{label}-{pair}", label == "old"))
            print(f"first build, {label}: {builds[label][-1]:.2f} s", flush=True)
    change = PreferenceChange(kind=PreferenceChange.Kind.CATEGORY, category_id=category_id, subject="news")
    refreshes = {(label, name): [] for label in ("old", "new") for name in ("saved", "news")}
    with transaction.atomic():
        contacts = list(Contact.objects.filter(pk__in=contact_ids))
        for module in (old, new):  # the first call of each pays for compiling
            module.contact_segments_refresh(contact=contacts[0], change=change)
        for contact in contacts:
            for label, module in (("old", old), ("new", new)):
                for name, given in (("saved", None), ("news", change)):
                    started = time.perf_counter()
                    module.contact_segments_refresh(contact=contact, change=given)
                    refreshes[(label, name)].append(time.perf_counter() - started)
        transaction.set_rollback(True)
    old_build, new_build = statistics.median(builds["old"]), statistics.median(builds["new"])
    print(f"compared with {revision}, alternately in this run:")
    print(f"first build incl. commit checks, median of {pairs}: {old_build:.2f} s -> {new_build:.2f} s "
          f"({old_build / new_build:.2f}x)")
    for name, label in (("saved", "contact saved"), ("news", "News changed")):
        before, after = (statistics.median(refreshes[(v, name)]) * 1000 for v in ("old", "new"))
        print(f"one contact, {label}, median of {len(contacts)}: {before:.2f} ms -> {after:.2f} ms "
              f"({before / after:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--compare", metavar="REV", help="an earlier git revision to time alternately with this code")
    parser.add_argument("--pairs", type=int, default=3, help="first builds of each, with --compare")
    args = parser.parse_args()

    benchdb.django_ready(DATABASE_URL)
    from django.db import connection, transaction
    seed(args.contacts, args.reseed)

    from contacts.models import Category, Contact, PreferenceChange, Segment, SegmentMembership
    from contacts.segment_filter import filter_clean
    from contacts.selectors import filter_count
    from contacts.services.dynamic_segments import contact_segments_refresh, segment_rebuild

    category_id = Category.objects.get(slug="news").pk
    spec = filter_clean(the_filter(category_id))
    Segment.objects.filter(slug="gold-readers").delete()
    with connection.cursor() as cursor:  # the history of earlier runs' segments would only slow the inserts
        cursor.execute("ALTER TABLE contacts_preferencechange DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM contacts_preferencechange WHERE source = 'filter'")
        cursor.execute("ALTER TABLE contacts_preferencechange ENABLE TRIGGER USER")
        cursor.execute("VACUUM ANALYZE contacts_segmentmembership")
        cursor.execute("VACUUM ANALYZE contacts_preferencechange")  # the rows just deleted: each run starts alike
    segment = Segment.objects.create(name="Gold readers", slug="gold-readers", filter=spec)

    count, count_s = timed(lambda: filter_count(spec=spec, timeout_ms=10_000))
    first, first_s = timed(lambda: segment_rebuild(segment_id=segment.pk))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_segmentmembership")
    same, same_s = timed(lambda: segment_rebuild(segment_id=segment.pk))
    with connection.cursor() as cursor:
        cursor.execute(CHANGE_ONE_PERCENT)
        changed_rows = cursor.rowcount
    changed, changed_s = timed(lambda: segment_rebuild(segment_id=segment.pk))

    ids = list(Contact.objects.order_by("?").values_list("pk", flat=True)[: args.refreshes])
    # After a contact is saved (every segment), after a News change (the segment depends on it) and
    # after a change no filter depends on (a pause): the history row the service would pass.
    changes = {
        "saved": None,
        "news": PreferenceChange(kind=PreferenceChange.Kind.CATEGORY, category_id=category_id, subject="news"),
        "pause": PreferenceChange(kind=PreferenceChange.Kind.PAUSE, subject=""),
    }
    durations = {name: [] for name in changes}
    with transaction.atomic():
        for contact in Contact.objects.filter(pk__in=ids):
            for name, change in changes.items():
                started = time.perf_counter()
                contact_segments_refresh(contact=contact, change=change)
                durations[name].append(time.perf_counter() - started)
        transaction.set_rollback(True)

    sample = list(Contact.objects.order_by("?").values_list("pk", flat=True)[: args.sample])
    per_contact = baseline_per_contact(sample, category_id)
    baseline_s = per_contact * args.contacts
    members = SegmentMembership.objects.filter(segment=segment, removed=False).count()
    history = PreferenceChange.objects.filter(segment=segment).count()

    print(f"contacts: {args.contacts:,}; members: {members:,}; history rows: {history:,}")
    print(f"live count:                 {count_s:7.3f} s ({count.count:,} match)        target <= 1 s")
    print(f"first build:                {first_s:7.3f} s (+{first.added:,})              target <= 8 s")
    print(f"rebuild, nothing changed:   {same_s:7.3f} s (+{same.added:,} -{same.removed:,})   target <= 2 s")
    print(f"rebuild, 1 % changed:       {changed_s:7.3f} s ({changed_rows:,} contacts changed: +{changed.added:,} "
          f"-{changed.removed:,})   target <= 3 s")
    for name, label in (("saved", "contact saved"), ("news", "News changed"), ("pause", "a pause changed")):
        print(f"one contact, {label + ':':17}{statistics.median(durations[name]) * 1000:7.2f} ms median, "
              f"{max(durations[name]) * 1000:.2f} ms max over {len(durations[name])}   target <= 5 ms")
    print(f"baseline, per-contact loop: {per_contact * 1000:7.3f} ms/contact on {len(sample):,} "
          f"-> {baseline_s:,.0f} s for {args.contacts:,}")
    print(f"ratio, baseline / first build: {baseline_s / first_s:,.0f}x")
    if args.compare:
        compare(args.compare, spec, args.pairs, ids, category_id)


if __name__ == "__main__":
    main()
