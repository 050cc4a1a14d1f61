"""The set-based write path of an import: one chunk of checked rows at a time, in one transaction.

Rows are checked in Python by their one validation home (``contacts.imports.rows``), copied into
temporary tables (COPY), matched and compared with SQL, then written with INSERT … SELECT and
UPDATE … FROM, history rows included. The dry run runs the same statements up to the plan and
writes nothing but its report. Each rule has its home in ``contacts.rules`` or the services
(``unsubscribe_reason``, ``category_block_sql``, ``import_keeps_opt_out_sql``); the agreement test
(``contacts/tests/test_import_agreement.py``) runs the same rows through the services.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext as _

from contacts.models import Contact, ContactImport
from contacts.rules import MEMBER, REMOVED, category_block_sql, import_keeps_opt_out_sql
from contacts.services.audit import Source
from contacts.services.channels import unsubscribe_reason

from .rows import CleanRow, Problem

BUILT_IN = ("first_name", "last_name", "email", "phone", "locale", "time_zone")
STAGE_COLUMNS = ("line", "key", *BUILT_IN, "fields")

SETUP = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    line integer PRIMARY KEY, key text NOT NULL,
    first_name text, last_name text, email text, phone text, locale text, time_zone text, fields jsonb,
    contact_id bigint, is_new boolean NOT NULL DEFAULT false, skipped boolean NOT NULL DEFAULT false,
    reject text, reject_column text,
    n_first_name text, n_last_name text, n_email text, n_phone text, n_locale text, n_time_zone text,
    o_fields jsonb, n_fields jsonb, details_changed boolean NOT NULL DEFAULT false
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_prefs (
    line integer NOT NULL, kind text NOT NULL, target_id bigint NOT NULL, wanted boolean NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_plan (
    line integer NOT NULL, contact_id bigint, kind text NOT NULL, target_id bigint NOT NULL,
    old text, new text, action text  -- insert, update, kept; NULL: nothing to do
) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS import_plan_line ON import_plan (line);
"""


@dataclass
class ChunkResult:
    counts: Counter = field(default_factory=Counter)
    problems: list[tuple[str, Problem]] = field(default_factory=list)  # (kind, problem)


def _csv_text(rows) -> str:
    # csv.writer (C) quotes only where needed and writes None unquoted and empty: NULL to COPY's csv
    # format. An empty string would read as NULL too, which is what it means here: no row stages one
    # (empty cells are left out by the row checks; an empty custom field map is None).
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _copy(cursor, table: str, columns: tuple[str, ...], text: str) -> None:
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", io.StringIO(text))


def _json(value: dict) -> str | None:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else None


@dataclass(frozen=True)
class CopyText:
    """A chunk of checked rows as the ``COPY`` input of the staging tables: Python's work, done before the
    chunk's transaction (the runner builds it in its reading thread)."""

    stage: str
    prefs: str


def chunk_copy_text(rows: list[CleanRow]) -> CopyText:
    return CopyText(
        stage=_csv_text(
            (row.line, row.key, *(row.contact.get(name) for name in BUILT_IN), _json(row.fields)) for row in rows
        ),
        prefs=_csv_text(
            (row.line, kind, target, "t" if wanted else "f")
            for row in rows for kind, target, wanted in row.preferences if wanted is not None
        ),
    )


def chunk_stage(cursor, rows: list[CleanRow], *, analyse: bool = True, copy_text: CopyText | None = None) -> None:
    cursor.execute(SETUP)
    # Emptied at commit; emptied here too for a chunk that runs inside a longer transaction.
    cursor.execute("TRUNCATE import_stage, import_prefs, import_plan")
    copy_text = copy_text or chunk_copy_text(rows)
    _copy(cursor, "import_stage", STAGE_COLUMNS, copy_text.stage)
    _copy(cursor, "import_prefs", ("line", "kind", "target_id", "wanted"), copy_text.prefs)
    # Temporary tables have no statistics until analysed: without them the joins below go row by row.
    # All columns: without statistics on reject, skipped and the others the planner guesses few rows
    # and picks nested loops over the whole chunk (measured: seconds per plan statement). Once per run:
    # the statistics stay with the session's tables, and the chunks of one file look alike.
    if analyse:
        cursor.execute("ANALYZE import_stage; ANALYZE import_prefs")


