"""Delivery to a real HTTP receiver on localhost that verifies Standard Webhooks signatures."""

import datetime
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

import pytest
import requests
from django.utils import timezone

from contacts.services import channel_frequency_set, channel_unsubscribe
from contacts.tests.factories import ContactFactory
from webhooks.delivery import endpoint_drain, endpoints_due, signed_request, target_errors
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def make_due():
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_the_receiver_verifies_the_signature_and_gets_the_event(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver)
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    report = endpoint_drain(endpoint_id=endpoint.pk)
    assert report["delivered"] == 2 and receiver.rejected == []
    assert [event["type"] for event in receiver.events] == ["preferences.changed", "dnc.added"]
    delivery = WebhookDelivery.objects.get(event__type="dnc.added")
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("delivered", 204, 1)


def test_a_receiver_with_another_secret_rejects_and_the_delivery_is_retried_later(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    receiver.secret = "whsec_" + "A" * 43 + "="
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    assert receiver.events == [] and receiver.rejected == ["No matching signature found"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.last_error) == ("pending", 400, "HTTP 400")
    assert delivery.next_attempt_at > delivery.last_attempt_at  # backed off


def test_a_retry_long_after_the_change_is_signed_at_send_time(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    WebhookEvent.objects.update(created_at=timezone.now() - datetime.timedelta(hours=3))
    endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.events) == 1 and receiver.rejected == []  # a 3-hour-old timestamp would be refused


def test_a_replayed_request_is_refused_by_the_receiver(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    event = WebhookEvent.objects.get()
    body = receiver.events[0]
    import json
    raw = json.dumps(body, separators=(",", ":"))
    now = timezone.now()
    # The same message again (a retry, or an attacker's copy): the receiver drops the known id.
    headers = signed_request(secret=endpoint.secret, message_id=event.message_id, body=raw, at=now)
    requests.post(receiver.url, data=raw.encode(), headers=headers, timeout=5)
    # A copy with an old timestamp: refused whatever the id.
    old = signed_request(secret=endpoint.secret, message_id="msg_other", body=raw, at=now - datetime.timedelta(minutes=10))
    requests.post(receiver.url, data=raw.encode(), headers=old, timeout=5)
    # A copy whose timestamp was moved forward: the signature no longer matches.
    requests.post(receiver.url, data=raw.encode(), headers=headers | {"webhook-timestamp": str(int(now.timestamp()) + 5)}, timeout=5)
    assert len(receiver.events) == 1
    assert receiver.rejected == ["replay", "Message timestamp too old", "No matching signature found"]


def test_a_contacts_events_wait_for_its_earlier_event_while_others_go(receiver, endpoint_for, email, sms):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    slow, other = ContactFactory(), ContactFactory()
    receiver.status = 503
    channel_unsubscribe(contact=slow, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)  # refused: slow's first event backs off
    receiver.status = 204
    channel_unsubscribe(contact=slow, channel=sms, source="one_click")
    channel_unsubscribe(contact=other, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    assert [(e["data"]["contact"]["id"], e["data"]["channel"]) for e in receiver.events] == [(other.pk, "email")]
    make_due()
    endpoint_drain(endpoint_id=endpoint.pk)
    assert [(e["data"]["contact"]["id"], e["data"]["channel"]) for e in receiver.events] == [
        (other.pk, "email"), (slow.pk, "email"), (slow.pk, "sms"),
    ]


def test_after_a_day_of_failures_the_delivery_fails_and_the_endpoint_is_disabled_with_a_notice(
    receiver, endpoint_for, contact, email, settings
):
    settings.WEBHOOK_GIVE_UP_SECONDS = settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0  # "a day" has passed at once
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    receiver.status = 500
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("failed", 500)
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and "no delivery succeeded since" in endpoint.disabled_reason


def test_an_endpoint_failing_for_less_than_the_limit_stays_enabled(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    receiver.status = 500
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    for _ in range(3):
        endpoint_drain(endpoint_id=endpoint.pk)
        make_due()
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None
    assert WebhookDelivery.objects.get().status == "pending"
    receiver.status = 204
    endpoint_drain(endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # one success resets the clock


def test_a_disabled_endpoint_gets_no_new_events_and_no_deliveries(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver)
    WebhookEndpoint.objects.update(enabled=False)
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    assert endpoint_drain(endpoint_id=endpoint.pk)["busy"] and receiver.requests == 0
    assert not WebhookEvent.objects.exists()


def test_one_worker_drains_an_endpoint_at_a_time(receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver)
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    WebhookEndpoint.objects.update(drain_lease_until=timezone.now() + datetime.timedelta(seconds=60))
    assert endpoint_drain(endpoint_id=endpoint.pk)["busy"] and receiver.requests == 0
    assert endpoints_due() == []  # the sweep leaves it to its drainer
    WebhookEndpoint.objects.update(drain_lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert endpoints_due() == [endpoint.pk]  # a dead drainer's lease runs out
    endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.events) == 2


class SlowOrRedirecting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/slow":
            time.sleep(2)
            self.send_response(204)
        else:
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def awkward_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowOrRedirecting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(awkward_server, receiver, endpoint_for, contact, email, settings):
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 0.3
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    WebhookEndpoint.objects.update(url=f"{awkward_server}/slow")
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("pending", "ReadTimeout")


def test_a_redirect_is_not_followed(awkward_server, receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    WebhookEndpoint.objects.update(url=f"{awkward_server}/moved")
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("pending", 307)


def test_private_addresses_and_plain_http_are_refused_unless_allowed(receiver, endpoint_for, contact, email, settings):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert target_errors("http://example.com/hook") == ["Enter an https:// URL."]
    for url in ("https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/hook", "https://169.254.169.254/",
                "https://localhost/hook"):
        assert target_errors(url) == ["This URL points to a private, loopback or link-local address."], url
    assert target_errors("https://user:pw@93.184.215.14/") != []
    assert target_errors("https://93.184.215.14/hook") == []
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)  # registered while allowed: refused at send time too
    assert receiver.requests == 0
    assert WebhookDelivery.objects.get().last_error == "Enter an https:// URL."


def test_a_preference_save_does_not_wait_on_a_receiver(awkward_server, receiver, endpoint_for, contact, sms):
    endpoint_for(receiver)
    WebhookEndpoint.objects.update(url=f"{awkward_server}/slow")
    channel_frequency_set(contact=contact, channel=sms, number=1, unit="day", source="system")
    # Saved and committed with its event, nothing attempted: delivery is a worker's job.
    assert WebhookDelivery.objects.filter(attempts=0, status="pending").count() == 1


def test_a_drain_stops_at_the_first_failure_instead_of_hammering_a_receiver_that_is_down(
    receiver, endpoint_for, email, settings
):
    settings.WEBHOOK_BATCH_SIZE = 1
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    receiver.status = 503
    for contact in ContactFactory.create_batch(3):
        channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    assert receiver.requests == 1  # the others wait for the next round (the sweep)


def test_an_endpoint_disabled_during_a_drain_gets_no_further_batch(receiver, endpoint_for, email, settings):
    settings.WEBHOOK_BATCH_SIZE = 1
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    for contact in ContactFactory.create_batch(3):
        channel_unsubscribe(contact=contact, channel=email, source="one_click")
    handle = receiver.handle

    def disable_on_first(body, headers):
        WebhookEndpoint.objects.update(enabled=False)  # an admin unticks it while the first request is in flight
        return handle(body, headers)

    receiver.handle = disable_on_first
    endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.events) == 1
