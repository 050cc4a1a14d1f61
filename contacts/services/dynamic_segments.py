"""Dynamic segments: members by filter, materialised in ``SegmentMembership`` (docs/segments.md).

Two writers keep them current: ``segment_rebuild`` (a whole segment, set-based, one transaction)
and ``contact_segments_refresh`` (one contact, every dynamic segment, in the caller's transaction:
the services call it where they record a change). Both touch ``filter`` rows only: ``manual``
members stay when the filter stops matching, ``removed`` ones are never added back.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from dataclasses import dataclass, field

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from contacts.models import Category, Channel, Contact, ContactField, PreferenceChange, Segment, SegmentMembership
from contacts.rules import MEMBER
from contacts.segment_filter import (
    BUILT_IN, CHANNEL_PREFIX, CUSTOM_PREFIX, FilterCatalog, filter_clean, filter_q, segments_in_dependency_order,
)

logger = logging.getLogger(__name__)

# Membership changes made by a filter are recorded with this source (``audit.SOURCE_KINDS``).
FILTER_SOURCE = "filter"
SEGMENT_REBUILD, SEGMENTS_REBUILD = "contacts.segment_rebuild", "contacts.segments_rebuild"
# pg_advisory_xact_lock(namespace, segment id): one rebuild of a segment at a time.
REBUILD_LOCK_NAMESPACE = 1_200_012
MEMBERSHIP_UNIQUE = "segmember_unique_contact_segment"

_TABLES = {
    "memberships": SegmentMembership._meta.db_table,
    "changes": PreferenceChange._meta.db_table,
    "segments": Segment._meta.db_table,
}

# Three statements in the rebuild's transaction. The difference first: one full join of the
# filter's matches with the segment's rows, keeping only the contacts to add (matching, no row)
# and the ``filter`` rows to delete (not matching, not removed), into a temporary table that is
# analysed (usually small: nothing changed is zero rows). Then the new rows inserted and the gone
# ``filter`` rows deleted from it; each of the two writes a history row per row it changed.
# Manual and removed rows are neither inserted nor deleted.
_DIFF_SQL = """
CREATE TEMPORARY TABLE segment_diff ON COMMIT DROP AS
SELECT coalesce(m.id, sm.contact_id) AS contact_id, m.id IS NOT NULL AS matches
FROM ({matching}) m
FULL JOIN (SELECT contact_id, origin, removed FROM {memberships} WHERE segment_id = %s) sm ON sm.contact_id = m.id
WHERE sm.contact_id IS NULL OR (m.id IS NULL AND sm.origin = %s AND NOT sm.removed)
"""
_ADDED_SQL = """
WITH added AS (
    INSERT INTO {memberships} (contact_id, segment_id, removed, origin, source, added_at, changed_at)
    SELECT d.contact_id, %s, false, %s, %s, now(), now() FROM segment_diff d WHERE d.matches
    {on_conflict}
    RETURNING contact_id
), history AS (
    INSERT INTO {changes} (contact_id, kind, segment_id, subject, old_value, new_value, source, user_agent, created_at)
    SELECT contact_id, %s, %s, %s, NULL, %s::jsonb, %s, '', now() FROM added
    RETURNING 1
)
SELECT count(*) FROM history
"""
_GONE_SQL = """
WITH gone AS (
    DELETE FROM {memberships} sm USING segment_diff d
    WHERE sm.segment_id = %s AND sm.contact_id = d.contact_id AND NOT d.matches
        AND sm.origin = %s AND NOT sm.removed
    RETURNING sm.contact_id
), history AS (
    INSERT INTO {changes} (contact_id, kind, segment_id, subject, old_value, new_value, source, user_agent, created_at)
    SELECT contact_id, %s, %s, %s, %s::jsonb, NULL, %s, '', now() FROM gone
    RETURNING 1
)
SELECT count(*) FROM history
"""


@dataclass(frozen=True)
class RebuildResult:
    added: int
    removed: int
    seconds: float


def filter_compiled(spec: dict | None, catalog: FilterCatalog, *, checked: bool = False,
                    now: datetime.datetime | None = None) -> Q | None:
    """The filter's ``Q``, or None when it no longer holds (a category or segment it names is gone).

    ``checked``: the stored filter was validated when saved; only what it names is looked up
    (the per-contact path skips validating again).
    """
    if spec is None:
        return None
    try:
        return filter_q(spec if checked else filter_clean(spec, catalog=catalog), catalog=catalog, now=now)
    except (ValidationError, KeyError):
        return None


def matching_sql(q: Q) -> tuple[str, tuple]:
    """The ids of the contacts matching ``q``: one parameterised SELECT written by the ORM."""
    return Contact.objects.filter(q).order_by().values("id").query.sql_with_params()


def segment_rebuild(*, segment_id: int) -> RebuildResult | None:
    """Bring a dynamic segment's ``filter`` members in line with its filter, in one transaction.

    Set-based and idempotent (a second run changes nothing); two rebuilds of the same segment
    take turns on an advisory lock, so the later one sees the earlier one's rows. Records when
    it ran, how long it took and how many members it added and removed. None: not dynamic.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REBUILD_LOCK_NAMESPACE, segment_id])
        segment = Segment.objects.filter(pk=segment_id).first()
        catalog = FilterCatalog.load()
        q = filter_compiled(segment.filter if segment else None, catalog)
        if q is None:
            return None
        started = time.perf_counter()
        if connection.vendor == "postgresql":
            added, removed = _rebuild_in_sql(segment, q)
        else:
            added, removed = _rebuild_in_python(segment, q)
        result = RebuildResult(added=added, removed=removed, seconds=time.perf_counter() - started)
        Segment.objects.filter(pk=segment.pk).update(
            rebuilt_at=timezone.now(), rebuild_seconds=result.seconds, rebuild_added=added, rebuild_removed=removed,
        )
    return result


