"""Bounces and spam complaints reported by the email provider through django-anymail's tracking webhooks."""

from __future__ import annotations

import logging

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver

from contacts.models import Channel, Contact, DoNotContact
from contacts.services import Source, channel_unsubscribe

log = logging.getLogger(__name__)

# Providers that report temporary failures as "bounced" too, and the field that says so.
SOFT_BOUNCE_TYPES = {"postmark": ("Type", {"SoftBounce", "Transient", "DnsError"})}


def is_hard_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Anymail's "bounced" means a permanent failure, except where a provider files soft ones there too."""
    field, soft = SOFT_BOUNCE_TYPES.get(esp_name.lower(), (None, set()))
    if field and isinstance(event.esp_event, dict) and event.esp_event.get(field) in soft:
        return False
    return True


def email_opt_out_record(*, recipient: str, reason: str, send_id: int | None = None) -> int:
    """Put do-not-contact (``bounced`` or ``complaint``) on the email channels of every contact with
    that address; returns how many contacts it concerned. An address we do not know changes nothing."""
    source = Source("bounce" if reason == DoNotContact.Reason.BOUNCED else "complaint", send_id=send_id)
    contacts = list(Contact.objects.filter(email__iexact=recipient.strip())) if recipient else []
    channels = list(Channel.objects.filter(address_field=Channel.AddressField.EMAIL))
    for contact in contacts:
        for channel in channels:
            channel_unsubscribe(contact=contact, channel=channel, reason=reason, source=source)
    return len(contacts)


def _send_id(event: AnymailTrackingEvent) -> int | None:
    value = (event.metadata or {}).get("send_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@receiver(tracking, dispatch_uid="messaging.inbound.email_events")
def tracking_event_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    if event.event_type == EventType.BOUNCED and is_hard_bounce(event, esp_name):
        reason = DoNotContact.Reason.BOUNCED
    elif event.event_type == EventType.COMPLAINED:
        reason = DoNotContact.Reason.COMPLAINT
    else:
        return
    found = email_opt_out_record(recipient=event.recipient or "", reason=reason, send_id=_send_id(event))
    log.info("%s %s from %s: %d contact(s)", esp_name, event.event_type, event.recipient, found)
