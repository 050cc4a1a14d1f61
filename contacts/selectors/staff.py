"""Reads behind the staff pages: the contacts list at a million rows, the profile, the lists."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from contacts.models import (
    BulkAction,
    Category,
    ContactField,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    Segment,
    SegmentMembership,
    StaffChange,
    email_normalise,
)
from contacts.rules import (
    category_receivers_count, category_receives_q, channel_reachable, channel_reachable_q, contact_today, dnc_locked,
    effective_cap, paused_on, paused_today_q, segment_member_q,
)
from contacts.search import SEARCH_FOLD_SQL
from contacts.timeline import TimelinePage, contact_timeline


from .preferences import PreferenceState, contact_preference_state

# Above this many rows an unfiltered list shows the planner's estimate instead of COUNT(*).
ESTIMATE_ABOVE = 50_000
# A filtered list counts at most this many matches, so a broad filter never scans the whole table.
COUNT_CAP = 1_000

CONTACT_SORTS = {
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "phone": ("phone", "id"),
    "-phone": ("-phone", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


class ContactSearchText(Func):
    """Folded "first last email phone" (``contacts.search``): the expression the trigram index of
    migration 0010 covers."""

    template = f"{SEARCH_FOLD_SQL}(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(F("first_name"), F("last_name"), F("email"), F("phone"))


class SearchFold(Func):
    """A search word folded by the same SQL function as the text it is looked for in."""

    function = SEARCH_FOLD_SQL
    output_field = TextField()


def contact_list(
    *,
    search: str = "",
    segment: Segment | None = None,
    category: Category | None = None,
    category_status: str = "",
    dnc_channel: Channel | None = None,
    dnc_reason: str = "",
    paused_now: bool = False,
    has_cap: bool = False,
    sort: str = "name",
) -> QuerySet[Contact]:
    """Contacts matching every given filter, in a stable order (ties broken by id).

    ``search``: every word must appear in the name, email or phone, case and accents ignored. ``category_status``
    "receives" honours the category's default (opt-out unless ``opt_in``), "unsubscribed" is an
    explicit opt-out. ``dnc_reason``: "" or "any" (any do-not-contact), "none" (contactable),
    or one reason; ``dnc_channel`` limits it to one channel. "none" is ``channel_reachable_q`` (address and no
    do-not-contact) on that channel, or on every channel. ``paused_now`` uses the contact's
    time zone. Each filter is an EXISTS on an indexed table, so the first page stays fast at 1M rows.
    """
    contacts = Contact.objects.all()
    words = search.split()
    if words:
        contacts = contacts.annotate(search_text=ContactSearchText())
        for word in words:
            contacts = contacts.filter(search_text__contains=SearchFold(Value(word)))
    if segment is not None:
        contacts = contacts.filter(segment_member_q(segment.pk))
    if category is not None and category_status:
        if category_status == "unsubscribed":
            unsubscribed = CategorySubscription.objects.filter(
                category=category, contact=OuterRef("pk"), status=CategorySubscription.Status.UNSUBSCRIBED
            )
            contacts = contacts.filter(Exists(unsubscribed))
        else:
            contacts = contacts.filter(category_receives_q(category))
    if dnc_reason == "none":
        # "Contactable": the rule a segment filter and the send decision use, on the channel or on every channel.
        for channel in [dnc_channel] if dnc_channel is not None else Channel.objects.all():
            contacts = contacts.filter(channel_reachable_q(channel))
    elif dnc_channel is not None or dnc_reason:
        dnc = DoNotContact.objects.filter(contact=OuterRef("pk"))
        if dnc_channel is not None:
            dnc = dnc.filter(channel=dnc_channel)
        if dnc_reason and dnc_reason != "any":
            dnc = dnc.filter(reason=dnc_reason)
        contacts = contacts.filter(Exists(dnc))
    if paused_now:
        contacts = contacts.filter(
            Exists(ChannelPreference.objects.filter(paused_today_q(OuterRef("time_zone")), contact=OuterRef("pk")))
        )
    if has_cap:
        contacts = contacts.filter(
            Exists(ChannelPreference.objects.filter(contact=OuterRef("pk"), cap_number__isnull=False))
        )
    keys = CONTACT_SORTS.get(sort, CONTACT_SORTS["name"])
    if words:
        keys = [_sorted_without_index(key) for key in keys]
    return contacts.order_by(*keys)


def _sorted_without_index(key: str):
    """The same order, hidden from the planner: matches of a search are then sorted, not hunted for.

    Walking the name index and filtering is a trap when the words match the sort key ("smith"
    sorted by name: every match sits at the end, 1.3 s at 1M rows); sorting the trigram index's
    matches costs 20 ms for a name and stays under 0.6 s even when every contact matches.
    """
    field = key.lstrip("-")
    if field == "id":
        return key
    expression = Coalesce(F(field), F(field))
    return expression.desc() if key.startswith("-") else expression.asc()


@dataclass
class ListPage:
    """One page of a list that never counts the whole table: it fetches one row more to know of a next page."""

    rows: list
    number: int
    per_page: int
    has_next: bool
    total: int | None  # None: not counted
    total_is_estimate: bool = False
    total_is_capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)

    @property
    def page_count(self) -> int | None:
        """Pages in all, when the total is known (counted, estimated or capped: see the flags)."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))

    @property
    def last_page_known(self) -> bool:
        """The last page can be linked: the total was counted exactly."""
        return self.total is not None and not (self.total_is_estimate or self.total_is_capped)


