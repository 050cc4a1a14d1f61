"""The decision is total for any stored date, and one contact it cannot decide never stops a batch."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from contacts.models import ChannelPreference, Contact
from contacts.tests.factories import UserFactory
from messaging.engine.decision import decide, message_plan
from messaging.engine.decision.rules import ChannelFacts, ContactFacts, MessagePlan, PlannedChannel
from messaging.models import Send
from messaging.engine import dispatch as dispatch_services

from .conftest import decision_for, run_dispatch, send_of
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 5, 12, 0)
END_OF_CALENDAR = datetime.date(9999, 12, 31)
ZONES = ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/Los_Angeles"]


def stored_before_the_bound(contact, channel, pause_from, pause_to):
    """A pause saved before pause dates were bounded (the test's transaction restores the constraint)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE contacts_channelpreference DROP CONSTRAINT chpref_pause_within_range")
    ChannelPreference.objects.create(contact=contact, channel=channel, pause_from=pause_from, pause_to=pause_to)


@pytest.mark.parametrize("zone", ZONES)
def test_the_reference_rules_decide_a_pause_to_the_end_of_the_calendar(zone):
    channel = PlannedChannel(id=1, slug="email", address_field="email", default_cap_number=None, default_cap_unit="")
    deadline = NOW + datetime.timedelta(days=7)
    plan = MessagePlan(message_id=1, channels=(channel,), deliver_until=deadline)
    facts = ContactFacts(
        contact_id=1, time_zone=zone, addresses={"email": "a@example.com"},
        channels={1: ChannelFacts(pause_from=datetime.date(2026, 1, 1), pause_to=END_OF_CALENDAR)},
    )
    decision = decide(facts, plan, NOW)
    assert (decision.outcome, decision.reason, decision.deferred_until) == ("deferred", "paused", deadline)
    assert decision.verdicts[0].pause_ends.year == 9999


@pytest.mark.parametrize("zone", ZONES)
def test_both_engines_agree_on_a_stored_pause_to_9999_12_31(members, email, zone):
    contact = members(time_zone=zone)
    stored_before_the_bound(contact, email, datetime.date(2026, 1, 1), END_OF_CALENDAR)
    message = MessageFactory(channels=["email"], segments=[members.segment])
    deadline = NOW + datetime.timedelta(days=3)
    assert decision_for(message, contact, NOW, deadline) == ("deferred", None, "paused", deadline)


def test_the_staff_preview_of_a_contact_paused_to_9999_12_31_shows_the_deferral(client, members, email):
    contact = members()
    stored_before_the_bound(contact, email, datetime.date(2026, 1, 1), END_OF_CALENDAR)
    message = MessageFactory(channels=["email"], segments=[members.segment])
    client.raise_request_exception = False
    client.force_login(UserFactory(is_superuser=True))
    response = client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.pk})
    assert response.status_code == 200
    assert "<strong>Deferred</strong> (Paused)" in response.content.decode()


def test_a_dispatch_with_a_contact_paused_to_9999_12_31_defers_it_and_sends_the_others(members, email):
    paused, other = members(), members()
    stored_before_the_bound(paused, email, datetime.date(2026, 1, 1), END_OF_CALENDAR)
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    assert send_of(message, paused).outcome == "deferred"
    assert send_of(message, other).outcome == "sent"


@pytest.fixture
def unknown_zone(members, email):
    """A contact whose stored time zone the database no longer knows (a zone retired by tzdata)."""
    contact = members()
    ChannelPreference.objects.create(
        contact=contact, channel=email, pause_from=datetime.date(2026, 1, 1), pause_to=datetime.date(2026, 12, 31)
    )
    Contact.objects.filter(pk=contact.pk).update(time_zone="Mars/Olympus_Mons")
    return contact


