"""The staff pages: admins register endpoints (audited), read the delivery log and resend."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from contacts.models import StaffChange
from contacts.services import channel_unsubscribe
from contacts.tests.factories import UserFactory
from webhooks.delivery import endpoint_drain
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_an_admin_registers_an_endpoint_and_sees_its_secret(admin_client):
    response = admin_client.post(reverse("webhooks:endpoint_create"), {
        "name": "CRM", "url": "https://crm.example.com/hooks", "events": ["preferences.changed", "dnc.added"],
        "enabled": "on",
    })
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["dnc.added", "preferences.changed"]
    page = admin_client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in page
    audit = StaffChange.objects.get(subject_type="webhook_endpoint")
    assert (audit.actor, audit.action) == ("root", "created") and "secret" not in audit.changes


def test_an_endpoint_on_a_private_address_is_refused_with_a_message(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = admin_client.post(reverse("webhooks:endpoint_create"), {
        "name": "Inside", "url": "https://127.0.0.1/admin", "events": ["dnc.added"],
    })
    assert response.status_code == 200
    assert "private, loopback or link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_no_event_chosen_is_refused(admin_client):
    response = admin_client.post(reverse("webhooks:endpoint_create"), {"name": "CRM", "url": "https://crm.example.com/"})
    assert "Choose at least one event." in response.content.decode() and not WebhookEndpoint.objects.exists()


def test_editors_and_viewers_cannot_reach_the_webhook_pages(client):
    for group in ("Editors", "Viewers"):
        user = UserFactory()
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        assert client.get(reverse("webhooks:endpoint_list")).status_code == 403


def test_the_delivery_log_shows_response_codes_and_a_failed_delivery_can_be_resent(
    admin_client, receiver, endpoint_for, contact, email, settings
):
    settings.WEBHOOK_GIVE_UP_SECONDS = 0
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    receiver.status = 500
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    page = admin_client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert "500" in page and "Resend" in page

    settings.WEBHOOK_GIVE_UP_SECONDS = 86400
    receiver.status = 204
    admin_client.post(reverse("webhooks:delivery_resend", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("delivered", 204)
    assert [event["data"]["channel"] for event in receiver.events] == ["email"]
    assert StaffChange.objects.filter(subject_type="webhook_endpoint", action="updated").count() == 1


def test_a_disabled_endpoint_shows_why_and_enabling_it_clears_the_notice(admin_client, receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    WebhookEndpoint.objects.update(enabled=False, disabled_at=timezone.now(),
                                   disabled_reason="Disabled on 2026-12-01: no delivery succeeded since <script>")
    page = admin_client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert "no delivery succeeded since &lt;script&gt;" in page
    admin_client.post(reverse("webhooks:endpoint_edit", args=[endpoint.pk]), {
        "name": "CRM", "url": endpoint.url, "events": endpoint.events, "enabled": "on",
    })
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(admin_client, receiver, endpoint_for, contact, email):
    endpoint = endpoint_for(receiver, events=["dnc.added"])
    old = endpoint.secret
    admin_client.post(reverse("webhooks:endpoint_secret_rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    receiver.secret = endpoint.secret
    channel_unsubscribe(contact=contact, channel=email, source="one_click")
    endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.events) == 1 and receiver.rejected == []
