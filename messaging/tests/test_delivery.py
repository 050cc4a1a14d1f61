"""Delivery backends: a real SMTP server on localhost, the SMS development and HTTP backends, tokens."""

import datetime
import http.server
import io
import json
import socket
import threading
import urllib.error
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.core import signing
from django.test import override_settings

from contacts.models import Channel
from messaging import services
from messaging.models import Dispatch, OutboxMessage, Send
from messaging.public.tokens import send_id_from_token, send_token

from .conftest import run_dispatch, send_of
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 5, 12, 0)


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def received_messages(inbox):
    return {tuple(rcpt): message_from_bytes(content, policy=policy.default) for rcpt, content in inbox.received}


@override_settings(SITE_URL="https://prefs.example.org", UNSUBSCRIBE_MAILTO="unsubscribe@example.org")
def test_each_contact_receives_a_personal_email_with_one_click_unsubscribe_headers(members, smtp_server):
    ana, bob = members(first_name="Ana"), members(first_name="Bob")
    message = MessageFactory(name="Spring news", channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)

    mails = received_messages(smtp_server)
    assert set(mails) == {(ana.email,), (bob.email,)}
    mail = mails[(ana.email,)]
    send = send_of(message, ana)
    token = send_token(send.pk)
    url = f"https://prefs.example.org/messaging/u/{token}/"
    assert mail["Subject"] == "Hello Ana"
    assert mail["To"].addresses[0].addr_spec == ana.email
    assert mail["List-Unsubscribe"] == f"<{url}>, <mailto:unsubscribe@example.org?subject=unsubscribe%20{token}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"] == f"Spring news <message-{message.pk}.prefs.example.org>"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert text.startswith("Hi Ana, spring sale!") and url in text
    assert "<b>spring sale</b>" in html and f'href="{url}"' in html
    assert send.outcome == "sent"


def test_without_an_unsubscribe_mailbox_the_header_has_only_the_https_link(members, smtp_server, settings):
    settings.UNSUBSCRIBE_MAILTO = ""
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    mail = received_messages(smtp_server)[(contact.email,)]
    assert mail["List-Unsubscribe"].count("<") == 1 and "mailto" not in mail["List-Unsubscribe"]


def test_tokens_in_the_body_are_replaced_for_each_contact(members, smtp_server):
    contact = members(first_name="Zoé")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    version = message.versions.get()
    version.text_body = "Bonjour {first_name}. Manage: {preferences_url}\n{unsubscribe_text}"
    version.html_body = ""
    version.save()
    run_dispatch(message, now=NOW)
    mail = received_messages(smtp_server)[(contact.email,)]
    token = send_token(send_of(message, contact).pk)
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith(f"Bonjour Zoé. Manage: http://localhost:8000/messaging/p/{token}/")
    assert f"unsubscribe here: http://localhost:8000/messaging/u/{token}/" in body
    assert mail["Subject"] == "Hello Zoé"


def test_a_transactional_email_has_no_list_unsubscribe(members, smtp_server):
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment], transactional=True)
    run_dispatch(message, now=NOW)
    mail = received_messages(smtp_server)[(contact.email,)]
    assert mail["List-Unsubscribe"] is None


