"""A Django email backend for the demo: every email lands in the staff Outbox instead of a mailbox."""

from __future__ import annotations

from email import message_from_bytes, policy

from django.core.mail.backends.base import BaseEmailBackend

from messaging.models import OutboxMessage


def _send_id(send_id: int | None) -> int | None:
    # A test send's deliveries carry a negative id that no send row has.
    return send_id if send_id is not None and send_id > 0 else None


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        rows = []
        for email in email_messages:
            parsed = message_from_bytes(email.message().as_bytes(linesep="\r\n"), policy=policy.default)
            text = parsed.get_body(("plain",))
            html_part = parsed.get_body(("html",))
            rows.append(
                OutboxMessage(
                    send_id=_send_id(getattr(email, "send_id", None)),
                    channel_slug="email",
                    to=", ".join(email.recipients()),
                    subject=str(parsed.get("Subject", "")),
                    body=text.get_content() if text else "",
                    html_body=html_part.get_content() if html_part else "",
                    headers={key: str(value) for key, value in parsed.items()},
                )
            )
        OutboxMessage.objects.bulk_create(rows)
        return len(rows)
