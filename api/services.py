"""API keys: created by admins (shown once), authenticated by digest, revoked; every staff action audited."""

from __future__ import annotations

import hashlib
import hmac
import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.services import staff_change_record
from contacts.models import StaffChange

from .models import ApiKey, IdempotentRequest, Scope

KEY_PREFIX = "pc_"
PREFIX_LENGTH = 12  # "pc_" + 9 characters, shown in the staff list to tell keys apart
LAST_USED_RESOLUTION = 60  # seconds: "last used" is written at most once a minute per key


class ApiKeyInvalid(ValueError):
    """A key that cannot be created as asked; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # the whole key, to show once


def key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, acting_user, name: str, scopes: list[str]) -> IssuedKey:
    """Issue a key with 256 random bits; only its digest is stored, so it can be shown once only."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter a name."]
    elif len(name) > 100:
        errors["name"] = ["Enter at most 100 characters."]
    elif ApiKey.objects.filter(name=name).exists():
        errors["name"] = ["A key with this name exists; the history tells keys apart by name."]
    if not scopes or set(scopes) - set(Scope.values):
        errors["scopes"] = ["Choose at least one scope among " + ", ".join(Scope.values) + "."]
    if errors:
        raise ApiKeyInvalid(errors)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=key_digest(secret),
        scopes=sorted(set(scopes)),
        created_by=acting_user,
    )
    staff_change_record(
        acting_user=acting_user, subject_type="api_key", subject_id=api_key.pk, subject_label=name,
        action=StaffChange.Action.CREATED, changes={"name": [None, name], "scopes": [None, api_key.scopes]},
    )
    return IssuedKey(api_key=api_key, secret=secret)


@transaction.atomic
def api_key_revoke(*, acting_user, api_key: ApiKey) -> ApiKey:
    """Refuse the key from now on; the row stays so the history's ``api:<name>`` keeps its meaning."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        staff_change_record(
            acting_user=acting_user, subject_type="api_key", subject_id=locked.pk, subject_label=locked.name,
            action=StaffChange.Action.UPDATED, changes={"revoked": [False, True]},
        )
    return locked


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key whose digest matches ``secret`` (compared in constant time), else ``None``."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    api_key = ApiKey.objects.filter(prefix=secret[:PREFIX_LENGTH]).first()
    if api_key is None or not hmac.compare_digest(api_key.digest, key_digest(secret)) or not api_key.active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


PURGE_CHUNK = 10000  # rows deleted per statement: no long lock on the table's index


def idempotent_requests_purge(*, now: datetime.datetime | None = None) -> int:
    """Forget the responses kept for ``Idempotency-Key`` retries once they are older than
    ``API_IDEMPOTENCY_RETENTION_SECONDS``: a retry after that is a new request. Returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=settings.API_IDEMPOTENCY_RETENTION_SECONDS)
    purged = 0
    while True:
        ids = list(IdempotentRequest.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_CHUNK])
        if not ids:
            return purged
        purged += IdempotentRequest.objects.filter(pk__in=ids).delete()[0]