def test_a_contact_the_set_based_decision_cannot_evaluate_fails_alone(members, unknown_zone):
    before, after = members(), members()
    also_bad = members()
    Contact.objects.filter(pk=also_bad.pk).update(time_zone="Moon/Tranquility")
    ChannelPreference.objects.create(contact=also_bad, channel=unknown_zone.channel_preferences.get().channel,
                                     pause_from=datetime.date(2026, 1, 1), pause_to=datetime.date(2026, 1, 2))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW)
    assert (send_of(message, before).outcome, send_of(message, after).outcome) == ("sent", "sent")
    for bad in (unknown_zone, also_bad):
        failed = send_of(message, bad)
        assert (failed.outcome, failed.reason) == ("failed", "decision_failed")
        assert "time zone" in failed.last_error
    assert dispatch.status == "done"
    assert Send.objects.filter(dispatch=dispatch).count() == 4


def test_the_python_decision_isolates_a_contact_it_cannot_decide(members, unknown_zone):
    good = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW, deliver=False)
    Send.objects.filter(dispatch=dispatch).delete()
    batch = dispatch.batches.get()
    plan = message_plan(message, deliver_until=dispatch.deliver_until)
    decided = dispatch_services._batch_decide_python(batch, plan, NOW)
    assert decided == 2
    assert send_of(message, good).outcome == "sending"
    failed = send_of(message, unknown_zone)
    assert (failed.outcome, failed.reason) == ("failed", "decision_failed")
    assert "Mars/Olympus_Mons" in failed.last_error


@pytest.fixture
def due_deferred(members, email):
    """Three deferred sends of one dispatch, due now; the middle contact's time zone is unknown."""
    contacts = [members(), members(), members()]
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW, deliver=False)
    Send.objects.filter(dispatch=dispatch).update(outcome="deferred", channel=None, sent_at=None, first_deferred_at=NOW,
                                                  deferred_until=NOW, evaluated_at=NOW - datetime.timedelta(hours=1))
    ChannelPreference.objects.create(contact=contacts[1], channel=email, pause_from=datetime.date(2026, 1, 1),
                                     pause_to=datetime.date(2026, 12, 31))
    Contact.objects.filter(pk=contacts[1].pk).update(time_zone="Mars/Olympus_Mons")
    return message, contacts


def test_a_deferred_send_the_set_based_decision_cannot_evaluate_fails_alone(due_deferred):
    from messaging.engine.deferred import deferred_process

    message, (first, bad, last) = due_deferred
    report = deferred_process(now=NOW + datetime.timedelta(minutes=1))
    assert (send_of(message, first).outcome, send_of(message, last).outcome) == ("sending", "sending")
    failed = send_of(message, bad)
    assert (failed.outcome, failed.reason, failed.deferred_until) == ("failed", "decision_failed", None)
    assert "time zone" in failed.last_error
    assert report.outcomes == {"sending": 2, "failed": 1}


def test_a_deferred_send_the_python_decision_cannot_evaluate_fails_alone(due_deferred):
    from messaging.engine import deferred

    message, (first, bad, last) = due_deferred
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deferred.connection, "vendor", "sqlite")  # the embedded demo's engine
        ids = list(Send.objects.filter(message=message).values_list("pk", flat=True))
        later = NOW + datetime.timedelta(minutes=1)
        results = dict(deferred._reevaluate(send_of(message, first).dispatch_id, ids, later))
    assert results[send_of(message, bad).pk] == "failed"
    assert (send_of(message, first).outcome, send_of(message, last).outcome) == ("sending", "sending")
    assert "Mars/Olympus_Mons" in send_of(message, bad).last_error


def test_the_staff_preview_of_a_contact_it_cannot_decide_says_why(client, unknown_zone):
    message = MessageFactory(channels=["email"])
    client.raise_request_exception = False
    client.force_login(UserFactory(is_superuser=True))
    response = client.get(reverse("messaging:message_preview", args=[message.pk]), {"contact": unknown_zone.pk})
    assert response.status_code == 200
    assert "The decision for this contact failed" in response.content.decode()
