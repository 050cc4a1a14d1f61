"""Test sends (proofs): rendering: the message as contacts would get it, marked as a test everywhere a
reader looks (subject, first lines of the text and HTML parts, the SMS), with links that lead
nowhere, since a test has no send for them to act on."""

from __future__ import annotations

import html
import secrets

from django.conf import settings
from django.utils.translation import gettext as _

from messaging.delivery.rendering import Delivery, MessageRenderer

TEST_PREFIX = "[TEST]"
_BANNER_STYLE = (
    "background:#fff3cd;color:#332701;border:1px solid #997404;padding:8px 12px;margin:0 0 12px;"
    "font-family:sans-serif;font-size:14px"
)


def test_delivery_id() -> int:
    """A test delivery's id: negative (no send row has it) and unique, so a provider that drops a
    repeated Message-ID or idempotency key never mistakes one test for another, or for a send."""
    return -(secrets.randbits(62) + 1)


def is_test_delivery(send_id: int | None) -> bool:
    return send_id is not None and send_id < 0


class TestSendRenderer(MessageRenderer):
    """A ``MessageRenderer`` whose output says it is a test, sent by whom."""

    def __init__(self, *args, sent_by: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent_by = sent_by

    def banner(self) -> str:
        return _("TEST SEND of “%(message)s” by %(user)s. Not sent to any contact; its links do not work.") % {
            "message": self.message.name, "user": self.sent_by,
        }

    def values(self, delivery: Delivery) -> dict[str, str]:
        inert = f"{settings.SITE_URL.rstrip('/')}/messaging/u/test/"
        return {"{first_name}": delivery.first_name, "{unsubscribe_url}": inert, "{preferences_url}": inert,
                "{unsubscribe_text}": ""}

    def email(self, delivery: Delivery):
        subject, text, html_body, values = super().email(delivery)
        banner = self.banner()
        text = f"{banner}\n\n{text}"
        if html_body is not None:
            block = f'<div style="{_BANNER_STYLE}">{html.escape(banner)}</div>'
            opening = html_body.lower().find("<body")
            end = html_body.find(">", opening) if opening >= 0 else -1
            html_body = html_body[: end + 1] + block + html_body[end + 1 :] if end >= 0 else block + html_body
        return f"{TEST_PREFIX} {subject}", text, html_body, values

    def sms(self, delivery: Delivery) -> str:
        return f"{TEST_PREFIX} {super().sms(delivery)}"
