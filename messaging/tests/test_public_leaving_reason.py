"""The optional reason asked after an unsubscribe on the page, stored with the event and the send."""

import re

import pytest

from contacts.models import PreferenceChange
from contacts.tests.factories import ContactFactory, UserFactory
from messaging import services
from messaging.models import UnsubscribeFeedback

from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def token(response) -> str:
    match = re.search(r'name="reason_token" value="([^"]+)"', response.content.decode())
    assert match, "the page asks for a reason"
    return match.group(1)


def test_a_reason_is_stored_with_the_dnc_event_and_the_send(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    response = client.post(page_url(send), {"action": "reason", "reason_token": token(response),
                                            "reason": "other", "reason_text": "  Moving abroad  "})
    assert "Thank you for telling us." in response.content.decode()
    event = PreferenceChange.objects.get(contact=send.contact, kind="dnc", new_value="unsubscribed")
    feedback = UnsubscribeFeedback.objects.get()
    assert (feedback.change, feedback.send, feedback.reason, feedback.text) == (event, send, "other", "Moving abroad")


def test_unsubscribe_from_all_stores_the_reason_with_each_event_and_drops_text_without_other(client):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {"action": "unsubscribe_all"})
    client.post(page_url(send), {"action": "reason", "reason_token": token(response), "reason": "too_many",
                                 "reason_text": "ignored"})
    assert sorted(UnsubscribeFeedback.objects.values_list("change__channel__slug", "reason", "text")) == [
        ("email", "too_many", ""), ("sms", "too_many", ""),
    ]


def test_the_question_is_optional_and_answering_twice_keeps_the_first(client):
    send = delivered_send(ContactFactory())
    value = token(client.post(page_url(send), {"action": "unsubscribe"}))
    assert "Thank you." in client.post(page_url(send), {"action": "reason", "reason_token": value}).content.decode()
    assert not UnsubscribeFeedback.objects.exists()
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": "not_relevant"})
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": "never_signed_up"})
    assert list(UnsubscribeFeedback.objects.values_list("reason", flat=True)) == ["not_relevant"]


def test_a_reason_token_of_another_send_stores_nothing(client):
    mine, theirs = delivered_send(ContactFactory()), delivered_send(ContactFactory())
    value = token(client.post(page_url(theirs), {"action": "unsubscribe"}))
    response = client.post(page_url(mine), {"action": "reason", "reason_token": value, "reason": "too_many"})
    assert "This form has expired" in response.content.decode()
    assert not UnsubscribeFeedback.objects.exists()


def test_one_click_asks_nothing(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert 'name="reason_token"' not in response.content.decode()


def test_a_designed_page_asks_only_with_its_reason_block(client):
    staff = UserFactory(is_superuser=True)
    pages = {}
    for name, blocks in (("asks", [{"kind": "unsubscribe"}, {"kind": "reason"}]), ("silent", [{"kind": "unsubscribe"}])):
        page = services.page_create(acting_user=staff, name=name, default_language="en")
        services.page_version_save(page=page, acting_user=staff, language="en", blocks=blocks)
        pages[name] = services.page_publish(page=page, acting_user=staff)
    asks = client.post(page_url(delivered_send(ContactFactory(), preference_page=pages["asks"])), {"action": "unsubscribe"})
    silent = client.post(page_url(delivered_send(ContactFactory(), preference_page=pages["silent"])), {"action": "unsubscribe"})
    assert 'name="reason_token"' in asks.content.decode() and 'name="reason_token"' not in silent.content.decode()
