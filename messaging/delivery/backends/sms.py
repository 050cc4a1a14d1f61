"""SMS backends: a development one that keeps messages in the Outbox, and Twilio over HTTPS."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from messaging.models import OutboxMessage
from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.delivery.backends import ChannelBackend


class SmsBackend(ChannelBackend):
    def deliver(self, renderer: MessageRenderer, deliveries: list[Delivery]) -> dict[int, str]:
        errors = {}
        for delivery in deliveries:
            error = self.send_text(delivery=delivery, body=renderer.sms(delivery))
            if error:
                errors[delivery.send_id] = error
        return errors

    def send_text(self, *, delivery: Delivery, body: str) -> str | None:
        """Hand one text over; return an error message, or None once the provider accepted it."""
        raise NotImplementedError


class DevelopmentSmsBackend(SmsBackend):
    """Stores each text in the Outbox, in the deciding transaction: exactly once, never lost."""

    in_transaction = True

    def deliver(self, renderer, deliveries):
        OutboxMessage.objects.bulk_create(
            OutboxMessage(send_id=d.send_id if d.send_id > 0 else None, channel_slug=self.channel.slug, to=d.address, body=renderer.sms(d))
            for d in deliveries
        )
        return {}


class TwilioSmsBackend(SmsBackend):
    """Twilio's Messages API. Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER."""

    api = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    timeout = 15

    def send_text(self, *, delivery, body):
        sid = settings.TWILIO_ACCOUNT_SID
        form = urllib.parse.urlencode({"To": delivery.address, "From": settings.TWILIO_FROM_NUMBER, "Body": body})
        request = urllib.request.Request(self.api.format(sid=sid), data=form.encode(), method="POST")
        credentials = base64.b64encode(f"{sid}:{settings.TWILIO_AUTH_TOKEN}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        # The provider drops a repeated request carrying the same key: a retried send is not sent twice.
        request.add_header("I-Twilio-Idempotency-Token", f"send-{delivery.send_id}")
        try:
            with self.open(request) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:500]
            return f"HTTP {error.code}: {detail}"
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return f"Provider unreachable: {error}"
        if payload.get("error_code"):
            return f"Provider error {payload['error_code']}: {payload.get('error_message', '')}"
        return None

    def open(self, request):
        return urllib.request.urlopen(request, timeout=self.timeout)
