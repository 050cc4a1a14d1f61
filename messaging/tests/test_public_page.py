"""The public page a contact reaches from a message: what GET shows, what each button does."""

import datetime
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.cache import cache
from django.utils import timezone

from contacts.models import (
    CategorySubscription,
    Channel,
    ChannelPreference,
    DoNotContact,
    PreferenceChange,
    PreferenceSettings,
    SegmentMembership,
)
from contacts.services import channel_unsubscribe, contact_preferences_update
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.models import Dispatch, Send
from messaging.public.tokens import send_token

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def delivered_send(contact, channel: str = "email", **message_fields) -> Send:
    """A send of a new message that went out to ``contact`` on ``channel``: what a link names."""
    message = MessageFactory(channels=[channel], **message_fields)
    now = timezone.now()
    dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    return Send.objects.create(
        message=message, dispatch=dispatch, contact=contact, channel=Channel.objects.get(slug=channel),
        outcome="sent", decided_at=now, evaluated_at=now, sent_at=now, delivered_at=now,
    )


def page_url(send: Send) -> str:
    return f"/messaging/p/{send_token(send.pk)}/"


def unsubscribe_url(send: Send) -> str:
    return f"/messaging/u/{send_token(send.pk)}/"


def database_snapshot():
    """Every row of every table, in primary-key order."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in apps.get_models()}


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, dict] = {}
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select") and "id" in attrs:
            self.fields[attrs["id"]] = attrs
            self._select = attrs if tag == "select" else None
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self._select["value"] = attrs["value"]


def fields(response) -> dict[str, dict]:
    """The form fields of a page by id, with their attributes (a select's value is its selected option)."""
    parser = _Fields()
    parser.feed(response.content.decode())
    return parser.fields


def checked(response, field_id: str) -> bool:
    return "checked" in fields(response)[field_id]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"


@pytest.fixture
def ada(db):
    return ContactFactory(first_name="Ada", email="ada@example.org", phone="+441234567890", locale="en")


@pytest.fixture
def send(ada):
    return delivered_send(ada)


@pytest.fixture
def topics(db):
    return {
        "news": CategoryFactory(name="News", slug="news", description="What is new."),
        "offers": CategoryFactory(name="Offers", slug="offers"),
        "internal": CategoryFactory(name="Internal notes", slug="internal", public=False),
    }


@pytest.fixture
def lists(db):
    return {
        "vip": SegmentFactory(name="VIP", slug="vip", public=True, public_name="Club members"),
        "hidden": SegmentFactory(name="Hidden", slug="hidden", public=False),
    }


def test_the_preference_page_shows_the_contacts_choices(client, ada, send, topics, lists, email):
    contact_preferences_update(contact=ada, data={
        "channels": {"email": {"frequency": {"number": 2, "unit": "week"},
                               "pause": {"from": "2026-12-01", "to": "2026-12-24"}},
                     "sms": {"subscribed": False}},
        "preferred_channel": "email",
        "categories": {"offers": False},
        "segments": {"vip": True},
    }, source="staff:alice")
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)

    response = client.get(page_url(send))

    assert response.status_code == 200
    html = response.content.decode()
    form = fields(response)
    assert checked(response, "f-email-subscribed") and not checked(response, "f-sms-subscribed")
    assert (form["f-email-number"]["value"], form["f-email-unit"]["value"]) == ("2", "week")
    assert (form["f-sms-number"]["value"], form["f-sms-unit"]["value"]) == ("", "")
    assert (form["f-email-from"]["value"], form["f-email-to"]["value"]) == ("2026-12-01", "2026-12-24")
    assert checked(response, "f-preferred-email") and not checked(response, "f-preferred-none")
    assert checked(response, "f-category-news") and not checked(response, "f-category-offers")
    assert checked(response, "f-segment-vip")
    assert "Internal notes" not in html  # not public
    assert "Club members" in html and "Hidden" not in html  # public name, public segments only


@pytest.mark.parametrize("link", [page_url, unsubscribe_url], ids=["preferences", "unsubscribe"])
@pytest.mark.parametrize("show_preferences", [True, False], ids=["page", "plain"])
def test_get_on_any_link_changes_nothing(client, ada, send, topics, lists, link, show_preferences, sms):
    channel_unsubscribe(contact=ada, channel=sms, source="public_page")
    PreferenceSettings.objects.filter(pk=1).update(show_preferences=show_preferences, show_segments=True)
    before = database_snapshot()

    for method in (client.get, client.head):
        assert method(link(send)).status_code == 200

    assert database_snapshot() == before


def test_get_does_not_create_the_settings_row(client, send):
    PreferenceSettings.objects.all().delete()
    before = database_snapshot()
    assert client.get(page_url(send)).status_code == 200
    assert database_snapshot() == before


