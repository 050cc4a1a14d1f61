"""Staff actions on webhook endpoints and deliveries: each in a transaction, with a staff audit row
(``contacts.services.staff_audit``). The secret never enters the audit."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.services.staff_audit import Action, model_created_record, model_update, staff_change_record
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, secret_generate
from webhooks.outbox import endpoints_drain_enqueue

SUBJECT = "webhook_endpoint"
ENDPOINT_FIELDS = ("name", "url", "events", "enabled")


@transaction.atomic
def endpoint_create(*, name: str, url: str, events: list[str], enabled: bool = True, acting_user) -> WebhookEndpoint:
    """Register an endpoint with a fresh ``whsec_`` secret; it receives events from now on."""
    endpoint = WebhookEndpoint.objects.create(name=name, url=url, events=sorted(events), enabled=enabled)
    model_created_record(instance=endpoint, fields=ENDPOINT_FIELDS, acting_user=acting_user, subject_type=SUBJECT)
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, acting_user, **values) -> dict[str, list]:
    """Change an endpoint. Enabling it again clears the notice of why it was disabled and wakes
    its pending deliveries."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "events" in values:
        values["events"] = sorted(values["events"])
    was_enabled = endpoint.enabled
    changes = model_update(instance=endpoint, values=values, fields=ENDPOINT_FIELDS, acting_user=acting_user,
                           subject_type=SUBJECT)
    if endpoint.enabled and not was_enabled:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="", disabled_at=None, failing_since=None)
        transaction.on_commit(lambda: endpoints_drain_enqueue([endpoint.pk]))
    return changes


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, acting_user) -> WebhookEndpoint:
    """A new secret, effective for the next attempt (receivers must switch at once)."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    endpoint.secret = secret_generate()
    endpoint.save(update_fields=["secret"])
    staff_change_record(acting_user=acting_user, subject_type=SUBJECT, subject_id=endpoint.pk,
                        subject_label=str(endpoint), action=Action.UPDATED, changes={"secret": ["…", "rotated"]})
    return endpoint


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery, acting_user) -> WebhookDelivery:
    """Deliver an event again (same ``webhook-id``): pending now, with a fresh day of retries."""
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    before = delivery.status
    now = timezone.now()
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    delivery.give_up_at = now + datetime.timedelta(seconds=settings.WEBHOOK_GIVE_UP_SECONDS)
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "give_up_at"])
    staff_change_record(acting_user=acting_user, subject_type=SUBJECT, subject_id=delivery.endpoint_id,
                        subject_label=str(delivery.endpoint), action=Action.UPDATED,
                        changes={f"delivery {delivery.event.message_id}": [before, "resent"]})
    transaction.on_commit(lambda: endpoints_drain_enqueue([delivery.endpoint_id]))
    return delivery
