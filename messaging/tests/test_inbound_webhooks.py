"""Opt-outs the providers report: email bounces and complaints (anymail, Postmark) and SMS keywords (Twilio)."""

import base64
import json
import uuid

import pytest

from contacts.models import DoNotContact, PreferenceChange
from contacts.services import channel_unsubscribe
from contacts.tests.factories import ContactFactory
from messaging.inbound.sms import twilio_signature

pytestmark = pytest.mark.django_db

POSTMARK_URL = "/messaging/webhooks/email/postmark/tracking/"
TWILIO_URL = "/messaging/webhooks/sms/twilio/"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["postmark:s3cret-hook"]}
    settings.TWILIO_AUTH_TOKEN = "twilio-auth-token"
    settings.SITE_URL = "https://prefs.example.com"


def postmark(client, event: dict, auth: str = "postmark:s3cret-hook"):
    return client.post(
        POSTMARK_URL, json.dumps(event), content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode(),
    )


def bounce(address: str, kind: str = "HardBounce", **extra) -> dict:
    return {"RecordType": "Bounce", "Type": kind, "TypeCode": 1, "ID": 4323372036854775807,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": address,
            "BouncedAt": "2026-03-05T12:00:00Z", "Description": "The server was unable to deliver your message",
            "Details": "smtp;550 5.1.1 user unknown", "Tag": "", "Metadata": {}, **extra}


def complaint(address: str) -> dict:
    return {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512, "ID": 42,
            "MessageID": "00000000-0000-0000-0000-000000000000", "Email": address,
            "BouncedAt": "2026-03-05T12:00:00Z", "Tag": "", "Metadata": {}}


def test_a_hard_bounce_puts_do_not_contact_bounced_on_email(client, email, sms):
    ada = ContactFactory(email="Ada@Example.org")
    response = postmark(client, bounce("ada@example.org", Metadata={"send_id": "77"}))
    assert response.status_code == 200
    dnc = DoNotContact.objects.get(contact=ada)
    assert (dnc.channel.slug, dnc.reason, dnc.source) == ("email", "bounced", "bounce")
    assert PreferenceChange.objects.get(contact=ada).send_id == 77


def test_a_soft_bounce_changes_nothing(client):
    ContactFactory(email="ada@example.org")
    assert postmark(client, bounce("ada@example.org", kind="SoftBounce")).status_code == 200
    assert not DoNotContact.objects.exists()


def test_a_spam_complaint_hardens_an_unsubscribe_into_a_complaint(client, email):
    ada = ContactFactory(email="ada@example.org")
    channel_unsubscribe(contact=ada, channel=email, source="one_click")
    assert postmark(client, complaint("ada@example.org")).status_code == 200
    dnc = DoNotContact.objects.get(contact=ada)
    assert (dnc.reason, dnc.source) == ("complaint", "complaint")
    assert list(PreferenceChange.objects.filter(contact=ada).order_by("id").values_list("new_value", flat=True)) == [
        "unsubscribed", "complaint"
    ]


def test_an_unknown_address_changes_nothing(client):
    ContactFactory(email="ada@example.org")
    assert postmark(client, bounce("nobody@example.org")).status_code == 200
    assert not DoNotContact.objects.exists()


def test_the_email_webhook_refuses_a_wrong_secret(client):
    ContactFactory(email="ada@example.org")
    assert postmark(client, bounce("ada@example.org"), auth="postmark:guess").status_code == 400
    assert client.post(POSTMARK_URL, json.dumps(bounce("ada@example.org")), content_type="application/json").status_code == 400
    assert not DoNotContact.objects.exists()


def test_the_email_webhook_is_off_without_a_secret(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": []}
    ContactFactory(email="ada@example.org")
    assert postmark(client, bounce("ada@example.org")).status_code == 404
    assert not DoNotContact.objects.exists()


def twilio(client, body: str, phone: str = "+441234567890", signature: str | None = None, token="twilio-auth-token"):
    fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC0123", "From": phone, "To": "+15005550006", "Body": body}
    signed = twilio_signature(url="https://prefs.example.com" + TWILIO_URL, params=list(fields.items()), auth_token=token)
    return client.post(TWILIO_URL, fields, HTTP_X_TWILIO_SIGNATURE=signature if signature is not None else signed)


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "STOPALL", "Cancel.", "quit"])
def test_an_sms_stop_keyword_unsubscribes_from_sms(client, word, sms):
    ada = ContactFactory(phone="+441234567890")
    response = twilio(client, word)
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    dnc = DoNotContact.objects.get(contact=ada)
    assert (dnc.channel.slug, dnc.reason, dnc.source) == ("sms", "unsubscribed", "sms_stop")


def test_sms_start_resubscribes(client):
    ada = ContactFactory(phone="+441234567890")
    twilio(client, "STOP")
    twilio(client, "START")
    assert not DoNotContact.objects.filter(contact=ada).exists()
    assert list(PreferenceChange.objects.filter(contact=ada).order_by("id").values_list("source", flat=True)) == [
        "sms_stop", "sms_start"
    ]


def test_sms_start_does_not_lift_a_complaint(client, sms):
    ada = ContactFactory(phone="+441234567890")
    channel_unsubscribe(contact=ada, channel=sms, reason="complaint", source="complaint")
    assert twilio(client, "START").status_code == 200
    assert DoNotContact.objects.get(contact=ada).reason == "complaint"


def test_an_ordinary_reply_changes_nothing(client):
    ContactFactory(phone="+441234567890")
    assert twilio(client, "Please stop sending me offers on Sundays").status_code == 200
    assert not DoNotContact.objects.exists()


