"""Authenticated webhooks through which providers report opt-outs (SPEC §6): email bounces and
complaints (django-anymail's tracking webhooks) and inbound SMS keywords (Twilio)."""

from __future__ import annotations

from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from messaging.inbound import email_events  # noqa: F401 - connects the anymail tracking receiver
from messaging.inbound.sms import sms_keyword_process, twilio_signature_valid

# Provider name -> anymail's tracking view. Anymail checks the HTTP basic auth of ANYMAIL_WEBHOOK_SECRET.
EMAIL_TRACKING_VIEWS = {"postmark": PostmarkTrackingWebhookView.as_view()}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


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
    (SITE_URL + path) and every POST field; anything unsigned is refused with 403."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseNotFound()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    params = [(name, value) for name, values in request.POST.lists() for value in values]
    valid = twilio_signature_valid(
        url=settings.SITE_URL + request.get_full_path(),
        params=params,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        signature=request.headers.get("X-Twilio-Signature", ""),
    )
    if not valid:
        return HttpResponseForbidden()
    sms_keyword_process(phone=request.POST.get("From", ""), body=request.POST.get("Body", ""))
    # Twilio answers STOP and START itself (Advanced Opt-Out); we add no reply of our own.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
