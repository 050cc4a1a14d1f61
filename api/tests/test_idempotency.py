"""Idempotency-Key: a retried write returns the first response and changes nothing more."""

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from api.models import IdempotentRequest
from api.tasks import idempotency_purge_task
from contacts.models import Contact, PreferenceChange
from contacts.tests.factories import ContactFactory

from .conftest import client_for


def test_a_retried_create_returns_the_first_response_and_creates_one_contact(api):
    body = {"email": "ada@example.org", "first_name": "Ada"}
    first = api.post(reverse("api:contact_list"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retry = api.post(reverse("api:contact_list"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_without_the_header_each_request_is_a_new_one(api):
    api.post(reverse("api:contact_list"), {"first_name": "A"}, format="json")
    api.post(reverse("api:contact_list"), {"first_name": "A"}, format="json")
    assert Contact.objects.count() == 2


def test_the_same_key_with_another_body_is_refused_with_422(api):
    api.post(reverse("api:contact_list"), {"first_name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = api.post(reverse("api:contact_list"), {"first_name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["A"]


def test_keys_belong_to_their_api_key(issue_key):
    one, two = client_for(issue_key("one").secret), client_for(issue_key("two").secret)
    for client in (one, two):
        assert client.post(reverse("api:contact_list"), {"first_name": "A"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert Contact.objects.count() == 2


def test_a_retried_preference_change_writes_its_history_once(api):
    contact = ContactFactory()
    url = reverse("api:contact_preferences", args=[contact.pk])
    for _ in range(2):
        response = api.patch(url, {"channels": {"sms": {"subscribed": False}}}, format="json", HTTP_IDEMPOTENCY_KEY="p")
        assert response.status_code == 200
    # The contact resubscribes in between; the retry must not unsubscribe them again.
    api.patch(url, {"channels": {"sms": {"subscribed": True}}}, format="json")
    replay = api.patch(url, {"channels": {"sms": {"subscribed": False}}}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert replay["Idempotent-Replayed"] == "true"
    assert PreferenceChange.objects.count() == 2  # off, then on: the replay added nothing
    assert api.get(url).json()["channels"]["sms"]["subscribed"] is True


def test_a_refused_request_is_replayed_as_refused_and_changes_nothing(api):
    contact = ContactFactory()
    url = reverse("api:contact_preferences", args=[contact.pk])
    bad = {"channels": {"email": {"frequency": {"number": 0, "unit": "day"}}}}
    first = api.patch(url, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    again = api.patch(url, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == again.status_code == 400 and first.json() == again.json()
    assert not PreferenceChange.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\nkey"])
def test_an_unusable_idempotency_key_is_a_400(api, key):
    response = api.post(reverse("api:contact_list"), {"first_name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Contact.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_contact_and_all_get_the_same_answer(issue_key):
    secret = issue_key().secret
    barrier, results = threading.Barrier(6), []

    def send():
        client = client_for(secret)
        barrier.wait()
        try:
            response = client.post(reverse("api:contact_list"), {"email": "race@example.org"}, format="json",
                                   HTTP_IDEMPOTENCY_KEY="race")
            results.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Contact.objects.count() == 1 and IdempotentRequest.objects.count() == 1
    assert results == [(201, Contact.objects.get().pk)] * 6


def test_kept_responses_past_the_retention_are_purged_and_their_key_is_a_new_request(api, settings):
    settings.API_IDEMPOTENCY_RETENTION_SECONDS = 3600
    body = {"email": "old@example.org"}
    api.post(reverse("api:contact_list"), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    api.post(reverse("api:contact_list"), {"email": "new@example.org"}, format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - datetime.timedelta(seconds=3601))
    IdempotentRequest.objects.filter(key="new").update(created_at=timezone.now() - datetime.timedelta(seconds=3500))

    assert idempotency_purge_task.apply().get() == 1

    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]
    retry = api.post(reverse("api:contact_list"), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert retry.status_code == 400  # run again, not replayed: the address now exists
    assert "Idempotent-Replayed" not in retry


def test_beat_purges_kept_responses_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["api.idempotency_purge"]
    assert (entry["task"], entry["schedule"]) == (idempotency_purge_task.name, 3600.0)
