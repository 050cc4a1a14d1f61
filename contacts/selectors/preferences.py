"""Reads of what a contact allows, in a constant number of queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

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


def contact_preference_state(*, contact: Contact, public_only: bool = False) -> PreferenceState:
    channels = list(Channel.objects.all())
    slugs = {channel.pk: channel.slug for channel in channels}
    dnc_rows = DoNotContact.objects.filter(contact=contact).values_list("channel_id", "reason")
    dnc = {slugs[channel_id]: reason for channel_id, reason in dnc_rows}
    preferences = {slugs[pref.channel_id]: pref for pref in ChannelPreference.objects.filter(contact=contact)}
    segments = list(segments_with_membership(contact=contact, public_only=public_only))
    for segment in segments:
        removed = segment.membership_removed
        segment.membership = None if removed is None else (REMOVED if removed else MEMBER)
    return PreferenceState(
        channels=channels,
        dnc_reasons=dnc,
        preferences=preferences,
        categories=list(categories_with_status(contact=contact, public_only=public_only)),
        segments=segments,
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
