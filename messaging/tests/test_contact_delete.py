"""Deleting a contact from the profile: confirmed first, erases the person, leaves a tombstone in
the staff audit that names nobody."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import Contact, PreferenceChange, SegmentMembership, StaffChange
from contacts.tests.factories import ContactFactory, SegmentFactory
from messaging.models import OutboxMessage, Send
from .conftest import run_dispatch
from .factories import MessageFactory

from contacts.tests.test_staff_views import editor, editor_client, staff_user, viewer, viewer_client  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reached(settings, email):
    """A contact with history, a segment and a delivered email (kept in the development outbox)."""
    settings.EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
    contact = ContactFactory(first_name="Zoé", last_name="Quintard", email="zoe.quintard@example.org")
    segment = SegmentFactory()
    services.segment_membership_add(contact=contact, segment=segment, source="system")
    run_dispatch(MessageFactory(channels=["email"], segments=[segment]), now=timezone.now())
    return contact


def test_the_confirmation_page_says_what_goes_with_the_contact(editor_client, reached):  # noqa: F811
    page = editor_client.get(reverse("contacts:contact_delete", args=[reached.pk])).content.decode()
    assert "1 send" in page and "Member of 1 segment" in page and "history entr" in page
    assert Contact.objects.filter(pk=reached.pk).exists()


def test_without_the_confirmation_tick_nothing_is_deleted(editor_client, reached):  # noqa: F811
    response = editor_client.post(reverse("contacts:contact_delete", args=[reached.pk]), follow=True)
    assert "Tick the box" in response.content.decode()
    assert Contact.objects.filter(pk=reached.pk).exists()


def test_deleting_erases_the_person_and_leaves_a_tombstone_without_personal_data(editor_client, reached):  # noqa: F811
    assert OutboxMessage.objects.filter(to__icontains="zoe.quintard").exists()
    response = editor_client.post(reverse("contacts:contact_delete", args=[reached.pk]), {"confirm": "yes"})
    assert response.status_code == 302 and response.url == reverse("contacts:contact_list")
    assert not Contact.objects.filter(pk=reached.pk).exists()
    assert not Send.objects.filter(contact_id=reached.pk).exists()
    assert not PreferenceChange.objects.filter(contact_id=reached.pk).exists()
    assert not SegmentMembership.objects.filter(contact_id=reached.pk).exists()
    assert not OutboxMessage.objects.filter(to__icontains="zoe.quintard").exists()
    tombstone = StaffChange.objects.get(subject_type="contact", subject_id=reached.pk)
    assert tombstone.action == "deleted" and tombstone.actor == "edith"
    stored = json.dumps([tombstone.subject_label, tombstone.changes]).lower()
    assert not any(personal in stored for personal in ("zo", "quintard", "example.org", "+33"))
    assert tombstone.changes["sends"] == [1, 0]


def test_viewers_cannot_delete_and_are_not_offered_to(viewer_client, reached):  # noqa: F811
    profile = viewer_client.get(reverse("contacts:contact_detail", args=[reached.pk])).content.decode()
    assert "action-delete" not in profile
    assert viewer_client.post(reverse("contacts:contact_delete", args=[reached.pk]), {"confirm": "yes"}).status_code == 403
    assert Contact.objects.filter(pk=reached.pk).exists()


def test_editors_see_the_delete_action_on_the_profile(editor_client, reached):  # noqa: F811
    profile = editor_client.get(reverse("contacts:contact_detail", args=[reached.pk])).content.decode()
    assert reverse("contacts:contact_delete", args=[reached.pk]) in profile


@pytest.mark.django_db(transaction=True)
def test_a_contact_deleted_while_a_batch_decides_them_goes_with_the_sends_it_made(members, email):
    import datetime

    from contacts.tests.concurrency import race
    from messaging import services as messaging_services
    from messaging.models import Dispatch

    contact = members(first_name="Racing")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=7))
    (batch_id,) = messaging_services.dispatch_plan(dispatch_id=dispatch.pk)
    decide = lambda: messaging_services.batch_decide(batch=messaging_services.batch_claim(batch_id=batch_id))  # noqa: E731
    erase = lambda: services.contact_delete(contact=contact, acting_user=None)  # noqa: E731
    _, deleting = race(decide, erase)
    assert deleting.error is None
    assert not Contact.objects.filter(pk=contact.pk).exists() and not Send.objects.filter(contact_id=contact.pk).exists()
