"""Send outcomes reach the webhook outbox a batch at a time, in the transaction that finishes the
batch (or re-decides deferred sends)."""

import pytest

from contacts import services as contact_services
from messaging import services
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

