"""SMS keywords (STOP, START, …) from the SMS provider's inbound webhook, and Twilio's request signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from django.db import transaction
from django.utils.crypto import constant_time_compare

from contacts.models import Channel, Contact
from contacts.services import PreferencesInvalid, Source, channel_subscribe, channel_unsubscribe
from messaging.models import InboundMessage

log = logging.getLogger(__name__)

# The carriers' and Twilio's standard opt-out and opt-in keywords.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def sms_keyword(body: str) -> str | None:
    """"stop" or "start" when the whole text is one of the keywords (any case, stray punctuation), else None."""
    word = body.strip().strip(".!").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


@transaction.atomic
def sms_keyword_process(*, phone: str, body: str, message_id: str, provider: str = "twilio") -> str | None:
    """Apply an inbound text to every contact with that number: STOP puts do-not-contact
    ``unsubscribed`` on SMS (source ``sms_stop``), START lifts it (``sms_start``) unless it is a
    complaint, which only staff can lift. A provider message id already acted on changes nothing:
    a captured, validly signed START replayed after a STOP must not resubscribe. Returns the
    keyword acted on."""
    keyword = sms_keyword(body)
    if keyword is None or not phone:
        return None
    _row, first_time = InboundMessage.objects.get_or_create(provider=provider, message_id=message_id)
    if not first_time:
        log.info("%s message %s was already acted on: replay ignored", provider, message_id)
        return None
    channels = list(Channel.objects.filter(address_field=Channel.AddressField.PHONE))
    for contact in Contact.objects.filter(phone=phone.strip()):
        for channel in channels:
            if keyword == "stop":
                channel_unsubscribe(contact=contact, channel=channel, source=Source("sms_stop"))
            else:
                try:
                    channel_subscribe(contact=contact, channel=channel, source=Source("sms_start"))
                except PreferencesInvalid:
                    pass  # a complaint or a bounce stays until staff clear it
    return keyword


def twilio_signature(*, url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio computes: HMAC-SHA1 of the URL followed by each POST field
    name and value in field-name order, keyed with the account's auth token, base64-encoded."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(*, url: str, params: list[tuple[str, str]], auth_token: str, signature: str) -> bool:
    if not auth_token or not signature:
        return False
    return constant_time_compare(twilio_signature(url=url, params=params, auth_token=auth_token), signature)
