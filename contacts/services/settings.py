"""The global settings staff edit: what the public page shows unless a message overrides it."""

from __future__ import annotations

from django.db import transaction

from contacts.models import PAGE_SWITCHES, PAGE_TEXTS, PreferenceSettings

from .staff_audit import model_update

SETTINGS_FIELDS = (*PAGE_SWITCHES, *PAGE_TEXTS)


@transaction.atomic
def settings_update(*, acting_user, **values) -> PreferenceSettings:
    """Change the global page switches and texts (``SETTINGS_FIELDS``); only changed fields are
    saved, and they leave one staff audit row (old → new per field)."""
    PreferenceSettings.load()
    settings = PreferenceSettings.objects.select_for_update().get(pk=1)
    model_update(instance=settings, values=values, fields=SETTINGS_FIELDS, acting_user=acting_user, subject_type="settings")
    return settings