def _rebuild_in_sql(segment: Segment, q: Q) -> tuple[int, int]:
    matching, matching_params = matching_sql(q)
    member = json.dumps(MEMBER)
    kind, origin = PreferenceChange.Kind.SEGMENT, SegmentMembership.Origin.FILTER
    with connection.cursor() as cursor:
        # The caller's settings come back afterwards: a dispatch rebuilds inside its own
        # transaction, and its own statements want nested loops.
        cursor.execute("SELECT current_setting('jit'), current_setting('work_mem'), current_setting('enable_nestloop')")
        caller_settings = cursor.fetchone()
        cursor.execute("SET LOCAL jit = off")  # compiling the plans costs more than running them here
        cursor.execute("SET LOCAL work_mem = '64MB'")  # the segment's rows hashed in memory, not in batches
        # Sets against sets: hash joins only. The segment's statistics are stale within the
        # transaction (a first build's rows are not counted yet), and a nested loop over those
        # estimates turns a million-contact build into minutes; a hash join stays linear.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("DROP TABLE IF EXISTS pg_temp.segment_diff")  # a rebuild before in this transaction
        cursor.execute(_DIFF_SQL.format(matching=matching, **_TABLES), (*matching_params, segment.pk, origin))
        cursor.execute("ANALYZE segment_diff")
        added = _rows_added(cursor, (segment.pk, origin, FILTER_SOURCE, kind, segment.pk, segment.slug, member,
                                     FILTER_SOURCE))
        cursor.execute(_GONE_SQL.format(**_TABLES), (
            segment.pk, origin, kind, segment.pk, segment.slug, member, FILTER_SOURCE,
        ))
        removed = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('jit', %s, true), set_config('work_mem', %s, true), "
                       "set_config('enable_nestloop', %s, true)", caller_settings)
    return added, removed


def _rows_added(cursor, params: tuple) -> int:
    """Insert the rows to add with their history; how many.

    A plain insert first (in a savepoint): a speculative ``ON CONFLICT`` insertion costs a fifth
    more buffer touches a row. Only a refresh that added one of these rows since the difference was
    taken makes it fail on the unique (contact, segment); then ``ON CONFLICT DO NOTHING`` leaves
    that row as it is and adds the others.
    """
    try:
        with transaction.atomic():
            cursor.execute(_ADDED_SQL.format(on_conflict="", **_TABLES), params)
            return cursor.fetchone()[0]
    except IntegrityError as error:
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", None) != MEMBERSHIP_UNIQUE:
            raise
    cursor.execute(_ADDED_SQL.format(on_conflict="ON CONFLICT (contact_id, segment_id) DO NOTHING", **_TABLES), params)
    return cursor.fetchone()[0]


