"""RFC 8058 one-click unsubscribe as a mailbox provider sends it, and links that are not valid."""

import http.client
import string
import urllib.parse
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from contacts.models import DoNotContact, PreferenceChange, PreferenceSettings
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.public.tokens import send_token

from .test_public_page import delivered_send, page_url, unsubscribe_url


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


def raw_post(live_server, path: str, body: bytes, content_type: str) -> http.client.HTTPResponse:
    """A bare HTTP POST with no cookie and no CSRF token, as a mailbox provider makes it."""
    url = urllib.parse.urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": content_type, "User-Agent": "MailboxProvider/1.0"})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def urlencoded() -> tuple[bytes, str]:
    return b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"


def multipart() -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        "One-Click\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("encoding", [urlencoded, multipart])
def test_one_click_without_cookies_unsubscribes_once_and_answers_200_twice(live_server, encoding):
    contact = ContactFactory()
    send = delivered_send(contact, "email")
    body, content_type = encoding()

    answers = [raw_post(live_server, unsubscribe_url(send), body, content_type) for _ in range(2)]

    for answer in answers:
        assert answer.status == 200  # never a redirect
        assert answer.getheader("Location") is None and answer.getheader("Set-Cookie") is None
        assert b"You are unsubscribed from Email messages" in answer.body
    dnc = DoNotContact.objects.get(contact=contact)
    assert (dnc.channel.slug, dnc.reason, dnc.source) == ("email", "unsubscribed", "one_click")
    change = PreferenceChange.objects.get(contact=contact)  # idempotent: one history row
    assert (change.source, change.send_id, change.user_agent, change.ip_address) == (
        "one_click", send.pk, "MailboxProvider/1.0", "127.0.0.1"
    )


@pytest.mark.django_db(transaction=True)
def test_one_click_after_a_bounce_answers_200_and_keeps_the_bounce(live_server, email):
    from contacts.services import channel_unsubscribe

    contact = ContactFactory()
    send = delivered_send(contact, "email")
    channel_unsubscribe(contact=contact, channel=email, reason="bounced", source="bounce")
    assert raw_post(live_server, unsubscribe_url(send), *urlencoded()).status == 200
    assert DoNotContact.objects.get(contact=contact).reason == "bounced"


@pytest.mark.django_db(transaction=True)
def test_a_one_click_on_a_garbage_token_is_a_404(live_server):
    answer = raw_post(live_server, "/messaging/u/not-a-token/", *urlencoded())
    assert answer.status == 404 and b"This link is not valid" in answer.body


@pytest.mark.django_db
def test_the_one_click_body_without_a_content_type_is_accepted(client):
    contact = ContactFactory()
    send = delivered_send(contact, "sms")
    response = client.generic("POST", unsubscribe_url(send), b"List-Unsubscribe=One-Click", content_type="")
    assert response.status_code == 200
    assert DoNotContact.objects.get(contact=contact).channel.slug == "sms"


@pytest.mark.django_db
def test_a_broken_multipart_body_is_a_400(client):
    send = delivered_send(ContactFactory())
    response = client.generic(
        "POST", unsubscribe_url(send), b"--x\r\nnonsense", content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400
    assert not DoNotContact.objects.exists()


# --- Tokens that are not valid ------------------------------------------------------------------

TOKEN_CHARS = string.ascii_letters + string.digits + ".-_:~%"




@pytest.mark.django_db
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(min_size=1, max_size=120), st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=120)))
def test_arbitrary_tokens_get_only_404_or_400(client, token):
    path_token = urllib.parse.quote(token, safe="")
    for link in ("p", "u"):
        path = f"/messaging/{link}/{path_token}/"
        assert client.get(path).status_code == 404
        assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code in (400, 404)
        assert client.post(path, {"action": "unsubscribe_all"}).status_code in (400, 404)
    assert not DoNotContact.objects.exists()


@pytest.mark.django_db
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.sampled_from(string.ascii_letters + string.digits + "._-"))
def test_a_tampered_token_never_works(client, position, replacement):
    contact = ContactFactory()
    send = delivered_send(contact)
    token = send_token(send.pk)
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1:]
    if tampered == token:
        return
    response = client.post(f"/messaging/u/{tampered}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert not DoNotContact.objects.filter(contact=contact).exists()


@pytest.mark.django_db
@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=5))
def test_arbitrary_form_posts_on_a_valid_link_get_only_400_or_a_page(client, body):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), body)
    # Only the four buttons do something; anything else is a 400 and changes nothing.
    assert response.status_code == (200 if body.get("action") in ("save", "unsubscribe", "unsubscribe_all", "resubscribe") else 400)


# --- Queries ------------------------------------------------------------------------------------


def page_queries(client, send) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(send)).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_page_costs_the_same_few_queries_whatever_the_number_of_categories_and_segments(client, django_assert_num_queries):
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)
    contact = ContactFactory()
    send = delivered_send(contact)
    CategoryFactory()
    SegmentFactory(public=True)
    few = page_queries(client, send)
    for _ in range(30):
        CategoryFactory()
        SegmentFactory(public=True)
    assert page_queries(client, send) == few
    # The send with its message, contact, channel and the settings row; the channels with the
    # contact's do-not-contact and preferences; the public categories, then segments, with the contact's choices
    # (the read the staff modal shares).
    with django_assert_num_queries(4):
        client.get(page_url(send))


@pytest.mark.django_db
def test_one_click_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    send = delivered_send(ContactFactory())
    for _ in range(20):
        CategoryFactory()
    with django_assert_max_num_queries(12):
        assert client.post(unsubscribe_url(send), {"List-Unsubscribe": "One-Click"}).status_code == 200
