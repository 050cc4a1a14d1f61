"""No 500 from a webhook, whatever an authenticated caller sends (issue 8, "No 500, anywhere").

Each webhook gets valid credentials and generated bodies: random bytes, JSON of any shape and
depth, events of the right shape with wrong types, and addresses holding NUL or odd unicode. A
refused body (400) must change nothing."""

import base64
import json
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from contacts.models import DoNotContact, PreferenceChange
from contacts.tests.factories import ContactFactory
from messaging.inbound.sms import twilio_signature

from .test_inbound_webhooks import POSTMARK_URL, TWILIO_URL, _secrets  # noqa: F401 - the webhooks' secrets

pytestmark = pytest.mark.django_db
FUZZ = hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
AUTH = "Basic " + base64.b64encode(b"postmark:s3cret-hook").decode()

odd_text = st.text(st.characters(codec="utf-8"), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | odd_text
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
                        max_leaves=20)
# What an address field may hold: NUL characters, bidi controls, full-width letters, header injection, other types.
odd_addresses = st.sampled_from(
    ["ada@example.org", "ada@example.org\x00", "\x00", "ada@exa\x00mple.org", "\u202eada@example.org", "ａｄａ@example.org",
     "ada@example.org\r\nBcc: x@y.z", "\U0010ffff@\U0010ffff", "", " ", "+441234567890", "+441234567890\x00", "+４４１２３"]
) | odd_text.map(lambda text: text + "\x00") | odd_text | any_json

POSTMARK_FIELDS = ["TypeCode", "ID", "MessageID", "Recipient", "BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt",
                   "Description", "Details", "Tag", "Metadata", "SuppressSending", "SuppressionReason", "UserAgent",
                   "OriginalLink", "FromFull"]
# An event of the shape Postmark sends, each field plausible or any JSON at all; the address anything.
postmark_events = st.fixed_dictionaries(
    {"RecordType": st.sampled_from(["Bounce", "SpamComplaint"]) | st.sampled_from(["SubscriptionChange", "Open"]) | any_json,
     "Type": st.sampled_from(["HardBounce", "SpamComplaint"]) | st.sampled_from(["SoftBounce", "Unknown"]) | any_json,
     "Email": odd_addresses},
    optional={name: any_json for name in POSTMARK_FIELDS}
    | {"Metadata": st.dictionaries(st.sampled_from(["send_id", "anymail_id"]), any_json | odd_text)},
)


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


garbage_bodies = st.one_of(
    st.binary(max_size=200),
    any_json.map(lambda value: json.dumps(value).encode()),
    any_json.map(lambda value: json.dumps(value).encode("utf-16")),
    st.integers(min_value=1, max_value=200_000).map(deep),
)


@pytest.fixture
def ada(db):
    return ContactFactory(email="ada@example.org", phone="+441234567890")


@contextmanager
def each_example_alone():
    """Roll back what one example changed, so a replay guard or a bounce never hides the next example."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def dnc_state():
    return list(DoNotContact.objects.values_list("contact_id", "channel_id", "reason")), PreferenceChange.objects.count()


def post_event(client, body: bytes, content_type: str = "application/json"):
    with each_example_alone():
        before = dnc_state()
        response = client.generic("POST", POSTMARK_URL, body, content_type=content_type, HTTP_AUTHORIZATION=AUTH)
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert dnc_state() == before


@FUZZ
@given(body=garbage_bodies, content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]))
def test_the_email_tracking_webhook_never_fails_on_an_authenticated_garbage_body(client, ada, body, content_type):
    post_event(client, body, content_type)


@FUZZ
@given(event=postmark_events)
def test_the_email_tracking_webhook_never_fails_on_an_authenticated_event_with_wrong_types(client, ada, event):
    post_event(client, json.dumps(event).encode())


sms_field_names = st.sampled_from(["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia"]) | odd_text
form_values = odd_addresses.filter(lambda value: isinstance(value, str))
# Mostly a keyword from a plausible message, so that the signed request reaches the database.
sms_forms = st.fixed_dictionaries(
    {"MessageSid": st.uuids().map(lambda sid: "SM" + sid.hex) | odd_text, "From": form_values,
     "Body": st.sampled_from(["STOP", "START", "stop."]) | odd_text},
    optional={"AccountSid": odd_text, "To": form_values},
) | st.dictionaries(sms_field_names, form_values, max_size=6)


@FUZZ
@given(fields=sms_forms)
def test_the_sms_webhook_never_fails_on_a_signed_form(client, ada, fields):
    params = list(fields.items())
    signature = twilio_signature(url="https://prefs.example.com" + TWILIO_URL, params=params, auth_token="twilio-auth-token")
    with each_example_alone():
        before = dnc_state()
        response = client.generic("POST", TWILIO_URL, urlencode(params), content_type="application/x-www-form-urlencoded",
                                  HTTP_X_TWILIO_SIGNATURE=signature)  # urlencoded, as Twilio posts it
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert dnc_state() == before


@FUZZ
@given(body=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "multipart/form-data", "application/json"]
))
def test_the_sms_webhook_never_fails_on_a_raw_body(client, ada, body, content_type):
    # The signature cannot match bytes that are not a form; the point is that reading them never fails.
    before = dnc_state()
    response = client.generic("POST", TWILIO_URL, body, content_type=content_type, HTTP_X_TWILIO_SIGNATURE="x")
    assert response.status_code in (400, 403)
    assert dnc_state() == before
