"""Staff writes on the reasons for leaving a contact is offered: add, rename (per language),
reorder, deactivate. Never delete: the answers point at their choice, so a choice's meaning stays
with its id and a deactivated one still counts in the statistics. Each write is atomic and audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from contacts.services.staff_audit import model_created_record, model_update
from messaging.models import LeavingReasonChoice

SUBJECT = "leaving_reason"
REASON_FIELDS = ("label", "label_fr", "position", "active")


@transaction.atomic
def leaving_reason_create(*, acting_user, label: str, label_fr: str = "", position: int = 0,
                          active: bool = True) -> LeavingReasonChoice:
    """A new choice; it never asks for free text (one choice does, the seeded "Other")."""
    choice = LeavingReasonChoice.objects.create(label=label, label_fr=label_fr, position=position, active=active)
    model_created_record(instance=choice, fields=REASON_FIELDS, acting_user=acting_user, subject_type=SUBJECT)
    return choice


@transaction.atomic
def leaving_reason_update(*, choice: LeavingReasonChoice, acting_user, values: dict[str, Any]) -> dict[str, list]:
    """Rename, reorder, deactivate or offer again: saves and audits only the fields that changed.
    Answers already given keep their choice and the label they were given under."""
    locked = LeavingReasonChoice.objects.select_for_update().get(pk=choice.pk)
    return model_update(instance=locked, values=values, fields=REASON_FIELDS, acting_user=acting_user,
                        subject_type=SUBJECT)


@transaction.atomic
def leaving_reasons_save(*, acting_user, updates: list[tuple[LeavingReasonChoice, dict[str, Any]]],
                         new: dict[str, Any] | None = None) -> int:
    """The staff list saved at once: every row's changes and at most one new choice, all or nothing.
    Returns how many choices changed or were added."""
    changed = sum(bool(leaving_reason_update(choice=choice, acting_user=acting_user, values=values))
                  for choice, values in updates)
    if new:
        leaving_reason_create(acting_user=acting_user, **new)
        changed += 1
    return changed