def test_saving_the_page_applies_every_area_with_the_send_ip_and_user_agent(client, ada, send, topics, lists):
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)
    response = client.post(page_url(send), {
        "action": "save",
        "channels.email.subscribed": "on",
        "channels.email.frequency.number": "3", "channels.email.frequency.unit": "month",
        "channels.email.pause.from": "2026-07-01", "channels.email.pause.to": "2026-07-31",
        # sms left unticked: unsubscribed
        "preferred_channel": "email",
        "categories": ["news"],
        "segments": ["vip"],
    }, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert "Your preferences are saved." in response.content.decode()
    pref = ChannelPreference.objects.get(contact=ada, channel__slug="email")
    assert (pref.cap_number, pref.cap_unit, pref.preferred) == (3, "month", True)
    assert (pref.pause_from, pref.pause_to) == (datetime.date(2026, 7, 1), datetime.date(2026, 7, 31))
    assert DoNotContact.objects.get(contact=ada, channel__slug="sms").reason == "unsubscribed"
    assert CategorySubscription.objects.get(contact=ada, category__slug="offers").status == "unsubscribed"
    assert not CategorySubscription.objects.filter(contact=ada, category__slug="news").exists()  # already received
    assert SegmentMembership.objects.get(contact=ada, segment__slug="vip").removed is False
    changes = PreferenceChange.objects.filter(contact=ada)
    assert changes.count() == 6
    assert set(changes.values_list("source", "send_id", "ip_address", "user_agent")) == {
        ("public_page", send.pk, "203.0.113.9", "Firefox/140")
    }


def test_a_hidden_area_is_never_changed_by_a_save(client, ada, send, topics):
    channel_unsubscribe(contact=ada, channel=Channel.objects.get(slug="sms"), source="public_page")
    PreferenceSettings.objects.filter(pk=1).update(show_frequency=False, show_categories=False)
    before = database_snapshot()
    # A hand-made POST with fields of hidden areas: ignored, not applied.
    response = client.post(page_url(send), {
        "action": "save", "channels.sms.subscribed": "on", "categories": [],
        "channels.email.pause.from": "", "channels.email.pause.to": "", "preferred_channel": "",
    })
    assert response.status_code == 200
    assert database_snapshot() == before


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_saved(client, ada, send, topics):
    before = database_snapshot()
    response = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on",
        "channels.email.frequency.number": "0", "channels.email.frequency.unit": "day",
        "channels.email.pause.from": "2026-07-31", "channels.email.pause.to": "2026-07-01",
        "categories": [],
    })
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved." in html
    assert 'id="f-email-number-error">Enter a number of at least 1' in html
    assert 'id="f-email-to-error">The pause must end on or after the day it starts.' in html
    form = fields(response)
    assert (form["f-email-number"]["value"], form["f-email-from"]["value"]) == ("0", "2026-07-31")  # kept as typed
    assert not checked(response, "f-category-news")  # the unticked topic stays unticked
    assert database_snapshot() == before


def test_a_cap_beyond_reason_is_refused_with_a_message(client, send):
    response = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on", "channels.sms.subscribed": "on",
        "channels.email.frequency.number": "99999999999999", "channels.email.frequency.unit": "day",
    })
    assert "Enter a number of at most 1000." in response.content.decode()
    assert not ChannelPreference.objects.exists()


def test_unsubscribe_button_puts_do_not_contact_on_the_sends_channel_only(client, ada):
    send = delivered_send(ada, "sms")
    response = client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    assert response.status_code == 200
    assert "You are unsubscribed from SMS messages." in response.content.decode()
    assert list(DoNotContact.objects.filter(contact=ada).values_list("channel__slug", "reason", "source")) == [
        ("sms", "unsubscribed", "public_page")
    ]
    change = PreferenceChange.objects.get(contact=ada, kind="dnc")
    assert change.send_id == send.pk


def test_unsubscribe_from_all_stops_every_channel(client, ada, send):
    response = client.post(page_url(send), {"action": "unsubscribe_all"})
    assert "You are unsubscribed from everything." in response.content.decode()
    assert set(DoNotContact.objects.filter(contact=ada).values_list("channel__slug", "reason")) == {
        ("email", "unsubscribed"), ("sms", "unsubscribed")
    }


def test_the_contact_can_change_their_mind_and_resubscribe(client, ada, send):
    client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    page = client.get(page_url(send)).content.decode()
    assert "Resubscribe to Email messages" in page

    response = client.post(page_url(send), {"action": "resubscribe"})

    assert "Welcome back: you will receive Email messages again." in response.content.decode()
    assert not DoNotContact.objects.filter(contact=ada).exists()
    assert list(PreferenceChange.objects.filter(contact=ada).order_by("id").values_list("old_value", "new_value")) == [
        (None, "unsubscribed"), ("unsubscribed", None)
    ]