def test_a_refused_recipient_fails_only_its_own_send(members, smtp_server, settings):
    class Picky(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("refused"):
                return "550 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    settings.MESSAGING_MAX_ATTEMPTS = 1
    picky = Picky()
    controller = Controller(picky, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_PORT = controller.port
    try:
        refused, fine = members(email="refused@example.com"), members()
        message = MessageFactory(channels=["email"], segments=[members.segment])
        run_dispatch(message, now=NOW)
    finally:
        controller.stop()
    assert send_of(message, refused).outcome == "failed"
    assert "550" in send_of(message, refused).last_error
    assert send_of(message, fine).outcome == "sent"


def test_the_sms_development_backend_keeps_each_text_with_an_opt_out_line(members, sms):
    contact = members(first_name="Ana")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    stored = OutboxMessage.objects.get(send=send_of(message, contact))
    assert (stored.to, stored.body) == (contact.phone, "Spring sale, Ana!\nReply STOP to opt out.")


def test_an_sms_that_already_says_stop_gets_no_second_opt_out_line(members, sms):
    contact = members()
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    message.versions.update(text_body="Sale today. Text STOP to end.")
    run_dispatch(message, now=NOW)
    assert OutboxMessage.objects.get(send=send_of(message, contact)).body == "Sale today. Text STOP to end."


def test_a_backend_that_hands_over_in_the_transaction_gets_its_sends_stored_as_sent(members, sms):
    Channel.objects.filter(slug="sms").update(backend="messaging.delivery.backends.noop.NoopBackend")
    contact = members()
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    run_dispatch(message, now=NOW, deliver=False)
    send = send_of(message, contact)
    assert (send.outcome, send.sent_at, send.delivered_at, send.attempts) == ("sent", NOW, NOW, 0)


def test_the_sms_outbox_receives_the_text_before_the_decision_commits(members, sms):
    contact = members(first_name="Ana")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    run_dispatch(message, now=NOW, deliver=False)
    assert send_of(message, contact).outcome == "sent"
    assert OutboxMessage.objects.get(send=send_of(message, contact)).body.startswith("Spring sale, Ana!")


def test_a_refusal_inside_the_transaction_leaves_the_send_for_a_retry(members, sms):
    Channel.objects.filter(slug="sms").update(backend="messaging.tests.backends.RefusingOutboxBackend")
    contact = members()
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=NOW + datetime.timedelta(days=7))
    (batch_id,) = services.dispatch_plan(dispatch_id=dispatch.pk)
    report = services.batch_decide(batch=services.batch_claim(batch_id=batch_id), now=NOW)
    send = send_of(message, contact)
    assert report.handed_over.retry == [send.pk]
    assert (send.outcome, send.delivered_at, send.attempts, send.last_error) == ("sending", None, 1, "queue full")


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


TWILIO = {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "secret", "TWILIO_FROM_NUMBER": "+15550001111"}


@override_settings(**TWILIO)
def test_the_twilio_backend_posts_each_text_and_marks_it_sent(members, monkeypatch):
    Channel.objects.filter(slug="sms").update(backend="messaging.delivery.backends.sms.TwilioSmsBackend")
    requests = []

    def urlopen(request, timeout):
        requests.append(request)
        return FakeResponse(json.dumps({"sid": "SM1", "status": "queued"}).encode())

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    contact = members(first_name="Ana")
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    (request,) = requests
    assert request.full_url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    form = dict(pair.split("=", 1) for pair in request.data.decode().split("&"))
    assert form["To"] == contact.phone.replace("+", "%2B")
    assert request.get_header("I-twilio-idempotency-token") == f"send-{send_of(message, contact).pk}"
    assert send_of(message, contact).outcome == "sent"


@override_settings(**TWILIO, MESSAGING_MAX_ATTEMPTS=2)
def test_a_twilio_error_is_kept_for_a_retry(members, monkeypatch):
    Channel.objects.filter(slug="sms").update(backend="messaging.delivery.backends.sms.TwilioSmsBackend")

    def urlopen(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 503, "busy", {}, io.BytesIO(b"try later"))

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    contact = members()
    message = MessageFactory(channels=["sms"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    send = send_of(message, contact)
    assert (send.outcome, send.attempts, send.last_error) == ("sending", 1, "HTTP 503: try later")


def test_a_token_names_its_send_and_nothing_else():
    token = send_token(123456)
    assert send_id_from_token(token) == 123456
    assert "123456" not in token and len(token.split(".")[1]) >= 43  # a 256-bit HMAC


def test_an_altered_or_foreign_token_is_refused():
    token = send_token(42)
    assert send_id_from_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert send_id_from_token(signing.Signer(salt="another.salt", sep=".", algorithm="sha256").sign("G")) is None
    assert send_id_from_token("") is None


def test_tokens_signed_with_a_retired_key_keep_working_during_rotation(settings):
    settings.SECRET_KEY = "old-key-old-key-old-key-old-key-old-key-old-key"
    token = send_token(7)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-key-new-key-new-key-new-key-new-key-new", [settings.SECRET_KEY]
    assert send_id_from_token(token) == 7
    settings.SECRET_KEY_FALLBACKS = []
    assert send_id_from_token(token) is None


class PostmarkImitation(http.server.BaseHTTPRequestHandler):
    """Postmark's batch endpoint as its documentation describes it; refuses addresses starting with 'refused'."""

    calls: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        PostmarkImitation.calls.append((self.path, self.headers.get("X-Postmark-Server-Token"), body))
        answers = [
            {"ErrorCode": 406, "Message": "You tried to send to a recipient that has been marked as inactive."}
            if message["To"].split("<")[-1].startswith("refused") else
            {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{n}", "To": message["To"], "SubmittedAt": "2026-03-05T12:00:00Z"}
            for n, message in enumerate(body)
        ]
        data = json.dumps(answers).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def postmark(settings):
    PostmarkImitation.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PostmarkImitation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_SERVER_TOKEN": "server-token",
                        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_port}/"}
    Channel.objects.filter(slug="email").update(backend="messaging.delivery.backends.postmark.PostmarkBatchEmailBackend")
    yield PostmarkImitation.calls
    server.shutdown()


@override_settings(SITE_URL="https://prefs.example.org", MESSAGING_MAX_ATTEMPTS=1)
def test_postmark_gets_one_batch_call_and_each_refusal_fails_only_its_own_send(members, postmark):
    ana, refused, bob = members(first_name="Ana"), members(email="refused@example.com"), members(first_name="Bob")
    message = MessageFactory(name="Spring news", channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)

    ((path, token, batch),) = postmark
    assert (path, token, len(batch)) == ("/email/batch", "server-token", 3)
    sent = {item["To"].split("<")[-1].rstrip(">"): item for item in batch}
    ana_send = send_of(message, ana)
    headers = {header["Name"]: header["Value"] for header in sent[ana.email]["Headers"]}
    assert headers["List-Unsubscribe"] == f"<https://prefs.example.org/messaging/u/{send_token(ana_send.pk)}/>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"].startswith(f"<send-{ana_send.pk}.")
    assert sent[ana.email]["Metadata"] == {"send_id": str(ana_send.pk)}
    assert sent[ana.email]["Subject"] == "Hello Ana" and "Ana" in sent[ana.email]["TextBody"]
    assert (ana_send.outcome, send_of(message, bob).outcome) == ("sent", "sent")
    assert send_of(message, refused).outcome == "failed"
    assert send_of(message, refused).last_error.startswith("Postmark error 406")


def test_postmark_batches_hold_at_most_the_backends_batch_size(members, postmark, monkeypatch):
    monkeypatch.setattr("messaging.delivery.backends.postmark.PostmarkBatchEmailBackend.batch_size", 2)
    for _ in range(5):
        members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=NOW)
    assert [len(batch) for _, _, batch in postmark] == [2, 2, 1]
    assert set(Send.objects.filter(message=message).values_list("outcome", flat=True)) == {"sent"}
