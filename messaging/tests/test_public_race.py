"""An unsubscribe takes effect before its response: nothing goes out on that channel afterwards,
whether the send is deferred or being dispatched by real workers at that very moment."""

import http.client
import time
import urllib.parse

import pytest

from contacts import services as contact_services
from contacts.models import Channel, Contact, SegmentMembership
from contacts.tests.factories import SegmentFactory
from messaging import services
from messaging.models import Dispatch, OutboxMessage, Send

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware
from .test_public_page import unsubscribe_url

NOW = aware(2026, 3, 5, 12, 0)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


@pytest.mark.django_db
def test_an_unsubscribe_between_deferral_and_re_evaluation_skips_the_send(client, members, email, mailoutbox):
    import datetime

    contact = members(time_zone="UTC")
    contact_services.channel_pause_set(
        contact=contact, channel=email, pause_from=datetime.date(2026, 3, 1), pause_to=datetime.date(2026, 3, 7),
        source="system",
    )
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    send = send_of(message, contact)
    assert send.outcome == "deferred"

    # The link of an earlier message: the deferred send itself was never delivered, so it has no link.
    earlier = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(earlier, now=aware(2026, 2, 20, 12, 0))
    assert client.post(unsubscribe_url(send_of(earlier, contact)), {"List-Unsubscribe": "One-Click"}).status_code == 200
    mailoutbox.clear()

    report = services.deferred_process(now=aware(2026, 3, 8, 0, 1))
    assert report.to_deliver == []
    send.refresh_from_db()
    assert (send.outcome, send.reason) == ("skipped_dnc", "dnc")
    assert mailoutbox == []


def one_click(live_server, path: str) -> int:
    url = urllib.parse.urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    conn.request("POST", path, body=b"List-Unsubscribe=One-Click",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_nothing_goes_out_on_a_channel_after_the_unsubscribe_response_during_a_dispatch(live_server, celery_workers):
    # Each hand-over records its email as the provider receives it, then waits for the answer: the
    # window in which an unsubscribe could slip between the do-not-contact check and the hand-over.
    Channel.objects.filter(slug="email").update(backend="messaging.tests.backends.SlowRecordingBackend")
    segment = SegmentFactory()
    contacts = Contact.objects.bulk_create(
        Contact(first_name=f"R{n}", email=f"race{n}@example.com") for n in range(120)
    )
    SegmentMembership.objects.bulk_create(SegmentMembership(contact=c, segment=segment, source="import") for c in contacts)
    earlier = MessageFactory(channels=["email"], segments=[segment])
    message = MessageFactory(channels=["email"], segments=[segment])
    celery_workers.start(concurrency=2)
    links = {}
    for contact in contacts:  # every contact holds the link of an earlier message
        links[contact.pk] = Send.objects.create(
            message=earlier, dispatch=Dispatch.objects.create(message=earlier, deliver_until=aware(2036, 1, 1)),
            contact=contact, channel=Channel.objects.get(slug="email"), outcome="sent",
            decided_at=NOW, evaluated_at=NOW, sent_at=NOW,
        )

    dispatch = services.dispatch_create(message=message, batch_size=10)
    seen_at_response: dict[int, int] = {}
    deadline = time.monotonic() + 180
    while len(seen_at_response) < 6 and time.monotonic() < deadline:
        # A contact whose send is decided and being handed over right now.
        in_flight = (
            Send.objects.filter(dispatch=dispatch, outcome="sending").exclude(contact_id__in=seen_at_response)
            .order_by("-contact_id").values_list("contact_id", flat=True).first()
        )
        if in_flight is None:
            if not Dispatch.objects.filter(pk=dispatch.pk).exclude(status="done").exists():
                break
            time.sleep(0.01)
            continue
        assert one_click(live_server, unsubscribe_url(links[in_flight])) == 200
        seen_at_response[in_flight] = OutboxMessage.objects.filter(send__dispatch=dispatch, send__contact_id=in_flight).count()

    while Dispatch.objects.filter(pk=dispatch.pk).exclude(status="done").exists():
        assert time.monotonic() < deadline, "the dispatch did not finish"
        time.sleep(0.2)

    assert len(seen_at_response) >= 3, "the test never caught a send in flight"
    for contact_id, delivered_before in seen_at_response.items():
        after = OutboxMessage.objects.filter(send__dispatch=dispatch, send__contact_id=contact_id).count()
        assert after == delivered_before, f"contact {contact_id} got an email after the unsubscribe response"
    assert OutboxMessage.objects.filter(send__dispatch=dispatch).count() == Send.objects.filter(dispatch=dispatch, outcome="sent").count()
