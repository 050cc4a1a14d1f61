"""Send outcomes reach the webhook outbox a batch at a time, in the transaction that finishes the
batch (or re-decides deferred sends)."""

import pytest
from django.db import transaction

from contacts import services as contact_services
from messaging import services
from messaging.delivery.backends import ChannelBackend
from messaging.models import Send
from webhooks.models import WebhookEndpoint, WebhookEvent

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 2, 9, 0)


@pytest.fixture
def listening(db):
    return WebhookEndpoint.objects.create(name="BI", url="https://bi.example.com/hooks", events=["send.outcome"])


def outcome_events():
    return [event["data"]["sends"] for event in WebhookEvent.objects.order_by("id").values_list("payload", flat=True)]


def test_a_batch_finishing_is_one_send_outcome_event_with_every_outcome(listening, members, email):
    sent, gone = members(), members()
    contact_services.channel_unsubscribe(contact=gone, channel=email, source="one_click")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    [sends] = outcome_events()
    assert sorted((send["contact_id"], send["outcome"], send["reason"], send["channel"]) for send in sends) == sorted([
        (sent.pk, "sent", send_of(message, sent).reason, "email"), (gone.pk, "skipped", "skipped_dnc", None),
    ])
    assert {send["message_id"] for send in sends} == {message.pk}


def test_a_deferred_send_decided_again_is_published_again(listening, members, email):
    paused = members(time_zone="UTC")
    contact_services.channel_pause_set(contact=paused, channel=email, pause_from=NOW.date(),
                                       pause_to=aware(2026, 3, 7).date(), source="system")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    contact_services.channel_unsubscribe(contact=paused, channel=email, source="one_click")
    services.deferred_process(now=aware(2026, 3, 9))
    assert [[(send["outcome"], send["reason"]) for send in sends] for sends in outcome_events()] == [
        [("deferred", "paused")], [("skipped", "skipped_dnc")],
    ]


def test_no_listener_no_outcome_event(members):
    members()
    run_dispatch(MessageFactory(channels=["email"], segments=[members.segment]), now=NOW)
    assert not WebhookEvent.objects.exists()



@pytest.fixture
def paused(members, email):
    """A contact whose email is paused when the message goes out: its send is deferred."""
    contact = members(time_zone="UTC")
    contact_services.channel_pause_set(contact=contact, channel=email, pause_from=NOW.date(),
                                       pause_to=aware(2026, 3, 7).date(), source="system")
    return contact


def outcomes_of(send_id):
    return [(send["outcome"], send["reason"]) for sends in outcome_events() for send in sends if send["send_id"] == send_id]


def test_a_deferred_send_handed_over_later_is_published_once_as_sent(listening, members, paused):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    send = send_of(message, paused)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    assert report.to_deliver == [send.pk] and outcomes_of(send.pk) == [("deferred", "paused")]  # sending: not yet

    services.sends_deliver_now(send_ids=report.to_deliver)
    services.sends_deliver_now(send_ids=report.to_deliver)  # a redelivered task records nothing twice

    assert outcomes_of(send.pk) == [("deferred", "paused"), ("sent", send_of(message, paused).reason)]


def test_a_deferred_send_that_expires_is_published_once_as_expired(listening, members, paused):
    message = MessageFactory(channels=["email"], segments=[members.segment], deliver_until=aware(2026, 3, 6, 12, 0))
    run_dispatch(message, now=NOW)
    services.deferred_process(now=aware(2026, 3, 6, 12, 1))
    services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    assert outcomes_of(send_of(message, paused).pk) == [("deferred", "paused"), ("expired", "deadline")]


class RefusingBackend(ChannelBackend):
    def deliver(self, renderer, deliveries):
        return {d.send_id: "554 refused" for d in deliveries}


def test_a_deferred_send_whose_last_attempt_fails_is_published_as_failed(listening, members, paused, monkeypatch,
                                                                         settings):
    settings.MESSAGING_MAX_ATTEMPTS = 2
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    monkeypatch.setattr("messaging.delivery.handover.backend_for", RefusingBackend)
    with pytest.raises(services.DeliveryRetry):
        services.sends_deliver_now(send_ids=report.to_deliver)
    services.sends_deliver_now(send_ids=report.to_deliver)
    assert [outcome for outcome, _reason in outcomes_of(report.to_deliver[0])] == ["deferred", "failed"]


def test_a_deferred_send_skipped_at_the_hand_over_is_published_as_skipped(listening, members, paused, email):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    contact_services.channel_unsubscribe(contact=paused, channel=email, source="one_click")
    services.sends_deliver_now(send_ids=report.to_deliver)
    assert outcomes_of(report.to_deliver[0]) == [("deferred", "paused"), ("skipped", "skipped_dnc")]


def test_cancelled_deferred_sends_are_published_as_cancelled(listening, members, paused):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=NOW)
    services.deferred_cancel(acting_user=None, dispatch=dispatch)
    assert [outcome for outcome, _reason in outcomes_of(send_of(message, paused).pk)] == ["deferred", "cancelled"]


def test_a_hand_over_that_rolls_back_publishes_nothing(listening, members, paused):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.sends_deliver_now(send_ids=report.to_deliver)
        raise RuntimeError("the caller's transaction fails after the hand-over was recorded")
    assert send_of(message, paused).outcome == "sending"
    assert outcomes_of(report.to_deliver[0]) == [("deferred", "paused")]


class OvertakenBackend(ChannelBackend):
    """While it hands the send over, another deliverer (this one's claim ran out) records it first."""

    def deliver(self, renderer, deliveries):
        Send.objects.filter(pk__in=[d.send_id for d in deliveries]).update(
            outcome=Send.Outcome.SENT, delivered_at=aware(2026, 3, 8, 0, 2), claim_token=None, claimed_at=None)
        return {}


def test_a_deliverer_overtaken_by_another_publishes_nothing_for_the_send_it_did_not_record(
    listening, members, paused, monkeypatch
):
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    monkeypatch.setattr("messaging.delivery.handover.backend_for", OvertakenBackend)
    services.sends_deliver_now(send_ids=report.to_deliver)
    # The deliverer that recorded it publishes it; the late one, whose record changed nothing, does not.
    assert outcomes_of(report.to_deliver[0]) == [("deferred", "paused")]
