"""Staff pages: write a message, preview it for one contact, send it, follow it, read the outbox."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from contacts import services as contact_services
from contacts.tests.factories import UserFactory
from messaging import services
from messaging.models import Dispatch, Message

from .conftest import run_dispatch
from .factories import MessageFactory


@pytest.fixture
def marketer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


@pytest.fixture
def viewer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging", codename__startswith="view_"))
    client.force_login(user)
    return user


def test_a_marketer_creates_a_message_with_an_email_version(client, marketer, members, email):
    response = client.post(reverse("messaging:message_create"), {
        "name": "Spring", "segments": [members.segment.pk], "show_preferences": "false",
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "1", "versions-MAX_NUM_FORMS": "1000",
        "versions-0-channel": email.pk, "versions-0-position": "0", "versions-0-subject": "Hi {first_name}",
        "versions-0-text_body": "Hello", "versions-0-html_body": "",
    })
    message = Message.objects.get(name="Spring")
    assert response.status_code == 302 and response.url == message.get_absolute_url()
    assert message.show_preferences is False and message.show_frequency is None  # None: the global setting
    assert message.versions.get().channel == email


def test_the_preview_shows_which_channel_the_decision_picks_and_why(client, marketer, members, sms):
    contact = members(first_name="Ana")
    contact_services.contact_preferred_channel_set(contact=contact, channel=sms, source="system")
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    response = client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.email})
    page = response.content.decode()
    assert "<strong>Sending</strong> (Preferred channel)" in page
    assert "Spring sale, Ana!" in page and "Reply STOP to opt out." in page


def test_the_send_page_estimates_recipients_and_sending_starts_a_dispatch(client, marketer, members, django_capture_on_commit_callbacks):
    members(), members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert "About 2 recipients" in client.get(reverse("messaging:message_send", args=[message.pk])).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("messaging:message_send", args=[message.pk]))
    dispatch = Dispatch.objects.get(message=message)
    assert response.url == dispatch.get_absolute_url()
    assert len(callbacks) == 1  # the planning task, enqueued once the dispatch is committed


def test_the_report_counts_outcomes_draws_the_chart_and_lists_the_deferred(client, marketer, members, email):
    paused = members()
    contact_services.channel_pause_set(contact=paused, channel=email, pause_from=datetime.date.today(),
                                       pause_to=datetime.date.today() + datetime.timedelta(days=3), source="system")
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    from django.utils import timezone

    dispatch = run_dispatch(message, now=timezone.now())
    page = client.get(dispatch.get_absolute_url()).content.decode()
    assert "<svg" in page and "Done." in page
    assert str(paused) in page and 'name="send"' in page
    report = client.get(dispatch.get_absolute_url(), {"part": "report"}, headers={"HX-Request": "true"}).content.decode()
    assert report.lstrip().startswith('<div id="report"') and "<html" not in report
    assert "2 / 2" in report and "<svg" in report and str(paused) in report


def test_cancelling_from_the_report_cancels_the_deferred_sends(client, marketer, members, email):
    paused = members()
    contact_services.channel_pause_set(contact=paused, channel=email, pause_from=datetime.date.today(),
                                       pause_to=datetime.date.today() + datetime.timedelta(days=3), source="system")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    from django.utils import timezone

    dispatch = run_dispatch(message, now=timezone.now())
    url = reverse("messaging:deferred_cancel", args=[dispatch.pk])

    client.post(url, {"scope": "selected"})  # nothing selected: nothing cancelled
    client.post(url, {"scope": "all"})  # not confirmed: nothing cancelled
    assert dispatch.sends.get().outcome == "deferred"

    client.post(url, {"scope": "all", "confirm": "yes"})
    assert dispatch.sends.get().outcome == "cancelled"


def test_cancelling_the_selected_deferred_sends_leaves_the_others(client, marketer, members, email):
    from django.utils import timezone

    first, second = members(), members()
    for contact in (first, second):
        contact_services.channel_pause_set(contact=contact, channel=email, pause_from=datetime.date.today(),
                                           pause_to=datetime.date.today() + datetime.timedelta(days=3), source="system")
    dispatch = run_dispatch(MessageFactory(channels=["email"], segments=[members.segment]), now=timezone.now())
    chosen = dispatch.sends.get(contact=first)

    client.post(reverse("messaging:deferred_cancel", args=[dispatch.pk]), {"scope": "selected", "send": [chosen.pk]})

    assert dict(dispatch.sends.values_list("contact_id", "outcome")) == {first.pk: "cancelled", second.pk: "deferred"}


def test_a_view_only_user_cannot_send(client, viewer, members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    assert client.post(reverse("messaging:message_send", args=[message.pk])).status_code == 403
    assert not Dispatch.objects.exists()


def test_the_outbox_shows_what_each_contact_received_with_its_links(client, marketer, members):
    contact = members()
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    dispatch = run_dispatch(message, now=datetime.datetime.now(datetime.timezone.utc))
    services.sends_deliver(sends=Q(dispatch=dispatch))
    page = client.get(reverse("messaging:outbox"), {"q": contact.phone}).content.decode()
    assert contact.phone in page and "Spring sale" in page


def test_the_message_page_names_its_page_switches_in_words(client, marketer, members):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    message.show_segments = False
    message.save()
    html = client.get(message.get_absolute_url()).content.decode()
    assert "Show preferences" in html and "<s>Show segments</s>" in html and "show_preferences" not in html


def test_a_message_without_a_deadline_is_delivered_until_seven_days_after_it_is_sent(members):
    message = MessageFactory(channels=["email"], segments=[members.segment], deliver_until=None)
    members()
    before = timezone.now()
    dispatch = services.dispatch_create(message=message)
    assert before + datetime.timedelta(days=7) <= dispatch.deliver_until <= timezone.now() + datetime.timedelta(days=7)
