"""Whatever a client sends, the answer is a 4xx in one JSON shape, never a 500."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory, SegmentFactory


def assert_error(response, status: int):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert {"code", "message"} <= set(response.json()["error"])


def test_malformed_json_is_a_400(api):
    response = api.generic("POST", reverse("api:contact_list"), "{not json", content_type="application/json")
    assert_error(response, 400)


def test_a_body_that_is_not_json_is_a_415(api):
    assert_error(api.generic("POST", reverse("api:contact_list"), "a=b",
                             content_type="application/x-www-form-urlencoded"), 415)


@pytest.mark.parametrize("body", [[], "text", 12, {"email": 12}, {"email": "not-an-email"},
                                  {"phone": "0612"}, {"time_zone": "Mars/Olympus"}, {"locale": "xx"},
                                  {"first_name": "x" * 151}, {"nickname": "Ada"}, {"id": 5}])
def test_wrong_types_bad_values_and_unknown_fields_are_400(api, body):
    assert_error(api.post(reverse("api:contact_list"), body, format="json"), 400)
    assert not Contact.objects.exists()


@pytest.mark.parametrize("body", [[], {"channels": []}, {"channels": {"email": {"frequency": "daily"}}},
                                  {"channels": {"email": {"pause": {"from": "2030-13-01", "to": "x"}}}},
                                  {"categories": {"nope": True}}, {"preferred_channel": 5}, {"colour": "red"},
                                  {"channels": {"email": {"subscribed": "yes"}}}])
def test_bad_preferences_are_400_with_fields(api, body):
    contact = ContactFactory()
    response = api.patch(reverse("api:contact_preferences", args=[contact.pk]), body, format="json")
    assert_error(response, 400)
    assert response.json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/v1/contacts/999999999999999999/", "/api/v1/contacts/9999999999999999999999/",
                                  "/api/v1/dispatches/0/", "/api/v1/contacts/-1/preferences/",
                                  "/api/v1/contacts/999999999999999999/history/"])
def test_huge_or_unknown_ids_are_404(api, path):
    assert_error(api.get(path), 404)


def test_huge_ids_in_a_batch_are_400(api):
    from contacts.tests.factories import SegmentFactory

    segment = SegmentFactory()
    response = api.post(reverse("api:segment_members", args=[segment.pk]), {"add": [10**30]}, format="json")
    assert_error(response, 400)


def test_a_bad_cursor_is_404(api):
    assert_error(api.get(reverse("api:contact_list"), {"cursor": "garbage"}), 404)


def test_a_method_not_offered_is_405_in_the_same_shape(api):
    contact = ContactFactory()
    assert_error(api.put(reverse("api:contact_detail", args=[contact.pk]), {}, format="json"), 405)
    assert_error(api.delete(reverse("api:segment_detail", args=[SegmentFactory().pk])), 405)


def test_an_unknown_query_parameter_is_a_400_not_a_silent_no_op(api):
    response = api.get(reverse("api:contact_list"), {"segmnt": "vip"})
    assert_error(response, 400)
    assert "segmnt" in response.json()["error"]["fields"]


@pytest.mark.parametrize("page_size", ["0", "1001", "-1", "abc", "²"])
def test_a_bad_page_size_is_a_400(api, page_size):
    assert_error(api.get(reverse("api:contact_list"), {"page_size": page_size}), 400)
