"""contacts/{id}/preferences: the SPEC §6 shape, all-or-nothing writes, ETag / If-Match, the same history as staff."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import ChannelPreference, DoNotContact, PreferenceChange
from contacts.services import channel_frequency_set, channel_unsubscribe
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory, channel


@pytest.fixture
def contact(db):
    return ContactFactory()


def url(contact):
    return reverse("api:contact_preferences", args=[contact.pk])


def test_get_returns_the_spec_shape_with_an_etag(api, contact):
    category, segment = CategoryFactory(slug="news"), SegmentFactory(slug="vip")
    response = api.get(url(contact))
    assert response.status_code == 200 and response["ETag"].startswith('"')
    assert response.json() == {
        "channels": {
            "email": {"subscribed": True, "dnc_reason": None, "frequency": None, "pause": None},
            "sms": {"subscribed": True, "dnc_reason": None, "frequency": None, "pause": None},
        },
        "preferred_channel": None,
        "categories": {category.slug: True},
        "segments": {segment.slug: False},
    }


def test_patch_changes_what_it_names_and_records_the_key_as_source(api, contact):
    response = api.patch(url(contact), {"channels": {"email": {"frequency": {"number": 2, "unit": "day"}},
                                                     "sms": {"subscribed": False}}}, format="json")
    assert response.status_code == 200
    assert response.json()["channels"]["email"]["frequency"] == {"number": 2, "unit": "day"}
    assert response.json()["channels"]["sms"]["dnc_reason"] == "manual"
    assert set(PreferenceChange.objects.values_list("source", flat=True)) == {"api:crm"}


def test_an_invalid_patch_changes_nothing_and_names_each_field(api, contact):
    response = api.patch(url(contact), {
        "channels": {"email": {"frequency": {"number": 0, "unit": "day"}}, "sms": {"subscribed": False}},
        "preferred_channel": "pigeon",
    }, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"channels.email.frequency.number", "preferred_channel"}
    assert not DoNotContact.objects.exists() and not PreferenceChange.objects.exists()


def test_a_stale_if_match_is_refused_with_412_and_nothing_changes(api, contact):
    etag = api.get(url(contact))["ETag"]
    channel_frequency_set(contact=contact, channel=channel("email"), number=1, unit="week", source="system")
    response = api.patch(url(contact), {"channels": {"email": {"frequency": None}}}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412 and response.json()["error"]["code"] == "precondition_failed"
    assert ChannelPreference.objects.get().cap_number == 1


def test_a_current_if_match_lets_the_write_through_and_returns_the_new_etag(api, contact):
    etag = api.get(url(contact))["ETag"]
    response = api.patch(url(contact), {"channels": {"email": {"frequency": {"number": 3, "unit": "month"}}}},
                         format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag
    assert api.get(url(contact))["ETag"] == response["ETag"]


def test_two_integrations_that_read_the_same_version_cannot_both_write(api, contact):
    etag = api.get(url(contact))["ETag"]
    first = api.patch(url(contact), {"channels": {"sms": {"subscribed": False}}}, format="json", HTTP_IF_MATCH=etag)
    second = api.patch(url(contact), {"channels": {"email": {"subscribed": False}}}, format="json", HTTP_IF_MATCH=etag)
    assert (first.status_code, second.status_code) == (200, 412)
    assert list(DoNotContact.objects.values_list("channel__slug", flat=True)) == ["sms"]


def test_put_without_if_match_gets_428(api, contact):
    body = api.get(url(contact)).json()
    assert api.put(url(contact), body, format="json").status_code == 428


def test_put_replaces_the_whole_shape_and_refuses_one_with_parts_missing(api, contact):
    got = api.get(url(contact))
    body = got.json()
    body["channels"]["email"]["pause"] = {"from": "2030-01-01", "to": "2030-01-31"}
    body["channels"]["sms"]["subscribed"] = False
    del body["channels"]["email"]["dnc_reason"]
    partial = {"channels": {"email": body["channels"]["email"]}, "preferred_channel": None}
    missing = api.put(url(contact), partial, format="json", HTTP_IF_MATCH=got["ETag"])
    assert missing.status_code == 400 and "channels.sms" in missing.json()["error"]["fields"]
    assert "categories" in missing.json()["error"]["fields"]
    done = api.put(url(contact), body, format="json", HTTP_IF_MATCH=got["ETag"])
    assert done.status_code == 200
    assert done.json()["channels"]["email"]["pause"] == {"from": "2030-01-01", "to": "2030-01-31"}
    assert done.json()["channels"]["sms"]["subscribed"] is False


def test_a_bounced_channel_cannot_be_resubscribed_through_preferences(api, contact):
    channel_unsubscribe(contact=contact, channel=channel("email"), source="bounce", reason="bounced")
    response = api.patch(url(contact), {"channels": {"email": {"subscribed": True}}}, format="json")
    assert response.status_code == 400 and "channels.email.subscribed" in response.json()["error"]["fields"]


def history(contact) -> list[tuple]:
    rows = PreferenceChange.objects.filter(contact=contact).order_by("id")
    return sorted((r.kind, r.subject, repr(r.old_value), repr(r.new_value)) for r in rows)


def test_an_api_write_leaves_the_same_history_as_the_same_staff_write(api, db):
    category, segment = CategoryFactory(slug="news"), SegmentFactory(slug="vip")
    by_staff, by_api = ContactFactory(), ContactFactory()
    editor = UserFactory(username="edith", is_superuser=True)
    staff = Client()
    staff.force_login(editor)
    pause_from, pause_to = datetime.date(2030, 3, 1), datetime.date(2030, 3, 9)
    response = staff.post(reverse("contacts:contact_preferences", args=[by_staff.pk]), {
        "email_subscribed": "on", "email_cap_number": "2", "email_cap_unit": "week",
        "email_pause_from": pause_from.isoformat(), "email_pause_to": pause_to.isoformat(),
        "preferred_channel": "email", "segment_vip": "on",  # sms and the category unticked
    }, HTTP_HX_REQUEST="true")
    assert response.status_code == 204  # saved: the modal closes
    api_response = api.patch(url(by_api), {
        "channels": {"email": {"frequency": {"number": 2, "unit": "week"},
                               "pause": {"from": pause_from.isoformat(), "to": pause_to.isoformat()}},
                     "sms": {"subscribed": False}},
        "preferred_channel": "email", "categories": {"news": False}, "segments": {"vip": True},
    }, format="json")
    assert api_response.status_code == 200
    assert len(history(by_staff)) == 6
    assert history(by_api) == history(by_staff)
    assert set(PreferenceChange.objects.filter(contact=by_staff).values_list("source", flat=True)) == {"staff:edith"}
    assert set(PreferenceChange.objects.filter(contact=by_api).values_list("source", flat=True)) == {"api:crm"}


@pytest.mark.django_db(transaction=True)
def test_a_write_that_passed_if_match_holds_the_contact_until_it_commits(issue_key, monkeypatch):
    """Two writers with the same ETag, the second arriving while the first is between its check and
    its commit: the second waits for the row, sees the new version and gets 412."""
    import threading
    import time

    from django.db import connection

    from api.views import api as views

    from .conftest import client_for

    contact = ContactFactory()
    secret = issue_key().secret
    etag = client_for(secret).get(url(contact))["ETag"]
    real_update, first_checked = views.contact_preferences_update, threading.Event()

    def slow_first_update(**kwargs):
        if not first_checked.is_set():
            first_checked.set()
            time.sleep(0.5)  # the first writer has passed If-Match and not yet written
        real_update(**kwargs)

    monkeypatch.setattr(views, "contact_preferences_update", slow_first_update)
    statuses = {}

    def write(name, body):
        try:
            statuses[name] = client_for(secret).patch(url(contact), body, format="json", HTTP_IF_MATCH=etag).status_code
        finally:
            connection.close()

    first = threading.Thread(target=write, args=("first", {"channels": {"sms": {"subscribed": False}}}))
    first.start()
    first_checked.wait(5)
    second = threading.Thread(target=write, args=("second", {"channels": {"email": {"subscribed": False}}}))
    second.start()
    first.join()
    second.join()
    assert statuses == {"first": 200, "second": 412}
    assert list(DoNotContact.objects.values_list("channel__slug", flat=True)) == ["sms"]


def test_a_body_that_is_not_json_is_a_400_even_with_a_stale_if_match(api):
    contact = ContactFactory()
    for method in (api.put, api.patch):
        response = method(url(contact), b"l\x08{6.", content_type="application/json", HTTP_IF_MATCH='"stale"')
        assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"
