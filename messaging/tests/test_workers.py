"""Real Celery worker processes on PostgreSQL and Redis: caps under concurrency, crash safety."""

import asyncio
import datetime
import os
import signal
import time
from collections import Counter
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.db.models import Count
from django.utils import timezone

from contacts.models import Channel, Contact, SegmentMembership
from contacts.tests.factories import SegmentFactory
from messaging import services
from messaging.models import Dispatch, DispatchBatch, OutboxMessage, Send
from messaging.tasks import dispatch_plan_task, process_deferred

from .factories import MessageFactory
from .test_delivery import free_port

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
        backend="messaging.delivery.backends.noop.NoopBackend", default_cap_number=2, default_cap_unit="day"
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


class CountingInbox:
    """A real SMTP server's view: every Message-ID it accepted, repeats included."""

    def __init__(self):
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.002)  # a provider a little slower than a local sink
        self.message_ids.append(message_from_bytes(envelope.content)["Message-ID"])
        return "250 OK"


@pytest.fixture
def counting_smtp(monkeypatch):
    inbox = CountingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    # The workers' environment: settings come from it.
    for name, value in {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                        "EMAIL_PORT": str(controller.port), "EMAIL_USE_TLS": "false", "EMAIL_USE_SSL": "false"}.items():
        monkeypatch.setenv(name, value)
    yield inbox
    controller.stop()


# Sized for CI; PC_KILL_TEST_RECIPIENTS=50000 runs the full-size case.
KILL_TEST_RECIPIENTS = int(os.environ.get("PC_KILL_TEST_RECIPIENTS", "3000"))


@pytest.mark.timeout(300 + KILL_TEST_RECIPIENTS // 50)
def test_a_worker_killed_mid_dispatch_duplicates_at_most_its_connections_and_loses_nothing(celery_workers, counting_smtp):
    segment, contacts = segment_of(KILL_TEST_RECIPIENTS)
    message = MessageFactory(channels=["email"], segments=[segment])
    first = celery_workers.start(concurrency=2)  # two processes: two SMTP connections
    dispatch = services.dispatch_create(message=message, batch_size=500)

    deadline = time.monotonic() + 600
    while len(counting_smtp.message_ids) < 0.3 * len(contacts):
        assert time.monotonic() < deadline, "the worker never got to 30 %"
        time.sleep(0.005)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_at, received_at_kill = time.monotonic(), len(counting_smtp.message_ids)
    dispatch.refresh_from_db()
    assert dispatch.status != Dispatch.Status.DONE, "the dispatch finished before the worker was killed"

    celery_workers.start(concurrency=2)
    reissued = 0
    while Dispatch.objects.filter(pk=dispatch.pk).exclude(status=Dispatch.Status.DONE).exists():
        assert time.monotonic() < killed_at + 240 + len(contacts) / 100, "the dispatch did not finish"
        reissued += process_deferred()["stalled_batches"]  # what beat runs
        time.sleep(1)
    received = Counter(counting_smtp.message_ids)
    print(f"resumed and finished {time.monotonic() - killed_at:.0f} s after the kill ({received_at_kill} received "
          f"before); received twice: {sum(n - 1 for n in received.values())}")

    sends = Send.objects.filter(dispatch=dispatch)
    assert reissued >= 1  # the dead worker's batches came back through their lease, not the broker's hour
    assert set(sends.values_list("outcome", flat=True)) == {"sent"}  # none left sending
    expected = {f"<send-{pk}." for pk in sends.values_list("pk", flat=True)}
    assert {message_id.split(".")[0] + "." for message_id in received} == expected  # none lost
    assert sum(n - 1 for n in received.values()) <= 2  # at most the message in flight on each killed connection


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
    assert delivered.values("send").distinct().count() == len(contacts)  # none lost
    # This backend hands over outside the database transaction, like a provider: what was in
    # flight on each of the 2 killed processes may be handed over again, nothing more.
    assert delivered.count() - len(contacts) <= 2
