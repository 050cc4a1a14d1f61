"""A few minutes to take back an unsubscribe made on the page."""

import re
import time

import pytest
from django.core import signing

from contacts.models import Channel, DoNotContact, PreferenceChange
from contacts.services import channel_unsubscribe
from contacts.tests.factories import ContactFactory

from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def undo_value(response) -> str:
    match = re.search(r'name="undo" value="([^"]+)"', response.content.decode())
    assert match, "the page offers an undo button"
    return match.group(1)


def dnc(contact) -> set[tuple[str, str]]:
    return set(DoNotContact.objects.filter(contact=contact).values_list("channel__slug", "reason"))


def test_an_unsubscribe_on_the_page_can_be_undone_and_both_are_in_the_history(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    assert dnc(send.contact) == {("email", "unsubscribed")}
    response = client.post(page_url(send), {"action": "undo", "undo": undo_value(response)})
    assert "Undone: you will receive Email messages again." in response.content.decode()
    assert dnc(send.contact) == set()
    history = PreferenceChange.objects.filter(contact=send.contact, kind="dnc").order_by("pk")
    assert [(c.old_value, c.new_value, c.source, c.send_id) for c in history] == [
        (None, "unsubscribed", "public_page", send.pk), ("unsubscribed", None, "public_page", send.pk),
    ]


def test_undo_after_ten_minutes_is_refused_and_changes_nothing(client, monkeypatch):
    send = delivered_send(ContactFactory())
    with monkeypatch.context() as past:
        past.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(time.time()) - 601))
        response = client.post(page_url(send), {"action": "unsubscribe"})
    response = client.post(page_url(send), {"action": "undo", "undo": undo_value(response)})
    assert "The time to undo has passed" in response.content.decode()
    assert dnc(send.contact) == {("email", "unsubscribed")}


def test_an_undo_of_another_send_or_a_forged_one_is_refused(client):
    mine, theirs = delivered_send(ContactFactory()), delivered_send(ContactFactory())
    value = undo_value(client.post(page_url(theirs), {"action": "unsubscribe"}))
    client.post(page_url(mine), {"action": "unsubscribe"})
    for forged in (value, value[:-2] + "xx", "", "{}"):
        response = client.post(page_url(mine), {"action": "undo", "undo": forged})
        assert "This undo button is not valid." in response.content.decode()
    assert dnc(mine.contact) == dnc(theirs.contact) == {("email", "unsubscribed")}


def test_undo_of_unsubscribe_from_all_lifts_only_what_it_put(client):
    contact = ContactFactory()
    channel_unsubscribe(contact=contact, channel=Channel.objects.get(slug="sms"), source="system", reason="manual")
    send = delivered_send(contact)
    response = client.post(page_url(send), {"action": "unsubscribe_all"})
    assert dnc(contact) == {("email", "unsubscribed"), ("sms", "manual")}
    client.post(page_url(send), {"action": "undo", "undo": undo_value(response)})
    assert dnc(contact) == {("sms", "manual")}


def test_one_click_offers_no_undo(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and 'name="undo"' not in response.content.decode()