# The contact of one staged row (``s``), looked up in the index: LIMIT 1 keeps the subquery a per-row lookup, where
# a join would read the whole contacts table once per chunk (a hash join: 0.2 s at 400,000 contacts, growing with
# the table). NOT (email = ''): the predicate of the contact_email_unique_ci index, so the lookup uses it.
CONTACT_BY_KEY = "SELECT c.* FROM contacts_contact c WHERE NOT (c.email = '') AND lower(c.email) = s.key LIMIT 1"
CONTACT_BY_ID = "SELECT c.* FROM contacts_contact c WHERE c.id = s.contact_id LIMIT 1"


def _match(cursor, *, match_on: str, lock: bool) -> None:
    """Which contact each row is, and (``lock``) lock those contacts, as contact_lock does, so that each
    history row's old value is the true one. By email the rows are matched by ``_details``, in the pass that
    reads the locked contacts' values."""
    if match_on == "email":
        if lock:
            cursor.execute(f"""
                SELECT c.id FROM contacts_contact c
                WHERE c.id = ANY(ARRAY(SELECT m.id FROM import_stage s CROSS JOIN LATERAL ({CONTACT_BY_KEY}) m))
                ORDER BY c.id FOR UPDATE
            """)
        return
    cursor.execute("""
        UPDATE import_stage s SET contact_id = m.id,
            reject = CASE WHEN m.n > 1 THEN %s END, reject_column = CASE WHEN m.n > 1 THEN 'phone' END
        FROM (SELECT c.phone, min(c.id) AS id, count(*) AS n FROM contacts_contact c
              WHERE c.phone IN (SELECT key FROM import_stage) GROUP BY c.phone) m
        WHERE m.phone = s.key
    """, [_("Several contacts have this phone number; the row matches none of them.")])
    cursor.execute("""
        UPDATE import_stage s SET reject = %s, reject_column = 'email'
        FROM contacts_contact c
        WHERE s.reject IS NULL AND s.email IS NOT NULL AND NOT (c.email = '') AND lower(c.email) = lower(s.email)
          AND c.id IS DISTINCT FROM s.contact_id
    """, [_("This email address belongs to another contact.")])
    if lock:
        cursor.execute("""
            SELECT c.id FROM contacts_contact c
            WHERE c.id IN (SELECT contact_id FROM import_stage WHERE contact_id IS NOT NULL)
            ORDER BY c.id FOR UPDATE
        """)


def _details(cursor, *, policy: str, match_on: str) -> None:
    """The new values of existing contacts under the policy; an empty cell never clears a value.

    By email, this pass also matches the rows (``contact_id``); by phone, ``_match`` did. Under *skip* a
    matched row is marked skipped here.
    """
    def new(name: str) -> str:
        if policy == ContactImport.Policy.OVERWRITE:
            return f"COALESCE(s.{name}, c.{name})"
        return f"CASE WHEN c.{name} = '' THEN COALESCE(s.{name}, c.{name}) ELSE c.{name} END"

    fields_new = "c.fields || COALESCE(s.fields, '{}')" if policy == ContactImport.Policy.OVERWRITE \
        else "COALESCE(s.fields, '{}') || c.fields"
    assignments = ", ".join(f"n_{name} = {new(name)}" for name in BUILT_IN)
    compared = " OR ".join(f"{new(name)} IS DISTINCT FROM c.{name}" for name in BUILT_IN)
    skipped = "true" if policy == ContactImport.Policy.SKIP else "false"
    contact = CONTACT_BY_KEY if match_on == "email" else CONTACT_BY_ID
    cursor.execute(f"""
        UPDATE import_stage s SET contact_id = c.id, skipped = {skipped}, {assignments}, o_fields = c.fields,
            n_fields = {fields_new}, details_changed = ({compared})
        FROM (SELECT s.line, c.* FROM import_stage s CROSS JOIN LATERAL ({contact}) c WHERE s.reject IS NULL) c
        WHERE c.line = s.line
    """)


