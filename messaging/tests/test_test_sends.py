"""Test sends: the message's versions reach a few staff addresses through the real backends (a real
SMTP server here), marked as a test, with no send row, and only as many and as often as allowed."""

from email import message_from_bytes, policy

import pytest
from django.urls import reverse

from contacts.models import StaffChange
from contacts.tests.concurrency import race
from contacts.tests.factories import UserFactory
from messaging import services
from messaging.models import OutboxMessage, Send

from .factories import MessageFactory
from .test_delivery import smtp_server  # noqa: F401 (fixture)
from .test_staff import marketer, viewer  # noqa: F401 (fixtures)


@pytest.fixture
def message(db):
    return MessageFactory(name="Spring sale", channels=["email", "sms"])


def mails(inbox):
    return [(rcpt, message_from_bytes(content, policy=policy.default)) for rcpt, content in inbox.received]


def test_each_address_gets_the_email_marked_as_a_test_through_smtp(client, marketer, message, smtp_server):  # noqa: F811
    response = client.post(reverse("messaging:message_test_send", args=[message.pk]),
                           {"recipients": "ana@example.org, Bob@Example.ORG"})
    assert "Handed over" in response.content.decode()
    received = mails(smtp_server)
    assert sorted(rcpt[0] for rcpt, _mail in received) == ["Bob@example.org", "ana@example.org"]
    mail = received[0][1]
    assert mail["Subject"].startswith("[TEST] Hello")
    assert mail.get_body(("plain",)).get_content().startswith("TEST SEND of “Spring sale”")
    assert "TEST SEND of “Spring sale”" in mail.get_body(("html",)).get_content()
    assert received[0][1]["Message-ID"] != received[1][1]["Message-ID"]
    assert not Send.objects.exists()  # nothing a cap, a report or a contact's timeline counts


def test_a_phone_number_gets_the_sms_version_prefixed_as_a_test(client, marketer, message):  # noqa: F811
    client.post(reverse("messaging:message_test_send", args=[message.pk]), {"recipients": "+33 6 12 34 56 78"})
    text = OutboxMessage.objects.get(channel_slug="sms")
    assert text.to == "+33612345678" and text.body.startswith("[TEST] Spring sale") and text.send_id is None


def test_an_invalid_address_is_named_and_nothing_is_sent(client, marketer, message, smtp_server):  # noqa: F811
    response = client.post(reverse("messaging:message_test_send", args=[message.pk]),
                           {"recipients": "ana@example.org, not-an-address"})
    assert "“not-an-address” is neither an email address nor a phone number" in response.content.decode()
    assert smtp_server.received == [] and not StaffChange.objects.exists()


def test_a_channel_without_a_version_is_refused(client, marketer, smtp_server):  # noqa: F811
    email_only = MessageFactory(channels=["email"])
    response = client.post(reverse("messaging:message_test_send", args=[email_only.pk]), {"recipients": "+33612345678"})
    assert "no version for +33612345678" in response.content.decode() and not OutboxMessage.objects.exists()


def test_more_recipients_than_allowed_are_refused(client, marketer, message, settings, smtp_server):  # noqa: F811
    settings.MESSAGING_TEST_SEND_MAX_RECIPIENTS = 2
    response = client.post(reverse("messaging:message_test_send", args=[message.pk]),
                           {"recipients": "a@example.org, b@example.org\nc@example.org"})
    assert "at most 2 recipients; you entered 3" in response.content.decode() and smtp_server.received == []


def test_tests_beyond_the_hourly_allowance_are_refused_and_each_test_is_audited(client, marketer, message, settings):  # noqa: F811
    settings.MESSAGING_TEST_SENDS_PER_HOUR = 2
    url = reverse("messaging:message_test_send", args=[message.pk])
    for _ in range(3):
        response = client.post(url, {"recipients": "ana@example.org"})
    assert "You may send 2 tests an hour" in response.content.decode()
    rows = StaffChange.objects.filter(subject_type="message", subject_id=message.pk)
    assert [row.changes for row in rows] == [{"test send": [None, "ana@example.org"]}] * 2


def test_viewers_are_not_shown_the_test_form_and_cannot_send_tests(client, viewer, message):  # noqa: F811
    assert 'id="test-send"' not in client.get(message.get_absolute_url()).content.decode()
    assert client.get(reverse("messaging:message_test_send", args=[message.pk])).status_code == 403
    assert client.post(reverse("messaging:message_test_send", args=[message.pk]),
                       {"recipients": "ana@example.org"}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_tests_sent_at_once_by_one_person_count_each_other(settings):
    settings.MESSAGING_TEST_SENDS_PER_HOUR = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message, user = MessageFactory(channels=["email"]), UserFactory()
    send = lambda: services.message_test_send(message=message, recipients="ana@example.org", acting_user=user)  # noqa: E731
    first, second = race(send, send, second_may_fail=True)
    assert first.error is None and isinstance(second.error, services.TestSendRefused)
