"""Email through Postmark's batch API (up to 500 messages a call), built by django-anymail.

Anymail builds each message's JSON exactly as its Postmark backend would (addresses, headers,
HTML part, metadata; settings ``ANYMAIL["POSTMARK_SERVER_TOKEN"]`` and ``POSTMARK_API_URL``).
Anymail's own batch sending needs one body for all recipients (or a template stored at
Postmark); ours are rendered per contact, so the messages go to ``/email/batch`` together here
and Postmark's per-message answers are read back: a refused message fails only its own send.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from anymail.utils import EmailAddress
from django.core.mail import EmailMultiAlternatives

from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.delivery.backends.email import EmailBackend

BATCH_ENDPOINT = "email/batch"


class PostmarkBatchEmailBackend(EmailBackend):
    """Marketing email over Postmark's HTTP API, ``batch_size`` messages per call."""

    # Postmark's limit per call; what a crash can re-send per connection (Postmark takes no
    # idempotency key: each message carries its send id in Metadata and its Message-ID).
    batch_size = 500
    in_transaction = False

    @contextmanager
    def session(self, renderer: MessageRenderer):
        from anymail.backends.postmark import EmailBackend as AnymailPostmark

        common = self.common_headers(renderer)
        esp = AnymailPostmark(fail_silently=False)
        esp.open()
        try:

            def hand_over(deliveries: list[Delivery]) -> dict[int, str]:
                errors: dict[int, str] = {}
                built = []
                for delivery in deliveries:
                    try:
                        built.append((delivery, self.payload(esp, renderer, delivery, common)))
                    except (UnicodeError, ValueError) as error:
                        errors[delivery.send_id] = f"Could not build the email: {error}"
                if built:
                    errors.update(self.post_batch(esp, built, common))
                return errors

            yield hand_over
        finally:
            esp.close()

    def payload(self, esp, renderer: MessageRenderer, delivery: Delivery, common: dict) -> dict:
        """The message as Postmark's JSON. Anymail builds the first of a session in full; the
        others reuse its common part (sender, stream, settings) and set what differs per contact."""
        subject, text, html_body, values = renderer.email(delivery)
        to = EmailAddress(delivery.full_name.replace("\r", " ").replace("\n", " "), delivery.address).address
        headers = [*self.list_headers(renderer, values, common), ("Message-ID", self.message_id(delivery, common))]
        if "postmark" not in common:
            email = EmailMultiAlternatives(subject=subject, body=text, from_email=common["from"], to=[to])
            common["postmark"] = esp.build_message_payload(email, esp.send_defaults)
        data = {**common["postmark"].data, "To": to, "Subject": subject, "TextBody": text,
                "Headers": [{"Name": name, "Value": value} for name, value in headers],
                "Metadata": {"send_id": str(delivery.send_id)}}
        if html_body is not None:
            data["HtmlBody"] = html_body
        return data

    def post_batch(self, esp, built: list[tuple[Delivery, dict]], common: dict) -> dict[int, str]:
        """One call for the group; Postmark answers per message, in order."""
        params = common["postmark"].get_request_params(esp.api_url)
        params.update(url=esp.api_url + BATCH_ENDPOINT, data=json.dumps([data for _, data in built]))
        params.setdefault("timeout", esp.timeout)
        response = esp.session.request(**params)
        if response.status_code != 200:
            error = f"HTTP {response.status_code}: {response.text[:500]}"
            return {delivery.send_id: error for delivery, _ in built}
        answers = response.json()
        if not isinstance(answers, list) or len(answers) != len(built):
            error = f"Unexpected answer from Postmark: {response.text[:500]}"
            return {delivery.send_id: error for delivery, _ in built}
        return {
            delivery.send_id: f"Postmark error {answer.get('ErrorCode')}: {answer.get('Message', '')}"[:1000]
            for (delivery, _), answer in zip(built, answers)
            if answer.get("ErrorCode", 0) != 0
        }