@pytest.mark.parametrize("reason", ["bounced", "complaint"])
def test_resubscribe_cannot_clear_a_bounce_or_a_complaint(client, ada, send, email, reason):
    channel_unsubscribe(contact=ada, channel=email, reason=reason, source={"bounced": "bounce"}.get(reason, reason))
    page = client.get(page_url(send)).content.decode()
    assert "Only staff can clear" in page and "Resubscribe to" not in page
    before = database_snapshot()

    resubscribe = client.post(page_url(send), {"action": "resubscribe"}).content.decode()
    ticked = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on", "channels.sms.subscribed": "on", "categories": [],
    }).content.decode()

    assert "Only staff can clear" in resubscribe and "Only staff can clear" in ticked
    assert "Nothing was saved." in resubscribe
    assert database_snapshot() == before


def test_the_plain_page_shows_only_the_unsubscribe_confirmation(client, ada, send):
    PreferenceSettings.objects.filter(pk=1).update(show_preferences=False)
    html = client.get(unsubscribe_url(send)).content.decode()
    assert "Unsubscribe from Email messages" in html
    assert "preferences-form" not in html and "area-unsubscribe-all" not in html

    client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    html = client.get(unsubscribe_url(send)).content.decode()
    assert "You are unsubscribed from Email messages." in html
    assert "Resubscribe to Email messages" in html


def test_the_messages_own_texts_are_shown(client, ada):
    send = delivered_send(
        ada, show_preferences=False,
        unsubscribe_text="Sad to see you go? Unsubscribe here: {unsubscribe_url}",
        resubscribe_text="Come back whenever you like.",
    )
    assert "Sad to see you go? Unsubscribe here</p>" in client.get(unsubscribe_url(send)).content.decode()
    client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    assert "Come back whenever you like." in client.get(unsubscribe_url(send)).content.decode()


@pytest.mark.parametrize("body", [{}, {"action": "explode"}, {"action": ""}])
def test_a_malformed_post_is_a_400_and_changes_nothing(client, send, body):
    before = database_snapshot()
    for url in (page_url(send), unsubscribe_url(send)):
        response = client.post(url, body)
        assert response.status_code == 400
        assert "This request is not valid" in response.content.decode()
    assert database_snapshot() == before


def test_a_bad_token_gets_a_plain_not_valid_page(client, send):
    token = send_token(send.pk)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:10], "garbage", send_token(send.pk + 1000)):
        for method in (client.get, client.post):
            response = method(f"/messaging/p/{bad}/")
            assert response.status_code == 404
            assert "This link is not valid" in response.content.decode()


def test_public_responses_carry_the_security_headers(client, send):
    for response in (client.get(page_url(send)), client.get("/messaging/u/nope/")):
        assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "no-referrer"
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp  # no script is allowed at all
        assert response["X-Frame-Options"] == "DENY"


def test_the_page_has_no_script(client, send):
    assert b"<script" not in client.get(page_url(send)).content


def test_too_many_requests_from_one_address_get_a_429_page(client, send, settings):
    settings.PUBLIC_RATELIMIT = "3/m"
    cache.clear()
    statuses = [client.get(page_url(send), REMOTE_ADDR="198.51.100.7").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(page_url(send), REMOTE_ADDR="198.51.100.7")
    assert "Too many requests" in limited.content.decode() and limited["Retry-After"] == "60"
    assert client.get(page_url(send), REMOTE_ADDR="198.51.100.8").status_code == 200  # per address


def test_a_one_click_from_a_limited_address_is_still_honoured(client, ada, send, settings):
    settings.PUBLIC_RATELIMIT = "1/m"
    cache.clear()
    client.get(page_url(send), REMOTE_ADDR="198.51.100.9")
    client.get(page_url(send), REMOTE_ADDR="198.51.100.9")
    response = client.post(unsubscribe_url(send), {"List-Unsubscribe": "One-Click"}, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 200
    assert DoNotContact.objects.filter(contact=ada).exists()


def test_the_public_pages_set_no_cookie(client, send):
    enforcing = type(client)(enforce_csrf_checks=True)
    assert not client.get(page_url(send)).cookies
    # A browser sends Origin: null under Referrer-Policy no-referrer; the page must still save.
    response = enforcing.post(page_url(send), {"action": "unsubscribe_all"}, HTTP_ORIGIN="null")
    assert response.status_code == 200 and not response.cookies


def test_a_pause_ending_on_9999_12_31_is_refused_and_nothing_is_saved(client, ada, send):
    before = database_snapshot()
    response = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on", "channels.sms.subscribed": "on",
        "channels.email.pause.from": "2026-07-01", "channels.email.pause.to": "9999-12-31",
    })
    assert response.status_code == 200
    assert 'id="f-email-to-error">Enter a date between' in response.content.decode()
    assert database_snapshot() == before
