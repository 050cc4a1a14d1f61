"""Small domain rules shared by the services (writes) and the selectors (reads)."""

from __future__ import annotations

import datetime
import functools
import zoneinfo

from django.db import connection
from django.db.models import DateField, Exists, Func, OuterRef, Q
from django.utils.translation import gettext_lazy

from contacts.models import Category, CategorySubscription, Channel, DoNotContact, SegmentMembership

MEMBER, REMOVED = "member", "removed"
UTC = datetime.timezone.utc


# --- Category receives (SPEC §2) ------------------------------------------------------------------
# Each rule below is a Python predicate with its SQL/ORM twin next to it: the staff list, the
# decision, the preview and the public page all read these, so they cannot disagree.

CATEGORY_UNSUBSCRIBED, CATEGORY_NOT_SUBSCRIBED = "category_unsubscribed", "category_not_subscribed"
# What the staff UI calls each block (the codes are stored in sends and read by the SQL twins).
CATEGORY_BLOCK_LABELS = {
    CATEGORY_UNSUBSCRIBED: gettext_lazy("Unsubscribed from the message's category"),
    CATEGORY_NOT_SUBSCRIBED: gettext_lazy("Not subscribed to the message's opt-in category"),
}


def category_block(*, opt_in: bool, status: str | None) -> str | None:
    """Why a contact does not receive a category's messages, or None when they do (SPEC §2: no choice
    means subscribed, except for ``opt_in`` categories)."""
    if status is None:
        return CATEGORY_NOT_SUBSCRIBED if opt_in else None
    return None if status == CategorySubscription.Status.SUBSCRIBED else CATEGORY_UNSUBSCRIBED


def category_block_sql(*, status: str, opt_in: str) -> str:
    """``category_block`` in SQL over a ``status`` column (NULL: no choice) and an ``opt_in`` boolean."""
    return (
        f"CASE WHEN {status} IS NULL THEN CASE WHEN {opt_in} THEN '{CATEGORY_NOT_SUBSCRIBED}' END "
        f"WHEN {status} <> '{CategorySubscription.Status.SUBSCRIBED}' THEN '{CATEGORY_UNSUBSCRIBED}' END"
    )


def category_receivers_count(*, opt_in: bool, contacts: int, subscribed: int, rows: int) -> int:
    """``category_block`` counted over a category: explicit subscribers, plus (opt-out categories)
    every contact who made no choice (``contacts`` minus the ``rows`` of any status)."""
    return subscribed if opt_in else subscribed + max(0, contacts - rows)


def subscription_receives(*, opt_in: bool, status: str | None) -> bool:
    """SPEC §2: no choice means subscribed, except for ``opt_in`` categories."""
    return category_block(opt_in=opt_in, status=status) is None


def category_receives(category: Category, status: str | None) -> bool:
    return subscription_receives(opt_in=category.opt_in, status=status)


def category_receives_q(category: Category, contact: str = "pk") -> Q:
    """``category_receives`` as a filter on contacts (``contact``: the contact id's path)."""
    subscriptions = CategorySubscription.objects.filter(category=category, contact=OuterRef(contact))
    if category.opt_in:
        return Q(Exists(subscriptions.filter(status=CategorySubscription.Status.SUBSCRIBED)))
    return ~Q(Exists(subscriptions.exclude(status=CategorySubscription.Status.SUBSCRIBED)))


# --- Contactable on a channel (SPEC §2, §3 step 3) -----------------------------------------------

def channel_reachable(*, has_address: bool, dnc: bool) -> bool:
    """A channel reaches the contact when they have its address and no do-not-contact on it."""
    return has_address and not dnc


def channel_reachable_sql(*, has_address: str, dnc_missing: str) -> str:
    """``channel_reachable`` in SQL over two booleans."""
    return f"({has_address} AND {dnc_missing})"


def channel_reachable_q(channel: Channel) -> Q:
    """``channel_reachable`` as a filter on contacts."""
    dnc = DoNotContact.objects.filter(channel=channel, contact=OuterRef("pk"))
    return ~Q(**{channel.address_field: ""}) & ~Q(Exists(dnc))


# --- Segment member (SPEC §3: recipients) --------------------------------------------------------

def segment_member_q(segment_id: int, contact: str = "pk") -> Q:
    """A member of the segment: a membership that is not ``removed`` (as the dispatch's recipients)."""
    return Q(Exists(SegmentMembership.objects.filter(segment_id=segment_id, removed=False, contact=OuterRef(contact))))


# --- Effective cap (SPEC §2) ----------------------------------------------------------------------

def effective_cap(
    own_number: int | None, own_unit: str, default_number: int | None, default_unit: str
) -> tuple[int, str] | None:
    """The contact's own cap, else the channel's default; a default of 0 or empty means no cap."""
    if own_number:
        return own_number, own_unit
    if default_number and default_unit:
        return default_number, default_unit
    return None


def effective_cap_sql(*, own_number: str, own_unit: str, default_number: str, default_unit: str) -> tuple[str, str]:
    """``effective_cap`` in SQL: (number, unit) expressions, both NULL when no cap applies."""
    default = f"{default_number} > 0 AND {default_unit} <> ''"
    number = f"CASE WHEN {own_number} IS NOT NULL THEN {own_number} WHEN {default} THEN {default_number} END"
    unit = f"CASE WHEN {own_number} IS NOT NULL THEN {own_unit} WHEN {default} THEN {default_unit} END"
    return number, unit