def _rebuild_in_python(segment: Segment, q: Q) -> tuple[int, int]:
    """The embedded SQLite demo: the same sets, computed with a few ORM queries."""
    matching = set(Contact.objects.filter(q).values_list("id", flat=True))
    rows = dict(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", "origin"))
    gone = {cid for cid, origin in rows.items() if origin == SegmentMembership.Origin.FILTER} - matching
    gone = set(SegmentMembership.objects.filter(segment=segment, contact_id__in=gone, removed=False)
               .values_list("contact_id", flat=True))
    new = matching - rows.keys()
    _memberships_apply(segment_ids_added={cid: [segment.pk] for cid in new},
                       segment_ids_gone={cid: [segment.pk] for cid in gone}, slugs={segment.pk: segment.slug})
    return len(new), len(gone)


def _memberships_apply(*, segment_ids_added: dict[int, list[int]], segment_ids_gone: dict[int, list[int]],
                       slugs: dict[int, str]) -> None:
    """Insert and delete ``filter`` rows, with one history row each (bulk: a constant number of queries)."""
    origin, kind = SegmentMembership.Origin.FILTER, PreferenceChange.Kind.SEGMENT
    added = [(cid, sid) for cid, sids in segment_ids_added.items() for sid in sids]
    gone = [(cid, sid) for cid, sids in segment_ids_gone.items() for sid in sids]
    if added:
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(contact_id=cid, segment_id=sid, origin=origin, source=FILTER_SOURCE) for cid, sid in added],
            ignore_conflicts=True,
        )
    if gone:
        condition = Q()
        for cid, sid in gone:
            condition |= Q(contact_id=cid, segment_id=sid)
        SegmentMembership.objects.filter(condition, origin=origin, removed=False).delete()
    history = [PreferenceChange(contact_id=cid, kind=kind, segment_id=sid, subject=slugs[sid], old_value=None,
                                new_value=MEMBER, source=FILTER_SOURCE) for cid, sid in added]
    history += [PreferenceChange(contact_id=cid, kind=kind, segment_id=sid, subject=slugs[sid], old_value=MEMBER,
                                 new_value=None, source=FILTER_SOURCE) for cid, sid in gone]
    if history:
        PreferenceChange.objects.bulk_create(history)


def contact_segments_refresh(*, contact: Contact, change: PreferenceChange | None = None) -> None:
    """Re-evaluate one contact's dynamic memberships now, in the caller's transaction.

    The services call this where they record a change (fields, channel state, categories, other
    segments), so a dispatch that plans right after sees the contact where the filters put them.
    Segments whose filters name other dynamic segments are evaluated after them.

    ``change``: the history row just written. Only the segments whose filters can depend on it
    (and those naming them) are evaluated; when none can, this costs one query (the filters and
    their version). Without it (a contact saved), every one. On PostgreSQL one statement per
    dependency level evaluates them all and checks that the compiled filters are still current
    (``_compiled_current``), and one statement writes what changed with its history.
    """
    if contact.pk is None:
        return
    if connection.vendor != "postgresql":
        _refresh_with_orm(contact, change)
        return
    for _attempt in range(3):
        compiled = _compiled
        if compiled is None or not (affected := segments_affected(compiled.filters, change)):
            compiled = _compiled_current()
            affected = segments_affected(compiled.filters, change)
            if not affected:
                return
        if _refresh_in_sql(contact.pk, compiled, affected):
            return
        _compiled_forget(compiled)  # a filter or what it names changed since it was compiled: again, from the new rows
    _refresh_with_orm(contact, change)  # the filters keep changing under this refresh: without the compiled statements


# --- The per-contact refresh on PostgreSQL: compiled once per version of what filters name ------

