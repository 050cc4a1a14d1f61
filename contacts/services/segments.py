"""Which groups a contact belongs to."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact, PreferenceChange, Segment, SegmentMembership
from contacts.rules import MEMBER, REMOVED, names_listed
from contacts.selectors import message_names_using

from contacts.segment_filter import filter_clean

from .audit import Source, change_record, contact_lock
from .dynamic_segments import segment_rebuild_request
from .errors import ObjectInUse
from .staff_audit import Action, field_values, model_created_record, model_update, staff_change_record

SEGMENT_FIELDS = (
    "name", "name_fr", "slug", "public_name", "public_name_fr", "description", "description_fr", "public", "filter",
)


def membership_value(membership: SegmentMembership | None) -> str | None:
    if membership is None:
        return None
    return REMOVED if membership.removed else MEMBER


@transaction.atomic
def segment_membership_add(*, contact: Contact, segment: Segment, source: Source | str) -> bool:
    """Add the contact to the segment; an explicit add is the only way back for a ``removed`` member.

    An explicit add is ``manual``: the member stays when a dynamic segment's filter stops matching.
    False (and no history written) when the contact already is a member.
    """
    source = Source.of(source)
    contact_lock(contact)
    membership = SegmentMembership.objects.filter(contact=contact, segment=segment).first()
    old = membership_value(membership)
    manual = SegmentMembership.Origin.MANUAL
    if old == MEMBER:
        if membership.origin != manual:  # the same member, now kept by hand: no history change
            membership.origin, membership.source = manual, source.label
            membership.save(update_fields=["origin", "source", "changed_at"])
        return False
    if membership:
        membership.removed, membership.origin, membership.source = False, manual, source.label
        membership.save(update_fields=["removed", "origin", "source", "changed_at"])
    else:
        SegmentMembership.objects.create(contact=contact, segment=segment, source=source.label)
    change_record(contact=contact, kind=PreferenceChange.Kind.SEGMENT, source=source, old=old, new=MEMBER, segment=segment)
    return True


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


@transaction.atomic
def segment_create(
    *, acting_user, name: str, slug: str, public_name: str = "", description: str = "", public: bool = False,
    filter: dict | None = None, name_fr: str = "", public_name_fr: str = "", description_fr: str = "",
) -> Segment:
    """Create a segment; the audit keeps who created it with its first values.

    ``filter`` (validated by ``filter_clean``, else ``ValidationError``) makes it dynamic: a worker
    builds its members once this commits.
    """
    if filter is not None:
        filter = filter_clean(filter)
    segment = Segment.objects.create(
        name=name, name_fr=name_fr, slug=slug, public_name=public_name, public_name_fr=public_name_fr,
        description=description, description_fr=description_fr, public=public, filter=filter,
    )
    model_created_record(instance=segment, fields=SEGMENT_FIELDS, acting_user=acting_user, subject_type="segment")
    if filter is not None:
        segment_rebuild_request(segment=segment)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, acting_user, **values) -> Segment:
    """Change a segment's fields (``SEGMENT_FIELDS``); only changed fields are saved and audited.

    A new filter is validated (a condition on a segment that leads back here is a cycle:
    ``ValidationError``) and the segment is rebuilt once this commits. Without a filter the
    segment is static again and keeps the members it has.
    """
    locked = Segment.objects.select_for_update().get(pk=segment.pk)
    if values.get("filter") is not None:
        values["filter"] = filter_clean(values["filter"], segment_id=locked.pk)
    old_filter = locked.filter
    model_update(instance=locked, values=values, fields=SEGMENT_FIELDS, acting_user=acting_user, subject_type="segment")
    if locked.filter is not None and locked.filter != old_filter:
        segment_rebuild_request(segment=locked)
    return locked


@transaction.atomic
def segment_delete(*, segment: Segment, acting_user, detach_messages: bool = False) -> None:
    """Delete a segment and its memberships (the history keeps its rows).

    Messages that target it would silently lose its members: without ``detach_messages`` (an
    explicit confirmation that it is removed from them) this raises ``ObjectInUse`` naming them.
    The audit row names the messages it was removed from.
    """
    locked = Segment.objects.select_for_update().get(pk=segment.pk)  # no message adds it meanwhile
    names = message_names_using(locked)
    if names and not detach_messages:
        raise ObjectInUse(
            _("%(segment)s is a source segment of %(messages)s: deleting it would shrink their audience. "
              "Confirm that it is removed from them, or change those messages first.")
            % {"segment": locked.name, "messages": names_listed(names)},
            names,
        )
    changes = {name: [value, None] for name, value in field_values(locked, SEGMENT_FIELDS).items()}
    if names:
        changes["messages"] = [sorted(names), None]
    staff_change_record(
        acting_user=acting_user, subject_type="segment", subject_id=locked.pk, subject_label=locked.name,
        action=Action.DELETED, changes=changes,
    )
    locked.messages.clear()
    locked.delete()
