"""The deferral queue: re-evaluation with today's preferences, expiry, cancel; delivery retries."""

import datetime

import pytest
from django.db.models import Q

from contacts import services as contact_services
from messaging import services
from messaging.delivery.backends import ChannelBackend
from messaging.engine.deferred import ORPHAN_AFTER, stalled_sends
from messaging.models import Send

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 5, 12, 0)
STAFF = "system"


@pytest.fixture
def paused_contact(members, email):
    contact = members(time_zone="UTC")
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 7), source=STAFF
    )
    return contact


def test_a_deferred_send_goes_out_when_the_pause_ends(members, paused_contact, mailoutbox):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    assert send_of(message, paused_contact).deferred_until == aware(2026, 3, 8)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    services.sends_deliver(sends=Q(pk__in=report.to_deliver))
    send = send_of(message, paused_contact)
    assert (send.outcome, send.channel.slug) == ("sent", "email")
    assert [m.to for m in mailoutbox] == [[paused_contact.email]]


def test_a_deferred_send_is_not_touched_before_it_is_due(members, paused_contact):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    assert services.deferred_process(now=aware(2026, 3, 7, 23, 0)).reevaluated == 0
    assert send_of(message, paused_contact).outcome == "deferred"


def test_an_unsubscribe_during_the_deferral_skips_the_send(members, paused_contact, email, mailoutbox):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    contact_services.channel_unsubscribe(contact=paused_contact, channel=email, source="one_click")
    services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    send = send_of(message, paused_contact)
    assert (send.outcome, send.reason) == ("skipped_dnc", "dnc")
    assert mailoutbox == []


def test_a_lifted_pause_is_honoured_at_re_evaluation(members, paused_contact, email, sms):
    message = MessageFactory(channels=["email", "sms"], segments=[members.segment])
    contact_services.channel_unsubscribe(contact=paused_contact, channel=sms, source=STAFF)
    run_dispatch(message, now=NOW)
    contact_services.channel_pause_set(contact=paused_contact, channel=email, pause_from=None, pause_to=None, source=STAFF)
    # Still re-evaluated only when due: the deferral time was fixed by the old pause.
    services.deferred_process(now=aware(2026, 3, 8, 0, 0))
    assert send_of(message, paused_contact).outcome == "sending"


def test_a_send_still_not_sendable_at_deliver_until_expires(members, paused_contact):
    message = MessageFactory(
        channels=["email"], segments=[members.segment], deliver_until=aware(2026, 3, 6, 12, 0)
    )
    run_dispatch(message, now=NOW)
    send = send_of(message, paused_contact)
    assert send.deferred_until == aware(2026, 3, 6, 12, 0)  # re-checked at the deadline, not after
    services.deferred_process(now=aware(2026, 3, 6, 12, 1))
    send.refresh_from_db()
    assert (send.outcome, send.reason) == ("expired", "deadline")


def test_staff_cancel_deferred_sends(members, paused_contact):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW)
    assert services.deferred_cancel(acting_user=None, dispatch=dispatch) == 1
    assert send_of(message, paused_contact).outcome == "cancelled"
    assert services.deferred_process(now=aware(2026, 3, 9)).reevaluated == 0


class BrokenBackend(ChannelBackend):
    calls = 0

    def deliver(self, renderer, deliveries):
        BrokenBackend.calls += 1
        return {d.send_id: "421 try later" for d in deliveries}


def test_a_delivery_error_is_retried_then_the_send_fails(members, monkeypatch, settings):
    settings.MESSAGING_MAX_ATTEMPTS = 3
    monkeypatch.setattr("messaging.delivery.handover.backend_for", BrokenBackend)
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW, deliver=False)
    for attempt in range(1, 4):
        report = services.sends_deliver(sends=Q(dispatch=dispatch))
        send = send_of(message, contact)
        assert send.attempts == attempt
    assert (send.outcome, send.last_error, report.retry) == ("failed", "421 try later", [])


def test_a_do_not_contact_arriving_before_delivery_wins(members, email, mailoutbox):
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW, deliver=False)
    contact_services.channel_unsubscribe(contact=contact, channel=email, source="one_click")
    services.sends_deliver(sends=Q(dispatch=dispatch))
    assert send_of(message, contact).outcome == "skipped_dnc"
    assert mailoutbox == []


def test_delivering_twice_sends_once(members, mailoutbox):
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW)
    services.sends_deliver(sends=Q(dispatch=dispatch))
    assert len(mailoutbox) == 1
    assert Send.objects.get(message=message).outcome == "sent"


def test_the_stalled_send_sweep_leaves_a_failed_attempt_to_its_retry(members, monkeypatch, settings):
    from django.utils import timezone

    monkeypatch.setattr("messaging.delivery.handover.backend_for", BrokenBackend)
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now() - datetime.timedelta(hours=1), deliver=False)
    services.sends_deliver(sends=Q(dispatch=dispatch))  # fails now; its retry is scheduled
    send = send_of(message, contact)

    assert send.pk not in stalled_sends()
    later = timezone.now() + ORPHAN_AFTER + datetime.timedelta(seconds=1)
    assert send.pk in stalled_sends(now=later)  # a retry that never came is picked up


def test_cancelling_without_a_scope_is_refused_and_cancels_nothing(members, paused_contact):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    with pytest.raises(ValueError, match="send_ids or a dispatch"):
        services.deferred_cancel(acting_user=None)
    assert send_of(message, paused_contact).outcome == "deferred"


def test_cancelling_selected_sends_of_another_dispatch_leaves_them(members, paused_contact):
    first = run_dispatch(MessageFactory(channels=["email"], segments=[members.segment]), now=NOW)
    second = run_dispatch(MessageFactory(channels=["email"], segments=[members.segment]), now=NOW)
    other = second.sends.get()
    assert services.deferred_cancel(acting_user=None, dispatch=first, send_ids=[other.pk]) == 0
    other.refresh_from_db()
    assert other.outcome == "deferred"