# What the compiled per-contact statements depend on: the dynamic segments' filters, the categories
# (opt-in or not), the channels (their address field) and the custom fields (their type). Their
# version is the identity of those rows' current versions (every write makes a row version with a
# new (xmin, ctid), even when it puts the old values back), read in the statement that uses the
# compiled filters: a filter saved a moment ago is seen at the next change, never a stale copy.
_VERSION_SQL = """md5(concat_ws('/',
    (SELECT string_agg(id::text || ':' || xmin::text || ctid::text, ',' ORDER BY id) FROM {segments} WHERE filter IS NOT NULL),
    (SELECT string_agg(id::text || ':' || xmin::text || ctid::text, ',' ORDER BY id) FROM {categories}),
    (SELECT string_agg(id::text || ':' || xmin::text || ctid::text, ',' ORDER BY id) FROM {channels}),
    (SELECT string_agg(id::text || ':' || xmin::text || ctid::text, ',' ORDER BY id) FROM {fields})))""".format(
    segments=Segment._meta.db_table, categories=Category._meta.db_table, channels=Channel._meta.db_table,
    fields=ContactField._meta.db_table,
)
_FILTERS_SQL = """
SELECT {version}, (SELECT coalesce(json_object_agg(id, filter), '{{}}') FROM {segments} WHERE filter IS NOT NULL)
"""
# One contact's answers for one dependency level, with the version they were compiled against and
# the contact's current rows in the segments re-evaluated (no answers: the contact is gone).
_EVALUATE_SQL = """
SELECT {version},
    (SELECT coalesce(json_agg(json_build_array(segment_id, origin, removed)), '[]') FROM {memberships}
     WHERE contact_id = %s AND segment_id = ANY(%s)),
    answers.*
FROM (SELECT 1) one LEFT JOIN ({answers}) answers ON true
"""
# The ``filter`` rows to add and those to delete, with one history row each, in one statement.
_APPLY_SQL = """
WITH added AS (
    INSERT INTO {memberships} (contact_id, segment_id, removed, origin, source, added_at, changed_at)
    SELECT %(contact)s, segment_id, false, %(origin)s, %(source)s, %(now)s, %(now)s
    FROM unnest(%(added)s::bigint[]) segment_id
    ON CONFLICT (contact_id, segment_id) DO NOTHING
    RETURNING segment_id
), gone AS (
    DELETE FROM {memberships}
    WHERE contact_id = %(contact)s AND segment_id = ANY(%(gone)s::bigint[]) AND origin = %(origin)s AND NOT removed
    RETURNING segment_id
), changed AS (
    SELECT segment_id, NULL::jsonb AS old_value, %(member)s::jsonb AS new_value FROM added
    UNION ALL SELECT segment_id, %(member)s::jsonb, NULL FROM gone
)
INSERT INTO {changes} (contact_id, kind, segment_id, subject, old_value, new_value, source, user_agent, created_at)
SELECT %(contact)s, %(kind)s, changed.segment_id, segment.slug, changed.old_value, changed.new_value, %(source)s, '',
       %(now)s
FROM changed JOIN {segments} segment ON segment.id = changed.segment_id
RETURNING segment_id, new_value IS NOT NULL
"""
# The contact id in a compiled statement: the last parameter (its only WHERE), replaced per call.
_ANY_CONTACT = -7_301_000_000_000_000


@dataclass
class CompiledFilters:
    """The dynamic filters as of one version, and the per-level statements compiled from them."""

    version: str
    filters: dict[int, dict]
    catalog: FilterCatalog | None = None
    # (segment ids of a level) → (SQL, parameters, answer columns); only for filters that do not
    # read the clock (relative dates are measured from now, so those are compiled at each call).
    statements: dict[tuple[int, ...], tuple[str, tuple, tuple[int, ...]]] = field(default_factory=dict)
    clock_free: dict[int, bool] = field(default_factory=dict)


_compiled: CompiledFilters | None = None


def _compiled_current() -> CompiledFilters:
    """The filters as they are now, with what was compiled for them if nothing changed since (one query)."""
    global _compiled
    with connection.cursor() as cursor:
        cursor.execute(_FILTERS_SQL.format(version=_VERSION_SQL, segments=Segment._meta.db_table))
        version, filters = cursor.fetchone()
    if _compiled is not None and _compiled.version == version:
        return _compiled
    filters = json.loads(filters) if isinstance(filters, str) else filters
    _compiled = CompiledFilters(version=version, filters={int(pk): spec for pk, spec in filters.items()})
    return _compiled


