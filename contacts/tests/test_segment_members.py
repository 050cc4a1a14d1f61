"""Segment members: re-adding says so, an unknown email is a form error, removal is confirmed,
and removed members can be listed and added back."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.models import PreferenceChange, SegmentMembership
from contacts.services import segment_membership_add, segment_membership_remove

from .factories import ContactFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(db):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def vip(db):
    return SegmentFactory(name="VIP", slug="vip")


def test_re_adding_a_member_says_already_a_member_and_writes_nothing(editor_client, vip):
    ada = ContactFactory(first_name="Ada", last_name="L", email="ada@example.org")
    segment_membership_add(contact=ada, segment=vip, source="system")
    history = PreferenceChange.objects.count()
    page = editor_client.post(reverse("contacts:segment_member_add", args=[vip.pk]),
                              {"email": "ada@example.org"}, follow=True).content.decode()
    assert "Ada L is already a member of VIP: nothing changed." in page
    assert "added to" not in page
    assert PreferenceChange.objects.count() == history


def test_an_unknown_email_is_an_error_at_the_field_with_the_address_kept(editor_client, vip):
    response = editor_client.post(reverse("contacts:segment_member_add", args=[vip.pk]), {"email": "ghost@example.org"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="invalid-feedback"' in page and "No contact has this email address." in page
    assert 'value="ghost@example.org"' in page
    assert not SegmentMembership.objects.exists()


def test_remove_asks_for_confirmation_before_removing(editor_client, vip):
    ada = ContactFactory(first_name="Ada", last_name="L")
    segment_membership_add(contact=ada, segment=vip, source="system")
    url = reverse("contacts:segment_member_remove", args=[vip.pk, ada.pk])
    detail = editor_client.get(reverse("contacts:segment_detail", args=[vip.pk])).content.decode()
    assert f'href="{url}"' in detail and f'action="{url}"' not in detail
    confirm = editor_client.get(url)
    assert confirm.status_code == 200 and "Remove Ada L from VIP?" in confirm.content.decode()
    assert SegmentMembership.objects.get(contact=ada).removed is False
    editor_client.post(url)
    assert SegmentMembership.objects.get(contact=ada).removed is True


def test_removed_members_are_listed_and_can_be_added_back(editor_client, vip):
    ada = ContactFactory(first_name="Ada", last_name="L", email="ada@example.org")
    bob = ContactFactory(first_name="Bob", last_name="M")
    segment_membership_add(contact=ada, segment=vip, source="system")
    segment_membership_add(contact=bob, segment=vip, source="system")
    segment_membership_remove(contact=ada, segment=vip, source="public_page")
    page = editor_client.get(reverse("contacts:segment_detail", args=[vip.pk]), {"members": "removed"}).content.decode()
    table = page.split('id="removed-members"')[1].split("</table>")[0]
    assert "Ada L" in table and "Bob M" not in table and "Add back" in table
    editor_client.post(reverse("contacts:segment_member_add", args=[vip.pk]), {"email": "ada@example.org"})
    assert SegmentMembership.objects.get(contact=ada).removed is False
