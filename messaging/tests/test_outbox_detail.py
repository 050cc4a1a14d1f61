"""The Outbox detail page: every header, the text part, and the HTML part in a sandboxed frame with its own policy."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import UserFactory
from messaging.models import OutboxMessage

from .conftest import run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db

HEADERS = ("From", "To", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")


def staff_client(group: str) -> Client:
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def delivered(members, email, settings):
    settings.EMAIL_BACKEND = "messaging.delivery.backends.outbox.OutboxEmailBackend"
    members(first_name="Ada")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    version = message.versions.get()
    version.html_body = '<p>Hello {first_name}</p><script>alert(1)</script>'
    version.save()
    run_dispatch(message, now=timezone.now())
    return OutboxMessage.objects.get()


def test_the_detail_page_lists_every_header_and_frames_the_html_part_in_a_sandbox(delivered):
    page = staff_client("Editors").get(reverse("messaging:outbox_detail", args=[delivered.pk])).content.decode()
    for name in HEADERS:
        assert f'<th scope="row" class="text-nowrap">{name}</th>' in page, name
    frame = page.split("<iframe")[1].split(">")[0]
    assert 'sandbox=""' in frame and "/messaging/outbox/html/" in frame


def frame_url(client: Client, item) -> str:
    page = client.get(reverse("messaging:outbox_detail", args=[item.pk])).content.decode()
    return page.split("<iframe")[1].split('src="')[1].split('"')[0]


def test_the_framed_html_part_carries_its_own_policy_that_runs_no_script(delivered):
    response = Client().get(frame_url(staff_client("Editors"), delivered))  # the URL is the grant: no session
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and response["X-Frame-Options"] == "SAMEORIGIN"
    assert "<p>Hello Ada</p>" in response.content.decode()


def test_a_viewer_sees_the_html_part_without_working_link_tokens(delivered):
    editor_html = Client().get(frame_url(staff_client("Editors"), delivered)).content.decode()
    viewer_html = Client().get(frame_url(staff_client("Viewers"), delivered)).content.decode()
    assert "/u/" in editor_html
    assert delivered.list_unsubscribe.split("/u/")[1][:20] not in viewer_html


def test_the_outbox_list_links_to_the_detail_page(delivered):
    page = staff_client("Viewers").get(reverse("messaging:outbox")).content.decode()
    assert reverse("messaging:outbox_detail", args=[delivered.pk]) in page


def test_a_forged_or_tampered_frame_url_shows_nothing(delivered):
    url = frame_url(staff_client("Editors"), delivered)
    assert Client().get(url[:-3] + "xx/").status_code == 404
    assert Client().get(reverse("messaging:outbox_html", args=[f"{delivered.pk}"])).status_code == 404