def _compiled_forget(compiled: CompiledFilters) -> None:
    global _compiled
    if _compiled is compiled:
        _compiled = None


def _level_statement(compiled: CompiledFilters, level: list[int]) -> tuple[str, tuple, tuple[int, ...]]:
    """The statement answering, for one contact, whether it matches each segment of ``level``."""
    key = tuple(level)
    if key in compiled.statements:
        return compiled.statements[key]
    if compiled.catalog is None:
        compiled.catalog = FilterCatalog.load()
    now = timezone.now()
    answers = {}
    for pk in level:
        q = filter_compiled(compiled.filters[pk], compiled.catalog, checked=True, now=now)
        if q is None:
            continue
        if pk not in compiled.clock_free:
            later = filter_compiled(compiled.filters[pk], compiled.catalog, checked=True,
                                    now=now + datetime.timedelta(days=1))
            compiled.clock_free[pk] = matching_sql(q) == matching_sql(later)
        answers[pk] = q
    query = (
        Contact.objects.filter(pk=_ANY_CONTACT)
        .annotate(**{f"s{pk}": ExpressionWrapper(q, output_field=BooleanField()) for pk, q in answers.items()})
        .values("pk", *(f"s{pk}" for pk in answers))
    )
    sql, params = query.query.sql_with_params() if answers else ("SELECT 1 WHERE false", ())
    if answers and params[-1] != _ANY_CONTACT:
        raise AssertionError("the compiled per-contact statement does not end with the contact id")
    statement = (sql, tuple(params[:-1]), tuple(answers))
    if all(compiled.clock_free[pk] for pk in answers):
        compiled.statements[key] = statement
    return statement


def _refresh_in_sql(contact_id: int, compiled: CompiledFilters, affected: set[int]) -> bool:
    """Evaluate and apply; False when the filters changed since ``compiled`` (nothing was written)."""
    dynamic = {pk: spec for pk, spec in compiled.filters.items() if pk in affected}
    rows: dict[int, tuple[str, bool]] | None = None
    for level in segments_in_dependency_order(dynamic):
        sql, params, answered = _level_statement(compiled, level)
        if not answered:  # every filter of the level names something gone (a deleted category)
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                _EVALUATE_SQL.format(version=_VERSION_SQL, answers=sql, **_TABLES),
                (contact_id, sorted(affected), *params, contact_id),
            )
            version, current, *answers = cursor.fetchone()
        if version != compiled.version:
            return False
        if rows is None:
            current = json.loads(current) if isinstance(current, str) else current
            rows = {segment_id: (origin, removed) for segment_id, origin, removed in current}
        if answers[0] is None:  # the contact is gone
            return True
        matches = dict(zip(answered, answers[1:]))
        added = [pk for pk in answered if matches[pk] and pk not in rows]
        gone = [pk for pk in answered if not matches[pk] and rows.get(pk) == (SegmentMembership.Origin.FILTER, False)]
        if added or gone:
            for segment_id, member in _memberships_apply_sql(contact_id, added, gone):
                if member:
                    rows[segment_id] = (SegmentMembership.Origin.FILTER, False)
                else:
                    rows.pop(segment_id, None)
    if rows is None:  # no statement ran, so none checked the version: the filters may have been fixed since
        return _compiled_current().version == compiled.version
    return True


