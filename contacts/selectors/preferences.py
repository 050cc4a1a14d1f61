"""Reads of what a contact allows, in a constant number of queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    OuterRef,
    QuerySet,
    Subquery,
)

from contacts.models import (
    Category,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    Segment,
    SegmentMembership,
)
from contacts.rules import MEMBER, REMOVED, category_receives, frequency_value, pause_value


@dataclass
class PreferenceState:
    """Everything a contact allows, loaded at once: five queries whatever the number of rows."""

    channels: list[Channel]
    dnc_reasons: dict[str, str]  # channel slug -> reason
    preferences: dict[str, ChannelPreference]  # channel slug -> row
    categories: list[Category]  # annotated with .subscription_status
    segments: list[Segment]  # annotated with .membership ("member", "removed" or None)

    @property
    def preferred_channel(self) -> str | None:
        return next((slug for slug, pref in self.preferences.items() if pref.preferred), None)


def categories_with_status(*, contact: Contact, public_only: bool = False) -> QuerySet[Category]:
    status = CategorySubscription.objects.filter(contact=contact, category=OuterRef("pk")).values("status")[:1]
    categories = Category.objects.annotate(subscription_status=Subquery(status))
    return categories.filter(public=True) if public_only else categories


def segments_with_membership(*, contact: Contact, public_only: bool = False) -> QuerySet[Segment]:
    removed = SegmentMembership.objects.filter(contact=contact, segment=OuterRef("pk")).values("removed")[:1]
    segments = Segment.objects.annotate(membership_removed=Subquery(removed))
    return segments.filter(public=True) if public_only else segments


def _columns(model, alias: str) -> tuple[list[str], str]:
    """Every concrete field of ``model``: the attnames ``Model.from_db`` takes, and the SELECT list."""
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], ", ".join(f"{alias}.{f.column}" for f in fields)


CHANNEL_NAMES, _CHANNEL_SELECT = _columns(Channel, "ch")
PREFERENCE_NAMES, _PREFERENCE_SELECT = _columns(ChannelPreference, "p")
CATEGORY_NAMES, _CATEGORY_SELECT = _columns(Category, "c")
SEGMENT_NAMES, _SEGMENT_SELECT = _columns(Segment, "s")
# Every channel with the contact's do-not-contact reason and preference row (both unique per channel).
CHANNELS_SQL = f"""
    SELECT {_CHANNEL_SELECT}, d.reason, p.id IS NOT NULL, {_PREFERENCE_SELECT}
    FROM {Channel._meta.db_table} ch
    LEFT JOIN {DoNotContact._meta.db_table} d ON d.channel_id = ch.id AND d.contact_id = %(contact)s
    LEFT JOIN {ChannelPreference._meta.db_table} p ON p.channel_id = ch.id AND p.contact_id = %(contact)s
    ORDER BY ch.position, ch.slug
"""
CATEGORIES_SQL = f"""
    SELECT {_CATEGORY_SELECT}, cs.status FROM {Category._meta.db_table} c
    LEFT JOIN {CategorySubscription._meta.db_table} cs ON cs.category_id = c.id AND cs.contact_id = %(contact)s
    WHERE c.public OR NOT %(public_only)s
    ORDER BY c.name, c.id
"""
SEGMENTS_SQL = f"""
    SELECT {_SEGMENT_SELECT}, sm.removed FROM {Segment._meta.db_table} s
    LEFT JOIN {SegmentMembership._meta.db_table} sm ON sm.segment_id = s.id AND sm.contact_id = %(contact)s
    WHERE s.public OR NOT %(public_only)s
    ORDER BY s.name, s.id
"""


def _load(model, names: list[str], values) -> object:
    return model.from_db(connection.alias, names, list(values))


def contact_preference_state(*, contact: Contact, public_only: bool = False) -> PreferenceState:
    """What one contact allows: three queries whatever the number of channels, categories and
    segments (the staff modal and the public page both read it; every row is the contact's own)."""
    params = {"contact": contact.pk, "public_only": public_only}
    channels, dnc, preferences = [], {}, {}
    categories, segments = [], []
    n, m = len(CHANNEL_NAMES), len(CATEGORY_NAMES)
    with connection.cursor() as cursor:
        cursor.execute(CHANNELS_SQL, params)
        for row in cursor.fetchall():
            channel = _load(Channel, CHANNEL_NAMES, row[:n])
            reason, has_preference = row[n], row[n + 1]
            channels.append(channel)
            if reason is not None:
                dnc[channel.slug] = reason
            if has_preference:
                preferences[channel.slug] = _load(ChannelPreference, PREFERENCE_NAMES, row[n + 2:])
        cursor.execute(CATEGORIES_SQL, params)
        for row in cursor.fetchall():
            category = _load(Category, CATEGORY_NAMES, row[:m])
            category.subscription_status = row[m]
            categories.append(category)
        cursor.execute(SEGMENTS_SQL, params)
        for row in cursor.fetchall():
            segment = _load(Segment, SEGMENT_NAMES, row[:-1])
            removed = segment.membership_removed = row[-1]
            segment.membership = None if removed is None else (REMOVED if removed else MEMBER)
            segments.append(segment)
    return PreferenceState(
        channels=channels, dnc_reasons=dnc, preferences=preferences, categories=categories, segments=segments
    )


def preferences_shape(state: PreferenceState) -> dict:
    """The SPEC §6 shape of a contact's preferences."""
    channels = {}
    for channel in state.channels:
        pref = state.preferences.get(channel.slug)
        reason = state.dnc_reasons.get(channel.slug)
        channels[channel.slug] = {
            "subscribed": reason is None,
            "dnc_reason": reason,
            "frequency": frequency_value(pref.cap_number, pref.cap_unit) if pref else None,
            "pause": pause_value(pref.pause_from, pref.pause_to) if pref else None,
        }
    return {
        "channels": channels,
        "preferred_channel": state.preferred_channel,
        "categories": {c.slug: category_receives(c, c.subscription_status) for c in state.categories},
        "segments": {s.slug: s.membership == MEMBER for s in state.segments},
    }


def contact_preferences(contact: Contact, *, public_only: bool = False) -> dict:
    """A contact's channels, cap, pause, preferred channel, categories and segments (SPEC §6 shape).

    Categories without a choice show their default (subscribed unless ``opt_in``); segments show
    ``true`` only for current, not removed, members. ``public_only`` limits both to public ones.
    """
    return preferences_shape(contact_preference_state(contact=contact, public_only=public_only))
