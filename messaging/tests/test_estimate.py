"""The estimate on the send page: the decision counted, nothing written, and the same counts a
real dispatch of the same data then records."""

import datetime
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services as contact_services
from contacts.tests.factories import CategoryFactory
from messaging import selectors
from messaging.models import Send

from .conftest import run_dispatch
from .factories import MessageFactory, past_send
from .test_staff import marketer  # noqa: F401 (fixture)


@pytest.fixture
def mixed_audience(members, email, sms):
    """One recipient for each way the decision can go, on a message with email then SMS."""
    today = timezone.now().date()
    category = CategoryFactory()
    members(first_name="Plain")
    members(first_name="Prefers SMS", _preferred=sms)
    for contact in [members(first_name="Email DNC")]:
        contact_services.channel_unsubscribe(contact=contact, channel=email, source="system")
    for contact in [members(first_name="Both DNC")]:
        contact_services.channel_unsubscribe(contact=contact, channel=email, source="system")
        contact_services.channel_unsubscribe(contact=contact, channel=sms, source="system")
    members(first_name="No address", email="", phone="")
    for contact in [members(first_name="Left the category")]:
        contact_services.category_unsubscribe(contact=contact, category=category, source="system")
    for contact in [members(first_name="Paused", phone="")]:
        contact_services.channel_pause_set(contact=contact, channel=email, pause_from=today,
                                           pause_to=today + datetime.timedelta(days=2), source="system")
    for contact in [members(first_name="Capped", phone="")]:
        contact_services.channel_frequency_set(contact=contact, channel=email, number=1, unit="day", source="system")
        past_send(contact, "email", timezone.now() - datetime.timedelta(hours=1))
    return MessageFactory(channels=["email", "sms"], category=category, segments=[members.segment])


@pytest.fixture
def members(members, sms):
    """The messaging ``members`` helper, with ``_preferred`` to set a preferred channel."""
    add = members

    def with_preference(_preferred=None, **fields):
        contact = add(**fields)
        if _preferred:
            contact_services.contact_preferred_channel_set(contact=contact, channel=_preferred, source="system")
        return contact

    with_preference.segment = add.segment
    return with_preference


def recorded(dispatch) -> Counter:
    # A backend that hands over inside the decision stores "sent" at once: the decision said "sending".
    rows = Send.objects.filter(dispatch=dispatch).values_list("outcome", "channel_id", "reason")
    return Counter(("sending" if outcome == "sent" else outcome, channel, reason) for outcome, channel, reason in rows)


def test_the_estimate_writes_nothing_and_a_dispatch_then_records_the_same_counts(mixed_audience, email, sms):
    now = timezone.now()
    sends_before = Send.objects.count()
    estimate = selectors.message_estimate(message=mixed_audience, now=now)
    assert Send.objects.count() == sends_before
    assert estimate.by_channel() == {email.pk: 1, sms.pk: 2}  # Email DNC falls back to SMS
    assert estimate.outcome_total(Send.Outcome.DEFERRED) == 2
    assert {o for (o, _c, _r) in estimate.counts} >= {"skipped_category", "skipped_dnc", "skipped_no_address"}

    dispatch = run_dispatch(mixed_audience, now=now, deliver=False)
    assert recorded(dispatch) == Counter(estimate.counts)


def test_recipients_decided_by_an_earlier_dispatch_are_not_counted_again(mixed_audience, members):
    run_dispatch(mixed_audience, now=timezone.now(), deliver=False)
    members(first_name="Joined since")
    estimate = selectors.message_estimate(message=mixed_audience)
    assert estimate.decided == 1 and estimate.already_decided == 8


def test_the_send_page_lists_would_send_per_channel_and_skipped_per_reason(client, marketer, mixed_audience):  # noqa: F811
    page = client.get(reverse("messaging:message_send", args=[mixed_audience.pk])).content.decode()
    assert "If sent now" in page
    assert page.count('data-estimate="send"') == 2
    assert "Unsubscribed from the category" in page and "Skipped: no address" in page and "Paused" in page
    assert Send.objects.filter(message=mixed_audience).count() == 0


def test_a_recipient_whose_stored_data_the_decision_cannot_read_counts_as_the_failure_a_dispatch_records(members, email):
    from contacts.models import Contact

    today = timezone.now().date()
    members(first_name="Fine")
    stale = members(first_name="Old", phone="")
    contact_services.channel_pause_set(contact=stale, channel=email, pause_from=today,
                                       pause_to=today + datetime.timedelta(days=2), source="system")
    Contact.objects.filter(pk=stale.pk).update(time_zone="US/Pacific-New")  # a zone the database no longer knows
    message = MessageFactory(channels=["email"], segments=[members.segment])
    now = timezone.now()
    estimate = selectors.message_estimate(message=message, now=now)
    assert estimate.counts[("failed", None, "decision_failed")] == 1 and estimate.decided == 2
    assert recorded(run_dispatch(message, now=now, deliver=False)) == Counter(estimate.counts)