# Existing rows are looked up per staged row (LATERAL … LIMIT 1, in the unique indexes): a join would read the
# whole table once per chunk (see CONTACT_BY_KEY).
PLAN_CHANNEL = """
INSERT INTO import_plan (line, contact_id, kind, target_id, old, new, action)
SELECT s.line, s.contact_id, 'channel', p.target_id, d.reason, %(reason)s,
       CASE WHEN p.wanted AND {kept} THEN 'kept' WHEN NOT p.wanted AND d.id IS NULL THEN 'insert' END
FROM import_prefs p JOIN import_stage s ON s.line = p.line
LEFT JOIN LATERAL (SELECT d.id, d.reason FROM contacts_donotcontact d
                   WHERE d.contact_id = s.contact_id AND d.channel_id = p.target_id LIMIT 1) d ON true
WHERE p.kind = 'channel' AND s.reject IS NULL AND NOT s.skipped
"""
# A yes fills only where no choice was made; a no applies over a yes; nothing lifts an opt-out.
PLAN_CATEGORY = """
INSERT INTO import_plan (line, contact_id, kind, target_id, old, new, action)
SELECT s.line, s.contact_id, 'category', p.target_id, sub.status, t.status,
       CASE WHEN p.wanted AND {kept} THEN 'kept'
            WHEN (({block_old}) IS NULL) = (({block_new}) IS NULL) THEN NULL
            WHEN p.wanted AND sub.status IS NOT NULL THEN NULL
            WHEN sub.id IS NULL THEN 'insert' ELSE 'update' END
FROM import_prefs p JOIN import_stage s ON s.line = p.line
JOIN contacts_category cat ON cat.id = p.target_id
CROSS JOIN LATERAL (SELECT CASE WHEN p.wanted THEN 'subscribed' ELSE 'unsubscribed' END AS status) t
LEFT JOIN LATERAL (SELECT sub.id, sub.status FROM contacts_categorysubscription sub
                   WHERE sub.contact_id = s.contact_id AND sub.category_id = p.target_id LIMIT 1) sub ON true
WHERE p.kind = 'category' AND s.reject IS NULL AND NOT s.skipped
"""
PLAN_SEGMENT = """
INSERT INTO import_plan (line, contact_id, kind, target_id, old, new, action)
SELECT s.line, s.contact_id, 'segment', p.target_id, cur.value,
       CASE WHEN p.wanted THEN %(member)s ELSE %(removed)s END,
       CASE WHEN p.wanted AND {kept} THEN 'kept'
            WHEN p.wanted AND cur.value IS NULL THEN 'insert'
            WHEN NOT p.wanted AND cur.value = %(member)s THEN 'update' END
FROM import_prefs p JOIN import_stage s ON s.line = p.line
LEFT JOIN LATERAL (SELECT m.id, m.removed FROM contacts_segmentmembership m
                   WHERE m.contact_id = s.contact_id AND m.segment_id = p.target_id LIMIT 1) m ON true
CROSS JOIN LATERAL (SELECT CASE WHEN m.id IS NULL THEN NULL WHEN m.removed THEN %(removed)s
                                ELSE %(member)s END AS value) cur
WHERE p.kind = 'segment' AND s.reject IS NULL AND NOT s.skipped
"""


