"""Bounces and spam complaints reported by the email provider through django-anymail's tracking webhooks."""

from __future__ import annotations

import logging

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import receiver

from contacts.models import Channel, Contact, DoNotContact
from contacts.services import Source, channel_unsubscribe

log = logging.getLogger(__name__)

# A send id from the event's metadata must fit the database's bigint; anything else is not ours.
MAX_SEND_ID = 2**63 - 1

# Providers that report temporary failures as "bounced" too, and the field that says so.
SOFT_BOUNCE_TYPES = {"postmark": ("Type", {"SoftBounce", "Transient", "DnsError"})}


def is_hard_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Anymail's "bounced" means a permanent failure, except where a provider files soft ones there too."""
    field, soft = SOFT_BOUNCE_TYPES.get(esp_name.lower(), (None, set()))
    kind = event.esp_event.get(field) if field and isinstance(event.esp_event, dict) else None
    if isinstance(kind, str) and kind in soft:
        return False
    return True


def event_address(value) -> str | None:
    """The event's recipient when it is an email address, else None (a number, a NUL character, free text)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


@transaction.atomic
def email_opt_out_record(*, recipient: object, reason: str, send_id: int | None = None) -> int:
    """Put do-not-contact (``bounced`` or ``complaint``) on the email channels of every contact with
    that address, all or none; returns how many contacts it concerned. An address we do not know,
    or a value that is not an email address, changes nothing."""
    source = Source("bounce" if reason == DoNotContact.Reason.BOUNCED else "complaint", send_id=send_id)
    address = event_address(recipient)
    contacts = list(Contact.objects.filter(email__iexact=address)) if address else []
    channels = list(Channel.objects.filter(address_field=Channel.AddressField.EMAIL))
    for contact in contacts:
        for channel in channels:
            channel_unsubscribe(contact=contact, channel=channel, reason=reason, source=source)
    return len(contacts)


def _send_id(event: AnymailTrackingEvent) -> int | None:
    """The send id our messages carry in the provider's metadata, when it is one; else None."""
    value = event.metadata.get("send_id") if isinstance(event.metadata, dict) else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return value if type(value) is int and 0 < value <= MAX_SEND_ID else None


@receiver(tracking, dispatch_uid="messaging.inbound.email_events")
def tracking_event_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    if event.event_type == EventType.BOUNCED and is_hard_bounce(event, esp_name):
        reason = DoNotContact.Reason.BOUNCED
    elif event.event_type == EventType.COMPLAINED:
        reason = DoNotContact.Reason.COMPLAINT
    else:
        return
    found = email_opt_out_record(recipient=event.recipient, reason=reason, send_id=_send_id(event))
    log.info("%s %s from %r: %d contact(s)", esp_name, event.event_type, event.recipient, found)
