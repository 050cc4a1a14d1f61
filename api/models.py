"""API keys and the responses kept for ``Idempotency-Key`` retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", _("Read")
    WRITE_PREFERENCES = "write_preferences", _("Write preferences")
    WRITE_CONTACTS = "write_contacts", _("Write contacts")
    SEND = "send", _("Send messages")


class ApiKey(models.Model):
    """A key an integration authenticates with. Only a SHA-256 digest of the key is kept: the key
    itself is shown once, when it is created; ``prefix`` (its first characters) identifies it."""

    Scope = Scope

    name = models.CharField(max_length=100, unique=True, help_text=_("The history records changes as api:<name>."))
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return self.active and scope in self.scopes


class IdempotentRequest(models.Model):
    """The first response to a write sent with an ``Idempotency-Key``; a retry gets it back.

    Unique per (key, Idempotency-Key): a concurrent duplicate waits on the index and then finds
    the first one's response instead of making the change again."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path, If-Match and body
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_request_unique_key"),
        ]
