"""Staff build dynamic segments: the form, the live count, the segment page and "rebuild now"."""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.models import Segment, SegmentMembership, StaffChange
from contacts.services import segment_membership_add
from contacts.services.dynamic_segments import segment_rebuild
from contacts.tests.factories import ContactFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

ACME = {"join": "and", "groups": [{"join": "and", "conditions": [
    {"field": "email_domain", "op": "equals", "value": "acme.com"}]}]}


@pytest.fixture
def editor_client():
    user = UserFactory(username="edith")
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    return client


def segment_form(**overrides):
    return {"name": "Acme people", "slug": "acme-people", "public_name": "", "description": "", **overrides}


def test_saving_a_segment_with_a_filter_makes_it_dynamic_and_audits_the_filter(editor_client):
    response = editor_client.post(reverse("contacts:segment_create"), segment_form(filter=json.dumps(ACME)))
    assert response.status_code == 302
    segment = Segment.objects.get(slug="acme-people")
    assert segment.filter == ACME and segment.rebuild_pending
    assert StaffChange.objects.get(subject_id=segment.pk).changes["filter"][1] == ACME


@pytest.mark.parametrize("bad", [
    "{not json", "[]", json.dumps({"groups": [{"conditions": [{"field": "shoe", "op": "equals", "value": "x"}]}]}),
    json.dumps({"groups": [{"conditions": [{"field": "email", "op": "between", "value": ["a", "b"]}]}]}),
])
def test_a_bad_filter_is_a_form_error_and_saves_nothing(editor_client, bad):
    response = editor_client.post(reverse("contacts:segment_create"), segment_form(filter=bad))
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert not Segment.objects.filter(slug="acme-people").exists()