def _plan(cursor, *, source: Source) -> None:
    cursor.execute(
        PLAN_CHANNEL.format(kept=import_keeps_opt_out_sql(kind="channel", current="d.reason")),
        {"reason": unsubscribe_reason(source)},
    )
    cursor.execute(PLAN_CATEGORY.format(
        kept=import_keeps_opt_out_sql(kind="category", current="sub.status"),
        block_old=category_block_sql(status="sub.status", opt_in="cat.opt_in"),
        block_new=category_block_sql(status="t.status", opt_in="cat.opt_in"),
    ))
    cursor.execute(
        PLAN_SEGMENT.format(kept=import_keeps_opt_out_sql(kind="segment", current="cur.value")),
        {"member": MEMBER, "removed": REMOVED},
    )


HISTORY_INSERT = """
INSERT INTO contacts_preferencechange
    (contact_id, kind, channel_id, category_id, segment_id, subject, old_value, new_value, source, send_id,
     ip_address, user_agent, created_at)
"""


# The existing contacts a chunk changes, as ids for the primary key's index: joined instead, the planner reads the
# contacts table in id order up to the highest one (0.15 s at 700,000 contacts, growing with the table).
CHANGED_IDS = """
    SELECT contact_id FROM import_stage
    WHERE NOT is_new AND reject IS NULL AND NOT skipped AND (details_changed OR n_fields IS DISTINCT FROM o_fields)
"""


