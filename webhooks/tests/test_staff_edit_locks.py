"""Two staff edits of one webhook endpoint, or resends of one delivery, at once: the second waits
for the first, so its audit row says what it really changed."""

import pytest
from django.utils import timezone

from contacts.models import StaffChange
from contacts.tests.concurrency import race
from contacts.tests.factories import UserFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import delivery_resend, endpoint_update

pytestmark = pytest.mark.django_db(transaction=True)


def an_endpoint() -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="Start", url="https://bi.example.com/hooks", events=["send.outcome"])


def audited(endpoint) -> list:
    return [list(change.changes.values())[0]
            for change in StaffChange.objects.filter(subject_id=endpoint.pk, action="updated").order_by("id")]


def test_two_renames_of_one_endpoint_at_once_are_audited_one_after_the_other():
    endpoint, user = an_endpoint(), UserFactory()
    race(lambda: endpoint_update(endpoint=endpoint, acting_user=user, name="First"),
         lambda: endpoint_update(endpoint=endpoint, acting_user=user, name="Second"))
    assert audited(endpoint) == [["Start", "First"], ["First", "Second"]]


def test_two_resends_of_one_failed_delivery_at_once_are_audited_one_after_the_other():
    endpoint, user, now = an_endpoint(), UserFactory(), timezone.now()
    event = WebhookEvent.objects.create(type="dnc.added", payload={})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="failed", next_attempt_at=now,
                                              give_up_at=now)
    race(lambda: delivery_resend(delivery=delivery, acting_user=user),
         lambda: delivery_resend(delivery=delivery, acting_user=user))
    assert audited(endpoint) == [["failed", "resent"], ["pending", "resent"]]
