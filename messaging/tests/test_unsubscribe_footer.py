"""The unsubscribe link appears once in every email: in the demo data, and the message form says so when not."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.tests.factories import SegmentFactory, UserFactory
from messaging.delivery.rendering import Delivery, MessageRenderer
from messaging.management.commands.seed_demo_messages import DEMO_MESSAGES
from messaging.models import Message, MessageVersion

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, db):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    client.force_login(user)
    return user


def rendered(text: str, html: str, *, unsubscribe_text: str = "") -> tuple[str, str]:
    message = MessageFactory(channels=["email"], unsubscribe_text=unsubscribe_text)
    version = message.versions.get()
    version.text_body, version.html_body = text, html
    renderer = MessageRenderer(message, version)
    _subject, body, html_body, values = renderer.email(Delivery(1, 1, "Ada", "L", "ada@example.org"))
    return body, html_body, values["{unsubscribe_url}"]


@pytest.mark.parametrize("spec", DEMO_MESSAGES, ids=lambda spec: spec["name"])
def test_every_demo_email_shows_its_unsubscribe_link_once_and_never_inside_another_link(spec):
    french = [(channel, *texts) for channel, texts in spec["versions_fr"].items()]
    for channel, _subject, text, html in [*spec["versions"], *french]:
        if channel != "email":
            continue
        body, html_body, url = rendered(text, html)
        assert body.count(url) == 1, body
        assert ": " + url not in body.replace("here: " + url, ""), "a stray colon before a second link"
        assert html_body.count(f'href="{url}"') == 1, html_body
        assert not re.search(r"<a\b[^>]*>(?:(?!</a>).)*<a\b", html_body, re.S), "an <a> inside an <a>"


def test_an_unsubscribe_text_without_the_link_still_carries_it_in_the_text_part():
    body, _html, url = rendered("Hello {first_name}\n{unsubscribe_text}", "", unsubscribe_text="Leave us")
    assert "Leave us " + url in body


def version_post(message_name: str, email, *, text: str, html: str = "", **extra) -> dict:
    return {
        "name": message_name, "show_preferences": "", "segments": [SegmentFactory().pk],
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "1",
        "versions-MAX_NUM_FORMS": "1000", "versions-0-channel": email.pk, "versions-0-position": "0",
        "versions-0-subject": "Hi", "versions-0-text_body": text, "versions-0-html_body": html, **extra,
    }


def test_the_message_form_warns_and_saves_nothing_when_a_body_shows_the_link_twice(client, marketer, email):
    response = client.post(reverse("messaging:message_create"), version_post(
        "Twice", email, text="Bye: {unsubscribe_text}: {unsubscribe_url}",
        html='<p><a href="{unsubscribe_url}">{unsubscribe_text}</a></p>',
    ))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Email, text part: the unsubscribe link would appear 2 times." in page
    assert "Email, HTML part: {unsubscribe_text} is inside a link" in page
    assert not Message.objects.filter(name="Twice").exists()


def test_the_message_form_saves_after_the_marketer_confirms_the_warning(client, marketer, email):
    client.post(reverse("messaging:message_create"), version_post(
        "Twice", email, text="{unsubscribe_text} {unsubscribe_url}", save_despite_warnings="1",
    ))
    assert MessageVersion.objects.get(message__name="Twice").text_body == "{unsubscribe_text} {unsubscribe_url}"


def test_the_message_form_warns_when_the_html_part_would_show_no_unsubscribe_link(client, marketer, email):
    response = client.post(reverse("messaging:message_create"), version_post(
        "Hidden", email, text="{unsubscribe_text}", html='<img alt="" src="{unsubscribe_url}">',
    ))
    assert "Email, HTML part: the unsubscribe link would not appear." in response.content.decode()


def test_a_body_with_the_link_once_saves_without_a_warning(client, marketer, email):
    response = client.post(reverse("messaging:message_create"), version_post(
        "Once", email, text="Hi\n{unsubscribe_text}", html='<p>Hi</p><p><a href="{unsubscribe_url}">Leave</a></p>',
    ))
    assert response.status_code == 302
    assert Message.objects.filter(name="Once").exists()
