"""CSV export benchmark: the contacts list exported through the export view, rows/s and memory.

    python bench/export.py [--contacts 1000000] [--baseline 50000] [--reseed]

Seeds a dedicated PostgreSQL database (pc_bench_export, BENCH_EXPORT_DATABASE_URL to change it)
with ``--contacts`` contacts holding three custom fields (text, number, boolean), 10 % of them
unsubscribed from email and 5 % without a phone. Then, in this process:

1. the export view (``contacts.views.export.contact_export``) with 10 columns — five built-in,
   both channels' states and the three fields — streamed to a sink that counts bytes, first for
   the first 10 % of contacts, then for all of them: rows/s and the growth of peak RSS in each
   (flat memory: the two growths are close although the second run reads ten times more rows);
2. the baseline, a naive export on ``--baseline`` contacts: model instances with their
   do-not-contact rows prefetched, one ``csv.writer`` row each (what a first version writes).

Prints both throughputs and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import secrets
import sys
import threading
import time
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_EXPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_export")
os.environ.update(DATABASE_URL=DATABASE_URL, LOG_LEVEL="WARNING", DEBUG="false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
# Settings refuse the demo key outside debug; a key of this run's own serves this process.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

COLUMNS = ["id", "first_name", "last_name", "email", "phone", "channel:email", "channel:sms", "company", "employees",
           "vip"]

SEED_CONTACTS = """
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, created_at, updated_at, fields)
SELECT 'First' || n, 'Last' || (n %% 5000),
       'bench' || n || '@example.com',
       CASE WHEN n %% 20 = 0 THEN '' ELSE '+3361' || lpad(n::text, 8, '0') END,
       'en', 'Europe/Paris', now(), now(),
       jsonb_build_object('company', CASE WHEN n %% 97 = 0 THEN '=HYPERLINK("x")' ELSE 'Company ' || (n %% 1000) END,
                          'employees', n %% 5000, 'vip', n %% 3 = 0)
FROM generate_series(%s, %s) AS n
"""
SEED_DNC = """
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT c.id, ch.id, 'unsubscribed', 'public_page', now()
FROM contacts_contact c JOIN contacts_channel ch ON ch.slug = 'email'
WHERE c.id % 10 = 0
ON CONFLICT DO NOTHING
"""


def setup(contacts: int, reseed: bool) -> None:
    benchdb.django_ready(DATABASE_URL)
    from django.db import connection
    from contacts.models import Contact, ContactField

    if reseed:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE contacts_contact, contacts_donotcontact, contacts_preferencechange CASCADE")
    for key, label, kind in (("company", "Company", "text"), ("employees", "Employees", "number"),
                             ("vip", "VIP", "boolean")):
        ContactField.objects.get_or_create(key=key, defaults={"label": label, "type": kind})
    have = Contact.objects.count()
    if have < contacts:
        started = time.perf_counter()
        step = 200_000
        for first in range(have + 1, contacts + 1, step):
            with connection.cursor() as cursor:
                cursor.execute(SEED_CONTACTS, [first, min(first + step - 1, contacts)])
        with connection.cursor() as cursor:
            cursor.execute(SEED_DNC)
            cursor.execute("VACUUM ANALYZE contacts_contact")
            cursor.execute("VACUUM ANALYZE contacts_donotcontact")
        print(f"seeded {contacts - have:,} contacts in {time.perf_counter() - started:.1f} s")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The highest RSS seen while the block runs, sampled every 10 ms."""

    def __enter__(self):
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def export_through_the_view(user, limit: int | None) -> tuple[int, int, float, float]:
    """Rows, bytes, seconds and peak RSS growth (MB) of one export through the view."""
    from django.test import RequestFactory

    from contacts.views import export as export_view
    from contacts.views import staff as staff_views

    request = RequestFactory().get("/contacts/export/", {"columns": COLUMNS})
    request.user = user
    request.htmx = False
    original = staff_views.contacts_filtered
    if limit is not None:
        from contacts.models import Contact

        last = Contact.objects.order_by("pk").values_list("pk", flat=True)[limit - 1]

        def limited(params):
            form, field_form, contacts = original(params)
            return form, field_form, contacts.filter(pk__lte=last)
        export_view.contacts_filtered = limited
    try:
        with PeakRss() as memory:
            started, cpu = time.perf_counter(), time.process_time()
            response = export_view.contact_export(request)
            size = lines = 0
            for chunk in response.streaming_content:
                size += len(chunk)
                lines += chunk.count(b"\n")
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        export_view.contacts_filtered = original
    return lines - 1, size, elapsed, cpu, memory.growth_mb


def naive_export(sample: int) -> tuple[int, float, float]:
    """The baseline: model instances, prefetched do-not-contact rows, a csv.writer row each."""
    from contacts.models import Contact

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with PeakRss() as memory:
        started, cpu = time.perf_counter(), time.process_time()
        writer.writerow(COLUMNS)
        rows = 0
        for contact in Contact.objects.prefetch_related("dnc_entries__channel").order_by("pk")[:sample]:
            dnc = {entry.channel.slug: entry.reason for entry in contact.dnc_entries.all()}
            writer.writerow([
                contact.pk, contact.first_name, contact.last_name, contact.email, contact.phone,
                dnc.get("email") or ("contactable" if contact.email else "no_address"),
                dnc.get("sms") or ("contactable" if contact.phone else "no_address"),
                contact.fields.get("company", ""), contact.fields.get("employees", ""), contact.fields.get("vip", ""),
            ])
            rows += 1
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return rows, elapsed, cpu, memory.growth_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=50_000)
    parser.add_argument("--reseed", action="store_true")
    options = parser.parse_args()
    setup(options.contacts, options.reseed)

    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-export", defaults={"is_superuser": True,
                                                                                          "is_staff": True})
    tenth = max(1, options.contacts // 10)
    small = export_through_the_view(user, tenth)
    full = export_through_the_view(user, None)
    baseline = naive_export(options.baseline)

    print(f"columns: {', '.join(COLUMNS)}")
    print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall time counts waiting for a CPU; CPU time is this process's own)")
    for label, (rows, size, seconds, cpu, growth) in (("export, first 10 %", small), ("export, all", full)):
        print(f"{label:>22}: {rows:>9,} rows, {size / 2**20:7.1f} MB of CSV in {seconds:6.2f} s wall = "
              f"{rows / seconds:>9,.0f} rows/s; {cpu:6.2f} s CPU = {rows / cpu:>9,.0f} rows/CPU-s; "
              f"peak RSS growth {growth:6.1f} MB")
    rows, seconds, cpu, growth = baseline
    print(f"{'baseline (naive ORM)':>22}: {rows:>9,} rows in {seconds:6.2f} s wall = {rows / seconds:>9,.0f} rows/s; "
          f"{cpu:6.2f} s CPU = {rows / cpu:>9,.0f} rows/CPU-s; peak RSS growth {growth:6.1f} MB")
    full_rate, full_cpu_rate = full[0] / full[2], full[0] / full[3]
    print(f"ratio export / baseline: {full_rate / (rows / seconds):.1f}x wall, {full_cpu_rate / (rows / cpu):.1f}x CPU; "
          f"target >= 100,000 rows/s: {'met' if full_rate >= 100_000 else 'not met'} in wall time, "
          f"{'met' if full_cpu_rate >= 100_000 else 'not met'} per CPU-second")

if __name__ == "__main__":
    main()
