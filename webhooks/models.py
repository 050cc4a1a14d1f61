"""Outbound webhooks: the endpoints staff register, the outbox of events written in the changing
transaction, and one delivery row per (event, endpoint) that the workers work through.

This module imports nothing from ``contacts`` or ``messaging``: the contacts services call the
outbox, so the outbox must not call them back (``.importlinter``).
"""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    PREFERENCES_CHANGED = "preferences.changed", _("Preferences changed")
    DNC_ADDED = "dnc.added", _("Do-not-contact added")
    DNC_REMOVED = "dnc.removed", _("Do-not-contact removed")
    SEGMENT_MEMBERSHIP_CHANGED = "segment.membership_changed", _("Segment membership changed")
    SEND_OUTCOME = "send.outcome", _("Send outcomes (batched)")
    IMPORT_FINISHED = "import.finished", _("Import finished")


def secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    # Kept readable: the HMAC needs it at every delivery (it cannot be hashed like a password).
    secret = models.CharField(max_length=100, default=secret_generate)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Set when deliveries have failed without a success for too long; staff see it and re-enable.
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # One worker drains an endpoint at a time (per-contact order): it holds this lease while it does.
    drain_lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class WebhookEvent(models.Model):
    """One event of the outbox, written in the transaction of the change it describes."""

    Type = EventType

    type = models.CharField(max_length=40, choices=EventType.choices)
    # The contact it concerns (None for batched send outcomes and imports); deliveries for one
    # contact leave in this table's id order.
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(name="webhookevent_type_known", condition=Q(type__in=EventType.values))]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"

    @property
    def message_id(self) -> str:
        """The Standard Webhooks ``webhook-id``: the same on every attempt, so receivers drop repeats."""
        return f"msg_{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    Status = DeliveryStatus

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    contact_id = models.BigIntegerField(null=True, blank=True)  # the event's, for the per-contact order
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-event_id", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhookdelivery_once_per_endpoint"),
            models.CheckConstraint(name="webhookdelivery_status_known", condition=Q(status__in=DeliveryStatus.values)),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "contact_id", "event"], name="webhookdelivery_pending_idx",
                condition=Q(status="pending"),
            ),
            # The next pending deliveries in event order, without walking the delivered ones.
            models.Index(fields=["endpoint", "event"], name="webhookdelivery_queue_idx", condition=Q(status="pending")),
            models.Index(fields=["endpoint", "-event"], name="webhookdelivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
