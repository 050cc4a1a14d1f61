"""Who a contact is: name, addresses, language and time zone; and erasing them."""

from __future__ import annotations

from django.db import transaction

from contacts.models import ChannelPreference, Contact, StaffChange, email_normalise, phone_normalise
from contacts.selectors.staff import contact_erasure_counts

from .audit import Source, contact_lock
from .channels import contact_preferred_channel_set
from .dynamic_segments import contact_segments_refresh
from .staff_audit import staff_change_record


# What ``contact_save`` writes on an update: the details. Custom field values have their own write
# path (``contact_fields_update``); saving a copy read earlier must not put back old values.
DETAIL_FIELDS = tuple(f.name for f in Contact._meta.concrete_fields if not f.primary_key and f.name != "fields")


@transaction.atomic
def contact_save(*, contact: Contact, source: Source | str) -> Contact:
    """Create or update a contact's details.

    Addresses are stored normalised (``email_normalise``, ``phone_normalise``). A preferred
    channel must stay reachable (SPEC §2): when an edit removes its address, the
    preference is dropped, with its history row.
    """
    source = Source.of(source)
    contact.email, contact.phone = email_normalise(contact.email), phone_normalise(contact.phone)
    if contact.pk is None:
        contact.save()
        contact_segments_refresh(contact=contact)
        return contact
    contact_lock(contact)
    contact.save(update_fields=DETAIL_FIELDS)
    preferred = ChannelPreference.objects.filter(contact=contact, preferred=True).select_related("channel").first()
    if preferred and not contact.address_for(preferred.channel):
        contact_preferred_channel_set(contact=contact, channel=None, source=source)
    contact_segments_refresh(contact=contact)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, acting_user) -> StaffChange:
    """Erase a contact: the row and everything that names them (channel states, subscriptions,
    memberships, their preference history and their sends, by cascade), leaving a tombstone in
    the staff audit that keeps no personal data: the id, who deleted it, when, and how many
    sends and history rows went with it.

    The contact row is locked first: a dispatch batch deciding this contact (which locks its
    recipients) finishes before, and its sends are erased too; one that starts after finds no
    contact to decide."""
    contact_lock(contact)
    counts = contact_erasure_counts(contact=contact)
    contact_id = contact.pk
    contact.delete()
    return staff_change_record(
        acting_user=acting_user, subject_type="contact", subject_id=contact_id, subject_label=f"Contact {contact_id}",
        action=StaffChange.Action.DELETED, changes={name: [n, 0] for name, n in counts.items()},
    )
