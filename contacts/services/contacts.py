"""Who a contact is: name, addresses, language and time zone."""

from __future__ import annotations

from django.db import transaction

from contacts.models import ChannelPreference, Contact, email_normalise, phone_normalise

from .audit import Source, contact_lock
from .channels import contact_preferred_channel_set
from .dynamic_segments import contact_segments_refresh


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
    contact.save()
    preferred = ChannelPreference.objects.filter(contact=contact, preferred=True).select_related("channel").first()
    if preferred and not contact.address_for(preferred.channel):
        contact_preferred_channel_set(contact=contact, channel=None, source=source)
    contact_segments_refresh(contact=contact)
    return contact
