"""``send.outcome`` from the real worker path: a deferred send that a worker decides again and hands
over, and one that expires, are each published once more, and the receiver gets each event once."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts import services as contact_services
from messaging import services
from messaging.engine.outcomes import handed_over_outcomes_record
from messaging.models import Dispatch, Send
from messaging.tasks import process_deferred_task
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.tests.receiver import Receiver

from .conftest import run_dispatch, send_of
from .factories import MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(monkeypatch, settings):
    # The receiver listens on 127.0.0.1: allowed here and in the workers' environment.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    server = Receiver()
    endpoint = WebhookEndpoint.objects.create(name="BI", url=server.url, events=["send.outcome"])
    server.secret = endpoint.secret
    yield server
    server.stop()


def outcomes_by_send(payloads) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for payload in payloads:
        for send in payload["data"]["sends"]:
            found.setdefault(send["send_id"], []).append(send["outcome"])
    return found


def paused_today(members, email):
    contact = members(time_zone="UTC")
    today = timezone.now().date()
    contact_services.channel_pause_set(contact=contact, channel=email, pause_from=today,
                                       pause_to=today + datetime.timedelta(days=2), source="system")
    return contact


@pytest.mark.worker
def test_a_worker_publishes_a_deferred_send_once_when_it_hands_it_over_and_one_that_expires(
    celery_workers, receiver, members, email
):
    now = timezone.now()
    resumed, expiring = paused_today(members, email), paused_today(members, email)
    later = MessageFactory(channels=["email"], segments=[members.segment])
    soon = MessageFactory(channels=["email"], segments=[members.segment], deliver_until=now + datetime.timedelta(days=1))
    run_dispatch(later, now=now)
    run_dispatch(soon, now=now)
    to_send, to_expire = send_of(later, resumed), send_of(soon, expiring)
    assert (to_send.outcome, to_expire.outcome) == ("deferred", "deferred")
    # Time passes: the pause of one is lifted, the other's deadline has gone by; both are due.
    contact_services.channel_pause_set(contact=resumed, channel=email, pause_from=None, pause_to=None, source="system")
    Dispatch.objects.filter(pk=to_expire.dispatch_id).update(deliver_until=now)
    due = timezone.now() - datetime.timedelta(seconds=1)
    Send.objects.filter(pk__in=[to_send.pk, to_expire.pk]).update(deferred_until=due, evaluated_at=due)

    celery_workers.start(concurrency=2)
    celery_workers.send(process_deferred_task)  # beat's sweep: decide again, then hand over in another task

    deadline = time.monotonic() + 90
    while outcomes_by_send(receiver.events).get(to_send.pk, [])[-1:] != ["sent"]:
        assert time.monotonic() < deadline, f"not delivered: {outcomes_by_send(receiver.events)}"
        time.sleep(0.2)
    time.sleep(1)  # anything published twice would have arrived by now

    published = outcomes_by_send(WebhookEvent.objects.values_list("payload", flat=True))
    assert published[to_send.pk] == ["deferred", "sent"]
    assert published[to_expire.pk] == ["deferred", "expired"]
    assert outcomes_by_send(receiver.events) == published  # every event received, once
    assert receiver.rejected == []


def test_a_batch_finishing_while_a_later_hand_over_is_recorded_publishes_the_send_exactly_once(members):
    """The share lock on the batch: the hand-over's record waits for a batch finishing meanwhile, sees it
    done and publishes the send that the finishing batch read as still being handed over."""
    WebhookEndpoint.objects.create(name="BI", url="https://bi.example.com/hooks", events=["send.outcome"])
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    message.deliver_until = timezone.now() + datetime.timedelta(days=1)
    message.save()
    dispatch = Dispatch.objects.create(message=message, deliver_until=message.deliver_until)
    [batch_id] = services.dispatch_plan(dispatch_id=dispatch.pk)
    services.batch_decide(batch=services.batch_claim(batch_id=batch_id))
    send = Send.objects.get(dispatch=dispatch)
    assert send.outcome == "sending"
    read_by_the_batch = threading.Event()

    def batch_finishing():
        try:
            with transaction.atomic():
                services.batch_finish(batch_id=batch_id)  # reads the send as still "sending"
                read_by_the_batch.set()
                time.sleep(0.5)  # commits after the hand-over asked for the batch
        finally:
            connection.close()

    with transaction.atomic():  # the hand-over's record of the send
        now = timezone.now()
        Send.objects.filter(pk=send.pk).update(outcome=Send.Outcome.SENT, delivered_at=now)
        finishing = threading.Thread(target=batch_finishing)
        finishing.start()
        assert read_by_the_batch.wait(10)
        handed_over_outcomes_record(sends=Q(pk=send.pk, outcome=Send.Outcome.SENT, delivered_at=now))
    finishing.join()

    assert outcomes_by_send(WebhookEvent.objects.values_list("payload", flat=True)) == {send.pk: ["sent"]}