def test_a_filter_naming_a_segment_that_leads_back_is_a_form_error(editor_client):
    first = SegmentFactory()
    second = SegmentFactory(filter={"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "segment", "op": "in_segment", "value": first.pk}]}]})
    cycle = {"join": "and", "groups": [{"join": "and", "conditions": [
        {"field": "segment", "op": "in_segment", "value": second.pk}]}]}
    response = editor_client.post(reverse("contacts:segment_edit", args=[first.pk]),
                                  segment_form(name=first.name, slug=first.slug, filter=json.dumps(cycle)))
    assert response.status_code == 200 and "cycle" in response.content.decode()
    first.refresh_from_db()
    assert first.filter is None


def test_the_live_count_says_how_many_contacts_match(editor_client):
    ContactFactory(email="a@acme.com"), ContactFactory(email="b@acme.com"), ContactFactory(email="c@else.org")
    response = editor_client.post(reverse("contacts:segment_filter_count"), {"filter": json.dumps(ACME)})
    assert response.json() == {"count": 2, "more": False, "text": "2 contacts match."}


@pytest.mark.django_db(transaction=True)
def test_a_count_cut_by_the_time_limit_says_so_instead_of_hanging(editor_client, settings):
    """Another transaction holds the contacts table: the count waits, and its time limit ends the wait."""
    from django.db import connection, transaction

    from contacts.tests.concurrency import Gate, Racer, wait_until

    settings.SEGMENT_COUNT_TIMEOUT_MS = 200
    ContactFactory(email="a@acme.com")
    gate = Gate()

    def hold_the_table():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE contacts_contact IN ACCESS EXCLUSIVE MODE")
            gate.stop_here()

    holder = Racer(hold_the_table, "holder").begin()
    wait_until(gate.reached.is_set, "the table to be locked")
    try:
        response = editor_client.post(reverse("contacts:segment_filter_count"), {"filter": json.dumps(ACME)})
    finally:
        gate.open()
        holder.finish()
    assert response.status_code == 200
    assert response.json()["text"] == "More contacts than can be counted now."


@pytest.mark.parametrize("bad", ["", "{", json.dumps({"groups": "x"}), json.dumps({"groups": [{"conditions": [
    {"field": "created", "op": "in_last", "value": {"amount": "lots", "unit": "days"}}]}]})])
def test_a_bad_filter_gets_a_400_with_the_reason_never_a_500(editor_client, bad):
    response = editor_client.post(reverse("contacts:segment_filter_count"), {"filter": bad})
    assert response.status_code == 400
    assert response.json()["errors"]


def test_the_segment_page_shows_the_filter_in_words_how_members_came_in_and_the_last_rebuild(editor_client):
    by_filter, by_hand = ContactFactory(email="f@acme.com"), ContactFactory(email="h@else.org")
    segment = SegmentFactory(filter=ACME)
    segment_rebuild(segment_id=segment.pk)
    segment_membership_add(contact=by_hand, segment=segment, source="staff:edith")
    page = editor_client.get(reverse("contacts:segment_detail", args=[segment.pk])).content.decode()
    assert "Email domain is “acme.com”" in page
    assert "By filter" in page and "Added by hand" in page
    assert "1 added, 0 removed" in page
    assert by_filter.email in page


def test_rebuild_now_shows_progress_until_a_worker_has_rebuilt(editor_client):
    ContactFactory(email="f@acme.com")
    segment = SegmentFactory(filter=ACME)
    editor_client.post(reverse("contacts:segment_rebuild", args=[segment.pk]))
    status = editor_client.get(reverse("contacts:segment_rebuild_status", args=[segment.pk])).json()
    assert status["pending"] and "Rebuilding" in status["text"]
    segment_rebuild(segment_id=segment.pk)  # what the worker does
    status = editor_client.get(reverse("contacts:segment_rebuild_status", args=[segment.pk])).json()
    assert not status["pending"] and "1 added" in status["text"] and status["members"] == 1


def test_the_contacts_list_filters_by_a_dynamic_segment(editor_client):
    ContactFactory(email="in@acme.com", first_name="Inés"), ContactFactory(email="out@else.org", first_name="Otto")
    segment = SegmentFactory(filter=ACME)
    segment_rebuild(segment_id=segment.pk)
    page = editor_client.get(reverse("contacts:contact_list"), {"segment": segment.slug}).content.decode()
    assert "Inés" in page and "Otto" not in page


def test_leaving_a_public_dynamic_segment_on_the_public_page_marks_removed():
    from contacts.services import segment_membership_remove

    contact = ContactFactory(email="me@acme.com")
    segment = SegmentFactory(filter=ACME, public=True)
    segment_rebuild(segment_id=segment.pk)
    segment_membership_remove(contact=contact, segment=segment, source="public_page")
    segment_rebuild(segment_id=segment.pk)
    assert SegmentMembership.objects.get(segment=segment).how == "removed"


@pytest.mark.parametrize("bad", ["123", '"text"', "[" * 100_000, "x" * 60_000, json.dumps({"groups": [1]})])
def test_a_filter_that_is_not_an_object_is_a_form_error(editor_client, bad):
    response = editor_client.post(reverse("contacts:segment_create"), segment_form(filter=bad))
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    count = editor_client.post(reverse("contacts:segment_filter_count"), {"filter": bad})
    assert count.status_code == 400


def test_the_contacts_lists_contactable_filter_is_the_segment_filters_rule(editor_client):
    from contacts.models import Contact
    from contacts.segment_filter import FilterCatalog, filter_q

    with_phone, without_phone = ContactFactory(first_name="Pia"), ContactFactory(first_name="Noé", phone="")
    listed = editor_client.get(reverse("contacts:contact_list"), {"dnc_channel": "sms", "dnc_reason": "none"})
    page = listed.content.decode()
    assert with_phone.first_name in page and without_phone.first_name not in page
    contactable = {"join": "and", "groups": [{"join": "and", "conditions": [{"field": "channel:sms", "op": "contactable"}]}]}
    by_filter = Contact.objects.filter(filter_q(contactable, catalog=FilterCatalog.load()))
    assert list(by_filter) == [with_phone]