# --- Paused today, in the contact's time zone (SPEC §2) -----------------------------------------
# A zone the system does not know (retired from tzdata): staff reads count the day in UTC; the send
# decision never guesses a day for a send and records ``failed`` with the reason (docs/decisions.md).

def contact_zone(name: str, *, strict: bool = False) -> datetime.tzinfo:
    """The contact's zone; an unknown one is UTC, or raises ``ZoneInfoNotFoundError`` when ``strict``."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if strict:
            raise zoneinfo.ZoneInfoNotFoundError(f"No time zone found with key {name}") from None
        return UTC


def contact_today(time_zone: str, now: datetime.datetime, *, strict: bool = False) -> datetime.date:
    """The date it is at ``now`` in the contact's zone: pauses are whole days there."""
    return now.astimezone(contact_zone(time_zone, strict=strict)).date()


def paused_on(pause_from: datetime.date | None, pause_to: datetime.date | None, day: datetime.date) -> bool:
    """A pause holds from its first to its last day, both included."""
    return pause_from is not None and pause_from <= day <= pause_to


def contact_today_sql(*, now: str, zone: str) -> str:
    """``contact_today(strict=True)`` in SQL: an unknown zone raises, as the decision wants."""
    return f"(({now}) AT TIME ZONE {zone})::date"


def paused_on_sql(*, pause_from: str, pause_to: str, day: str) -> str:
    """``paused_on`` in SQL (a NULL pause is not paused)."""
    return f"{day} BETWEEN {pause_from} AND {pause_to}"


@functools.cache
def database_time_zones() -> list[str]:
    """The time zone names PostgreSQL knows (read once per process: the view scans files)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names")
        return sorted(row[0] for row in cursor.fetchall())


class ContactToday(Func):
    """``contact_today`` as an ORM expression over a contact's ``time_zone`` column (unknown zone: UTC)."""

    output_field = DateField()

    def __init__(self, time_zone):
        super().__init__(time_zone)

    def as_postgresql(self, compiler, connection, **extra_context):
        # A constant array: PostgreSQL looks the zone up by hash instead of failing the whole query.
        zone, params = compiler.compile(self.source_expressions[0])
        known = f"CASE WHEN {zone} = ANY(%s) THEN {zone} ELSE 'UTC' END"
        return contact_today_sql(now="CURRENT_TIMESTAMP", zone=known), (*params, database_time_zones(), *params)

    def as_sqlite(self, compiler, connection, **extra_context):
        # The embedded demo has no time zone database in SQL: UTC's date is close enough there.
        return self.as_sql(compiler, connection, template="DATE('now')", **extra_context)


def paused_today_q(time_zone) -> Q:
    """``paused_on(contact_today(...))`` as a filter on channel preferences; ``time_zone``: the zone's expression."""
    today = ContactToday(time_zone)
    return Q(pause_from__lte=today, pause_to__gte=today)


CONTACTABLE, NO_ADDRESS = "contactable", "no_address"


def channel_state(*, address: str, dnc_reason: str | None) -> str:
    """A contact's state on one channel: its do-not-contact reason, else "no_address", else "contactable".

    Contactable is ``channel_reachable`` (SPEC §2); the CSV export reads the state here.
    """
    if channel_reachable(has_address=bool(address), dnc=bool(dnc_reason)):
        return CONTACTABLE
    return dnc_reason or NO_ADDRESS


def dnc_locked(reason: str | None) -> bool:
    """SPEC §2: a do-not-contact only staff can lift (``bounced``, ``complaint``); re-ticking keeps it."""
    return reason is not None and reason not in DoNotContact.CLEARABLE


def frequency_value(number: int | None, unit: str | None) -> dict | None:
    return {"number": number, "unit": unit} if number else None


def pause_value(pause_from: datetime.date | None, pause_to: datetime.date | None) -> dict | None:
    return {"from": pause_from.isoformat(), "to": pause_to.isoformat()} if pause_from else None


def names_listed(names: list[str], *, shown: int = 10) -> str:
    """“A”, “B” and 3 more: names for a message to staff, never an endless list."""
    listed = ", ".join(f"“{name}”" for name in names[:shown])
    return listed if len(names) <= shown else f"{listed} (+{len(names) - shown})"



# --- An import never resubscribes (docs/import.md) -------------------------------------------------
# ``current`` is the contact's state as the history names it: a channel's DNC reason, a category's
# subscription status, a segment's membership value (``MEMBER`` / ``REMOVED``); None: no choice.

def import_keeps_opt_out(*, kind: str, current: str | None) -> bool:
    """A file's “yes” meets an opt-out the contact (or staff, or a bounce) made: the opt-out stays."""
    if kind == "channel":
        return current is not None
    if kind == "category":
        return current == CategorySubscription.Status.UNSUBSCRIBED
    return current == REMOVED


def import_keeps_opt_out_sql(*, kind: str, current: str) -> str:
    """``import_keeps_opt_out`` in SQL over a ``current`` text expression (NULL: no choice)."""
    if kind == "channel":
        return f"({current} IS NOT NULL)"
    if kind == "category":
        return f"({current} IS NOT DISTINCT FROM '{CategorySubscription.Status.UNSUBSCRIBED}')"
    return f"({current} IS NOT DISTINCT FROM '{REMOVED}')"