def _apply(cursor, *, source: Source) -> None:
    label = source.label
    contact_defaults = {"locale": Contact._meta.get_field("locale").default,
                        "time_zone": Contact._meta.get_field("time_zone").default}
    cursor.execute("""
        INSERT INTO contacts_contact (id, first_name, last_name, email, phone, locale, time_zone, fields,
                                      created_at, updated_at)
        SELECT contact_id, COALESCE(first_name, ''), COALESCE(last_name, ''), COALESCE(email, ''),
               COALESCE(phone, ''), COALESCE(locale, %(locale)s), COALESCE(time_zone, %(time_zone)s),
               COALESCE(fields, '{}'), now(), now()
        FROM import_stage WHERE is_new ORDER BY line
    """, contact_defaults)
    # One row per contact created, first of its rows, with its initial custom field values: not one per field.
    cursor.execute(HISTORY_INSERT + """
        SELECT contact_id, 'created', NULL, NULL, NULL, '', NULL, COALESCE(fields, '{}'), %s, NULL, NULL, '', now()
        FROM import_stage WHERE is_new ORDER BY line
    """, [label])
    assignments = ", ".join(f"{name} = s.n_{name}" for name in BUILT_IN)
    cursor.execute(f"""
        UPDATE contacts_contact c SET {assignments}, fields = s.n_fields, updated_at = now()
        FROM import_stage s
        WHERE c.id = s.contact_id AND c.id = ANY(ARRAY({CHANGED_IDS}))
          AND NOT s.is_new AND s.reject IS NULL AND NOT s.skipped
          AND (s.details_changed OR s.n_fields IS DISTINCT FROM s.o_fields)
    """)
    # Do-not-contact, then the preferred channel it ends (as channel_unsubscribe does), then the rest.
    cursor.execute("""
        INSERT INTO contacts_donotcontact (contact_id, channel_id, reason, source, created_at)
        SELECT contact_id, target_id, new, %s, now() FROM import_plan WHERE kind = 'channel' AND action = 'insert'
    """, [label])
    cursor.execute(HISTORY_INSERT + """
        SELECT p.contact_id, 'dnc', p.target_id, NULL, NULL, ch.slug, NULL, to_jsonb(p.new), %s, NULL, NULL, '', now()
        FROM import_plan p JOIN contacts_channel ch ON ch.id = p.target_id
        WHERE p.kind = 'channel' AND p.action = 'insert' ORDER BY p.line
    """, [label])
    cursor.execute("""
        WITH dropped AS (
            UPDATE contacts_channelpreference cp SET preferred = false, updated_at = now()
            FROM import_plan p
            WHERE p.kind = 'channel' AND p.action = 'insert' AND cp.contact_id = p.contact_id
              AND cp.channel_id = p.target_id AND cp.preferred
            RETURNING cp.contact_id, cp.channel_id
        )
    """ + HISTORY_INSERT + """
        SELECT d.contact_id, 'preferred_channel', NULL, NULL, NULL, '', to_jsonb(ch.slug::text), NULL, %s,
               NULL, NULL, '', now()
        FROM dropped d JOIN contacts_channel ch ON ch.id = d.channel_id
    """, [label])
    # A preference row that says nothing any more goes, as _preference_store does.
    cursor.execute("""
        DELETE FROM contacts_channelpreference cp USING import_plan p
        WHERE p.kind = 'channel' AND p.action = 'insert' AND cp.contact_id = p.contact_id
          AND cp.channel_id = p.target_id AND NOT cp.preferred AND cp.cap_number IS NULL AND cp.pause_from IS NULL
    """)
    cursor.execute("""
        INSERT INTO contacts_categorysubscription (contact_id, category_id, status, source, changed_at)
        SELECT contact_id, target_id, new, %s, now() FROM import_plan WHERE kind = 'category' AND action = 'insert'
    """, [label])
    cursor.execute("""
        UPDATE contacts_categorysubscription sub SET status = p.new, source = %s, changed_at = now()
        FROM import_plan p
        WHERE p.kind = 'category' AND p.action = 'update' AND sub.contact_id = p.contact_id
          AND sub.category_id = p.target_id
    """, [label])
    cursor.execute("""
        INSERT INTO contacts_segmentmembership (contact_id, segment_id, removed, source, added_at, changed_at)
        SELECT contact_id, target_id, false, %s, now(), now() FROM import_plan WHERE kind = 'segment' AND action = 'insert'
    """, [label])
    cursor.execute("""
        UPDATE contacts_segmentmembership m SET removed = true, source = %s, changed_at = now()
        FROM import_plan p
        WHERE p.kind = 'segment' AND p.action = 'update' AND m.contact_id = p.contact_id AND m.segment_id = p.target_id
    """, [label])
    cursor.execute(HISTORY_INSERT + """
        SELECT p.contact_id, p.kind, NULL,
               CASE WHEN p.kind = 'category' THEN p.target_id END, CASE WHEN p.kind = 'segment' THEN p.target_id END,
               COALESCE(cat.slug, seg.slug), to_jsonb(p.old), to_jsonb(p.new), %s, NULL, NULL, '', now()
        FROM import_plan p
        LEFT JOIN contacts_category cat ON p.kind = 'category' AND cat.id = p.target_id
        LEFT JOIN contacts_segment seg ON p.kind = 'segment' AND seg.id = p.target_id
        WHERE p.kind IN ('category', 'segment') AND p.action IN ('insert', 'update') ORDER BY p.line
    """, [label])
    _fields_history(cursor, label=label)


def _fields_history(cursor, *, label: str) -> None:
    """One history row per custom field value of an existing contact that changed, as ``contact_fields_update``
    writes them (a contact the import created has its values in its ``created`` row)."""
    cursor.execute(HISTORY_INSERT + """
        SELECT s.contact_id, 'field', NULL, NULL, NULL, k.key, s.o_fields -> k.key, s.n_fields -> k.key, %s,
               NULL, NULL, '', now()
        FROM import_stage s CROSS JOIN LATERAL jsonb_object_keys(s.n_fields) AS k(key)
        WHERE NOT s.is_new AND s.reject IS NULL AND NOT s.skipped AND s.fields ? k.key
          AND (s.o_fields -> k.key) IS DISTINCT FROM (s.n_fields -> k.key)
        ORDER BY s.line, k.key
    """, [label])


