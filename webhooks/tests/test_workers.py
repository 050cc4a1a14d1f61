"""A real Celery worker delivers the outbox: a receiver that is down for a while gets every event
once it is back, in order per contact."""

import time
from collections import defaultdict

import pytest
from django.db.models import Count

from contacts.models import Channel
from contacts.services import channel_frequency_set, channel_subscribe, channel_unsubscribe
from contacts.tests.factories import ContactFactory
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import sweep

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fast_retries(monkeypatch, settings):
    # The workers' environment (settings come from it): retries after 0.2 s, doubling up to 1 s.
    for name, value in {"WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_RETRY_MAX_SECONDS": "1",
                        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}.items():
        monkeypatch.setenv(name, value)


def wait_for(condition, timeout: float, what: str, tick=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        if tick:
            tick()
        time.sleep(0.2)


def test_a_receiver_down_for_a_while_gets_every_event_in_order_per_contact(
    celery_workers, fast_retries, receiver, endpoint_for
):
    endpoint = endpoint_for(receiver)
    celery_workers.start(concurrency=2)
    receiver.stop()  # down
    email, sms = Channel.objects.get(slug="email"), Channel.objects.get(slug="sms")
    contacts = [ContactFactory() for _ in range(4)]
    for round_ in range(3):
        for contact in contacts:
            channel_unsubscribe(contact=contact, channel=email, source="one_click")
            channel_frequency_set(contact=contact, channel=sms, number=round_ + 1, unit="week", source="system")
            channel_subscribe(contact=contact, channel=email, source="public_page")
    # The workers try (after each commit, then on the sweep beat runs) and fail while it is down.
    # Only the oldest event of each contact is tried: the later ones wait behind it.
    wait_for(lambda: WebhookDelivery.objects.filter(attempts__gte=3).count() >= len(contacts), 60,
             "the workers did not keep retrying", tick=sweep)
    assert not WebhookDelivery.objects.filter(status="delivered").exists()
    receiver.start()  # back, on the same port
    total = WebhookEvent.objects.count()
    wait_for(lambda: len(receiver.events) >= total, 120, "not every event arrived", tick=sweep)

    assert WebhookDelivery.objects.filter(status="delivered").count() == total
    retried = WebhookDelivery.objects.filter(attempts__gt=1).aggregate(n=Count("id"))["n"]
    print(f"{total} events, {retried} delivered after more than one attempt")
    assert retried > 0
    assert len(set(receiver.ids)) == total and receiver.rejected in ([], ["replay"] * len(receiver.rejected))
    order = defaultdict(list)
    for message_id, event in zip(receiver.ids, receiver.events):
        order[event["data"]["contact"]["id"]].append(int(message_id.removeprefix("msg_")))
    expected = defaultdict(list)
    for event_id, contact_id in WebhookEvent.objects.order_by("id").values_list("id", "contact_id"):
        expected[contact_id].append(event_id)
    assert order == expected  # each contact's events arrived in the order they happened
