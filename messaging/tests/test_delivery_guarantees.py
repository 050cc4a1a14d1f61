"""What delivery promises with a provider that is slow or stuck (a real SMTP server on localhost):
no lock across the hand-over, one deliverer per send, and leases that let a dead worker's work go."""

import asyncio
import datetime
import http.client
import threading
import time
import urllib.parse
import uuid
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from celery.exceptions import Retry
from django.core import mail
from django.db import connection, connections
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from contacts.models import DoNotContact
from messaging import services
from messaging.models import Dispatch, DispatchBatch, Send
from messaging.engine.deferred import stalled_batches_claim
from messaging.delivery.handover import sends_claim
from messaging.tasks import dispatch_batch_task

from .conftest import run_dispatch, send_of
from .factories import MessageFactory
from .test_delivery import free_port
from .test_public_page import unsubscribe_url

pytestmark = pytest.mark.django_db(transaction=True)


class StuckInbox:
    """Accepts every email at once, except those to ``stuck_for``: it holds them until released."""

    def __init__(self, stuck_for: str):
        self.stuck_for = stuck_for
        self.received: list[str] = []
        self.entered, self.release, self.left = threading.Event(), threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.stuck_for in envelope.rcpt_tos:
            self.entered.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            self.left.set()
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_to(settings):
    """Point the email backend at a local aiosmtpd server running ``handler``."""
    controllers = []

    def start(handler):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def in_thread(target, *args, **kwargs) -> threading.Thread:
    """Run ``target`` on its own database connection; its exception, if any, in ``thread.error``."""

    def run():
        try:
            target(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            thread.error = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.error = None
    thread.start()
    return thread


def one_click(live_server, path: str) -> int:
    url = urllib.parse.urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", path, body=b"List-Unsubscribe=One-Click",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_one_click_answers_while_the_provider_is_stuck_on_that_contacts_email(live_server, members, smtp_to, settings):
    settings.PUBLIC_RATELIMIT = "100000/m"
    first, stuck, later = members(), members(), members()
    inbox = smtp_to(StuckInbox(stuck_for=stuck.email))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now(), deliver=False)
    delivery = in_thread(services.sends_deliver, sends=Q(dispatch=dispatch))
    assert inbox.entered.wait(30), "the delivery never reached the stuck email"

    # The provider is receiving this contact's email right now, and has not answered.
    assert one_click(live_server, unsubscribe_url(send_of(message, stuck))) == 200
    assert one_click(live_server, unsubscribe_url(send_of(message, later))) == 200
    assert not inbox.left.is_set(), "the one-click waited for the provider"
    assert DoNotContact.objects.filter(contact__in=[stuck, later], reason="unsubscribed").count() == 2

    inbox.release.set()
    delivery.join(60)
    assert delivery.error is None
    # Nothing more went out on that channel after the responses, except the email in flight, which is marked.
    assert inbox.received == [first.email, stuck.email]
    assert (send_of(message, stuck).outcome, send_of(message, stuck).reason) == ("sent", "dnc_during_handover")
    assert (send_of(message, later).outcome, send_of(message, later).reason) == ("skipped_dnc", "dnc_before_delivery")
    assert (send_of(message, first).outcome, send_of(message, first).reason) != ("sent", "dnc_during_handover")


def test_a_second_deliverer_whose_claim_began_before_the_first_finished_takes_nothing(members, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    for _ in range(20):
        members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now(), deliver=False)
    ids = list(Send.objects.filter(dispatch=dispatch).values_list("pk", flat=True))

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(4242)")
    # The second deliverer's statement takes its snapshot, then waits on the lock the test holds.
    waits = RawSQL("pg_advisory_xact_lock_shared(4242)::text IS NOT NULL", [], output_field=BooleanField())
    second = in_thread(services.sends_deliver, sends=Q(pk__in=ids) & Q(waits))
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if cursor.fetchone()[0]:
                break
            assert second.error is None and time.monotonic() < deadline, f"the second deliverer never started: {second.error}"
    first = services.sends_deliver(sends=Q(pk__in=ids))  # delivers everything and commits
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(4242)")
    second.join(30)
    assert second.error is None

    assert first.delivered == 20
    assert sorted(message.to for message in mail.outbox) == sorted([s.contact.email] for s in Send.objects.filter(pk__in=ids))
    assert set(Send.objects.filter(pk__in=ids).values_list("outcome", flat=True)) == {"sent"}