def contact_count_estimate() -> int:
    """The number of contacts, from the planner's statistics when the table is large (no full scan)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [Contact._meta.db_table])
            row = cursor.fetchone()
        if row and row[0] >= ESTIMATE_ABOVE:
            return int(row[0])
    return Contact.objects.count()


def list_page(*, queryset: QuerySet, page: int, per_page: int, total: int | None = None, count: bool = True) -> ListPage:
    """Rows ``page`` (1-based) of ``queryset``; counts at most ``COUNT_CAP`` matches unless ``total`` is given."""
    page = max(1, page)
    offset = (page - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    capped = False
    if total is None and count:
        if not has_next and (rows or page == 1):
            total = offset + len(rows)  # the last page tells the exact total for free
        else:
            total = queryset.order_by()[: COUNT_CAP + 1].count()
            capped = total > COUNT_CAP
            total = min(total, COUNT_CAP)
    return ListPage(rows=rows, number=page, per_page=per_page, has_next=has_next, total=total, total_is_capped=capped)


def contact_list_page(*, contacts: QuerySet[Contact], page: int, per_page: int, filtered: bool) -> ListPage:
    """A page of the contacts list with each row's do-not-contact entries and channel preferences."""
    contacts = contacts.prefetch_related(
        Prefetch("dnc_entries", queryset=DoNotContact.objects.select_related("channel").order_by("channel_id")),
        Prefetch(
            "channel_preferences", queryset=ChannelPreference.objects.select_related("channel").order_by("channel_id")
        ),
    )
    if filtered:
        return list_page(queryset=contacts, page=page, per_page=per_page)
    total = contact_count_estimate()
    result = list_page(queryset=contacts, page=page, per_page=per_page, total=total)
    result.total_is_estimate = total >= ESTIMATE_ABOVE
    return result


@dataclass
class ChannelStatus:
    """What a staff member needs to know about one channel of one contact, for a status card."""

    channel: Channel
    address: str
    dnc: DoNotContact | None
    preference: ChannelPreference | None
    today: datetime.date

    @property
    def contactable(self) -> bool:
        return channel_reachable(has_address=bool(self.address), dnc=self.dnc is not None)

    @property
    def dnc_clearable(self) -> bool:
        return self.dnc is not None and not dnc_locked(self.dnc.reason)

    @property
    def own_cap(self) -> tuple[int, str] | None:
        return self.preference.cap if self.preference else None

    @property
    def cap(self) -> tuple[int, str] | None:
        pref, channel = self.preference, self.channel
        return effective_cap(pref and pref.cap_number, pref.cap_unit if pref else "",
                             channel.default_cap_number, channel.default_cap_unit)

    @property
    def pause(self) -> tuple[datetime.date, datetime.date] | None:
        return self.preference.pause if self.preference else None

    @property
    def paused_now(self) -> bool:
        return bool(self.pause) and paused_on(*self.pause, self.today)

    @property
    def pause_upcoming(self) -> bool:
        return bool(self.pause) and self.today < self.pause[0]

    @property
    def pause_over(self) -> bool:
        return bool(self.pause) and self.pause[1] < self.today

    @property
    def preferred(self) -> bool:
        return bool(self.preference and self.preference.preferred)


