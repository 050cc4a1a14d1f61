"""The resources of SPEC §6 through the API: contacts, lookup, DNC, categories, segments, history, sends, dispatch."""

import pytest
from django.urls import reverse

from contacts.models import Contact, DoNotContact, PreferenceChange, SegmentMembership
from contacts.services import channel_unsubscribe, segment_membership_add
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, channel
from messaging.models import Dispatch
from messaging.tests.factories import MessageFactory, now_utc, past_send

from .conftest import client_for


def test_contacts_are_listed_with_a_cursor_and_filtered_by_segment(api, settings):
    contacts = [ContactFactory() for _ in range(5)]
    segment = SegmentFactory(slug="vip")
    for contact in contacts[1:3]:
        segment_membership_add(contact=contact, segment=segment, source="system")
    first = api.get(reverse("api:contact_list"), {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    assert [c["id"] for c in first["results"] + second["results"]] == [c.pk for c in contacts]
    members = api.get(reverse("api:contact_list"), {"segment": "vip"}).json()["results"]
    assert [c["id"] for c in members] == [contacts[1].pk, contacts[2].pk]
    assert api.get(reverse("api:contact_list"), {"segment": "nope"}).status_code == 404


def test_listing_contacts_costs_a_constant_number_of_queries(api, django_assert_max_num_queries):
    for _ in range(30):
        ContactFactory()
    with django_assert_max_num_queries(6):
        assert len(api.get(reverse("api:contact_list")).json()["results"]) == 30


def test_a_contact_is_found_by_email_or_phone_sent_in_the_body(api):
    ada = ContactFactory(email="Ada@Example.org", phone="+33612345678")
    by_email = api.post(reverse("api:contact_lookup"), {"email": "ada@example.ORG"}, format="json").json()
    by_phone = api.post(reverse("api:contact_lookup"), {"phone": "+33612345678"}, format="json").json()
    assert [c["id"] for c in by_email["results"]] == [c["id"] for c in by_phone["results"]] == [ada.pk]
    assert api.post(reverse("api:contact_lookup"), {}, format="json").status_code == 400


def test_create_and_update_a_contact_normalise_and_refuse_a_duplicate_email(api):
    created = api.post(reverse("api:contact_list"), {"email": "Bob@EXAMPLE.org", "phone": "+441234567890"},
                       format="json")
    assert created.status_code == 201 and created.json()["email"] == "Bob@example.org"
    duplicate = api.post(reverse("api:contact_list"), {"email": "bob@example.org"}, format="json")
    assert duplicate.status_code == 400 and "email" in duplicate.json()["error"]["fields"]
    pk = created.json()["id"]
    updated = api.patch(reverse("api:contact_detail", args=[pk]), {"first_name": "Bob"}, format="json")
    assert updated.json()["first_name"] == "Bob" and Contact.objects.get(pk=pk).first_name == "Bob"


def test_removing_a_phone_drops_a_preferred_sms_channel_with_history(api):
    contact = ContactFactory()
    api.patch(reverse("api:contact_preferences", args=[contact.pk]), {"preferred_channel": "sms"}, format="json")
    api.patch(reverse("api:contact_detail", args=[contact.pk]), {"phone": ""}, format="json")
    prefs = api.get(reverse("api:contact_preferences", args=[contact.pk])).json()
    assert prefs["preferred_channel"] is None
    assert PreferenceChange.objects.filter(kind="preferred_channel", new_value__isnull=True, source="api:crm").exists()


def test_dnc_is_added_with_a_reason_and_removed_softly_or_hard(api):
    contact = ContactFactory()
    url = reverse("api:contact_dnc_add", args=[contact.pk])
    assert api.post(url, {"channel": "email", "reason": "complaint"}, format="json").json()["channels"]["email"][
        "dnc_reason"] == "complaint"
    soft = api.delete(reverse("api:contact_dnc_remove", args=[contact.pk, "email"]))
    assert soft.status_code == 400 and DoNotContact.objects.filter(reason="complaint").exists()
    hard = api.delete(reverse("api:contact_dnc_remove", args=[contact.pk, "email"]) + "?hard=true")
    assert hard.status_code == 200 and hard.json()["channels"]["email"]["subscribed"] is True
    assert api.post(url, {"channel": "email"}, format="json").json()["channels"]["email"]["dnc_reason"] == "manual"
    assert api.post(url, {"channel": "pigeon"}, format="json").status_code == 404
    assert api.post(url, {"channel": "email", "reason": "tired"}, format="json").status_code == 400


def test_a_bounce_is_hard_only_a_hard_removal_lifts_it(api):
    contact = ContactFactory()
    channel_unsubscribe(contact=contact, channel=channel("email"), source="bounce", reason="bounced")
    assert api.delete(reverse("api:contact_dnc_remove", args=[contact.pk, "email"])).status_code == 400
    assert DoNotContact.objects.filter(reason="bounced").exists()


def test_category_subscription_and_segment_membership_of_one_contact(api):
    contact, category, segment = ContactFactory(), CategoryFactory(slug="news", opt_in=True), SegmentFactory(slug="vip")
    sub = api.put(reverse("api:contact_category", args=[contact.pk, "news"]), {"subscribed": True}, format="json")
    assert sub.json()["categories"]["news"] is True
    assert api.put(reverse("api:contact_segment", args=[contact.pk, "vip"])).json()["segments"]["vip"] is True
    assert api.delete(reverse("api:contact_segment", args=[contact.pk, "vip"])).json()["segments"]["vip"] is False
    assert SegmentMembership.objects.get().removed is True
    assert api.put(reverse("api:contact_segment", args=[contact.pk, "nope"])).status_code == 404


def test_segment_members_are_added_and_removed_in_batches_through_the_service(api, settings):
    segment = SegmentFactory()
    contacts = [ContactFactory() for _ in range(4)]
    url = reverse("api:segment_members", args=[segment.pk])
    added = api.post(url, {"add": [c.pk for c in contacts]}, format="json")
    assert added.json() == {"added": 4, "removed": 0}
    assert api.post(url, {"remove": [contacts[0].pk]}, format="json").json() == {"added": 0, "removed": 1}
    members = api.get(url).json()["results"]
    assert [c["id"] for c in members] == [c.pk for c in contacts[1:]]
    assert PreferenceChange.objects.filter(kind="segment", source="api:crm").count() == 5


def test_a_batch_with_an_unknown_contact_or_over_the_limit_changes_nothing(api, settings):
    segment, contact = SegmentFactory(), ContactFactory()
    url = reverse("api:segment_members", args=[segment.pk])
    unknown = api.post(url, {"add": [contact.pk, 10**12]}, format="json")
    assert unknown.status_code == 400 and not SegmentMembership.objects.exists()
    settings.API_BATCH_MAX = 2
    three = [contact.pk, ContactFactory().pk, ContactFactory().pk]
    over = api.post(url, {"add": three[:1], "remove": three[1:]}, format="json")
    assert over.status_code == 400 and "at most 2" in over.json()["error"]["fields"]["__all__"][0]
    assert not SegmentMembership.objects.exists()
    assert api.post(url, {"add": three[:2]}, format="json").status_code == 200


def test_history_and_sends_of_a_contact_newest_first(api):
    contact = ContactFactory()
    api.patch(reverse("api:contact_preferences", args=[contact.pk]),
              {"channels": {"sms": {"subscribed": False}}}, format="json")
    history = api.get(reverse("api:contact_history", args=[contact.pk])).json()["results"]
    assert [(h["kind"], h["subject"], h["new_value"], h["source"]) for h in history] == [
        ("dnc", "sms", "manual", "api:crm")]
    send = past_send(contact, "email", now_utc())
    sends = api.get(reverse("api:contact_sends", args=[contact.pk])).json()["results"]
    assert [(s["id"], s["channel"], s["outcome"]) for s in sends] == [(send.pk, "email", "sent")]


def test_categories_segments_and_messages_are_readable(api):
    category, segment = CategoryFactory(), SegmentFactory()
    message = MessageFactory(segments=[segment], category=category)
    assert api.get(reverse("api:category_detail", args=[category.pk])).json()["slug"] == category.slug
    assert api.get(reverse("api:segment_list")).json()["results"][0]["slug"] == segment.slug
    listed = api.get(reverse("api:message_list")).json()["results"]
    assert listed[0]["id"] == message.pk and listed[0]["segments"] == [segment.slug]
    assert listed[0]["category"] == category.slug and listed[0]["channels"]


def test_dispatching_a_message_answers_202_and_the_dispatch_reports_its_counts(api, issue_key):
    segment = SegmentFactory()
    message = MessageFactory(segments=[segment])
    read_only = client_for(issue_key("reader", ["read"]).secret)
    assert read_only.post(reverse("api:message_dispatch", args=[message.pk])).status_code == 403
    response = api.post(reverse("api:message_dispatch", args=[message.pk]), HTTP_IDEMPOTENCY_KEY="send-1")
    assert response.status_code == 202
    again = api.post(reverse("api:message_dispatch", args=[message.pk]), HTTP_IDEMPOTENCY_KEY="send-1")
    assert again.json() == response.json() and Dispatch.objects.count() == 1
    dispatch = api.get(response["Location"]).json()
    assert dispatch["id"] == response.json()["id"] and dispatch["status"] == "planning"
    assert set(dispatch["counts"]) >= {"sent", "deferred", "skipped_dnc"}


def test_an_archived_message_cannot_be_dispatched(api, admin):
    from messaging.services import message_archive

    message = MessageFactory(segments=[SegmentFactory()])
    message_archive(message=message, acting_user=admin)
    response = api.post(reverse("api:message_dispatch", args=[message.pk]))
    assert response.status_code == 409 and not Dispatch.objects.exists()
