"""Email through Django's email backend API, from pre-built bytes.

Building a full ``EmailMessage`` per contact costs more than the SMTP exchange itself; the
message here is assembled once per batch as header and part templates, and each contact only
fills in names, links and base64 bodies. With Django's SMTP backend those bytes go to its open
connection's ``sendmail`` as they are; any other Django email backend (the Outbox in the demo,
locmem in tests, an ESP's) gets a ``PrebuiltEmail``, an ``EmailMessage`` whose ``message()`` (the
method Django documents for subclasses to override) returns them parsed. Only public API is used;
``messaging/tests/test_email_backend_contract.py`` fails if Django changes any of it.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from contextlib import contextmanager
from email import message_from_bytes
from email.header import Header
from email.message import Message
from email.utils import formataddr, formatdate
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from messaging.addresses import sender_parts
from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.delivery.backends import ChannelBackend

OUTBOX_EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
# An envelope address the SMTP connection may take as it is: printable ASCII, no space. Anything
# else (an international domain, say) goes through Django's send_messages, which encodes it.
PLAIN_ADDRESS = re.compile(r"[!-~]+\Z")


class ParsedEmail(Message):
    """The assembled bytes parsed back into a standard-library message. Django's backends ask its
    bytes with a ``linesep`` (CRLF for SMTP); it renders them unchanged."""

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n", policy=None) -> bytes:
        return super().as_bytes(unixfrom, policy=(policy or self.policy).clone(linesep=linesep))

    def as_string(self, unixfrom: bool = False, maxheaderlen: int = 0, policy=None, linesep: str = "\n") -> str:
        return super().as_string(unixfrom, maxheaderlen, policy=(policy or self.policy).clone(linesep=linesep))


class PrebuiltEmail(mail.EmailMessage):
    """One contact's email, its MIME text already assembled (``data``, CRLF line ends)."""

    def __init__(self, *, send_id: int, from_email: str, to: str, data: bytes):
        super().__init__(from_email=from_email, to=[to])
        self.send_id, self.data = send_id, data

    def message(self, **kwargs):
        """The assembled text, parsed: what every Django email backend reads."""
        return message_from_bytes(self.data, _class=ParsedEmail)

    @property
    def plain_envelope(self) -> bool:
        return all(PLAIN_ADDRESS.match(address) for address in (self.from_email, *self.to))


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
            f"Message-ID: {self.message_id(delivery, common)}",
            "MIME-Version: 1.0",
        ]
        lines += [f"{name}: {value}" for name, value in self.list_headers(renderer, values, common)]
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

    @staticmethod
    def message_id(delivery: Delivery, common: dict) -> str:
        # One Message-ID per send: a receiver can drop the copy a crash might re-send.
        return f"<send-{delivery.send_id}.{common['install']}@{common['domain']}>"

    @staticmethod
    def list_headers(renderer: MessageRenderer, values: dict, common: dict) -> list[tuple[str, str]]:
        """List-Id, List-Unsubscribe (RFC 2369) and one-click (RFC 8058) of a marketing email."""
        if not renderer.marketing:
            return []
        unsubscribe = f"<{values['{unsubscribe_url}']}>"
        if common["mailto"]:
            token = values["{unsubscribe_url}"].rstrip("/").rsplit("/", 1)[-1]
            unsubscribe += f", <mailto:{common['mailto']}?subject={quote('unsubscribe ' + token)}>"
        return [
            ("List-Id", common["list_id"]),
            ("List-Unsubscribe", unsubscribe),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]

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
            "mailto": settings.UNSUBSCRIBE_MAILTO,
            "list_id": f"{_header(message.name, 'List-Id')} <message-{message.pk}.{domain}>",
            "boundary": f"=_{secrets.token_hex(12)}".encode(),
        }

    @contextmanager
    def session(self, renderer: MessageRenderer):
        """One connection for the whole session; a refused recipient fails that send only."""
        try:
            common = self.common_headers(renderer)
        except ValidationError:
            # A sender saved before senders were checked: free text must not reach the envelope or From.
            yield lambda deliveries: {d.send_id: "The message's sender is not one valid email address." for d in deliveries}
            return
        with mail.get_connection(fail_silently=False) as connection:

            def hand_over(deliveries: list[Delivery]) -> dict[int, str]:
                errors: dict[int, str] = {}
                for delivery in deliveries:
                    try:
                        email = self.build(renderer, delivery, common=common)
                    except (UnicodeError, ValueError) as error:
                        errors[delivery.send_id] = f"Could not build the email: {error}"
                        continue
                    try:
                        if not _send(connection, email):
                            errors[email.send_id] = "The email backend did not accept the message."
                    except Exception as error:  # noqa: BLE001 - any backend error is this send's error
                        errors[email.send_id] = f"{type(error).__name__}: {error}"[:1000]
                        if isinstance(connection, SMTPBackend) and not _still_connected(connection):
                            connection.close()
                            connection.open()
                return errors

            yield hand_over


def _send(connection, email: PrebuiltEmail) -> bool:
    """Hand one email to the backend; whether it accepted it (an SMTP refusal raises)."""
    if isinstance(connection, SMTPBackend) and email.plain_envelope:
        connection.open()  # no-op while open; Django's own send_messages does the same first
        connection.connection.sendmail(email.from_email, email.to, email.data)
        return True
    # Django's SMTP backend answers 0 when it could not connect.
    return connection.send_messages([email]) == 1


def _still_connected(connection: SMTPBackend) -> bool:
    if connection.connection is None:
        return False
    try:
        return connection.connection.noop()[0] == 250
    except Exception:  # noqa: BLE001
        return False
