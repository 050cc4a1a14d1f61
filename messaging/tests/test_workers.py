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
from messaging.models import Dispatch, DispatchBatch, OutboxMessage, Send
from messaging.tasks import dispatch_plan_task, process_deferred

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
    batches = DispatchBatch.objects.filter(dispatch_id__in=ids).values("status").annotate(n=Count("id"))
    sends = Send.objects.filter(dispatch_id__in=ids).values("outcome").annotate(n=Count("id"))
    raise AssertionError(
        f"the dispatches did not finish: batches {sorted((r['status'], r['n']) for r in batches)}, "
        f"sends {sorted((r['outcome'], r['n']) for r in sends)}"
    )


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


RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
@pytest.mark.parametrize("killed", ["worker", "pool"])
def test_a_batch_whose_worker_was_killed_is_redelivered_by_the_broker_and_completes(celery_workers, broker, killed):
    # No lease sweep runs here: only the broker giving the unacknowledged tasks back can finish the
    # dispatch. A killed worker (all its processes) leaves its tasks unacknowledged (acks_late):
    # RabbitMQ requeues them when the connection drops, Redis after the visibility timeout. A
    # killed pool process is seen by its worker, which rejects its task back (reject_on_worker_lost).
    if broker == "rabbitmq":
        celery_workers.broker_url = RABBITMQ_URL
    celery_workers.environment["CELERY_VISIBILITY_TIMEOUT_SECONDS"] = "5"
    Channel.objects.filter(slug="email").update(backend="messaging.tests.backends.SlowRecordingBackend")
    segment, contacts = segment_of(300)
    message = MessageFactory(channels=["email"], segments=[segment])
    first = celery_workers.start(concurrency=2)
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1), batch_size=15)
    celery_workers.send(dispatch_plan_task, dispatch.pk)

    deadline = time.monotonic() + 120
    while not Send.objects.filter(dispatch=dispatch, outcome="sent").exists():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    if killed == "worker":
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        celery_workers.start(concurrency=2)
    else:
        for pid in celery_workers.pool_children(first):
            os.kill(pid, signal.SIGKILL)
    dispatch.refresh_from_db()
    assert dispatch.status != Dispatch.Status.DONE, "the dispatch finished before the worker was killed"

    wait_until_done([dispatch], timeout=120)
    sends = Send.objects.filter(dispatch=dispatch)
    assert sends.count() == len(contacts)
    assert set(sends.values_list("outcome", flat=True)) == {"sent"}
    delivered = OutboxMessage.objects.filter(send__dispatch=dispatch)
    assert delivered.count() == len(contacts)
    assert delivered.values("send").distinct().count() == len(contacts)