@dataclass
class ContactProfile:
    contact: Contact
    state: PreferenceState
    channels: list[ChannelStatus]
    timeline: TimelinePage

    @property
    def categories(self) -> list[Category]:
        return self.state.categories

    @property
    def segments(self) -> list[Segment]:
        return self.state.segments


def contact_profile(*, contact: Contact) -> ContactProfile:
    """A contact's per-channel status, categories, segments and the newest timeline page."""
    state = contact_preference_state(contact=contact)
    dnc = {row.channel_id: row for row in DoNotContact.objects.filter(contact=contact)}
    today = contact_today(contact.time_zone, timezone.now())
    channels = [
        ChannelStatus(
            channel=channel,
            address=contact.address_for(channel),
            dnc=dnc.get(channel.pk),
            preference=state.preferences.get(channel.slug),
            today=today,
        )
        for channel in state.channels
    ]
    return ContactProfile(contact=contact, state=state, channels=channels, timeline=contact_timeline(contact=contact))


def category_list() -> QuerySet[Category]:
    """Categories with their explicit subscriber and unsubscriber counts (one grouped query)."""
    return Category.objects.annotate(
        subscribed_count=Count("subscriptions", filter=Q(subscriptions__status=CategorySubscription.Status.SUBSCRIBED)),
        unsubscribed_count=Count(
            "subscriptions", filter=Q(subscriptions__status=CategorySubscription.Status.UNSUBSCRIBED)
        ),
        choice_count=Count("subscriptions"),
    ).order_by("name")


@dataclass
class CategoryAudience:
    category: Category
    receives: int  # by the send decision's rule (``contacts.rules.category_receivers_count``)
    left: int  # unsubscribed explicitly
    estimate: bool  # the contact total behind ``receives`` is the planner's estimate


def category_audiences() -> list[CategoryAudience]:
    """Who receives each category's messages and who left: two queries whatever the number of categories."""
    contacts = contact_count_estimate()
    estimate = contacts >= ESTIMATE_ABOVE
    return [
        CategoryAudience(
            category=category,
            receives=category_receivers_count(
                opt_in=category.opt_in, contacts=contacts, subscribed=category.subscribed_count,
                rows=category.choice_count,
            ),
            left=category.unsubscribed_count,
            estimate=estimate and not category.opt_in,
        )
        for category in category_list()
    ]


def segment_list() -> QuerySet[Segment]:
    """Segments with their current (not removed) member counts."""
    return Segment.objects.annotate(
        member_count=Count("memberships", filter=Q(memberships__removed=False)),
        removed_count=Count("memberships", filter=Q(memberships__removed=True)),
    ).order_by("name")


def segment_members(*, segment: Segment) -> QuerySet[Contact]:
    """Current members of a segment, by name, each with how they came in (``membership_origin``:
    filter or manual); contacts who left (``removed``) are not members."""
    origin = SegmentMembership.objects.filter(segment=segment, contact=OuterRef("pk")).values("origin")[:1]
    return (
        Contact.objects.filter(segment_member_q(segment.pk))
        .annotate(membership_origin=Subquery(origin))
        .order_by("last_name", "first_name", "id")
    )


def segment_removed_members(*, segment: Segment) -> QuerySet[Contact]:
    """Contacts removed from (or who left) the segment, by name: listed so staff can add them back."""
    return Contact.objects.filter(
        Exists(SegmentMembership.objects.filter(segment=segment, removed=True, contact=OuterRef("pk")))
    ).order_by("last_name", "first_name", "id")