def chunk_run(
    *, rows: list[CleanRow], contact_import: ContactImport, apply: bool, columns: dict, analyse: bool = True,
    copy_text: CopyText | None = None,
) -> ChunkResult:
    """Match, compare and (``apply``) write one chunk of checked rows, in the caller's transaction.

    ``analyse``: gather the staging tables' statistics (the first chunk of a run); later chunks plan with them.
    ``copy_text``: the rows' ``COPY`` input when already built (``chunk_copy_text``).

    ``columns`` names the file's column of each target, for the report: {("channel", id): "Email ok"}.
    """
    result = ChunkResult()
    source = Source.contact_import(contact_import)
    with connection.cursor() as cursor:
        chunk_stage(cursor, rows, analyse=analyse, copy_text=copy_text)
        _match(cursor, match_on=contact_import.match_on, lock=apply)
        _details(cursor, policy=contact_import.policy, match_on=contact_import.match_on)
        if apply:
            cursor.execute("""
                UPDATE import_stage SET contact_id = nextval(pg_get_serial_sequence('contacts_contact', 'id')),
                    is_new = true WHERE contact_id IS NULL AND reject IS NULL
            """)
        else:
            cursor.execute("UPDATE import_stage SET is_new = true WHERE contact_id IS NULL AND reject IS NULL")
        _plan(cursor, source=source)
        if analyse:
            cursor.execute("ANALYZE import_plan")
        cursor.execute("""
            SELECT s.line, s.reject, s.reject_column, COALESCE(s.email, s.phone, '') FROM import_stage s
            WHERE s.reject IS NOT NULL ORDER BY s.line
        """)
        for line, reason, column_name, value in cursor.fetchall():
            column = columns.get(("contact", column_name), column_name)
            result.problems.append(("rejected", Problem(line, column, value, reason)))
        cursor.execute("""
            SELECT p.line, p.kind, p.target_id, COALESCE(ch.name, cat.name, seg.name), p.old FROM import_plan p
            LEFT JOIN contacts_channel ch ON p.kind = 'channel' AND ch.id = p.target_id
            LEFT JOIN contacts_category cat ON p.kind = 'category' AND cat.id = p.target_id
            LEFT JOIN contacts_segment seg ON p.kind = 'segment' AND seg.id = p.target_id
            WHERE p.action = 'kept' ORDER BY p.line
        """)
        for line, kind, target, name, old in cursor.fetchall():
            result.problems.append(("kept", Problem(line, columns.get((kind, target), ""), "yes", _kept_reason(kind, name, old))))
        cursor.execute("""
            SELECT
              count(*) FILTER (WHERE s.reject IS NOT NULL),
              count(*) FILTER (WHERE s.reject IS NULL AND s.is_new),
              count(*) FILTER (WHERE s.reject IS NULL AND NOT s.is_new AND NOT s.skipped AND (
                  s.details_changed OR s.n_fields IS DISTINCT FROM s.o_fields OR changes.line IS NOT NULL)),
              (SELECT count(*) FROM import_plan WHERE action = 'kept')
            FROM import_stage s
            LEFT JOIN (SELECT DISTINCT line FROM import_plan WHERE action IN ('insert', 'update')) changes
                   ON changes.line = s.line
        """)
        rejected, new, updated, kept = cursor.fetchone()
        result.counts.update({"rejected": rejected, "new": new, "updated": updated,
                              "unchanged": len(rows) - rejected - new - updated, "kept": kept})
        if apply:
            _apply(cursor, source=source)
    return result


def _kept_reason(kind: str, name: str, old: str | None) -> str:
    if kind == "channel":
        return _("Do-not-contact on %(name)s (%(reason)s) kept: an import never resubscribes anyone.") % {
            "name": name, "reason": old}
    if kind == "category":
        return _("Unsubscribed from %(name)s: kept, an import never resubscribes anyone.") % {"name": name}
    return _("Left the segment %(name)s: kept, an import never adds anyone back.") % {"name": name}