def test_an_unsigned_or_forged_sms_webhook_is_refused(client):
    ContactFactory(phone="+441234567890")
    assert twilio(client, "STOP", signature="").status_code == 403
    assert twilio(client, "STOP", signature=twilio_signature(url="x", params=[], auth_token="y")).status_code == 403
    assert twilio(client, "STOP", token="another-account").status_code == 403
    assert not DoNotContact.objects.exists()


def test_the_signature_matches_twilios_published_test_vectors():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
              ("To", "+18005551212"), ("Caller", "+14158675309")]
    assert twilio_signature(url=url, params=params, auth_token="12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature(url=url, params=repeated, auth_token="12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


# --- Replays (issue 8, item 10) ----------------------------------------------------------------


def twilio_fields(client, fields: dict, token="twilio-auth-token"):
    signed = twilio_signature(url="https://prefs.example.com" + TWILIO_URL, params=list(fields.items()), auth_token=token)
    return client.post(TWILIO_URL, fields, HTTP_X_TWILIO_SIGNATURE=signed)


def sms_fields(body: str, sid: str, phone: str = "+441234567890") -> dict:
    return {"MessageSid": sid, "AccountSid": "AC0123", "From": phone, "To": "+15005550006", "Body": body}


def test_a_captured_start_replayed_after_a_stop_does_not_resubscribe(client):
    ada = ContactFactory(phone="+441234567890")
    captured_start = sms_fields("START", "SM" + "a" * 32)
    twilio_fields(client, sms_fields("STOP", "SM" + "1" * 32))
    twilio_fields(client, captured_start)
    twilio_fields(client, sms_fields("STOP", "SM" + "2" * 32))

    replay = twilio_fields(client, captured_start)

    assert replay.status_code == 200 and replay["Content-Type"] == "text/xml"
    assert DoNotContact.objects.get(contact=ada).source == "sms_stop"
    assert list(PreferenceChange.objects.filter(contact=ada).order_by("id").values_list("source", flat=True)) == [
        "sms_stop", "sms_start", "sms_stop"
    ]


def test_a_replayed_stop_writes_no_second_history_row_after_a_start(client):
    ada = ContactFactory(phone="+441234567890")
    stop = sms_fields("STOP", "SM" + "1" * 32)
    twilio_fields(client, stop)
    twilio_fields(client, sms_fields("START", "SM" + "2" * 32))
    assert twilio_fields(client, stop).status_code == 200
    assert not DoNotContact.objects.filter(contact=ada).exists()


def test_the_database_keeps_one_row_per_provider_message_id():
    from django.db import IntegrityError, transaction

    from messaging.models import InboundMessage

    InboundMessage.objects.create(provider="twilio", message_id="SM1")
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMessage.objects.create(provider="twilio", message_id="SM1")


@pytest.mark.parametrize(
    "fields",
    [
        sms_fields("STOP", "SM" + "1" * 32, phone="+44123\x004567890"),
        sms_fields("STOP\x00", "SM" + "1" * 32),
        sms_fields("STOP", ""),
        sms_fields("STOP", "SM 1; drop"),
        {"From": "+441234567890", "Body": "STOP"},
    ],
    ids=["nul-in-phone", "nul-in-body", "empty-sid", "odd-sid", "no-sid"],
)
def test_a_signed_request_that_is_not_an_inbound_message_is_a_400_and_changes_nothing(client, fields):
    ContactFactory(phone="+441234567890")
    assert twilio_fields(client, fields).status_code == 400
    assert not DoNotContact.objects.exists() and not PreferenceChange.objects.exists()


# --- Malformed bodies with valid credentials (issue 8, "No 500") ----------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[]", b"{not json", b"\xff\xfe{\x00}", b'{"RecordType": "Bounce", "Type": ["HardBounce"], "Email": "a@b.c"}',
     b'{"RecordType": "Bounce", "Type": "HardBounce", "Email": "ada@example.org", "BouncedAt": 12}',
     b'{"RecordType": "Bounce", "Type": "HardBounce", "Email": "ada@example.org", "Metadata": "x"}',
     b'{"RecordType": "Inbound", "FromFull": {}}',
     b"[" * 100_000 + b"]" * 100_000, b"", b"null", b"7"],
    ids=["list", "not-json", "not-utf8", "type-is-a-list", "date-is-a-number", "metadata-is-a-string",
         "inbound-event", "deep-nesting", "empty", "null", "number"],
)
def test_an_authenticated_unreadable_email_event_is_a_400_and_changes_nothing(client, body):
    ContactFactory(email="ada@example.org")
    response = client.generic(
        "POST", POSTMARK_URL, body, content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"postmark:s3cret-hook").decode(),
    )
    assert response.status_code == 400
    assert not DoNotContact.objects.exists()


@pytest.mark.parametrize(
    "address", ["ada@example.org\x00", "\x00", 42, None, ["ada@example.org"], {"a": 1}, "not an address", "a" * 5000]
)
def test_a_readable_event_whose_address_is_not_an_email_address_is_ignored(client, address):
    ContactFactory(email="ada@example.org")
    assert postmark(client, bounce(address)).status_code == 200
    assert not DoNotContact.objects.exists()


@pytest.mark.parametrize("send_id", ["9" * 30, 2**70, -3, True, [1], "１２"])
def test_a_send_id_out_of_range_is_dropped_but_the_bounce_is_recorded(client, send_id):
    ada = ContactFactory(email="ada@example.org")
    assert postmark(client, bounce("ada@example.org", Metadata={"send_id": send_id})).status_code == 200
    assert DoNotContact.objects.get(contact=ada).reason == "bounced"
    assert PreferenceChange.objects.get(contact=ada).send_id is None
