"""Custom field tokens in message bodies: {field:key} and {field:key|fallback}, escaped in HTML."""

from email import message_from_bytes, policy

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from contacts.models import Channel
from contacts.services import contact_fields_update
from contacts.tests.factories import ContactFieldFactory, UserFactory
from messaging.delivery.rendering import Delivery, MessageRenderer, field_token_errors
from messaging.models import Message, MessageVersion, OutboxMessage

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 5, 12, 0)
PAYLOAD = "\"'><img src=x onerror=alert(1)>"
ESCAPED = "&quot;&#x27;&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def company(db):
    ContactFieldFactory(key="vip", label="VIP", type="boolean")
    return ContactFieldFactory(key="company", label="Company")


def email_version(message, **bodies):
    return MessageVersion.objects.create(message=message, channel=Channel.objects.get(slug="email"), **bodies)


def test_field_tokens_are_filled_per_contact_with_the_fallback_for_those_without_a_value(members, company):
    with_value, without = members(first_name="Ana"), members(first_name="Bo")
    contact_fields_update(contact=with_value, values={"company": f"Acme {PAYLOAD}", "vip": "yes"}, source="system")
    message = MessageFactory(channels=[], segments=[members.segment])
    email_version(message, subject="News for {field:company|you}", text_body="Hi {field:company|there} ({field:vip})",
                  html_body='<p title="{field:company}">Hi {field:company|there}</p>')
    run_dispatch(message, now=NOW)

    by_recipient = {sent.to[0]: message_from_bytes(sent.message().as_bytes(), policy=policy.default)
                    for sent in mail.outbox}
    first, second = by_recipient[with_value.email], by_recipient[without.email]
    assert first["Subject"] == f"News for Acme {PAYLOAD}"
    assert first.get_body(("plain",)).get_content().startswith(f"Hi Acme {PAYLOAD} (yes)")
    html = first.get_body(("html",)).get_content()
    assert "<img" not in html and f'<p title="Acme {ESCAPED}">Hi Acme {ESCAPED}</p>' in html
    assert second["Subject"] == "News for you"
    assert second.get_body(("plain",)).get_content().startswith("Hi there ()")
    assert '<p title="">Hi there</p>' in second.get_body(("html",)).get_content()


def test_a_fallback_with_markup_is_escaped_in_html_too(members, company):
    members()
    message = MessageFactory(channels=[], segments=[members.segment])
    email_version(message, subject="x", text_body="x", html_body="<p>{field:company|<b>friend</b>}</p>")
    run_dispatch(message, now=NOW)
    (sent,) = mail.outbox
    html = message_from_bytes(sent.message().as_bytes(), policy=policy.default).get_body(("html",)).get_content()
    assert "<p>&lt;b&gt;friend&lt;/b&gt;</p>" in html


def test_an_sms_uses_field_tokens(members, company, sms):
    contact = members()
    contact_fields_update(contact=contact, values={"company": "Acme"}, source="system")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    message.versions.update(text_body="Offer for {field:company|you}. STOP to end")
    run_dispatch(message, now=NOW)
    assert OutboxMessage.objects.get(send=send_of(message, contact)).body == "Offer for Acme. STOP to end"


def test_a_message_without_field_tokens_reads_no_fields(members, company, django_assert_max_num_queries):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    renderer = MessageRenderer(message, message.versions.get())
    assert renderer.field_keys == frozenset()
    delivery = Delivery(send_id=1, contact_id=1, first_name="Ana", last_name="", address="a@example.com")
    assert "{field:" not in renderer.email(delivery)[1]


def test_the_editor_names_unknown_and_malformed_field_tokens(company):
    assert field_token_errors("Hi {field:company|there} {field:shoe_size} {field:Bad Key}", {"company"}) == [
        "{field:Bad Key} is not a valid field token: write {field:key} or {field:key|fallback}.",
        "{field:shoe_size}: there is no contact field with the key “shoe_size”.",
    ]


def test_a_message_with_an_unknown_field_token_is_not_saved(client, members, company, email):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    response = client.post(reverse("messaging:message_create"), {
        "name": "Spring", "segments": [members.segment.pk],
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "1",
        "versions-MAX_NUM_FORMS": "1000", "versions-0-channel": email.pk, "versions-0-position": "0",
        "versions-0-subject": "Hi {field:company}", "versions-0-text_body": "Hello {field:compnay|there}",
        "versions-0-html_body": "",
    })
    assert response.status_code == 200
    assert "there is no contact field with the key “compnay”" in response.content.decode()
    assert not Message.objects.filter(name="Spring").exists()


def test_the_preview_fills_field_tokens(client, members, company):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    contact = members(first_name="Ana")
    contact_fields_update(contact=contact, values={"company": "Acme"}, source="system")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    message.versions.update(text_body="Offer for {field:company|you}")
    page = client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.email})
    assert "Offer for Acme" in page.content.decode()
