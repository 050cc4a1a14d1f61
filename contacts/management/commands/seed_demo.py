"""Load realistic demo data: categories, segments, contacts with a spread of preferences, staff logins.

Idempotent: running it again adds only the contacts that are missing. ``--contacts 1000000``
streams rows with COPY on PostgreSQL (plain inserts elsewhere), one transaction per chunk.
"""

from __future__ import annotations

import datetime
import io
import json
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from contacts.demo import CATEGORIES, CATEGORIES_FR, SEGMENTS, SEGMENTS_FR, DemoContact, demo_contact
from contacts.models import (
    Category,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
    PreferenceSettings,
    Segment,
    SegmentMembership,
)

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    # username, superuser, group
    ("admin", True, None),
    ("editor", False, "Editors"),
    ("viewer", False, "Viewers"),
]
CHUNK = 20_000


class RowSink:
    """Collects rows per table and writes them in one go: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self) -> None:
        self.rows: dict[type, tuple[list[str], list[tuple]]] = {}

    def add(self, model, columns: list[str], row: tuple) -> None:
        self.rows.setdefault(model, (columns, []))[1].append(row)

    def flush(self) -> None:
        with connection.cursor() as cursor:
            for model, (columns, rows) in self.rows.items():
                if rows:
                    self._write(cursor, model._meta.db_table, columns, rows)
        self.rows.clear()

    @staticmethod
    def _write(cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            buffer = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Command(BaseCommand):
    help = "Load demo data (idempotent). --contacts N scales to millions of contacts."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=250, help="How many demo contacts (default 250).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed of the spread (default 42).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, contacts: int, seed: int, no_progress: bool, **options):
        if contacts < 0:
            raise CommandError("--contacts must be 0 or more.")
        started = time.monotonic()
        PreferenceSettings.load()
        channels = {channel.slug: channel.pk for channel in Channel.objects.all()}
        if not {"email", "sms"} <= channels.keys():
            raise CommandError("The email and sms channels are missing: run `manage.py migrate` first.")
        categories = self._categories()
        segments = self._segments()
        users = self._users()

        existing = Contact.objects.filter(email__startswith="demo-", email__endswith="@example.com").count()
        missing = max(contacts - existing, 0)
        today = timezone.localdate()
        next_id = (Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        with tqdm(total=missing, unit="contact", disable=no_progress or missing == 0, file=self.stderr) as bar:
            for start in range(existing + 1, contacts + 1, CHUNK):
                stop = min(start + CHUNK, contacts + 1)
                people = [demo_contact(index, seed=seed, today=today) for index in range(start, stop)]
                with transaction.atomic():
                    self._write_chunk(people, next_id, channels, categories, segments)
                next_id += len(people)
                bar.update(len(people))
        if missing and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('contacts_contact', 'id'), (SELECT max(id) FROM contacts_contact))"
                )
                cursor.execute("ANALYZE")

        total = Contact.objects.count()
        self.stdout.write(
            f"Demo data ready: {total} contacts ({missing} added in {time.monotonic() - started:.1f} s), "
            f"{len(categories)} categories, {len(segments)} segments."
        )
        for username in users:
            self.stdout.write(f"  staff login: {username} / {DEMO_PASSWORD}")

    def _categories(self) -> dict[str, Category]:
        rows = {}
        for slug, name, description, public, opt_in in CATEGORIES:
            name_fr, description_fr = CATEGORIES_FR[slug]
            rows[slug], _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description, "public": public, "opt_in": opt_in}
            )
            # A demo seeded before the French texts gets them; French that staff wrote stays.
            Category.objects.filter(slug=slug, name_fr="", description_fr="").update(
                name_fr=name_fr, description_fr=description_fr)
        return rows

    def _segments(self) -> dict[str, Segment]:
        rows = {}
        for slug, name, public_name, public, _share in SEGMENTS:
            name_fr, public_name_fr = SEGMENTS_FR[slug]
            rows[slug], _ = Segment.objects.get_or_create(
                slug=slug, defaults={"name": name, "public_name": public_name, "public": public}
            )
            Segment.objects.filter(slug=slug, name_fr="", public_name_fr="").update(
                name_fr=name_fr, public_name_fr=public_name_fr)
        return rows

    def _users(self) -> list[str]:
        User = get_user_model()
        names = []
        for username, superuser, group_name in DEMO_USERS:
            group = Group.objects.filter(name=group_name).first() if group_name else None
            if group_name and group is None:
                continue  # the staff groups come with the staff UI
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": superuser}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if group:
                user.groups.add(group)
            names.append(username)
        return names

    def _write_chunk(self, people: list[DemoContact], first_id: int, channels, categories, segments) -> None:
        sink = RowSink()
        contact_columns = ["id", "first_name", "last_name", "email", "phone", "locale", "time_zone",
                           "created_at", "updated_at"]
        history_columns = ["contact_id", "kind", "channel_id", "category_id", "segment_id", "subject",
                           "old_value", "new_value", "source", "user_agent", "created_at"]

        def history(contact_id, at, kind, subject, old, new, channel=None, category=None, segment=None):
            sink.add(PreferenceChange, history_columns, (
                contact_id, kind, channel, category, segment, subject,
                json.dumps(old) if old is not None else None, json.dumps(new) if new is not None else None,
                "import", "", at,
            ))

        for contact_id, person in enumerate(people, start=first_id):
            at = person.created_at
            sink.add(Contact, contact_columns, (
                contact_id, person.first_name, person.last_name, person.email, person.phone, person.locale,
                person.time_zone, at, at,
            ))
            for slug, reason in person.dnc.items():
                sink.add(DoNotContact, ["contact_id", "channel_id", "reason", "source", "created_at"],
                         (contact_id, channels[slug], reason, "import", at))
                history(contact_id, at, "dnc", slug, None, reason, channel=channels[slug])
            for slug in ("email", "sms"):
                cap, pause = person.caps.get(slug), person.pauses.get(slug)
                preferred = person.preferred == slug
                if not (cap or pause or preferred):
                    continue
                sink.add(ChannelPreference, ["contact_id", "channel_id", "cap_number", "cap_unit", "pause_from",
                                             "pause_to", "preferred", "updated_at"], (
                    contact_id, channels[slug], cap[0] if cap else None, cap[1] if cap else "",
                    pause[0] if pause else None, pause[1] if pause else None, preferred, at,
                ))
                if cap:
                    history(contact_id, at, "frequency", slug, None, {"number": cap[0], "unit": cap[1]},
                            channel=channels[slug])
                if pause:
                    history(contact_id, at, "pause", slug, None,
                            {"from": pause[0].isoformat(), "to": pause[1].isoformat()}, channel=channels[slug])
                if preferred:
                    history(contact_id, at, "preferred_channel", "", None, slug)
            for slug, status in person.categories.items():
                category = categories[slug].pk
                sink.add(CategorySubscription, ["contact_id", "category_id", "status", "source", "changed_at"],
                         (contact_id, category, status, "import", at))
                history(contact_id, at, "category", slug, None, status, category=category)
            for slug, removed in person.segments.items():
                segment = segments[slug].pk
                sink.add(SegmentMembership, ["contact_id", "segment_id", "removed", "source", "added_at",
                                             "changed_at"], (contact_id, segment, removed, "import", at, at))
                history(contact_id, at, "segment", slug, None, "member", segment=segment)
                if removed:
                    history(contact_id, at, "segment", slug, "member", "removed", segment=segment)
        sink.flush()
