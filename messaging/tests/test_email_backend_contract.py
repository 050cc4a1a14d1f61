"""What the email channel relies on in Django's email API, checked against a real SMTP server.

The channel builds each email's bytes itself (for speed) and hands them over through public API
only: Django's SMTP backend's ``open()``, ``close()`` and ``connection.sendmail``, and for every
other backend an ``EmailMessage`` subclass overriding ``message()``. If a Django upgrade changes
any of it, these tests fail before a release does.
"""

import io
import smtplib
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from messaging.delivery.backends.email import PrebuiltEmail, _send

from .test_delivery import Inbox, free_port

DATA = (
    b"From: News <news@example.org>\r\nTo: Ana <ana@example.com>\r\nSubject: =?utf-8?b?SMOpbGxv?=\r\n"
    b"Message-ID: <send-7.abc@example.org>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"SMOpbGxvIEFuYQ==\r\n"
)


# Two parts, as the channel builds an email with an HTML version.
MULTIPART = DATA.replace(
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\nSMOpbGxvIEFuYQ==\r\n',
    b'Content-Type: multipart/alternative; boundary="=_b"\r\n\r\n--=_b\r\n'
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\nSMOpbGxvIEFuYQ==\r\n'
    b'--=_b\r\nContent-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"PHA+SMOpbGxvPC9wPg==\r\n--=_b--\r\n",
)


def prebuilt(to: str = "ana@example.com", data: bytes = DATA) -> PrebuiltEmail:
    return PrebuiltEmail(send_id=7, from_email="news@example.org", to=to, data=data)


@pytest.fixture
def inbox():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def test_djangos_smtp_backend_opens_one_smtplib_connection_and_closes_it(inbox):
    backend = SMTPBackend(host="127.0.0.1", port=inbox.port, use_tls=False, use_ssl=False, fail_silently=False)
    assert backend.open() is True  # a new connection
    assert isinstance(backend.connection, smtplib.SMTP)
    assert backend.open() is False  # already open: reused, as the channel's session expects
    backend.close()
    assert backend.connection is None


def test_the_smtp_connection_takes_the_prebuilt_bytes_unchanged(inbox):
    with SMTPBackend(host="127.0.0.1", port=inbox.port, use_tls=False, use_ssl=False) as backend:
        assert _send(backend, prebuilt()) is True
    assert inbox.received == [(["ana@example.com"], DATA)]


def test_an_address_needing_encoding_goes_through_djangos_send_messages(inbox):
    with SMTPBackend(host="127.0.0.1", port=inbox.port, use_tls=False, use_ssl=False) as backend:
        assert _send(backend, prebuilt(to="ana@exämple.com")) is True
    ((recipients, data),) = inbox.received
    assert recipients == ["ana@xn--exmple-cua.com"]  # Django encoded the domain
    assert message_from_bytes(data)["Message-ID"] == "<send-7.abc@example.org>"


@pytest.mark.parametrize("data", [DATA, MULTIPART], ids=["text", "text-and-html"])
def test_djangos_smtp_send_messages_sends_what_message_returns_byte_for_byte(inbox, data):
    with SMTPBackend(host="127.0.0.1", port=inbox.port, use_tls=False, use_ssl=False) as backend:
        assert backend.send_messages([prebuilt(data=data)]) == 1
    assert inbox.received == [(["ana@example.com"], data)]


def test_every_other_django_backend_takes_a_prebuilt_email():
    stream = io.StringIO()
    assert ConsoleBackend(stream=stream).send_messages([prebuilt()]) == 1
    assert "Message-ID: <send-7.abc@example.org>" in stream.getvalue()
    mail.outbox = []
    assert LocmemBackend().send_messages([prebuilt()]) == 1
    (kept,) = mail.outbox
    assert kept.message().get_payload(decode=True).decode() == "Héllo Ana"
    assert kept.recipients() == ["ana@example.com"]