def test_a_send_held_by_a_live_deliverer_is_not_taken_by_another(members, smtp_to):
    first, stuck, later = members(), members(), members()
    inbox = smtp_to(StuckInbox(stuck_for=stuck.email))
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now(), deliver=False)
    delivering = in_thread(services.sends_deliver, sends=Q(dispatch=dispatch))
    assert inbox.entered.wait(30), "the delivery never reached the stuck email"

    # A redelivered task starts on the same sends while the first deliverer still holds them.
    second = services.sends_deliver(sends=Q(dispatch=dispatch))
    inbox.release.set()
    delivering.join(60)
    assert delivering.error is None
    assert (second.delivered, second.skipped, second.retry) == (0, 0, [])
    assert sorted(inbox.received) == sorted([first.email, stuck.email, later.email])


def test_a_batch_whose_sends_another_deliverer_holds_is_not_finished_but_retried_after_the_lease(members):
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    services.batch_decide(batch=services.batch_claim(batch_id=batch_id))
    # A worker took the sends and died; the broker hands its task to another worker at once.
    assert len(sends_claim(sends=Q(dispatch=dispatch), token=uuid.uuid4())) == 1
    with pytest.raises(Retry):
        dispatch_batch_task(batch_id)
    batch = DispatchBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.claimed_at) == ("decided", None)  # not done, and queued again (its retry)
    assert Send.objects.get(dispatch=dispatch).outcome == "sending"


class SlowInbox:
    """A provider taking ``delay`` seconds per email, counting what it received."""

    def __init__(self, delay: float):
        self.delay = delay
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        self.received.append(message_from_bytes(envelope.content)["Message-ID"])
        return "250 OK"


def test_a_batch_worked_on_for_longer_than_its_lease_is_never_reissued(members, smtp_to, settings):
    settings.MESSAGING_BATCH_LEASE_SECONDS = 1
    inbox = smtp_to(SlowInbox(delay=0.1))
    for _ in range(30):  # three seconds of work, three leases
        members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    worker = in_thread(dispatch_batch_task, batch_id)

    reissued = []
    while worker.is_alive():
        reissued += stalled_batches_claim()
        worker.join(0.2)
    assert worker.error is None
    assert reissued == []
    assert len(inbox.received) == len(set(inbox.received)) == 30
    assert DispatchBatch.objects.get(pk=batch_id).status == "done"


def test_a_batch_still_queued_is_never_reissued_however_long_it_waits(members):
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    services.dispatch_plan(dispatch_id=dispatch.pk)  # its task is in the queue, no worker took it yet
    assert stalled_batches_claim(now=timezone.now() + datetime.timedelta(hours=1)) == []


def test_a_batch_whose_worker_stopped_renewing_its_lease_is_reissued_once(members, settings):
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    services.batch_claim(batch_id=batch_id)  # then the worker died
    later = timezone.now() + datetime.timedelta(seconds=settings.MESSAGING_BATCH_LEASE_SECONDS + 1)
    assert stalled_batches_claim(now=later) == [batch_id]
    assert stalled_batches_claim(now=later + datetime.timedelta(minutes=10)) == []  # queued again: the broker's


def test_a_dead_workers_batch_is_resumed_within_a_minute_by_default(settings):
    # The lease runs out, then the next sweep re-issues the batch.
    lease = settings.MESSAGING_BATCH_LEASE_SECONDS
    sweep = settings.CELERY_BEAT_SCHEDULE["messaging.process_deferred"]["schedule"]
    assert lease + sweep <= 60