def contacts_with_email(email: str) -> QuerySet[Contact]:
    """Contacts whose address equals ``email`` as the unique constraint sees it: normalised, then ``Lower``."""
    email = email_normalise(email)
    if not email:
        return Contact.objects.none()
    return Contact.objects.alias(email_key=Lower("email")).filter(~Q(email=""), email_key=Lower(Value(email)))


def message_names_using(obj: Category | Segment) -> list[str]:
    """Names of the messages that use a category or target a segment (``messages`` is their reverse name)."""
    return list(obj.messages.order_by("name").values_list("name", flat=True))


STAFF_HISTORY_SHOWN = 50


def staff_changes(*, subject_types: tuple[str, ...], subject_id: int | None = None) -> list[StaffChange]:
    """The staff audit of an object (or, without ``subject_id``, of every object of these kinds), newest first."""
    rows = StaffChange.objects.filter(subject_type__in=subject_types)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return list(rows[:STAFF_HISTORY_SHOWN])


def contact_erasure_counts(*, contact: Contact) -> dict[str, int]:
    """What erasing the contact takes with it, as the confirmation says and the tombstone records."""
    return {
        "history": contact.preference_changes.count(),
        # Sends belong to messaging: counted through the reverse relation, never imported.
        "sends": contact.sends.count() if hasattr(contact, "sends") else 0,
        "segments": contact.segment_memberships.filter(removed=False).count(),
    }


# --- Bulk actions on a filtered list ---------------------------------------------------------------

_FILTER_OBJECTS = {"segment": Segment, "category": Category, "dnc_channel": Channel}


def contact_filters_stored(arguments: dict) -> dict:
    """``contact_list`` arguments as JSON a job can keep: objects by id, the sort left out."""
    stored = {name: value for name, value in arguments.items() if name != "sort" and name not in _FILTER_OBJECTS}
    stored.update({name: arguments[name].pk for name in _FILTER_OBJECTS if arguments.get(name) is not None})
    return stored


def contact_list_filtered(filters: dict) -> QuerySet[Contact]:
    """The contacts of a list filtered as ``contact_filters_stored`` kept it, in id order. A filter
    whose object was deleted since matches nobody rather than being dropped (which would widen it)."""
    from contacts.selectors.fields import contacts_field_filter

    arguments = {name: value for name, value in filters.items() if name not in _FILTER_OBJECTS and name != "field_filter"}
    for name, model in _FILTER_OBJECTS.items():
        if filters.get(name) is not None:
            arguments[name] = model.objects.filter(pk=filters[name]).first()
            if arguments[name] is None:
                return Contact.objects.none()
    contacts = contact_list(**arguments)
    if field_filter := filters.get("field_filter"):
        # The custom field filter of the list (``ContactFieldFilterForm``), its field by key.
        field = ContactField.objects.filter(key=field_filter["field"]).first()
        if field is None:
            return Contact.objects.none()
        contacts = contacts_field_filter(contacts, **{**field_filter, "field": field})
    return contacts.order_by("pk")


def bulk_action_changes(*, contacts: QuerySet[Contact], kind: str, segment: Segment | None, channel: Channel | None):
    """Those of ``contacts`` the bulk action would change (the others are already in that state)."""
    Kind = BulkAction.Kind
    if kind in (Kind.SEGMENT_ADD, Kind.SEGMENT_REMOVE):
        member = Exists(SegmentMembership.objects.filter(segment=segment, removed=False, contact=OuterRef("pk")))
        return contacts.filter(~member if kind == Kind.SEGMENT_ADD else member)
    dnc = DoNotContact.objects.filter(channel=channel, contact=OuterRef("pk"))
    if kind == Kind.DNC_SET:
        return contacts.filter(~Exists(dnc))
    return contacts.filter(Exists(dnc.filter(reason=DoNotContact.Reason.MANUAL)))
