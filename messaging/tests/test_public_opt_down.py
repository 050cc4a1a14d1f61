"""Opting down instead of out: fewer messages or a month's pause, recorded as a save."""

import datetime

import pytest
from django.utils import timezone

from contacts.models import ChannelPreference, DoNotContact, PreferenceChange
from contacts.rules import contact_today
from contacts.tests.factories import ContactFactory, UserFactory
from messaging import services

from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def test_fewer_messages_sets_the_cap_chosen_and_is_a_save_not_an_unsubscribe(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send).replace("/u/", "/p/"), {"action": "fewer", "fewer": "1-week"})
    assert "Saved: you will get fewer messages from us." in response.content.decode()
    preference = ChannelPreference.objects.get(contact=send.contact, channel__slug="email")
    assert (preference.cap_number, preference.cap_unit) == (1, "week")
    assert not DoNotContact.objects.filter(contact=send.contact).exists()
    assert list(PreferenceChange.objects.filter(contact=send.contact).values_list("kind", "source", "send_id")) == [
        ("frequency", "public_page", send.pk)
    ]


def test_pause_for_a_month_starts_on_the_contacts_today(client):
    contact = ContactFactory(time_zone="Pacific/Kiritimati")
    send = delivered_send(contact)
    response = client.post(page_url(send), {"action": "pause_month"})
    today = contact_today(contact.time_zone, timezone.now())
    preference = ChannelPreference.objects.get(contact=contact, channel__slug="email")
    assert (preference.pause_from, preference.pause_to) == (today, today + datetime.timedelta(days=29))
    assert "Saved: we will send you nothing until" in response.content.decode()
    assert not DoNotContact.objects.filter(contact=contact).exists()


def test_an_unknown_cap_choice_changes_nothing(client):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {"action": "fewer", "fewer": "1000-day"})
    assert "Choose how many messages you want." in response.content.decode()
    assert not ChannelPreference.objects.filter(contact=send.contact).exists()


def test_a_designed_page_without_the_channel_card_refuses_opt_down(client):
    staff = UserFactory(is_superuser=True)
    page = services.page_create(acting_user=staff, name="Bare", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="en", blocks=[{"kind": "unsubscribe_all"}])
    services.page_publish(page=page, acting_user=staff)
    send = delivered_send(ContactFactory(), preference_page=page)
    for action in ({"action": "fewer", "fewer": "1-week"}, {"action": "pause_month"}):
        assert client.post(page_url(send), action).status_code == 400
    assert not ChannelPreference.objects.filter(contact=send.contact).exists()


def test_the_page_offers_opt_down_next_to_unsubscribe(client):
    html = client.get(page_url(delivered_send(ContactFactory()))).content.decode()
    assert 'value="fewer"' in html and 'value="pause_month"' in html
