"""Sends appear on the contact's profile timeline, merged with the preference history by time."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from contacts.services import channel_unsubscribe
from contacts.tests.factories import ContactFactory, UserFactory

from .factories import past_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Viewers"))
    client.force_login(user)
    return client


def test_sends_and_changes_share_the_profile_timeline_newest_first(viewer_client):
    contact = ContactFactory()
    sent = past_send(contact, "email", timezone.now() - datetime.timedelta(hours=2))
    channel_unsubscribe(contact=contact, channel=sent.channel, source="one_click")

    html = viewer_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()

    change_at, send_at = html.index('data-kind="dnc"'), html.index('data-kind="send"')
    assert change_at < send_at  # the unsubscribe came after the send
    assert sent.message.name in html and 'data-outcome="sent"' in html
