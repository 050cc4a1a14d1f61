"""Inputs that once gave a 500: each now gets a clear answer and changes nothing."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from contacts.tests.factories import UserFactory
from messaging.models import Dispatch, Outcome, Send
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

HUGE = str(10**30)
DECIDED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def staff():
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "name, args",
    [
        ("contacts:contact_list", []),
        ("contacts:segment_detail", ["segment"]),
        ("messaging:message_list", []),
        ("messaging:outbox", []),
        ("messaging:deferred_queue", []),
    ],
)
def test_a_page_number_beyond_any_integer_shows_a_page(staff, segment, name, args):
    objects = {"segment": segment.pk}
    response = staff.get(reverse(name, args=[objects[arg] for arg in args]), {"page": HUGE})
    assert response.status_code == 200


def test_a_huge_page_of_a_filtered_contacts_list_is_empty_not_an_error(staff, segment):
    response = staff.get(reverse("contacts:contact_list"), {"page": HUGE, "segment": segment.slug, "q": "x"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "before",
    ["2024-02-30T10:00", "2024-13-01T10:00", "2024-02-01T25:00", "2024-02-01T10:00+25:00", "2024-02-01\x00", "²"],
)
def test_an_impossible_moment_in_the_timeline_cursor_is_refused_with_400(staff, contact, before):
    response = staff.get(reverse("contacts:contact_history", args=[contact.pk]), {"before": before})
    assert response.status_code == 400


def test_a_valid_timeline_cursor_still_pages(staff, contact):
    url = reverse("contacts:contact_history", args=[contact.pk])
    response = staff.get(url, {"before": "2024-02-01T10:00:00+01:00"})
    assert response.status_code == 200


def test_the_outbox_search_refuses_a_nul_character_and_says_why(staff):
    response = staff.get(reverse("messaging:outbox"), {"q": "a\x00b"})
    assert response.status_code == 200
    assert b"Null characters are not allowed." in response.content


def test_the_contacts_search_refuses_a_nul_character_and_says_why(staff):
    response = staff.get(reverse("contacts:contact_list"), {"q": "a\x00b"})
    assert response.status_code == 200
    assert b"Null characters are not allowed." in response.content


@pytest.mark.parametrize("value", ["²", "١٢٣" + "9" * 30, "9" * 40, "-1", "1\x00"])
def test_a_preview_for_a_contact_id_that_is_no_number_says_no_such_contact(staff, value):
    message = MessageFactory(channels=["email"])
    response = staff.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": value})
    assert response.status_code == 200
    assert b"No contact with this id or email." in response.content or b"Null characters" in response.content


def test_a_preview_still_finds_a_contact_by_id(staff, contact):
    message = MessageFactory(channels=["email"])
    response = staff.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": str(contact.pk)})
    assert response.status_code == 200
    # Found: the verdict names the contact (not in the message's segments, so not a recipient).
    assert f"For {escape(str(contact))}, now: <strong>Not a recipient</strong>" in response.content.decode()


@pytest.fixture
def deferred_send(contact, email):
    message = MessageFactory(channels=["email"])
    dispatch = Dispatch.objects.create(message=message, deliver_until=datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC))
    send = Send.objects.create(
        message=message, dispatch=dispatch, contact=contact, channel=email, outcome=Outcome.DEFERRED,
        decided_at=DECIDED, evaluated_at=DECIDED, first_deferred_at=DECIDED,
        deferred_until=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
    )
    return send


@pytest.mark.parametrize("value", ["²", "9" * 40, "٣"])
def test_cancelling_with_a_send_id_that_is_no_send_cancels_nothing(staff, deferred_send, value):
    url = reverse("messaging:deferred_cancel", args=[deferred_send.dispatch_id])
    response = staff.post(url, {"send": value})
    assert response.status_code == 302
    deferred_send.refresh_from_db()
    assert deferred_send.outcome == Outcome.DEFERRED


def test_cancelling_a_listed_send_still_works(staff, deferred_send):
    url = reverse("messaging:deferred_cancel", args=[deferred_send.dispatch_id])
    staff.post(url, {"send": [str(deferred_send.pk), "²"]})
    deferred_send.refresh_from_db()
    assert deferred_send.outcome == Outcome.CANCELLED


def test_the_paused_filter_counts_a_contact_with_a_retired_time_zone_in_utc(staff, contact, email):
    from contacts.models import Contact
    from contacts.services import channel_pause_set

    today = datetime.date.today()
    channel_pause_set(contact=contact, channel=email, pause_from=today - datetime.timedelta(days=2),
                      pause_to=today + datetime.timedelta(days=2), source="system")
    Contact.objects.filter(pk=contact.pk).update(time_zone="US/Pacific-New")  # removed from tzdata in 2020
    response = staff.get(reverse("contacts:contact_list"), {"paused": "on"})
    assert response.status_code == 200
    assert contact.email in response.content.decode()


@pytest.mark.parametrize("model", ["contacts/contact", "auth/user"])
def test_an_empty_to_field_on_an_admin_change_page_is_refused_with_400(client, contact, model):
    admin = UserFactory(is_superuser=True)
    client.raise_request_exception = False
    client.force_login(admin)
    pk = contact.pk if model == "contacts/contact" else admin.pk
    assert client.get(f"/admin/{model}/{pk}/change/", {"_to_field": ""}).status_code == 400
    assert client.post(f"/admin/{model}/{pk}/change/", {"_to_field": ""}).status_code == 400
    assert client.get(f"/admin/{model}/{pk}/change/").status_code == 200


@pytest.mark.parametrize("initial", ["-1", "0", "7"])
def test_a_settings_post_that_lies_about_its_initial_forms_saves_no_new_channel(staff, email, sms, initial):
    from contacts.models import Channel

    response = staff.post(reverse("contacts:settings"), {
        "caps-TOTAL_FORMS": "2", "caps-INITIAL_FORMS": initial, "caps-MIN_NUM_FORMS": "0", "caps-MAX_NUM_FORMS": "2",
        "caps-0-id": str(email.pk), "caps-0-default_cap_number": "", "caps-0-default_cap_unit": "",
        "caps-1-id": str(sms.pk), "caps-1-default_cap_number": "", "caps-1-default_cap_unit": "",
    })
    assert response.status_code in (200, 302)
    assert Channel.objects.count() == 2


def test_a_failed_log_in_whose_user_agent_holds_a_nul_is_refused_with_400_and_recorded_nowhere(db):
    from axes.models import AccessAttempt

    response = Client().post(
        reverse("contacts:login"), {"username": "ada", "password": "wrong"}, HTTP_USER_AGENT="Mozilla\x00"
    )
    assert response.status_code == 400
    assert not AccessAttempt.objects.exists()


def test_a_public_page_post_whose_user_agent_holds_a_nul_is_refused_and_changes_nothing(contact, email):
    from contacts.models import DoNotContact
    from messaging.tests.factories import past_send
    from messaging.public.tokens import send_token

    send = past_send(contact, "email", datetime.datetime.now(datetime.timezone.utc))
    url = reverse("messaging:preferences", args=[send_token(send.pk)])
    response = Client().post(url, {"action": "unsubscribe"}, HTTP_USER_AGENT="curl\x00")
    assert response.status_code == 400
    assert not DoNotContact.objects.filter(contact=contact).exists()
