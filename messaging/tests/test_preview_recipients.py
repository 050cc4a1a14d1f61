"""The preview gives the worker's verdict, starting with whether the contact is a recipient at all."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.services import Source, segment_membership_remove
from contacts.tests.factories import ContactFactory, UserFactory

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


def preview(client, message, contact) -> str:
    return client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.email}).content.decode()


def test_a_contact_outside_the_segments_is_not_a_recipient_and_the_preview_says_why(client, marketer, members):
    members()
    outsider = ContactFactory(first_name="Olga")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    page = preview(client, message, outsider)
    assert "<strong>Not a recipient</strong>" in page
    assert f"not a member of the message's segment {members.segment.name}" in page
    assert "<strong>Sending</strong>" not in page


def test_a_contact_removed_from_the_segment_is_not_a_recipient(client, marketer, members):
    contact = members(first_name="Rita")
    segment_membership_remove(contact=contact, segment=members.segment, source=Source("system"))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    page = preview(client, message, contact)
    assert "<strong>Not a recipient</strong>" in page
    assert f"removed from the message's segment {members.segment.name}" in page


def test_a_member_is_a_recipient_and_the_preview_links_are_inert(client, marketer, members):
    contact = members(first_name="Mia")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    page = preview(client, message, contact)
    assert "Not a recipient" not in page and "<strong>Sending</strong>" in page
    assert "[unsubscribe link]" in page
    assert "/u/" not in page.split('id="preview-verdict"')[1]
