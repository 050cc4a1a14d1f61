"""Authenticated webhooks through which providers report opt-outs (SPEC §6): email bounces and
complaints (django-anymail's tracking webhooks) and inbound SMS keywords (Twilio).

Whatever the body, an authenticated request never gets a 500: a body that cannot be read as the
provider's event is refused with 400 and changes nothing (see docs/security.md, "Webhooks")."""

from __future__ import annotations

import logging
import re

from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseNotFound,
)
from django.views.decorators.csrf import csrf_exempt

from messaging.inbound import email_events  # noqa: F401 - connects the anymail tracking receiver
from messaging.inbound.sms import sms_keyword_process, twilio_signature_valid
from messaging.public.views import posted_form

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio's message SIDs: two letters and 32 hex digits; anything of that alphabet up to 64 is accepted.
MESSAGE_SID_RE = re.compile(r"[A-Za-z0-9]{2,64}")


class WebhookBodyInvalid(SuspiciousOperation):
    """An authenticated webhook whose body is not an event the provider sends: answered with 400,
    the same way anymail answers a wrong secret."""


class ReadableEventsOnly:
    """Anymail parses the provider's JSON itself and lets any surprise (not JSON, not UTF-8, a list
    instead of an object, a number where a date goes, nesting too deep) escape as a 500. Parsing
    reads and changes nothing, so every such failure is the body's fault: refuse it with 400."""

    def parse_events(self, request):
        try:
            return super().parse_events(request)
        except Exception as error:  # noqa: BLE001 - see the class docstring: parsing has no side effect
            raise WebhookBodyInvalid(f"Unreadable {self.esp_name} webhook body ({type(error).__name__}).") from None


class PostmarkTracking(ReadableEventsOnly, PostmarkTrackingWebhookView):
    pass


# Provider name -> anymail's tracking view. Anymail checks the HTTP basic auth of ANYMAIL_WEBHOOK_SECRET.
EMAIL_TRACKING_VIEWS = {"postmark": PostmarkTracking.as_view()}


@csrf_exempt
def email_tracking(request, esp: str):
    """Off (404) until a webhook secret is configured: anymail would otherwise accept anyone's events."""
    view = EMAIL_TRACKING_VIEWS.get(esp)
    if view is None or not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return HttpResponseNotFound()
    return view(request)


@csrf_exempt
def twilio_sms(request):
    """Twilio's "a message comes in" webhook. The signature covers the public URL Twilio calls
    (SITE_URL + path) and every POST field; anything unsigned is refused with 403. A signed request
    that is not a message Twilio sends (no MessageSid, a NUL character) is refused with 400."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseNotFound()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = posted_form(request)
    if form is None:
        return HttpResponseBadRequest()
    params = [(name, value) for name, values in form.lists() for value in values]
    valid = twilio_signature_valid(
        url=settings.SITE_URL + request.get_full_path(),
        params=params,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        signature=request.headers.get("X-Twilio-Signature", ""),
    )
    if not valid:
        return HttpResponseForbidden()
    message_sid = form.get("MessageSid", "")
    if not MESSAGE_SID_RE.fullmatch(message_sid) or any("\x00" in name + value for name, value in params):
        log.warning("Signed Twilio request that is not an inbound message: refused")
        return HttpResponseBadRequest()
    sms_keyword_process(phone=form.get("From", ""), body=form.get("Body", ""), message_id=message_sid)
    # Twilio answers STOP and START itself (Advanced Opt-Out); we add no reply of our own.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
