"""CSV import benchmark: a generated file of 10 columns, 30 % of its rows matching existing contacts.

    python bench/import.py [--rows 1000000] [--peer-rows 100000]

Columns: email, first and last name, locale, three custom fields (text, number, date), the email
channel's contactable state, a category subscription and a segment membership. Runs on a dedicated
PostgreSQL database (pc_bench_import by default, BENCH_DATABASE_URL to change it), in this process
as ``manage.py import_contacts`` does: upload checks, dry run, then the import (validation, set-based
writes, history rows). Then times django-import-export, the library most Django projects would
reach for, on the first ``--peer-rows`` rows of the same file (contact columns only: it has no
notion of custom fields, channels or categories), rolled back, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import sys
import time
from pathlib import Path

import benchdb

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench_import")
os.environ.update(DATABASE_URL=DATABASE_URL, CONN_MAX_AGE="0", LOG_LEVEL="WARNING",
                  DJANGO_SETTINGS_MODULE="preference_center.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("IMPORT_MAX_BYTES", str(2 * 1024 ** 3))

HEADER = ["email", "first_name", "last_name", "locale", "company", "employees", "customer_since", "email_ok",
          "newsletter", "vip"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Hooli", "Soylent"]


def file_write(path: Path, rows: int) -> None:
    generator = random.Random(11)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for n in range(rows):
            out.write(
                f"user{n}@bench.example,First{n},Last{n},{generator.choice(('en', 'fr'))},"
                f"{generator.choice(COMPANIES)},{generator.randint(1, 5000)},"
                f"20{generator.randint(10, 25)}-{generator.randint(1, 12):02d}-{generator.randint(1, 28):02d},"
                f"{generator.choice(('yes', 'yes', 'yes', 'no', ''))},{generator.choice(('yes', 'no', ''))},"
                f"{generator.choice(('yes', '', '', ''))}\r\n"
            )


SEED = """
TRUNCATE contacts_contact, contacts_category, contacts_segment, contacts_contactfield,
         contacts_contactimport, contacts_importmapping RESTART IDENTITY CASCADE;
INSERT INTO contacts_contact (first_name, last_name, email, phone, locale, time_zone, fields, created_at, updated_at)
SELECT CASE WHEN g %% 2 = 0 THEN 'First' || g ELSE '' END, '', 'user' || g || '@bench.example', '', 'en', 'UTC',
       CASE WHEN g %% 4 = 0 THEN '{"company": "Old Co"}'::jsonb ELSE '{}'::jsonb END, now(), now()
FROM generate_series(0, %(rows)s - 1) g WHERE g %% 10 < 3;
INSERT INTO contacts_category (name, slug, description, public, opt_in, created_at)
VALUES ('Monthly newsletter', 'newsletter', '', true, false, now());
INSERT INTO contacts_segment (name, slug, description, public, public_name, created_at)
VALUES ('VIP customers', 'vip', '', false, '', now());
INSERT INTO contacts_contactfield (key, label, type, choices, help_text, public, position) VALUES
    ('company', 'Company', 'text', '[]', '', false, 1), ('employees', 'Employees', 'number', '[]', '', false, 2),
    ('customer_since', 'Customer since', 'date', '[]', '', false, 3);
-- some existing opt-outs the file must not lift
INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
SELECT id, (SELECT id FROM contacts_channel WHERE slug = 'email'), 'unsubscribed', 'public_page', now()
FROM contacts_contact WHERE id %% 20 = 0;
INSERT INTO contacts_categorysubscription (contact_id, category_id, status, source, changed_at)
SELECT id, 1, 'unsubscribed', 'public_page', now() FROM contacts_contact WHERE id %% 15 = 0;
ANALYZE;
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--peer-rows", type=int, default=100_000)
    options = parser.parse_args()
    benchdb.django_ready(DATABASE_URL)
    from django.db import connection, transaction
    from contacts.imports.runner import import_create, import_mapping_set, import_run, import_start
    from contacts.management.commands.import_contacts import FileUpload
    from contacts.models import Contact, ContactImport, PreferenceChange

    path = Path(os.environ["VAR_DIR"]) / f"bench-import-{options.rows}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        file_write(path, options.rows)
    with connection.cursor() as cursor:
        cursor.execute(SEED, {"rows": options.rows})
    existing = Contact.objects.count()
    print(f"file: {options.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, 10 columns; {existing:,} contacts exist "
          f"({existing / options.rows:.0%} of the rows match)")

    started = time.perf_counter()
    contact_import = import_create(upload=FileUpload(path), acting_user_name="bench")
    uploaded = time.perf_counter()
    mapping = ["contact:email", "contact:first_name", "contact:last_name", "contact:locale", "field:company",
               "field:employees", "field:customer_since", "channel:email", "category:newsletter", "segment:vip"]
    import_mapping_set(contact_import=contact_import, mapping=mapping, match_on="email", policy="empty_only",
                       enqueue=False)
    import_run(import_id=contact_import.pk)
    checked = time.perf_counter()
    import_start(contact_import=contact_import, enqueue=False)
    import_run(import_id=contact_import.pk)
    done = time.perf_counter()
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE, contact_import.status
    history = PreferenceChange.objects.filter(source=contact_import.source_label).count()
    import_seconds = done - checked
    ours = options.rows / import_seconds
    dry_run_seconds = checked - uploaded
    issue_seconds = uploaded - started + import_seconds
    print(f"upload checks (hash, encoding, width, row count): {uploaded - started:.1f} s")
    print(f"dry run (the preview, a separate step): {dry_run_seconds:.1f} s = "
          f"{options.rows / dry_run_seconds:,.0f} rows/s; counts {contact_import.check_counts}")
    print(f"import: {import_seconds:.1f} s = {ours:,.0f} rows/s (validation, set-based writes, {history:,} history rows "
          f"= {history / options.rows:.2f} per row); counts {contact_import.import_counts}")
    print(f"end to end as the issue counts it (upload checks + import): {issue_seconds:.1f} s = "
          f"{options.rows / issue_seconds:,.0f} rows/s")
    print(f"all steps (upload checks + dry run + import): {done - started:.1f} s = "
          f"{options.rows / (done - started):,.0f} rows/s; peak memory {peak_mb():.0f} MB")

    peer = peer_rows_per_second(path, options.peer_rows, transaction)
    print(f"django-import-export on {options.peer_rows:,} rows (contact columns only, rolled back): "
          f"{peer:,.0f} rows/s")
    print(f"ratio (this import / django-import-export): {ours / peer:.1f}x")


def peer_rows_per_second(path: Path, rows: int, transaction) -> float:
    import tablib
    from import_export import fields, resources

    from contacts.models import Contact

    class ContactResource(resources.ModelResource):
        email = fields.Field(attribute="email", column_name="email")

        class Meta:
            model = Contact
            fields = ("email", "first_name", "last_name", "locale")
            import_id_fields = ("email",)
            skip_unchanged = True

    with path.open(encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(rows + 1)]
    dataset = tablib.Dataset().load("".join(lines), format="csv")
    for column in ("company", "employees", "customer_since", "email_ok", "newsletter", "vip"):
        del dataset[column]

    class Rollback(Exception):
        pass

    started = time.perf_counter()
    try:
        with transaction.atomic():
            result = ContactResource().import_data(dataset, dry_run=False, raise_errors=True)
            assert not result.has_errors()
            raise Rollback
    except Rollback:
        pass
    return rows / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
