"""DELETE contacts/{id}/ is the erasure staff make from a profile: the person goes with their
history, memberships and sends; the staff audit keeps a tombstone that names the key, not the person."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from api.models import Scope
from contacts.models import Contact, PreferenceChange, SegmentMembership, StaffChange
from contacts.services import channel_unsubscribe, segment_membership_add
from contacts.tests.factories import ContactFactory, SegmentFactory, UserFactory, channel
from messaging.models import Send
from messaging.tests.factories import now_utc, past_send

from .conftest import client_for


def url(contact_or_id) -> str:
    return reverse("api:contact_detail", args=[getattr(contact_or_id, "pk", contact_or_id)])


def reached(first_name: str, last_name: str, email: str) -> Contact:
    """A contact with history rows, a segment membership and a send."""
    contact = ContactFactory(first_name=first_name, last_name=last_name, email=email, phone="+33612345678")
    segment_membership_add(contact=contact, segment=SegmentFactory(), source="system")
    channel_unsubscribe(contact=contact, channel=channel("sms"), source="system")
    past_send(contact, "email", now_utc())
    return contact


def test_deleting_a_contact_erases_them_and_leaves_a_tombstone_naming_the_key(api):
    contact = reached("Zoé", "Quintard", "zoe.quintard@example.org")
    kept = reached("Kept", "Other", "kept@example.net")
    response = api.delete(url(contact))
    assert response.status_code == 204 and response.content == b""
    assert not Contact.objects.filter(pk=contact.pk).exists()
    for model in (PreferenceChange, SegmentMembership, Send):
        assert not model.objects.filter(contact_id=contact.pk).exists()
        assert model.objects.filter(contact_id=kept.pk).exists()  # nobody else's rows go
    tombstone = StaffChange.objects.get(subject_type="contact", subject_id=contact.pk)
    assert tombstone.action == StaffChange.Action.DELETED and tombstone.actor == "api:crm"
    stored = json.dumps([tombstone.subject_label, tombstone.changes]).lower()
    assert not any(personal in stored for personal in ("zo", "quintard", "example.org", "+33", "612345678"))
    assert tombstone.changes["sends"] == [1, 0]
    assert api.get(url(contact)).status_code == 404
    assert api.delete(url(contact)).status_code == 404  # already erased


def test_an_unknown_contact_is_a_404_and_nothing_is_recorded(api):
    assert api.delete(url(987654)).status_code == 404
    assert api.delete(url(2**63)).status_code == 404  # beyond the database's integers
    assert not StaffChange.objects.filter(subject_type="contact").exists()


@pytest.mark.parametrize("scope", [Scope.READ, Scope.WRITE_PREFERENCES, Scope.SEND])
def test_only_a_key_that_writes_contacts_may_erase(issue_key, scope):
    contact = ContactFactory()
    response = client_for(issue_key(name="narrow", scopes=[scope]).secret).delete(url(contact))
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not StaffChange.objects.filter(subject_type="contact").exists()


def test_a_revoked_key_cannot_erase(issue_key, admin):
    from api.services import api_key_revoke

    issued = issue_key(name="gone")
    api_key_revoke(acting_user=admin, api_key=issued.api_key)
    contact = ContactFactory()
    assert client_for(issued.secret).delete(url(contact)).status_code == 401
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_retried_erasure_with_the_same_idempotency_key_gets_the_first_answer(api):
    contact = ContactFactory()
    first = api.delete(url(contact), HTTP_IDEMPOTENCY_KEY="erase-1")
    again = api.delete(url(contact), HTTP_IDEMPOTENCY_KEY="erase-1")
    assert first.status_code == again.status_code == 204
    assert again["Idempotent-Replayed"] == "true"
    assert StaffChange.objects.filter(subject_type="contact", subject_id=contact.pk).count() == 1
    other = ContactFactory()
    reused = api.delete(url(other), HTTP_IDEMPOTENCY_KEY="erase-1")  # the same key for another request
    assert reused.status_code == 422 and Contact.objects.filter(pk=other.pk).exists()


def test_an_api_erasure_leaves_the_same_audit_as_the_staff_one(api):
    by_staff = reached("Ann", "One", "ann@example.org")
    by_api = reached("Bob", "Two", "bob@example.org")
    staff = Client()
    staff.force_login(UserFactory(username="edith", is_superuser=True))
    response = staff.post(reverse("contacts:contact_delete", args=[by_staff.pk]), {"confirm": "yes"})
    assert response.status_code == 302
    assert api.delete(url(by_api)).status_code == 204
    staff_row = StaffChange.objects.get(subject_type="contact", subject_id=by_staff.pk)
    api_row = StaffChange.objects.get(subject_type="contact", subject_id=by_api.pk)
    assert (staff_row.actor, api_row.actor) == ("edith", "api:crm")
    assert (api_row.action, api_row.changes) == (staff_row.action, staff_row.changes)
    assert api_row.subject_label == f"Contact {by_api.pk}" and staff_row.subject_label == f"Contact {by_staff.pk}"
    for contact in (by_staff, by_api):
        assert not PreferenceChange.objects.filter(contact_id=contact.pk).exists()
        assert not Send.objects.filter(contact_id=contact.pk).exists()
