"""What goes on the wire to the SMTP server: CRLF line ends only, and a sender that is one address."""

from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32

import pytest
from messaging.forms import MessageForm
from messaging.models import Message

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware
from .test_delivery import smtp_server  # noqa: F401 - a real SMTP server on localhost

NOW = aware(2026, 3, 5, 12, 0)
LONG_SUBJECT = "Ünsere größten Rabatte des Jahres — jetzt für kurze Zeit, nur für Sie, {first_name}: " * 2
LONG_NAME = "Zoë-Åsa Þórdís Øyvindsdóttir-Ñúñez Łukasiewicz-Škodová"


def test_a_long_non_ascii_subject_and_names_are_folded_with_crlf_only(members, smtp_server):  # noqa: F811
    contact = members(first_name=LONG_NAME, last_name="Ĳsselmeer-Müller " * 5)
    message = MessageFactory(name="Frühjahrs-Neuigkeiten für Kundinnen und Kunden " * 3, channels=["email"],
                             segments=[members.segment], from_email="Ünser Großes Team Ørsted Ålesund Þingvellir <news@example.org>")
    message.versions.update(subject=LONG_SUBJECT)

    run_dispatch(message, now=NOW)

    (_recipients, data), = smtp_server.received
    lines = data.split(b"\r\n")
    assert not [line for line in lines if b"\n" in line or b"\r" in line]  # no bare LF, no bare CR
    assert max(len(line) for line in lines) <= 998
    # Decoded as RFC 2047 says: the white space between two encoded words is not part of the text.
    mail = message_from_bytes(data, policy=compat32)
    decoded = {name: str(make_header(decode_header(mail[name]))) for name in ("Subject", "To", "From", "List-Id")}
    assert decoded["Subject"] == LONG_SUBJECT.replace("{first_name}", LONG_NAME)
    assert decoded["To"] == f"{contact.full_name} <{contact.email}>"
    assert decoded["From"] == "Ünser Großes Team Ørsted Ålesund Þingvellir <news@example.org>"
    assert decoded["List-Id"] == f"{message.name} <message-{message.pk}.localhost>"


def message_form(from_email: str, segment) -> MessageForm:
    return MessageForm(data={"name": "Spring", "segments": [segment.pk], "from_email": from_email})


@pytest.mark.parametrize("sender", ["not an email", "Evil\r\nBcc: victim@example.com", "news@example.org\nX: y",
                                    "a@example.org, b@example.org", "News <news@example.org> extra"])
def test_the_message_form_refuses_a_sender_that_is_not_one_address(members, sender):
    form = message_form(sender, members.segment)
    assert not form.is_valid()
    assert "Enter one email address" in form.errors["from_email"][0]


@pytest.mark.parametrize("sender", ["", "news@example.org", "Ünser Team <news@example.org>", '"Team, News" <n@example.org>'])
def test_the_message_form_accepts_one_address_with_or_without_a_name(members, sender):
    assert message_form(sender, members.segment).is_valid()


@pytest.mark.parametrize("sender", ["not an email", "Evil\r\nBcc: victim@example.com"])
def test_an_old_message_with_a_bad_sender_fails_its_sends_and_sends_nothing(members, smtp_server, settings, sender):  # noqa: F811
    settings.MESSAGING_MAX_ATTEMPTS = 1
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    Message.objects.filter(pk=message.pk).update(from_email=sender)  # saved before senders were checked
    message.refresh_from_db()

    run_dispatch(message, now=NOW)

    assert smtp_server.received == []
    send = send_of(message, contact)
    assert send.outcome == "failed" and "sender" in send.last_error
