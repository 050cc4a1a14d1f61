"""Email through Django's email backend API, from pre-built bytes.

Building a full ``EmailMessage`` per contact costs more than the SMTP exchange itself; the
message here is assembled once per batch as header and part templates, and each contact only
fills in names, links and base64 bodies. Any Django email backend accepts the result (SMTP in
production, the Outbox backend in the demo, locmem in tests).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from email.header import Header
from email.utils import formataddr, formatdate
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from ..addresses import sender_parts
from ..rendering import Delivery, MessageRenderer
from . import ChannelBackend

OUTBOX_EMAIL_BACKEND = "messaging.backends.outbox.OutboxEmailBackend"


class RawMessage:
    """The already-encoded message, as Django's email backends read it."""

    def __init__(self, data: bytes):
        self.data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\r\n") -> bytes:
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8")

    def get_charset(self):
        return None


class PrebuiltEmail:
    """Quacks like ``EmailMessage`` for ``send_messages``: sender, recipients, encoded message."""

    encoding = "utf-8"

    def __init__(self, *, send_id: int, from_email: str, to: str, data: bytes):
        self.send_id, self.from_email, self.to, self.data = send_id, from_email, [to], data
        self.cc, self.bcc = [], []

    def recipients(self) -> list[str]:
        return self.to

    def message(self) -> RawMessage:
        return RawMessage(self.data)


def _header(value: str, name: str) -> str:
    """A header value on one line, or RFC 2047-encoded and folded with CRLF (the only line end on
    the wire) when it is not ASCII. Typed line breaks become spaces: they would start a new header."""
    value = value.replace("\r", " ").replace("\n", " ")
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _address(name: str, address: str, header: str) -> str:
    """``Name <address>`` for an address header, the name quoted or encoded as ``_header`` does."""
    name = name.replace("\r", " ").replace("\n", " ")
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))
    return f"{_header(name, header)} <{address}>"


def _body(text: str) -> bytes:
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


class EmailBackend(ChannelBackend):
    """Marketing email with List-Unsubscribe (RFC 2369), one-click (RFC 8058) and List-Id."""

    @property
    def in_transaction(self) -> bool:
        # The demo's Outbox email backend only writes rows: it can hand over inside the decision.
        return settings.EMAIL_BACKEND == OUTBOX_EMAIL_BACKEND

    def build(self, renderer: MessageRenderer, delivery: Delivery, *, common: dict) -> PrebuiltEmail:
        subject, text, html_body, values = renderer.email(delivery)
        lines = [
            f"From: {common['from']}",
            f"To: {_address(delivery.full_name, delivery.address, 'To')}",
            f"Subject: {_header(subject, 'Subject')}",
            f"Date: {common['date']}",
            # One Message-ID per send: a receiver can drop the copy a crash might re-send.
            f"Message-ID: <send-{delivery.send_id}.{common['install']}@{common['domain']}>",
            "MIME-Version: 1.0",
        ]
        if renderer.marketing:
            unsubscribe = f"<{values['{unsubscribe_url}']}>"
            if common["mailto"]:
                token = values["{unsubscribe_url}"].rstrip("/").rsplit("/", 1)[-1]
                unsubscribe += f", <mailto:{common['mailto']}?subject={quote('unsubscribe ' + token)}>"
            lines += [
                f"List-Id: {common['list_id']}",
                f"List-Unsubscribe: {unsubscribe}",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            ]
        head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
        text_part = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        if html_body is None:
            data = head + text_part + _body(text)
        else:
            boundary = common["boundary"]
            data = b"".join(
                [
                    head,
                    b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
                    b"--" + boundary + b"\r\n", text_part, _body(text),
                    b"--" + boundary + b"\r\n",
                    b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
                    _body(html_body),
                    b"--" + boundary + b"--\r\n",
                ]
            )
        return PrebuiltEmail(send_id=delivery.send_id, from_email=common["envelope_from"], to=delivery.address, data=data)

    def common_headers(self, renderer: MessageRenderer) -> dict:
        message = renderer.message
        name, address = sender_parts(message.from_email or settings.DEFAULT_FROM_EMAIL)
        domain = site_domain()
        return {
            "from": _address(name, address, "From"),
            "envelope_from": address,
            "date": formatdate(localtime=False, usegmt=True),
            "domain": domain,
            "install": uuid.uuid5(uuid.NAMESPACE_DNS, domain).hex[:8],
            "mailto": getattr(settings, "UNSUBSCRIBE_MAILTO", ""),
            "list_id": f"{_header(message.name, 'List-Id')} <message-{message.pk}.{domain}>",
            "boundary": f"=_{secrets.token_hex(12)}".encode(),
        }

    def deliver(self, renderer: MessageRenderer, deliveries: list[Delivery]) -> dict[int, str]:
        errors: dict[int, str] = {}
        try:
            common = self.common_headers(renderer)
        except ValidationError:
            # A sender saved before senders were checked: free text must not reach the envelope or From.
            return {delivery.send_id: "The message's sender is not one valid email address." for delivery in deliveries}
        emails = []
        for delivery in deliveries:
            try:
                emails.append(self.build(renderer, delivery, common=common))
            except (UnicodeError, ValueError) as error:
                errors[delivery.send_id] = f"Could not build the email: {error}"
        # One connection for the whole chunk; a refused recipient fails that send only.
        with mail.get_connection(fail_silently=False) as connection:
            for email in emails:
                try:
                    connection.send_messages([email])
                except Exception as error:  # noqa: BLE001 - any backend error is this send's error
                    errors[email.send_id] = f"{type(error).__name__}: {error}"[:1000]
                    if not _still_connected(connection):
                        connection.close()
                        connection.open()
        return errors


def _still_connected(connection) -> bool:
    smtp = getattr(connection, "connection", True)
    if smtp is None:
        return False
    if smtp is True:
        return True
    try:
        return smtp.noop()[0] == 250
    except Exception:  # noqa: BLE001
        return False
