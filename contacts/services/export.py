"""The staff audit of CSV exports: who exported which contacts, with which columns."""

from __future__ import annotations

from django.db import transaction

from contacts.models import Segment

from .staff_audit import Action, staff_change_record


@transaction.atomic
def contacts_export_record(*, acting_user, what: str, filters: dict, columns: list[str],
                           segment: Segment | None = None) -> None:
    """Append the audit row of an export before its first row leaves (a dropped download is still recorded)."""
    staff_change_record(
        acting_user=acting_user, subject_type="segment" if segment else "contact_export",
        subject_id=segment.pk if segment else None, subject_label=what, action=Action.EXPORTED,
        changes={"filters": [None, filters], "columns": [None, columns]},
    )
