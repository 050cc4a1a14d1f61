"""Which groups a contact belongs to."""

from __future__ import annotations

from django.db import transaction

from contacts.models import Contact, PreferenceChange, Segment, SegmentMembership
from contacts.rules import MEMBER, REMOVED

from .audit import Source, change_record, contact_lock


def membership_value(membership: SegmentMembership | None) -> str | None:
    if membership is None:
        return None
    return REMOVED if membership.removed else MEMBER


@transaction.atomic
def segment_membership_add(*, contact: Contact, segment: Segment, source: Source | str) -> None:
    """Add the contact to the segment; an explicit add is the only way back for a ``removed`` member."""
    source = Source.of(source)
    contact_lock(contact)
    membership = SegmentMembership.objects.filter(contact=contact, segment=segment).first()
    old = membership_value(membership)
    if old == MEMBER:
        return
    if membership:
        membership.removed, membership.source = False, source.label
        membership.save(update_fields=["removed", "source", "changed_at"])
    else:
        SegmentMembership.objects.create(contact=contact, segment=segment, source=source.label)
    change_record(contact=contact, kind=PreferenceChange.Kind.SEGMENT, source=source, old=old, new=MEMBER, segment=segment)


@transaction.atomic
def segment_membership_remove(*, contact: Contact, segment: Segment, source: Source | str) -> None:
    """Take the contact out of the segment. The row stays, marked ``removed``, so no rebuild re-adds it."""
    source = Source.of(source)
    contact_lock(contact)
    membership = SegmentMembership.objects.filter(contact=contact, segment=segment).first()
    if membership is None or membership.removed:
        return
    membership.removed, membership.source = True, source.label
    membership.save(update_fields=["removed", "source", "changed_at"])
    change_record(
        contact=contact, kind=PreferenceChange.Kind.SEGMENT, source=source, old=MEMBER, new=REMOVED, segment=segment
    )
