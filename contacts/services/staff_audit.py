"""The staff audit: every staff write (messages, categories, segments, settings, default caps,
cancelled sends) appends one ``StaffChange`` row through ``staff_change_record``."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from contacts.models import StaffChange

from .audit import Source

Action = StaffChange.Action


def actor_label(acting_user) -> str:
    """The name the audit keeps: the username, "system" for a change no person made, or the
    label of a ``Source`` acting for nobody on the staff (an API key: ``api:<key name>``)."""
    if isinstance(acting_user, Source):
        return acting_user.label
    return acting_user.get_username() if acting_user is not None else "system"


def audit_value(value: Any) -> Any:
    """A value as the history shows it, JSON-safe: an object by its name, a date in ISO form."""
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [audit_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): audit_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def field_values(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: audit_value(getattr(instance, name)) for name in fields}


def values_changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """``{field: [old, new]}`` for each field whose value differs; a field absent on one side is ``None`` there."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }


def staff_change_record(
    *,
    acting_user,
    subject_type: str,
    subject_id: int | None,
    subject_label: str,
    action: str,
    changes: dict[str, list] | None = None,
) -> StaffChange | None:
    """Append one audit row in the caller's transaction; an update that changed nothing writes nothing."""
    changes = changes or {}
    if action == Action.UPDATED and not changes:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Staff audit rows are written inside the change's transaction.")
    return StaffChange.objects.create(
        actor=actor_label(acting_user),
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=str(subject_label)[:200],
        action=action,
        changes=changes,
    )


def model_update(
    *, instance: models.Model, values: dict[str, Any], fields: Iterable[str], acting_user, subject_type: str
) -> dict[str, list]:
    """Set ``values`` on a locked ``instance``, save only the fields that changed, and audit them.

    Returns the changes (empty when nothing changed: then nothing is saved or recorded).
    """
    if unknown := values.keys() - set(fields):
        raise TypeError(f"{subject_type}: unknown fields {sorted(unknown)}")
    fields = [name for name in fields if name in values]
    before = field_values(instance, fields)
    changed = [name for name in fields if getattr(instance, name) != values[name]]
    for name in changed:
        setattr(instance, name, values[name])
    changes = values_changed(before, field_values(instance, fields))
    if changed:
        instance.save(update_fields=changed)
        staff_change_record(
            acting_user=acting_user, subject_type=subject_type, subject_id=instance.pk, subject_label=str(instance),
            action=Action.UPDATED, changes=changes,
        )
    return changes


def model_created_record(*, instance: models.Model, fields: Iterable[str], acting_user, subject_type: str) -> None:
    """Audit a row just created by staff: who, and its first values."""
    staff_change_record(
        acting_user=acting_user, subject_type=subject_type, subject_id=instance.pk, subject_label=str(instance),
        action=Action.CREATED, changes=values_changed({}, field_values(instance, fields)),
    )