class RefusingInbox:
    """A provider that answers every email with a temporary error."""

    async def handle_DATA(self, server, session, envelope):
        return "421 try later"


def batch_run_as_retry(batch_id: int, *, retries: int) -> Retry:
    """Run the batch task as a worker's ``retries``-th retry would; the retry it schedules."""
    dispatch_batch_task.push_request(id=str(uuid.uuid4()), args=[batch_id], kwargs={}, retries=retries,
                                     is_eager=True, called_directly=False)
    try:
        dispatch_batch_task.run(batch_id)
    except Retry as retry:
        return retry
    finally:
        dispatch_batch_task.pop_request()
    raise AssertionError("the task did not ask for a retry")


@pytest.fixture
def refused_batch(members, smtp_to):
    smtp_to(RefusingInbox())
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    return batch_id


def test_a_refused_batch_is_retried_after_a_backoff_that_grows_up_to_its_maximum(refused_batch, settings):
    base, longest = settings.MESSAGING_RETRY_BACKOFF_SECONDS, settings.MESSAGING_RETRY_BACKOFF_MAX_SECONDS
    for retries in range(settings.MESSAGING_MAX_ATTEMPTS - 1):
        Send.objects.update(attempts=0)  # one failure each time; attempts are the rows' own count
        retry = batch_run_as_retry(refused_batch, retries=retries)
        assert 0 <= retry.when <= min(base * 2**retries, longest)
    Send.objects.update(attempts=0)
    assert 0 <= batch_run_as_retry(refused_batch, retries=20).when <= longest
    send = Send.objects.get()
    assert (send.outcome, send.attempts, send.last_error) == ("sending", 1, "SMTPDataError: (421, b'try later')")
    assert DispatchBatch.objects.get(pk=refused_batch).claimed_at is None  # back with the broker, not stalled


def test_the_retries_of_many_batches_are_spread_out_not_all_at_once(refused_batch):
    delays = set()
    for _ in range(8):
        Send.objects.update(attempts=0)
        delays.add(batch_run_as_retry(refused_batch, retries=5).when)
    assert len(delays) > 1  # jittered: eight equal delays out of 961 possible would be a fluke


def test_the_last_refused_attempt_fails_the_send_and_finishes_the_batch(refused_batch, settings):
    Send.objects.update(attempts=settings.MESSAGING_MAX_ATTEMPTS - 1)
    assert dispatch_batch_task.apply(args=[refused_batch]).state == "SUCCESS"
    assert Send.objects.get().outcome == "failed"
    assert DispatchBatch.objects.get(pk=refused_batch).status == "done"


def test_a_deliverer_claims_as_many_sends_at_a_time_as_the_setting_says(members, settings):
    settings.MESSAGING_CHUNK_SIZE = 2
    for _ in range(3):
        members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = run_dispatch(message, now=timezone.now(), deliver=False)
    assert len(sends_claim(sends=Q(dispatch=dispatch), token=uuid.uuid4())) == 2


def test_a_batch_whose_provider_call_outlasts_the_lease_is_neither_reissued_nor_taken(members, smtp_to, settings):
    # One SMTP hand-over takes three leases: the heartbeat, not the gaps between hand-overs, keeps the claim.
    settings.MESSAGING_BATCH_LEASE_SECONDS = 1
    inbox = smtp_to(SlowInbox(delay=3))
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=1))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    worker = in_thread(dispatch_batch_task, batch_id)

    reissued, taken = [], []
    while worker.is_alive():
        reissued += stalled_batches_claim()
        taken += sends_claim(sends=Q(dispatch=dispatch), token=uuid.uuid4())
        worker.join(0.2)
    assert worker.error is None
    assert reissued == [] and taken == []
    assert len(inbox.received) == 1
    assert DispatchBatch.objects.get(pk=batch_id).status == "done"
