"""Real Celery worker processes on PostgreSQL and Redis: caps under concurrency, crash safety."""

import datetime
import os
import signal
import time

import pytest
from django.db.models import Count
from django.utils import timezone

from contacts.models import Channel, Contact, SegmentMembership
from contacts.tests.factories import SegmentFactory
from messaging import services
from messaging.models import Dispatch, OutboxMessage, Send
from messaging.tasks import process_deferred

from .factories import MessageFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def segment_of(count: int):
    segment = SegmentFactory()
    contacts = Contact.objects.bulk_create(
        Contact(first_name=f"C{n}", email=f"load{n}@example.com", phone=f"+3370{n:07d}") for n in range(count)
    )
    SegmentMembership.objects.bulk_create(
        SegmentMembership(contact=contact, segment=segment, source="import") for contact in contacts
    )
    return segment, contacts


def wait_until_done(dispatches, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    ids = [dispatch.pk for dispatch in dispatches]
    while time.monotonic() < deadline:
        if not Dispatch.objects.filter(pk__in=ids).exclude(status=Dispatch.Status.DONE).exists():
            return
        time.sleep(0.2)
    raise AssertionError("the dispatches did not finish")


def test_concurrent_workers_dispatching_several_messages_never_exceed_a_cap(celery_workers):
    # Everyone may get 2 emails a day; 6 messages go to the same 1,500 people at once, on 6 processes.
    Channel.objects.filter(slug="email").update(
        backend="messaging.backends.noop.NoopBackend", default_cap_number=2, default_cap_unit="day"
    )
    segment, contacts = segment_of(1500)
    messages = [MessageFactory(channels=["email"], segments=[segment]) for _ in range(6)]
    for _ in range(3):
        celery_workers.start(concurrency=2)

    dispatches = [services.dispatch_create(message=message, batch_size=750) for message in messages]
    wait_until_done(dispatches)

    counted = Send.objects.filter(outcome__in=["sending", "sent"], sent_at__gt=timezone.now() - datetime.timedelta(days=1))
    per_contact = counted.values("contact").annotate(n=Count("id"))
    assert max(row["n"] for row in per_contact) == 2  # nobody above the cap of 2 a day
    assert counted.count() == 2 * len(contacts)  # and everyone got their two
    assert Send.objects.filter(outcome="deferred").count() == 4 * len(contacts)


def test_a_worker_killed_mid_dispatch_loses_and_duplicates_nothing(celery_workers, settings):
    Channel.objects.filter(slug="email").update(backend="messaging.tests.backends.SlowRecordingBackend")
    segment, contacts = segment_of(300)
    message = MessageFactory(channels=["email"], segments=[segment])
    first = celery_workers.start(concurrency=2)
    dispatch = services.dispatch_create(message=message, batch_size=15)

    deadline = time.monotonic() + 120
    while not Send.objects.filter(dispatch=dispatch, outcome="sent").exists():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    dispatch.refresh_from_db()
    assert dispatch.status != Dispatch.Status.DONE, "the dispatch finished before the worker was killed"

    celery_workers.start(concurrency=2)
    settings.MESSAGING_BATCH_LEASE_SECONDS = 0  # what beat does once the lease of the dead worker ran out
    process_deferred()
    wait_until_done([dispatch])

    sends = Send.objects.filter(dispatch=dispatch)
    assert sends.count() == len(contacts)
    assert set(sends.values_list("contact_id", flat=True)) == {contact.pk for contact in contacts}
    assert set(sends.values_list("outcome", flat=True)) == {"sent"}
    delivered = OutboxMessage.objects.filter(send__dispatch=dispatch)
    assert delivered.count() == len(contacts)
    assert delivered.values("send").distinct().count() == len(contacts)
