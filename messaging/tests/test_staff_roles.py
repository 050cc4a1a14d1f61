"""The staff groups reach the messaging pages: viewers read, editors write and send; only editors get live links."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contacts.tests.factories import UserFactory

from messaging.models import Send
from messaging.public.tokens import TOKEN_RE, send_token

from .conftest import run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def member_of(client, group: str):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", ["Viewers", "Editors"])
def test_both_groups_see_messages_and_the_outbox_in_the_navigation(client, group):
    html = member_of(client, group).get(reverse("messaging:message_list")).content.decode()
    assert f'href="{reverse("messaging:message_list")}"' in html and f'href="{reverse("messaging:outbox")}"' in html


def test_a_viewer_cannot_send_a_message(client):
    message = MessageFactory()
    response = member_of(client, "Viewers").post(reverse("messaging:message_send", args=[message.pk]))
    assert response.status_code == 403
    assert not message.dispatches.exists()


def test_an_editor_may_open_the_send_confirmation(client):
    message = MessageFactory()
    response = member_of(client, "Editors").get(reverse("messaging:message_send", args=[message.pk]))
    assert response.status_code == 200


# --- Live public links: only for staff who may change preferences -------------------------------

@pytest.fixture
def delivered(members, settings):
    """An email delivered into the Outbox, with a mailto unsubscribe address: its send."""
    settings.EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
    settings.UNSUBSCRIBE_MAILTO = "leave@example.com"
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    run_dispatch(message, now=datetime.datetime.now(datetime.timezone.utc))
    return Send.objects.get(message=message, contact=contact, outcome="sent")


def outbox_of(client, send) -> str:
    return client.get(reverse("messaging:outbox"), {"q": send.contact.email}).content.decode()


def test_a_viewer_sees_the_outbox_without_any_working_link_token(client, delivered):
    html = outbox_of(member_of(client, "Viewers"), delivered)
    assert "spring sale" in html and "[hidden]" in html
    assert send_token(delivered.pk) not in html and not TOKEN_RE.search(html)
    assert "your account may not change contacts" in html


def test_an_editor_sees_the_outbox_with_working_links(client, delivered, settings):
    html = outbox_of(member_of(client, "Editors"), delivered)
    token = send_token(delivered.pk)
    assert f'<a href="{settings.SITE_URL}/messaging/u/{token}/"' in html
    assert f"subject=unsubscribe%20{token}" in html and "[hidden]" not in html


def test_the_preview_shows_no_link_that_works(client, members):
    contact = members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    message.versions.update(text_body="Hi {first_name}: {unsubscribe_url}")
    html = member_of(client, "Viewers").get(
        reverse("messaging:message_preview", args=[message.pk]), {"contact": contact.email}
    ).content.decode()
    # The preview's send does not exist: its links are shown inert, as what they are, with no token.
    assert "Hi " in html and "[unsubscribe link]" in html
    assert not TOKEN_RE.findall(html)
