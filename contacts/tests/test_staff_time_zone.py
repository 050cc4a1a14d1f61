"""Dates read the same everywhere, with their zone, in the staff user's own time zone."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, StaffPreference

from .factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

CREATED = datetime.datetime(2026, 12, 1, 12, 14, tzinfo=datetime.timezone.utc)


@pytest.fixture
def editor(db):
    user = UserFactory(username="tz-editor")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def logged_in(user) -> Client:
    client = Client()
    client.post(reverse("contacts:login"), {"username": user.username, "password": "password"})
    return client


@pytest.fixture
def ada(db):
    contact = ContactFactory(first_name="Ada")
    Contact.objects.filter(pk=contact.pk).update(created_at=CREATED)
    return contact


def test_without_a_zone_of_their_own_staff_see_the_server_zone_named(editor, ada):
    page = logged_in(editor).get(reverse("contacts:contact_detail", args=[ada.pk])).content.decode()
    assert "1 Dec 2026, 12:14 UTC" in page


def test_a_staff_user_sets_their_zone_and_every_date_follows(editor, ada):
    client = logged_in(editor)
    response = client.post(reverse("contacts:account_settings"), {"time_zone": "Europe/Paris"}, follow=True)
    assert "Your time zone is saved." in response.content.decode()
    assert StaffPreference.objects.get(user=editor).time_zone == "Europe/Paris"
    page = client.get(reverse("contacts:contact_detail", args=[ada.pk])).content.decode()
    assert "1 Dec 2026, 13:14 CET" in page


def test_the_zone_is_back_after_logging_in_again(editor, ada):
    StaffPreference.objects.create(user=editor, time_zone="America/New_York")
    page = logged_in(editor).get(reverse("contacts:contact_detail", args=[ada.pk])).content.decode()
    assert "1 Dec 2026, 07:14 EST" in page


def test_an_unknown_zone_is_refused_at_the_field_and_nothing_saved(editor):
    response = logged_in(editor).post(reverse("contacts:account_settings"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not StaffPreference.objects.exists()