def _memberships_apply_sql(contact_id: int, added: list[int], gone: list[int]) -> list[tuple[int, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(_APPLY_SQL.format(**_TABLES), {
            "contact": contact_id, "added": added, "gone": gone, "origin": SegmentMembership.Origin.FILTER,
            "source": FILTER_SOURCE, "kind": PreferenceChange.Kind.SEGMENT, "member": json.dumps(MEMBER),
            "now": timezone.now(),
        })
        return cursor.fetchall()


def _refresh_with_orm(contact: Contact, change: PreferenceChange | None) -> None:
    """The filters read and compiled at each call, one ORM query a level: the embedded SQLite demo,
    and a refresh whose filters were saved again each time it tried the compiled statements."""
    filters = dict(Segment.objects.filter(filter__isnull=False).values_list("pk", "filter"))
    affected = segments_affected(filters, change)
    if not affected:
        return
    catalog = FilterCatalog.load()
    dynamic = {pk: spec for pk, spec in catalog.dynamic.items() if pk in affected}
    slugs = {pk: catalog.segments[pk].slug for pk in dynamic}
    rows = {
        row.segment_id: row
        for row in SegmentMembership.objects.filter(contact_id=contact.pk, segment_id__in=list(dynamic))
    }
    for level in segments_in_dependency_order(dynamic):
        compiled = {pk: q for pk in level if (q := filter_compiled(dynamic[pk], catalog, checked=True)) is not None}
        if not compiled:
            continue
        matches = (
            Contact.objects.filter(pk=contact.pk)
            .annotate(**{f"s{pk}": ExpressionWrapper(q, output_field=BooleanField()) for pk, q in compiled.items()})
            .values(*(f"s{pk}" for pk in compiled))
            .first()
        )
        if matches is None:
            return
        added = [pk for pk in compiled if matches[f"s{pk}"] and pk not in rows]
        gone = [pk for pk in compiled if not matches[f"s{pk}"] and pk in rows
                and rows[pk].origin == SegmentMembership.Origin.FILTER and not rows[pk].removed]
        _memberships_apply(segment_ids_added={contact.pk: added}, segment_ids_gone={contact.pk: gone}, slugs=slugs)
        for pk in added:
            rows[pk] = SegmentMembership(segment_id=pk, contact_id=contact.pk, origin=SegmentMembership.Origin.FILTER)
        for pk in gone:
            rows.pop(pk)


def condition_depends_on(condition: dict, change: PreferenceChange) -> bool:
    """Whether a change of this kind and subject can alter the condition's answer for the contact.

    Built-in fields change only through ``contact_save`` (which re-evaluates everything); a field
    the map does not know is assumed to depend on every change.
    """
    name, kind = condition.get("field", ""), PreferenceChange.Kind
    if name.startswith(CUSTOM_PREFIX):
        return change.kind == kind.FIELD and change.subject == name.removeprefix(CUSTOM_PREFIX)
    if name.startswith(CHANNEL_PREFIX):
        return change.kind == kind.DNC and change.subject == name.removeprefix(CHANNEL_PREFIX)
    if name == "category":
        return change.kind == kind.CATEGORY and change.category_id == condition.get("value")
    if name == "segment":
        return change.kind == kind.SEGMENT and change.segment_id == condition.get("value")
    return name not in BUILT_IN


def segments_affected(filters: dict[int, dict], change: PreferenceChange | None) -> set[int]:
    """The dynamic segments to re-evaluate after ``change`` (all of them without one).

    A segment is affected when one of its conditions depends on the change, or when it names an
    affected segment (that segment's membership may move in this refresh).
    """
    if change is None:
        return set(filters)
    affected = set()
    for level in segments_in_dependency_order(filters):
        for pk in level:
            try:
                conditions = [c for group in filters[pk]["groups"] for c in group["conditions"]]
                if any(condition_depends_on(c, change) or (c.get("field") == "segment" and c.get("value") in affected)
                       for c in conditions):
                    affected.add(pk)
            except (KeyError, TypeError, AttributeError):  # not a stored filter's shape: let compiling judge it
                affected.add(pk)
    return affected


def segment_rebuild_request(*, segment: Segment) -> None:
    """Ask a worker to rebuild the segment (once this commits); the page shows it pending until done."""
    Segment.objects.filter(pk=segment.pk).update(rebuild_requested_at=timezone.now())
    transaction.on_commit(lambda: current_app.send_task(SEGMENT_REBUILD, args=(segment.pk,)))


def segments_rebuild_all_request() -> None:
    """Ask a worker to rebuild every dynamic segment once this commits (after a change made set-based, e.g. an import)."""
    transaction.on_commit(lambda: current_app.send_task(SEGMENTS_REBUILD))


def segments_rebuild_all() -> dict[int, RebuildResult | None]:
    """Rebuild every dynamic segment, each in its own transaction, those named by others first."""
    dynamic = dict(Segment.objects.filter(filter__isnull=False).values_list("pk", "filter"))
    results = {}
    for level in segments_in_dependency_order(dynamic):
        for pk in level:
            results[pk] = segment_rebuild(segment_id=pk)
    return results
